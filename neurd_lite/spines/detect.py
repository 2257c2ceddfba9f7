"""Spine detection on dendritic faces (nm inside; ``n.spines`` in µm).

Method: every dendritic mesh vertex gets its protrusion beyond the local shaft surface (``shaft.py``: distance
to the pruned skeleton minus a robust, spine-excluded local shaft radius). Vertices protruding more than a seed
threshold start spines; each grows over the mesh graph through vertices above a lower threshold (hysteresis),
and a grown region holding several seed cores is split between them. A component is a spine when it touches
the shaft (so detached debris pieces of chunked meshes are never spines), is long enough and not too long, and
its base is not wider than the shaft. Grown regions that touch the shaft but give no spine are searched again
relative to their own level (spines on a patch of shaft that reads raised where the axis is off centre), and
accepted spines extend down their necks relative to the surrounding surface. Each spine is then split into
head and neck (``headneck.py``) and measured.

The steps live in their own modules: ``params.py`` (``SpineParams``), ``eligible.py`` (where spines are searched),
``grow.py`` (one hysteresis pass), ``seed_cores.py`` (a region split between its seed cores), ``passes.py`` (the
sequence of passes, ``spine_components``) and ``table.py`` (face labels and the ``n.spines`` rows); this module
measures the shaft field and runs them. Their public names stay importable from here.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..geometry.meshes import vertex_areas_nm2
from ..model.soma_extent import SomaExtentParams
from ..neuron import SPINE_LABELS, Neuron, is_label
from ..skeleton.centre import centred_skeleton
from .candidates import filter_candidates, pool_params
from .captures import CANDIDATE_SINK, DOME_SINK, VERTEX_SINK
from .cut_radius import cap_at_cut_ends
from .eligible import NON_DENDRITIC, check_neuron, ineligible_faces, soma_face_mask  # noqa: F401  (re-exported)
from .extend import extend_spines, planar_level  # noqa: F401  (re-exported for tests)
from .grow import _grow_pass, seed_level, superlevel_vertex_area  # noqa: F401  (re-exported)
from .inscribed_axis import shaft_skeleton
from .local_shaft import local_shaft_field
from .normalise import lift_spines, normalised_view
from .over_cap import split_spines_over_caps
from .params import SpineParams
from .passes import spine_components
from .pieces import proximity_links  # noqa: F401  (re-exported for tests)
from .process_end import drop_process_ends, without_ids
from .refit import refit_args, refit_field
from .rim import with_rims
from .rimless import keep_rimless, lift_rimless, spine_copy
from .seed_cores import merge_shallow_cores, split_by_seed_cores  # noqa: F401  (re-exported)
from .shaft import ShaftField, shaft_field
from .standoff import drop_flat_patches
from .synapse_evidence import postsynapse_vertices
from .table import SPINE_COLUMNS, _face_labels, _majority, spine_rows  # noqa: F401  (re-exported)
from .vertex_model import refine_labels


def detect_spines(n: Neuron, params: SpineParams | None = None, soma_extent: SomaExtentParams | None = None
                  ) -> ShaftField:
    """Find spines on dendritic faces; fill ``n.face_spine``, spine ``n.face_labels`` and ``n.spines`` (µm).

    Skips soma and axon faces (a soma without faces reaches ``soma_extent.core_factor`` radii). Positions in
    ``n.spines`` are nm (``x_nm``...: the base centre), measurements µm. Returns the shaft field it measured
    protrusion against (per mesh vertex; the synapse-target model reads it).
    """
    check_neuron(n)
    p = params or SpineParams()
    extent = soma_extent or SomaExtentParams()
    if p.normalise_edge_nm > 0:  # refine the dendritic faces only: the rest is never searched
        w, parent = normalised_view(n, p.normalise_edge_nm, ~ineligible_faces(n, extent.core_factor),
                                    p.shaft.tie_rel)
        fld_w = detect_spines(w, replace(p, normalise_edge_nm=0.0), soma_extent)
        core = lift_rimless(n, w, lambda a, b: lift_spines(a, b, parent, fld_w))
        fld = lift_spines(n, w, parent, fld_w)
        keep_rimless(n, core)
        return fld
    mesh = n.mesh
    faces = np.asarray(mesh.faces)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    bad_f = ineligible_faces(n, extent.core_factor)
    eligible_v = np.ones(len(verts), dtype=bool)
    eligible_v[faces[bad_f].ravel()] = False
    skel = n.skeleton
    off_centre = False
    if p.centre_skeleton in ("auto", True):
        centred = centred_skeleton(skel, verts, faces, n.face_to_skeleton, ~bad_f)
        moved = np.linalg.norm(centred.vertices - skel.vertices, axis=1)
        tr = skel.traced  # the traced cable's scales (``Skeleton.traced``)
        radius = np.nanmedian(skel.radius[tr]) if np.isfinite(skel.radius[tr]).any() else np.nan
        off_centre = np.isfinite(radius) and np.median(moved[tr]) > p.off_centre_fraction * radius
        if p.centre_skeleton is True or (off_centre and p.inscribed_axis_fraction <= 0):
            skel = centred
            n.provenance.setdefault("spines_notes", {})["skeleton_centred"] = True
    if p.inscribed_axis_fraction > 0:
        skel = shaft_skeleton(n, skel, centred if off_centre else None, verts, faces, ~bad_f, p,
                              extent.core_factor)
    fld = shaft_field(verts, faces, skel, ~bad_f, p.shaft)
    if p.cut_end_radius:  # a fragment's cut is a cross-section of its shaft (``cut_radius.py``)
        fld = cap_at_cut_ends(fld, skel, verts, faces, p.shaft.chunk_nm)
    if p.local_shaft_far_nm > 0:
        va = vertex_areas_nm2(faces, mesh.area_faces, len(verts))
        fld, local = local_shaft_field(fld, verts, np.asarray(mesh.edges_unique), eligible_v, va,
                                       p.local_shaft_far_nm, p.local_shaft_min_area_nm2, p.local_shaft_cell_nm,
                                       p.shaft.radius_quantile)
        n.provenance.setdefault("spines_notes", {})["local_shaft_vertices"] = int(local.sum())
    sink = n.cache.get(CANDIDATE_SINK)  # a list: per-candidate statistics for analysis (``captures.py``)
    pass_counts: dict = {} if sink is None else {"candidate_sink": sink}
    if isinstance(n.cache.get(DOME_SINK), list):  # dome-pass candidates for analysis
        pass_counts["dome_sink"] = n.cache[DOME_SINK]
    syn_v = postsynapse_vertices(mesh, n.synapses, p.synapse_max_distance_nm) if p.synapse_seed_nm > 0 else None
    vlabel, base, ring = spine_components(mesh, fld, eligible_v, pool_params(p), pass_counts, syn_v)
    if p.refit_shaft and (vlabel >= 0).any():
        fld = refit_field(fld, verts, faces, skel, bad_f, (vlabel[faces] >= 0).any(1), *refit_args(p))
        vlabel, base, ring = spine_components(mesh, fld, eligible_v, pool_params(p), pass_counts, syn_v)
    if p.vertex_model or isinstance(n.cache.get(VERTEX_SINK), list):  # learned refinement / its capture
        vlabel, base, ring = refine_labels(mesh, fld, eligible_v, vlabel, base, ring, p,
                                           seed_level(p, fld, len(verts)), n.cache.get(VERTEX_SINK))
    if p.past_new_end_fraction > 0 and not skel.traced.all():
        vlabel = drop_past_new_ends(vlabel, fld, skel.traced, p.past_new_end_fraction, pass_counts)
    va = vertex_areas_nm2(faces, mesh.area_faces, len(verts))  # nm², read by the passes below
    if p.over_cap_level_quantile is not None and (vlabel >= 0).any():  # over-cap regions split (``over_cap.py``)
        vlabel, base, ring = split_spines_over_caps(mesh, va, fld, eligible_v, vlabel, base, ring, p,
                                                    pass_counts)
    if p.process_end_max_share > 0:  # a base that is a whole cross-section of its process (``process_end.py``)
        vlabel, _ = drop_process_ends(verts, va, vlabel, ring, eligible_v, fld.radius_nm,
                                      np.asarray(mesh.edges_unique), p.process_end_max_share, p.process_end_reach_nm,
                                      pass_counts)
    pass_counts.pop("candidate_sink", None)
    pass_counts.pop("dome_sink", None)
    core, memo = None, None
    if p.rim_nm > 0 and p.vertex_model:  # the junction rim (``rim.py``); targets read the spines without it
        rimmed = with_rims(verts, np.asarray(mesh.edges_unique), fld, eligible_v, vlabel, ring, p, faces)
        if p.process_end_rim_max_share > 0:  # the same test on the rimmed bases; the rimless labels follow
            rl, vlabel = drop_process_ends(verts, va, rimmed[0], rimmed[2], eligible_v, fld.radius_nm,
                                           np.asarray(mesh.edges_unique), p.process_end_rim_max_share,
                                           p.process_end_reach_nm, pass_counts, "process_end_rim_dropped", vlabel,
                                           p.process_end_rim_planar_max)
            rimmed = (rl,) + tuple(rimmed[1:])
        if p.min_standoff_rel > 0:  # a patch of shaft wall, not a protrusion (``standoff.py``); rimless follows
            rl, vlabel = drop_flat_patches(verts, va, rimmed[0], rimmed[2], eligible_v, np.asarray(mesh.edges_unique),
                                           p.min_standoff_rel, pass_counts, vlabel)
            rimmed = (rl,) + tuple(rimmed[1:])
        if (rimmed[0] != vlabel).any():  # the rim took a vertex (else one result serves both)
            core, memo = spine_copy(n), {}  # the spines the rim left alone are measured once
            label_spines(core, skel, fld, p, verts, faces, bad_f, vlabel, base, ring, dict(pass_counts), memo,
                         volume=p.candidate_filter != "rules")  # the targets read no volume (``rimless.py``)
            vlabel, base, ring = rimmed
    elif p.min_standoff_rel > 0:  # no rim: the same test on the final labels
        vlabel, _ = drop_flat_patches(verts, va, vlabel, ring, eligible_v, np.asarray(mesh.edges_unique),
                                      p.min_standoff_rel, pass_counts)
    label_spines(n, skel, fld, p, verts, faces, bad_f, vlabel, base, ring, pass_counts, memo)
    keep_rimless(n, core)
    return fld


def drop_past_new_ends(vlabel: np.ndarray, fld: ShaftField, traced: np.ndarray, fraction: float,
                       pass_counts: dict) -> np.ndarray:
    """(V,) spine labels without the spines whose vertices lie at least ``fraction`` past the end of an added
    (untraced, ``traced`` False) branch (``SpineParams.past_new_end_fraction``)."""
    past = fld.beyond_end & ~traced[fld.sample_vertex]
    on = vlabel >= 0
    if not (past & on).any():
        return vlabel
    n_lab = int(vlabel.max()) + 1
    share = np.bincount(vlabel[on], past[on], n_lab) / np.maximum(np.bincount(vlabel[on], minlength=n_lab), 1)
    drop = share >= fraction
    pass_counts["past_new_end_dropped"] = int(drop.sum())
    return without_ids(vlabel, drop)


def label_spines(n: Neuron, skel, fld: ShaftField, p: SpineParams, verts: np.ndarray, faces: np.ndarray,
                 bad_f: np.ndarray, vlabel: np.ndarray, base: np.ndarray, ring: pd.DataFrame, pass_counts: dict,
                 memo: dict | None = None, volume: bool = True) -> None:
    """Faces, head / neck labels and the ``n.spines`` rows of the per-vertex spine labels ``vlabel`` (in place);
    memo: ``spine_rows``' geometry memo shared with another labelling of the same mesh (None: none); ``volume``
    False: the rows' ``volume_um3`` NaN (``spine_rows``)."""
    face_spine = _face_labels(vlabel, faces, verts, fld, p)
    face_spine[bad_f] = -1
    old = is_label(n.face_labels, SPINE_LABELS)  # restore labels of faces that an earlier run called spines
    n.face_labels[old] = n.face_compartment[old]
    n.face_spine = face_spine
    rows, new_id, row_label, head_face = spine_rows(n, skel, fld, p, verts, faces, vlabel, base, ring, face_spine,
                                                    memo=memo, volume=volume)
    if p.candidate_filter != "rules" and rows:
        rows, new_id = filter_candidates(n, p, rows, new_id, row_label, vlabel, base, ring, verts, fld,
                                         pass_counts)
    n.face_spine = (np.where(face_spine >= 0, new_id[np.maximum(face_spine, 0)], -1) if len(new_id)
                    else np.full(len(faces), -1, dtype=np.int64))
    sp_f = n.face_spine >= 0
    n.face_labels[sp_f] = np.where(head_face[sp_f], "spine_head", "spine_neck")
    n.spines = pd.DataFrame(rows, columns=SPINE_COLUMNS)
    n.provenance["spines"] = {"method": "protrusion-hysteresis", "n_spines": len(rows), "pass_counts": pass_counts}

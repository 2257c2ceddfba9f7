"""The sequence of hysteresis passes over one shaft field (``spine_components``): first pass, re-search of
rejected regions, the optional relief, dome and synapse passes, and the neck extension."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..geometry.meshes import vertex_areas_nm2
from ..geometry.meshgraph import edge_components
from ..geometry.stats import weighted_group_quantile
from .dome import dome_pass
from .extend import extend_spines
from .grow import _grow_pass, superlevel_vertex_area
from .params import SpineParams
from .pieces import proximity_links
from .relief import attachment, drop_low_on_sparse, relief_pass
from .shaft import ShaftField
from .synapse_evidence import synapse_pass


def spine_components(mesh, field_: ShaftField, eligible_v: np.ndarray, p: SpineParams, counts: dict | None = None,
                     syn_v: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Hysteresis growth of protrusions on the mesh graph.

    A grown region that touches the shaft but yields no spine (the shaft around a spine is itself raised
    because the axis is locally off, so the spine has no contact of its own; a base wider than the shaft) is
    searched again with its protrusion measured from its own
    level (the ``rejected_level_quantile`` of its protrusion): spines standing on a raised patch of shaft.
    Returns the per-vertex spine label (-1 none), the mask of spine vertices touching the shaft, and the
    attachment ring (table ``spine, v`` of shaft vertices adjacent to each spine). ``counts`` (optional dict)
    receives the number of spines of each pass; ``syn_v``: postsynapse vertices for the synapse pass.
    """
    counts = {} if counts is None else counts
    r = field_.radius_nm
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    ok = eligible_v & np.isfinite(r) & (r >= p.min_shaft_radius_nm)
    hn = np.nan_to_num(field_.protrusion_nm, nan=-np.inf)
    nv = len(r)
    e_mesh = np.asarray(mesh.edges_unique)
    links = proximity_links(mesh, p.link_nm)
    piece = edge_components(nv, e_mesh)[1]
    faces = np.asarray(mesh.faces)
    area_f = np.asarray(mesh.area_faces)
    va = vertex_areas_nm2(faces, area_f, nv)
    sink = counts.get("candidate_sink")
    ratios: list | None = [] if p.sparse_min_height_to_extent > p.min_height_to_extent else None
    label, base, ring, rejected = _grow_pass(verts, r, hn, ok, field_.beyond_end, eligible_v, e_mesh, links,
                                             piece, va, (faces, area_f), p, field_, sink, ratios)
    counts["first_pass"] = int(label.max()) + 1
    if p.rejected_level_quantile is not None and (rejected >= 0).any():
        rej = rejected >= 0
        n_rej = int(rejected.max()) + 1
        lvl = weighted_group_quantile(rejected[rej], hn[rej], va[rej], p.rejected_level_quantile, n_rej)
        h2 = hn.copy()
        h2[rej] -= lvl[rejected[rej]]
        ok2 = ok & (label < 0)
        lab2, base2, ring2, _ = _grow_pass(verts, r, h2, ok2, field_.beyond_end, eligible_v & (label < 0), e_mesh,
                                           links, piece, va, (faces, area_f), p, field_, sink, ratios)
        counts["second_pass"] = int(lab2.max()) + 1
        n1 = int(label.max()) + 1
        label = np.where(lab2 >= 0, lab2 + n1, label)
        base |= base2
        ring = pd.concat([ring, ring2.assign(spine=ring2.spine + n1)], ignore_index=True)
    if ratios is not None:
        label, base, ring = drop_low_on_sparse(label, base, ring, field_, np.concatenate(ratios), p, counts)
    if p.relief_radius_nm > 0:
        label, base, ring = relief_pass(_grow_pass, verts, r, hn, ok, field_, eligible_v, e_mesh, links, piece,
                                        va, (faces, area_f), p, label, base, ring, counts)
    if p.dome_seed_nm > 0:
        label, base, ring = dome_pass(_grow_pass, superlevel_vertex_area, verts, r, hn, ok, field_, eligible_v,
                                      e_mesh, links, piece, va, (faces, area_f), p, label, base, ring, counts)
    if syn_v is not None and len(syn_v):
        label, base, ring = synapse_pass(_grow_pass, verts, r, hn, ok, field_, eligible_v, e_mesh, links, piece, va,
                                         (faces, area_f), p, label, base, ring, syn_v, counts)
    if p.extend_reach_nm > 0 and (label >= 0).any():
        margin = p.grow_threshold_nm(r, nan_radius=0.0)
        label = extend_spines(mesh, label, hn, margin, ok, p.extend_reach_nm, p.extend_ring_nm, p.extend_level,
                              links if p.extend_across_links else None, p.vertex_ties_by_coordinates)
        base, ring = attachment(e_mesh, label, eligible_v, ring)
    return label, base, ring.drop_duplicates()

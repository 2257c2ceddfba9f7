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
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geometry.meshes import coordinate_order, vertex_areas_nm2
from ..geometry.meshgraph import edge_components
from ..geometry.stats import group_mode, stable_int_order, weighted_group_quantile
from ..model.soma_extent import SomaExtentParams, within_soma
from ..neuron import SPINE_LABELS, Neuron, is_label
from ..skeleton.centre import centred_skeleton
from ..units import nm_to_um
from .headneck import HeadNeckParams, spine_geometry
from .inscribed_axis import shaft_skeleton
from .refit import refit_args, refit_field
from .shaft import ShaftField, ShaftParams, shaft_field
from .candidates import filter_candidates, pool_params
from .extend import extend_spines, planar_level  # noqa: F401  (planar_level: re-exported for tests)
from .dome import dome_pass
from .local_shaft import local_shaft_field
from .relief import attachment, drop_low_on_sparse, relief_pass
from .synapse_evidence import postsynapse_vertices, synapse_pass
from .shape import angular_coverage, axial_extent
from .vertex_model import refine_labels
from .normalise import lift_spines, normalised_view
from .pieces import proximity_links, shaft_surface

NON_DENDRITIC = ("axon", "soma")


@dataclass(frozen=True)
class SpineParams:
    """Spine-detection parameters (nm; ``_rel`` values are fractions of the local shaft radius).

    A seed vertex protrudes more than max(seed_protrusion_nm, seed_protrusion_rel * r); with seed_floor_nm > 0 the
    first term becomes seed_spread_factor x the scatter of the vertex's shaft chunk below its radius
    (``ShaftField.spread_nm``: noise, an elliptic section, an axis off centre) clipped to [seed_floor_nm,
    seed_protrusion_nm], so low domes (stubby spines) seed where the shaft is smooth and round enough to show
    them; a spine grows through vertices protruding more than max(grow_protrusion_nm, grow_protrusion_rel * r).
    Spines protrude at most max_length_nm, cover at least min_area_nm2 of surface above the growth threshold
    (protrusion interpolated linearly over faces: an area, not a vertex count, so the test does not depend on the
    tessellation) and have a base radius at most max_base_radius_rel * r. Spines longer than max_length_nm from
    their base or with heads wider than max_head_width_nm are dropped. Shafts thinner than min_shaft_radius_nm are
    not searched (NEURD uses mesh width > 115 nm).
    link_nm: open-edge vertices of different mesh pieces closer than this are connected (chunked meshes).
    min_shaft_piece_area_nm2: a spine must touch a mesh piece with at least this much shaft surface (no debris).
    centre_skeleton: move the skeleton to the centres of the cross-sections it owns first (True / False, or
    "auto": only when the median move exceeds off_centre_fraction x the median skeleton radius, as happens
    with surface-walking skeletonizers such as TEASAR). inscribed_axis_fraction (default 0.3 since session 18; 0:
    off): the largest circles inscribed in the cross-sections decide whether the skeleton runs off its shaft and
    move it there onto the shaft; they also decide instead of "auto" whether to centre (``inscribed_axis``).
    max_angular_coverage: a candidate whose vertices occupy more than this fraction of ``angular_bins`` equal sectors
    around the axis is a swelling of the whole process (a varicosity, a bouton), not a spine (1.0: no test).
    min_height_to_extent: a candidate must protrude at least this fraction of its extent along the shaft axis
    (its highest protrusion over the spread of its vertices along the axis): a spine stands out of its shaft, a
    flare or a partly grown varicosity is a long low swelling along it (0: no test).
    sparse_min_height_to_extent: the same test, stricter, only where the first two passes found fewer than the
    relief density gate's spines per µm (``relief.drop_low_on_sparse``; <= min_height_to_extent: off).
    split_by_seeds: split a grown region between its seed cores (nearest core along mesh edges); two touching
    cores stay one spine unless the lower peak rises more than core_persistence_nm above the saddle between them.
    rejected_level_quantile: a grown region that touches the shaft but yields no spine is searched again with
    its protrusion measured from this quantile of its own protrusion (None: no second pass).
    relief_radius_nm / relief_quantile / relief_seed_nm: > 0 adds a last pass over the surface no spine took,
    with protrusion measured from the local shaft level (the ``relief_quantile`` of the protrusion of the
    non-spine surface within ``relief_radius_nm``, ``relief.surface_level``), seeds above relief_seed_nm and
    growth above relief_grow_nm (half the shaft lies above a median level), only within relief_near_spine_nm of
    a spine found before (spiny dendrite; 0: everywhere), and only where the spines found before number at least
    relief_min_density_per_um per µm of dendrite within relief_density_radius_nm (0: no density gate).
    Shaft-model errors that vary over the scale of the shaft (an axis off centre, a taper, an elliptic section)
    cancel in that relief, so low stubby spines where the shaft reads sunken stand out of their surroundings.
    extend_reach_nm / extend_ring_nm: accepted spines take unlabelled vertices within extend_reach_nm (along
    mesh edges) that protrude more than the median protrusion of the ring extend_ring_nm from the spine plus the
    growth threshold (0: no extension).
    dome_seed_nm > 0 adds a dome pass (``dome.py``) over the surface left: seeds above dome_seed_nm (and
    dome_seed_nm / seed_protrusion_nm x seed_protrusion_rel x r), area floor dome_min_area_nm2, kept only when
    the candidate's spherical-cap radius is at most dome_max_cap_radius_nm and dome_max_cap_rel x its shaft radius
    (low stubby spines, not shaft relief); dome_dense_only: only where the relief pass's density gate opens.
    local_shaft_far_nm > 0: connected surface protruding more than local_shaft_far_nm over more than
    local_shaft_min_area_nm2 (dendrite no skeleton reached, not a spine) gets straight shafts fitted per
    local_shaft_cell_nm cube, and nearby surface nearer such a shaft than its axis is measured against it
    (``local_shaft.py``; 0: off).
    candidate_filter: "rules" (the cuts above decide), "model" (the cuts loosened to the shipped spine-candidate
    model's pool and the model keeps a candidate when its probability reaches candidate_threshold, None: the
    model's own; ``candidates.py``), or "pool" (the loosened pool, every candidate kept: training capture).
    candidate_model_dir: folder of the model (None: ``neurd_lite/models``).
    refit_shaft: fit the shaft field again without the faces of the spines found (densely spiny dendrite gives
    spines ~half of a chunk's surface, which lifts the radius quantile into the spines), then search again;
    the first axis and, where no surface is left, the first radius stay (False: off; refit_scale, refit_above_quantile:
    which gates read which radius and where the radius is replaced, ``refit.refit_args``).
    vertex_model: re-decide every dendritic vertex with the shipped spine-vertex model after the rules
    (``vertex_model.py``; default on since session 14; False: the rules alone); vertex_threshold (None: the sidecar's),
    vertex_model_dir as above; vertex_feature_set: "rings" (default, for normalise_edge_nm=300) or "balls".
    vertex_ties_by_coordinates: a vertex two spines reach at once joins one by coordinates, not listing order (on).
    model_skirt: "stalked" (default) / "all" / "off" (skirt.py); rim_nm > 0: free vertices near a spine join (rim.py).
    model_spine_needs_shaft: a spine the vertex model adds (touching no rule spine) must share a mesh edge with
    unlabelled surface of a piece that reaches the shaft's level (protrusion <= the growth threshold somewhere) or
    has an open edge (cut off its shaft by a chunk boundary; ``pieces.py``): a closed crumb off the shaft that
    the model scores high is not a spine (opt-in, session 15; it still drops spines of meshes whose spine heads
    are separate closed pieces, e.g. synthetic cells meshed with ``union=False``).
    synapse_seed_nm > 0 adds a synapse pass (``synapse_evidence.py``): a postsynapse within
    synapse_max_distance_nm of the mesh whose vertex stands above the shaft by max(synapse_seed_nm,
    synapse_seed_rel x r, synapse_spread_factor x spread) seeds a spine there (area floor synapse_min_area_nm2).
    normalise_edge_nm > 0: detect on the mesh with every longer edge split at its midpoint (``normalise.py``, one
    tessellation scale at any input resolution; only the dendritic faces), the result lifted back (0: off).
    """

    seed_protrusion_nm: float = 200.0
    seed_protrusion_rel: float = 0.2
    seed_floor_nm: float = 0.0
    seed_spread_factor: float = 0.0
    grow_protrusion_nm: float = 25.0
    grow_protrusion_rel: float = 0.05
    max_length_nm: float = 4000.0
    max_head_width_nm: float = 2000.0
    min_area_nm2: float = 2.0e5
    max_base_radius_rel: float = 1.6
    min_shaft_radius_nm: float = 60.0
    link_nm: float = 300.0
    min_shaft_piece_area_nm2: float = 1.0e5
    split_by_seeds: bool = True
    core_persistence_nm: float = 100.0
    rejected_level_quantile: float | None = 0.25
    extend_reach_nm: float = 300.0
    extend_ring_nm: tuple[float, float] = (300.0, 700.0)
    extend_level: str = "plane"
    extend_across_links: bool = True
    centre_skeleton: bool | str = "auto"
    off_centre_fraction: float = 0.3
    inscribed_axis_fraction: float = 0.3
    max_angular_coverage: float = 1.0
    angular_bins: int = 16
    min_height_to_extent: float = 0.3
    sparse_min_height_to_extent: float = 0.0
    relief_radius_nm: float = 1000.0
    relief_quantile: float = 0.5
    relief_seed_nm: float = 200.0
    relief_grow_nm: float = 60.0
    relief_near_spine_nm: float = 2000.0
    relief_min_density_per_um: float = 0.6
    relief_density_radius_nm: float = 5000.0
    dome_seed_nm: float = 0.0
    dome_min_area_nm2: float = 1.0e5
    dome_max_cap_radius_nm: float = 400.0
    dome_max_cap_rel: float = 1.0
    dome_dense_only: bool = False
    local_shaft_far_nm: float = 0.0
    local_shaft_min_area_nm2: float = 4.0e6
    local_shaft_cell_nm: float = 2000.0
    refit_shaft: bool = False
    refit_scale: str = "refit"
    refit_above_quantile: float = 0.0
    candidate_filter: str = "rules"
    candidate_threshold: float | None = None
    candidate_model_dir: str | None = None
    vertex_model: bool = True
    vertex_threshold: float | None = None
    vertex_model_dir: str | None = None
    vertex_feature_set: str = "rings"
    vertex_ties_by_coordinates: bool = True
    model_skirt: str = "stalked"
    rim_nm: float = 0.0
    model_spine_needs_shaft: bool = False
    synapse_seed_nm: float = 0.0
    synapse_seed_rel: float = 0.1
    synapse_spread_factor: float = 2.0
    synapse_min_area_nm2: float = 1.0e5
    synapse_max_distance_nm: float = 600.0
    normalise_edge_nm: float = 300.0
    shaft: ShaftParams = field(default_factory=ShaftParams)
    headneck: HeadNeckParams = field(default_factory=HeadNeckParams)

    def grow_threshold_nm(self, radius_nm: np.ndarray, nan_radius: float = np.inf) -> np.ndarray:
        """Protrusion (nm) a vertex must exceed for a spine to grow through it: max(grow_protrusion_nm,
        grow_protrusion_rel x shaft radius nm); a NaN radius reads as ``nan_radius`` (inf: nothing grows there)."""
        r = np.nan_to_num(np.asarray(radius_nm, dtype=float), nan=nan_radius)
        return np.maximum(self.grow_protrusion_nm, self.grow_protrusion_rel * r)


SPINE_COLUMNS = ["spine_id", "n_faces", "x_nm", "y_nm", "z_nm", "length_um", "head_width_um", "neck_width_um",
                 "neck_length_um", "has_neck", "area_um2", "volume_um3", "distance_to_soma_um", "shaft_radius_um",
                 "branch", "compartment"]


def _check(n: Neuron) -> None:
    if n.mesh is None or n.n_faces == 0:
        raise InputError("detect_spines needs a neuron with a mesh", hint="n.mesh is empty")
    if n.skeleton is None or n.skeleton.n_vertices < 2:
        raise InputError("detect_spines needs a skeleton with at least 2 vertices",
                         hint="run the skeleton stage first or use neurd_lite.spines.adapters.neuron_from_mesh")


def soma_face_mask(n: Neuron, margin: float) -> np.ndarray:
    """(F,) bool soma faces: by compartment or label, by each soma's face list, or (a soma without faces) face
    centroids within ``margin`` x its radius (nm) of its centre (``SomaExtentParams.core_factor``)."""
    mask = is_label(n.face_compartment, ("soma",)) | is_label(n.face_labels, ("soma",))  # no (F,) string copies
    centroids = None
    for s in n.somas:
        if len(s.faces):
            mask[s.faces[(s.faces >= 0) & (s.faces < n.n_faces)]] = True
        else:
            if centroids is None:
                centroids = np.asarray(n.mesh.triangles_center)
            mask |= within_soma(centroids, s.center_nm, s.radius_nm, margin)
    return mask


def ineligible_faces(n: Neuron, soma_core_factor: float) -> np.ndarray:
    """(F,) bool: soma and axon faces (by compartment, label or soma face list; a soma without faces reaches
    ``soma_core_factor`` radii), where spines are not searched."""
    bad = is_label(n.face_compartment, NON_DENDRITIC)
    bad |= is_label(n.face_labels, NON_DENDRITIC)
    return bad | soma_face_mask(n, soma_core_factor)


def _majority(lab: np.ndarray) -> np.ndarray:
    """Per face (F, 3) vertex labels -> the label shared by >= 2 vertices, else -1."""
    a, b, c = lab[:, 0], lab[:, 1], lab[:, 2]
    out = np.where((a == b) | (a == c), a, np.where(b == c, b, -1))
    return np.where(out >= 0, out, -1)


def _face_labels(vlabel: np.ndarray, faces: np.ndarray, verts: np.ndarray, fld: ShaftField,
                 p: SpineParams) -> np.ndarray:
    """Spine id per face: the label of >= 2 of its vertices, or of one when the face centroid itself
    protrudes past the growth threshold (faces fanning from a spine's base ring up its neck)."""
    lab = vlabel[faces]
    out = _majority(lab)
    one = (out < 0) & (lab.max(axis=1) >= 0)
    if one.any():
        idx = np.flatnonzero(one)
        d, _ = cKDTree(fld.sample_points_nm).query(verts[faces[idx]].mean(1))
        r = np.nanmean(fld.radius_nm[faces[idx]], axis=1)
        grows = (d - r) > p.grow_threshold_nm(r)
        # two spines: the one of the labelled corner first by coordinates (ids follow input order)
        corner = verts[faces[idx]].reshape(-1, 3)
        rank = coordinate_order(corner)[1]  # each corner's place in coordinate order
        pick = lab[idx, np.argmin(np.where(lab[idx] >= 0, rank.reshape(-1, 3), len(corner)), axis=1)]
        out[idx[grows]] = pick[grows]
    return out


def split_by_seed_cores(verts: np.ndarray, edges: np.ndarray, seed: np.ndarray, comp: np.ndarray,
                        h: np.ndarray | None = None, persistence_nm: float = 0.0) -> np.ndarray:
    """Grown components (``comp``, -1 outside) split between their seed cores: each connected group of seed
    vertices is a core and every grown vertex joins the core nearest along ``edges`` (edges between grown
    vertices, nm lengths). Neighbouring spines joined by a low saddle of shaft stay apart; vertices reachable
    from no core get -1. With protrusion ``h`` (nm) and ``persistence_nm`` > 0, touching cores merge when the
    lower of their peaks rises less than ``persistence_nm`` above the highest saddle between them (a bump on one
    spine that a finer mesh resolves into two seed groups is not a second spine)."""
    nv = len(comp)
    both = seed[edges[:, 0]] & seed[edges[:, 1]]
    core = edge_components(nv, edges[both])[1]
    src = np.flatnonzero(seed & (comp >= 0))
    out = np.full(nv, -1, dtype=np.int64)
    if len(src) == 0:
        return out
    w = np.linalg.norm(verts[edges[:, 0]] - verts[edges[:, 1]], axis=1) + 1e-6
    gw = sp.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(nv, nv)).tocsr()
    dist, _, origin = csgraph.dijkstra(gw, directed=False, indices=src, min_only=True, return_predecessors=True)
    got = np.isfinite(dist) & (origin >= 0) & (comp >= 0)
    out[got] = core[origin[got]]
    if h is not None and persistence_nm > 0:
        out = merge_shallow_cores(out, edges, h, persistence_nm)
    return out


def merge_shallow_cores(owner: np.ndarray, edges: np.ndarray, h: np.ndarray, persistence_nm: float) -> np.ndarray:
    """Territories ``owner`` (-1 none) merged where the lower peak of two touching territories rises less than
    ``persistence_nm`` above their saddle (the highest min(h) over edges joining them; nm)."""
    cut = edges[(owner[edges[:, 0]] >= 0) & (owner[edges[:, 1]] >= 0) & (owner[edges[:, 0]] != owner[edges[:, 1]])]
    if len(cut) == 0:
        return owner
    ids = owner >= 0
    n_id = int(owner.max()) + 1
    peak = np.full(n_id, -np.inf)
    np.maximum.at(peak, owner[ids], h[ids])
    a, b = np.sort(owner[cut], axis=1).T
    sad = pd.Series(np.minimum(h[cut[:, 0]], h[cut[:, 1]])).groupby([a, b]).max()
    pa = np.array([i for i, _ in sad.index], dtype=np.int64)
    pb = np.array([j for _, j in sad.index], dtype=np.int64)
    join = np.minimum(peak[pa], peak[pb]) - sad.to_numpy() < persistence_nm
    root = edge_components(n_id, np.column_stack([pa[join], pb[join]]))[1]
    return np.where(ids, root[np.maximum(owner, 0)], -1)


def superlevel_vertex_area(faces: np.ndarray, area_faces: np.ndarray, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(V,) nm²: the surface where ``h`` (linear over each face) exceeds the threshold ``t`` (per vertex; a face
    uses the mean of its corners), shared among each face's corners above it (0 for the others).

    Summed over a grown region this is the region's area above the growth threshold whatever the
    tessellation: a vertex-area sum would credit a one-vertex bump of a coarse mesh with a third of its whole fan.
    """
    hf = h[faces]
    tf = np.broadcast_to(t[faces].mean(1, keepdims=True), hf.shape)
    above = hf > tf
    k = above.sum(1)
    srt = np.sort(hf, axis=1)
    lo, mid, hi = srt[:, 0], srt[:, 1], srt[:, 2]
    tt = tf[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        one = (hi - tt) ** 2 / ((hi - mid) * (hi - lo))
        two = 1.0 - (tt - lo) ** 2 / ((hi - lo) * (mid - lo))
    frac = np.select([k == 3, k == 2, k == 1], [np.ones(len(k)), two, one], 0.0)
    frac = np.clip(np.nan_to_num(frac, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    share = np.where(above, (frac * area_faces / np.maximum(k, 1))[:, None], 0.0)
    return np.bincount(faces.reshape(-1), weights=share.reshape(-1), minlength=len(h))


def seed_level(p: SpineParams, fld: ShaftField | None, nv: int) -> np.ndarray | float:
    """Absolute seed threshold (nm), scalar or per vertex: ``p.seed_protrusion_nm``, or with ``p.seed_floor_nm``
    > 0 the spread-scaled level clipped to [seed_floor_nm, seed_protrusion_nm] (no spread known: the ceiling)."""
    if not 0 < p.seed_floor_nm < p.seed_protrusion_nm or fld is None or fld.spread_nm is None:
        return p.seed_protrusion_nm
    spread = np.nan_to_num(np.asarray(fld.spread_nm, dtype=float)[:nv], nan=np.inf)
    return np.clip(p.seed_spread_factor * spread, p.seed_floor_nm, p.seed_protrusion_nm)


def _grow_pass(verts: np.ndarray, r: np.ndarray, hn: np.ndarray, ok: np.ndarray, beyond_end: np.ndarray,
               eligible_v: np.ndarray, e_mesh: np.ndarray, links: np.ndarray, piece: np.ndarray, va: np.ndarray,
               mesh_faces: tuple[np.ndarray, np.ndarray], p: SpineParams, fld: ShaftField | None = None,
               stats_sink: list | None = None, ratio_out: list | None = None
               ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """One hysteresis pass on protrusion ``hn`` (nm): per-vertex spine label (-1 none), base mask, attachment
    ring (``spine, v``) and the grown-but-rejected region id per vertex (-1 elsewhere). ``va``: vertex areas
    (nm², a third of the incident faces); ``mesh_faces``: (faces, face areas nm²); ``ratio_out``: a list that
    receives the spines' height / axial extent."""
    nv = len(r)
    seed = ok & ~beyond_end & (hn > np.maximum(seed_level(p, fld, nv), p.seed_protrusion_rel * r))
    t_grow = p.grow_threshold_nm(r)
    grow = ok & (hn > t_grow)
    e = np.vstack([e_mesh, links])
    both = grow[e[:, 0]] & grow[e[:, 1]]
    _, comp = edge_components(nv, e[both])
    comp = np.where(grow, comp, -1)
    region = comp.copy()
    if p.split_by_seeds:
        comp = split_by_seed_cores(verts, e[both], seed, comp, hn, p.core_persistence_nm)
    # base: grown vertices with a mesh neighbour on the eligible shaft; a spine cut off its shaft by a chunk
    # boundary attaches through a proximity link instead (then the link ends are its base)
    shaft_v = shaft_surface(eligible_v, grow, r, piece, va, p.min_shaft_piece_area_nm2)

    def crossing(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ce = edges[(grow[edges[:, 0]] & shaft_v[edges[:, 1]]) | (grow[edges[:, 1]] & shaft_v[edges[:, 0]])]
        g_end = np.where(grow[ce[:, 0]], ce[:, 0], ce[:, 1])
        return g_end, np.where(grow[ce[:, 0]], ce[:, 1], ce[:, 0])

    grown_end, ring_v = crossing(e_mesh)
    link_end, link_ring = crossing(links)
    meshed = np.isin(comp[link_end], comp[grown_end])
    grown_end = np.concatenate([grown_end, link_end[~meshed]])
    ring_v = np.concatenate([ring_v, link_ring[~meshed]])
    base = np.zeros(nv, dtype=bool)
    base[grown_end] = True
    ring_c = comp[grown_end]
    in_c = comp >= 0
    df = pd.DataFrame({"c": comp[in_c], "seed": seed[in_c], "base": base[in_c], "h": hn[in_c], "r": r[in_c],
                       "a": superlevel_vertex_area(*mesh_faces, np.where(ok & np.isfinite(hn), hn, 0.0), t_grow)[in_c]})
    df["rb"] = (r if getattr(fld, "base_radius_nm", None) is None else fld.base_radius_nm)[in_c]  # refit.py
    stats = df.groupby("c").agg(area=("a", "sum"), seeds=("seed", "sum"), bases=("base", "sum"),
                                hmax=("h", "max"), r=("r", "median"), rb=("rb", "median"))
    good = stats[(stats.seeds > 0) & (stats.bases > 0) & (stats.area >= p.min_area_nm2)
                 & (stats.hmax <= p.max_length_nm)].index.to_numpy()
    if fld is not None and p.max_angular_coverage < 1.0 and len(good):
        cov = angular_coverage(verts, np.where(np.isin(comp, good), comp, -1), fld, p.angular_bins)
        good = good[cov.reindex(good).fillna(0.0).to_numpy() <= p.max_angular_coverage]
    ratio_of = pd.Series(np.inf, index=good)
    if fld is not None and len(good) and (p.min_height_to_extent > 0 or stats_sink is not None
                                          or ratio_out is not None):
        ext = axial_extent(verts, np.where(np.isin(comp, good), comp, -1), hn, fld).reindex(good)
        ratio = stats.loc[good, "hmax"].to_numpy() / np.maximum(ext.to_numpy(), 1.0)
        if stats_sink is not None:
            iv = np.flatnonzero(np.isin(comp, good))
            top_v = pd.Series(iv).groupby(comp[iv]).apply(lambda x: x.to_numpy()[np.argmax(hn[x.to_numpy()])])
            stats_sink.append(pd.DataFrame({"c": good, "top_v": top_v.reindex(good).to_numpy(),
                                            "hmax": stats.loc[good, "hmax"].to_numpy(),
                                            "extent": ext.to_numpy(), "area": stats.loc[good, "area"].to_numpy(),
                                            "r": stats.loc[good, "r"].to_numpy()}))
        ratio_of[:] = ratio
        good = good[ratio >= p.min_height_to_extent]
    label = np.full(nv, -1, dtype=np.int64)
    keep = np.isin(comp, good)
    # base width check (vectorised): rms distance of base vertices to their centroid vs the shaft radius
    bsel = keep & base
    if bsel.any():
        bdf = pd.DataFrame(verts[bsel], columns=["x", "y", "z"])
        bdf["c"] = comp[bsel]
        cen = bdf.groupby("c")[["x", "y", "z"]].transform("mean").to_numpy()
        bdf["d2"] = ((bdf[["x", "y", "z"]].to_numpy() - cen) ** 2).sum(1)
        rad = np.sqrt(bdf.groupby("c")["d2"].mean())
        too_wide = rad.index[rad.to_numpy() > p.max_base_radius_rel * stats.loc[rad.index, "rb"].to_numpy()]
        keep &= ~np.isin(comp, too_wide.to_numpy())
    good_ids, dense = np.unique(comp[keep], return_inverse=True)
    label[keep] = dense
    if ratio_out is not None:
        ratio_out.append(ratio_of.reindex(good_ids).to_numpy())
    in_good = np.isin(ring_c, good_ids)
    ring = pd.DataFrame({"spine": np.searchsorted(good_ids, ring_c[in_good]), "v": ring_v[in_good]})
    # regions re-searched later: not spines, but touching the shaft (a raised shaft patch; not a loose crumb)
    touches = np.zeros(nv + 1, dtype=bool)
    touches[region[base & (region >= 0)]] = True
    rejected = np.where((region >= 0) & ~keep & touches[region], region, -1)
    return label, base, ring, rejected


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
                              links if p.extend_across_links else None)
        base, ring = attachment(e_mesh, label, eligible_v, ring)
    return label, base, ring.drop_duplicates()


def detect_spines(n: Neuron, params: SpineParams | None = None, soma_extent: SomaExtentParams | None = None
                  ) -> ShaftField:
    """Find spines on dendritic faces; fill ``n.face_spine``, spine ``n.face_labels`` and ``n.spines`` (µm).

    Skips soma and axon faces (a soma without faces reaches ``soma_extent.core_factor`` radii). Positions in
    ``n.spines`` are nm (``x_nm``...: the base centre), measurements µm. Returns the shaft field it measured
    protrusion against (per mesh vertex; the synapse-target model reads it).
    """
    _check(n)
    p = params or SpineParams()
    extent = soma_extent or SomaExtentParams()
    if p.normalise_edge_nm > 0:  # refine the dendritic faces only: the rest is never searched
        w, parent = normalised_view(n, p.normalise_edge_nm, ~ineligible_faces(n, extent.core_factor))
        return lift_spines(n, w, parent, detect_spines(w, replace(p, normalise_edge_nm=0.0), soma_extent))
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
        radius = np.nanmedian(skel.radius) if np.isfinite(skel.radius).any() else np.nan
        off_centre = np.isfinite(radius) and np.median(moved) > p.off_centre_fraction * radius
        if p.centre_skeleton is True or (off_centre and p.inscribed_axis_fraction <= 0):
            skel = centred
            n.provenance.setdefault("spines_notes", {})["skeleton_centred"] = True
    if p.inscribed_axis_fraction > 0:
        skel = shaft_skeleton(n, skel, centred if off_centre else None, verts, faces, ~bad_f, p,
                              extent.core_factor)
    fld = shaft_field(verts, faces, skel, ~bad_f, p.shaft)
    if p.local_shaft_far_nm > 0:
        va = vertex_areas_nm2(faces, mesh.area_faces, len(verts))
        fld, local = local_shaft_field(fld, verts, np.asarray(mesh.edges_unique), eligible_v, va,
                                       p.local_shaft_far_nm, p.local_shaft_min_area_nm2, p.local_shaft_cell_nm,
                                       p.shaft.radius_quantile)
        n.provenance.setdefault("spines_notes", {})["local_shaft_vertices"] = int(local.sum())
    sink = n.cache.get("spine_candidate_sink")  # a list: per-candidate statistics for analysis (benchmarks)
    pass_counts: dict = {} if sink is None else {"candidate_sink": sink}
    if isinstance(n.cache.get("spine_dome_sink"), list):  # dome-pass candidates for analysis (benchmarks)
        pass_counts["dome_sink"] = n.cache["spine_dome_sink"]
    syn_v = postsynapse_vertices(mesh, n.synapses, p.synapse_max_distance_nm) if p.synapse_seed_nm > 0 else None
    vlabel, base, ring = spine_components(mesh, fld, eligible_v, pool_params(p), pass_counts, syn_v)
    if p.refit_shaft and (vlabel >= 0).any():
        fld = refit_field(fld, verts, faces, skel, bad_f, (vlabel[faces] >= 0).any(1), *refit_args(p))
        vlabel, base, ring = spine_components(mesh, fld, eligible_v, pool_params(p), pass_counts, syn_v)
    if p.vertex_model or isinstance(n.cache.get("spine_vertex_sink"), list):  # learned refinement / its capture
        vlabel, base, ring = refine_labels(mesh, fld, eligible_v, vlabel, base, ring, p,
                                           seed_level(p, fld, len(verts)), n.cache.get("spine_vertex_sink"))
    pass_counts = {k: v for k, v in pass_counts.items() if k not in ("candidate_sink", "dome_sink")}
    rc = ring.assign(x=verts[ring.v, 0], y=verts[ring.v, 1], z=verts[ring.v, 2]).groupby("spine")[list("xyz")].mean()
    ring_row = dict(zip(rc.index.tolist(), rc.to_numpy()))  # spine -> mean ring position (no DataFrame.loc per spine)
    face_spine = _face_labels(vlabel, faces, verts, fld, p)
    face_spine[bad_f] = -1

    # restore labels of faces that an earlier run called spines
    old = is_label(n.face_labels, SPINE_LABELS)
    n.face_labels[old] = n.face_compartment[old]
    n.face_spine = face_spine
    rows = []
    has_soma = len(n.somas) > 0
    dist_root = skel.distance_to_root_nm
    order = stable_int_order(face_spine)
    counts = np.bincount(face_spine[face_spine >= 0], minlength=int(vlabel.max()) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)]) + np.count_nonzero(face_spine < 0)
    vorder = stable_int_order(vlabel)
    vcounts = np.bincount(vlabel[vlabel >= 0], minlength=len(counts))
    vstarts = np.concatenate([[0], np.cumsum(vcounts)]) + np.count_nonzero(vlabel < 0)
    tri_all = verts[faces]
    head_face = np.zeros(len(faces), dtype=bool)
    new_id = np.full(len(counts), -1, dtype=np.int64)
    # per spine: the most common branch / compartment of its faces (the vote refine repeats after relabelling)
    with_b = (face_spine >= 0) & (n.face_branch >= 0)
    branch_vote = group_mode(face_spine[with_b], n.face_branch[with_b], len(counts), -1)
    on = face_spine >= 0
    comp_vote = group_mode(face_spine[on], n.face_compartment[on].astype(str), len(counts), "unlabelled")
    row_label: list[int] = []
    for sid in range(len(counts)):
        fidx = order[starts[sid]:starts[sid + 1]]
        vidx = vorder[vstarts[sid]:vstarts[sid + 1]]
        if len(fidx) == 0:
            continue
        base_pt = ring_row.get(sid)
        geo = spine_geometry(verts[vidx], base[vidx], tri_all[fidx], p.headneck, base_pt)
        if geo.length_nm > p.max_length_nm or geo.head_width_nm > p.max_head_width_nm:
            continue  # a branch stub or a swelling, not a spine
        head_face[fidx] = geo.is_head(tri_all[fidx].mean(1))
        bv = vidx[base[vidx]] if base[vidx].any() else vidx
        skel_v = fld.sample_vertex[bv]
        new_id[sid] = len(rows)
        row_label.append(sid)
        rows.append({
            "spine_id": len(rows), "n_faces": len(fidx),
            "x_nm": geo.base_nm[0], "y_nm": geo.base_nm[1], "z_nm": geo.base_nm[2],
            "length_um": nm_to_um(geo.length_nm), "head_width_um": nm_to_um(geo.head_width_nm),
            "neck_width_um": nm_to_um(geo.neck_width_nm), "neck_length_um": nm_to_um(geo.neck_length_nm),
            "has_neck": geo.t_split_nm > 0, "area_um2": nm_to_um(geo.area_nm2, 2),
            "volume_um3": nm_to_um(geo.volume_nm3, 3),
            "distance_to_soma_um": nm_to_um(float(np.min(dist_root[skel_v]))) if has_soma else np.nan,
            "shaft_radius_um": nm_to_um(float(np.nanmedian(fld.radius_nm[bv]))),
            "branch": int(branch_vote[sid]),
            "compartment": str(comp_vote[sid]),
        })
    if p.candidate_filter != "rules" and rows:
        rows, new_id = filter_candidates(n, p, rows, new_id, row_label, vlabel, base, ring, verts, fld,
                                         pass_counts)
    n.face_spine = (np.where(face_spine >= 0, new_id[np.maximum(face_spine, 0)], -1) if len(new_id)
                    else np.full(len(faces), -1, dtype=np.int64))
    sp_f = n.face_spine >= 0
    n.face_labels[sp_f] = np.where(head_face[sp_f], "spine_head", "spine_neck")
    n.spines = pd.DataFrame(rows, columns=SPINE_COLUMNS)
    n.provenance["spines"] = {"method": "protrusion-hysteresis", "n_spines": len(rows), "pass_counts": pass_counts}
    return fld

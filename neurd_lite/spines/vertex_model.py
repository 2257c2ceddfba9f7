"""Learned per-vertex spine refinement after the rule detector (``SpineParams.vertex_model``; nm inside).

The rule detector (``detect.py``) grows spines from seeds above a protrusion threshold; low stubby domes, the
junction of a neck with the shaft and spines with a poorly fitted shaft under them are missed or cut short. This
stage looks at every dendritic vertex again with a small LightGBM model (trained on the synthetic family's tune
members, ``classifiers/spine_vertex/train.py``) that reads the vertex's own geometry and the rule result around
it, and then rebuilds the spine vertex labels:

- features (:func:`vertex_features`, :data:`FEATURES`): the protrusion beyond the fitted shaft surface (nm and
  in shaft radii) and its mean / maximum over a metric ball (:data:`NEAR_NM`, Euclidean, normals not opposed;
  "2" applies the ball twice) of surface points drawn at a fixed density (``surface_balls``), the protrusion above
  the local shaft level (``relief.surface_level``, 1 µm, area-sampled), the alignment of the surface normal with
  the shaft's radial direction near the vertex and its ball means, a ball curvature (quadratic fit of the ball's
  points along their mean normal, times the shaft radius) and its ball mean, the
  shaft radius, its scatter and the vertex's distance to the skeleton in radii, whether the vertex is beyond a
  dendrite end, the signed edge distance to the nearest rule spine's boundary (positive inside), that spine's
  peak protrusion and area, the rule's seed margin and the rule spines per µm of dendrite around the vertex's
  axis sample;
- labels (:func:`relabel`): vertices with probability >= the sidecar threshold are spine; a rule spine keeps
  those of its vertices, a new spine vertex joins the rule spine it touches (nearest along mesh edges), a
  connected group touching none becomes a new spine, and any spine with less than ``min_area_nm2`` of vertex
  area is dropped. Faces, head / neck and measurements then follow in ``detect.py`` as for the rules.

The neighbourhoods are metric (session 10 round 2; they were 1-2 mesh rings, which cover less surface on a
finer mesh) and read a fixed-density surface sample (session 11; over mesh vertices a 350 nm ball held only the
vertex itself on the real cell's 81k mesh). The stage runs on the working mesh.

Feature sets (``SpineParams.vertex_feature_set``): "balls" (the above, model ``spine_vertex``) or "rings" (the
neighbourhood columns over one and two mesh rings, ``ring_features.py``, model ``spine_vertex_rings``; meant for a
mesh refined to one edge length first, ``SpineParams.normalise_edge_nm``).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geometry.meshes import coordinate_order, vertex_areas_nm2, vertex_normals
from ..geometry.meshgraph import edge_components, tied_labels
from ..model.shipped import read_booster
from .relief import attachment, found_spine_density, spine_anchor_samples, surface_level
from .pieces import cut_pieces, shaft_surface
from .ring_features import RING_COLUMNS, ring_columns
from .skirt import drop_model_skirt
from .surface_balls import ball_columns, surface_points

MODEL_NAME = "spine_vertex"
FEATURES = ("h_nm", "h_rel", "h_mean1_nm", "h_mean2_nm", "h_max1_nm", "h_max2_nm", "h_minus_mean2_nm",
            "relief_nm", "radial_cos", "radial_cos_mean1", "radial_cos_mean2", "convexity1_rel",
            "convexity_mean2_rel", "shaft_radius_nm", "spread_rel", "skeleton_dist_rel",
            "beyond_end", "spine_edge_dist_nm", "in_rule_spine", "near_spine_peak_nm", "near_spine_area_nm2",
            "seed_margin_nm", "density_per_um")
RING_FEATURES = ("h_nm", "h_rel", *RING_COLUMNS[:5], "relief_nm", *RING_COLUMNS[5:], "shaft_radius_nm", "spread_rel",
                 "skeleton_dist_rel", "beyond_end", "spine_edge_dist_nm", "in_rule_spine", "near_spine_peak_nm",
                 "near_spine_area_nm2", "seed_margin_nm", "density_per_um")  # the session-10 round-1 columns
FEATURE_SETS = {"balls": FEATURES, "rings": RING_FEATURES}
MODEL_NAMES = {"balls": MODEL_NAME, "rings": MODEL_NAME + "_rings"}
NEAR_NM = 350.0  # neighbourhood radius of the "1" features; the "2" features repeat it once (about 700 nm)
REACH_NM = 2000.0  # edge distance to a rule spine beyond which the distance reads as this value
MIN_H_NM = -400.0  # vertices lower than this and farther than REACH_NM from a rule spine are never scored
EARLY_STOP_FREQ = 10  # trees between LightGBM early-stop checks (SpineParams.vertex_early_stop_margin)


def feature_names(feature_set: str) -> tuple[str, ...]:
    """The columns of feature set ``feature_set`` ("balls" or "rings"); InputError for any other name."""
    if feature_set not in FEATURE_SETS:
        raise InputError(f"unknown SpineParams.vertex_feature_set {feature_set!r}", hint="use 'balls' or 'rings'")
    return FEATURE_SETS[feature_set]


@lru_cache(maxsize=4)
def load_model(folder: str | None = None, feature_set: str = "balls") -> tuple[Any, dict[str, Any]]:
    """The shipped spine-vertex booster of ``feature_set`` and its JSON sidecar (features, threshold, min area,
    metrics)."""
    feature_names(feature_set)
    return read_booster(MODEL_NAMES[feature_set], folder, what="spine-vertex",
                        hint="run classifiers/spine_vertex/train.py or use SpineParams(vertex_model=False)")


def _edge_graph(verts: np.ndarray, e: np.ndarray) -> sp.csr_matrix:
    w = np.maximum(np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1), 1e-3)
    nv = len(verts)
    return sp.coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                         shape=(nv, nv)).tocsr()


def _spine_distance(g: sp.csr_matrix, verts: np.ndarray, e: np.ndarray, label: np.ndarray,
                    ties_by_coordinates: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(V,) signed edge distance (nm) to the boundary of the nearest rule spine (positive inside, +-REACH_NM
    beyond reach) and (V,) that spine's label (-1 none). The boundary is taken at the midpoints of the edges that
    cross it (session 11: measured from the edge ends it was quantised by one edge length, which differs per
    resolution). With ``ties_by_coordinates``, a vertex two spines reach at exactly the same distance takes the
    spine whose first vertex by coordinates comes first (:func:`tied_labels`; without: the one Dijkstra
    visited first, which follows the mesh's listing order: session 27, a permuted basket member)."""
    nv = len(label)
    la, lb = label[e[:, 0]], label[e[:, 1]]
    cross = np.flatnonzero(la != lb)
    dist = np.full(nv, REACH_NM)
    near = np.full(nv, -1, dtype=np.int64)
    if len(cross):
        half = np.maximum(0.5 * np.linalg.norm(verts[e[cross, 0]] - verts[e[cross, 1]], axis=1), 1e-3)
        mid = nv + np.arange(len(cross))
        n2 = nv + len(cross)
        link = sp.coo_matrix((np.r_[half, half, half, half], (np.r_[mid, mid, e[cross, 0], e[cross, 1]],
                                                             np.r_[e[cross, 0], e[cross, 1], mid, mid])),
                             shape=(n2, n2))
        g2 = (sp.block_diag([g, sp.csr_matrix((len(cross), len(cross)))]) + link).tocsr()
        # g2 is symmetric: a directed search gives the undirected one's distances and sources without scanning
        # a transposed copy (see skeleton.teasar); 0.054 -> 0.039 s on the 1.3M cell's normalised mesh
        d, _, s = csgraph.dijkstra(g2, directed=True, indices=mid, min_only=True, limit=REACH_NM,
                                   return_predecessors=True)
        side = np.where(la[cross] >= 0, la[cross], lb[cross])
        got = np.isfinite(d) & (s >= nv)
        node = np.where(got, side[np.where(got, s, nv) - nv], -1)
        if ties_by_coordinates:
            node = tied_labels(g2, d, node, label, verts)
        d, node = d[:nv], node[:nv]
        ok = np.isfinite(d) & (node >= 0)
        dist[ok] = d[ok]
        near[ok] = node[ok]
    inside = label >= 0
    near[inside] = label[inside]
    return np.where(inside, dist, -dist), near


def neighbourhood_features(verts: np.ndarray, faces: np.ndarray, area_f: np.ndarray, fld, h: np.ndarray,
                           r: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Neighbourhood columns of :data:`FEATURES` at vertices ``idx`` (metric radius :data:`NEAR_NM`; "2" applies
    it twice) over a fixed-density surface sample (``surface_balls``): protrusion ``h`` (nm) mean / max,
    |normal . radial| and ball curvature x the shaft radius ``r`` (nm). The same surface gives the same values on
    any tessellation of it, up to the sample's noise."""
    near = np.isfinite(cKDTree(verts[idx]).query(verts, distance_upper_bound=2.0 * NEAR_NM)[0]) if len(idx) else \
        np.zeros(len(verts), dtype=bool)
    pts = surface_points(verts, faces, area_f, h, np.asarray(fld.sample_index), fld.sample_points_nm,
                         keep=near[faces].any(1))
    return ball_columns(verts[idx], vertex_normals(verts, faces)[idx], h[idx], r[idx], pts, NEAR_NM)


def rule_spine_columns(verts: np.ndarray, e_mesh: np.ndarray, label: np.ndarray, h: np.ndarray, va: np.ndarray,
                       ties_by_coordinates: bool = True) -> dict[str, np.ndarray]:
    """(V,) columns of :data:`FEATURES` about the rule spines (``label``, -1 none) near each vertex: signed edge
    distance (nm) to the nearest one's boundary (:func:`_spine_distance`), its peak protrusion ``h`` (nm) and its
    vertex area (``va``, nm²; NaN where no rule spine is within reach); ``ties_by_coordinates``: see
    :func:`_spine_distance`."""
    sdist, near = _spine_distance(_edge_graph(verts, e_mesh), verts, e_mesh, label, ties_by_coordinates)
    nl_ = int(label.max()) + 1
    on = label >= 0
    peak = np.full(max(nl_, 1), np.nan)
    if nl_:
        np.fmax.at(peak, label[on], h[on])
    area = np.bincount(label[on], va[on], max(nl_, 1))
    nh = np.where(near >= 0, near, 0)
    return {"spine_edge_dist_nm": sdist, "near_spine_peak_nm": np.where(near >= 0, peak[nh], np.nan),
            "near_spine_area_nm2": np.where(near >= 0, area[nh], np.nan)}


def _scatter(x: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[idx] = x
    return out


def vertex_features(verts: np.ndarray, faces: np.ndarray, e_mesh: np.ndarray, area_f: np.ndarray, fld,
                    eligible_v: np.ndarray, label: np.ndarray, seed: np.ndarray | float, density_radius_nm: float,
                    feature_set: str = "balls", flat_rel: float = 0.0, ties_by_coordinates: bool = True
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-vertex features (``feature_set``: :data:`FEATURES` or :data:`RING_FEATURES`; nm / ratios / per µm) of
    the scored vertices and their indices.

    ``fld``: the ShaftField; ``eligible_v``: dendritic vertices; ``label``: the rule's spine label per vertex
    (-1 none); ``seed``: the rule's seed threshold (nm, scalar or per vertex). Scored vertices are eligible, have
    a shaft radius, and protrude more than :data:`MIN_H_NM` or lie within :data:`REACH_NM` of a rule spine.
    """
    nv = len(verts)
    r = np.asarray(fld.radius_nm, dtype=float)
    h = np.asarray(fld.protrusion_nm, dtype=float)
    r = np.where(r > 0, r, np.nan)  # no shaft model: NaN features (never scored)
    va = vertex_areas_nm2(faces, area_f, nv)
    rule = rule_spine_columns(verts, e_mesh, label, h, va, ties_by_coordinates)
    sdist = rule["spine_edge_dist_nm"]
    idx = np.flatnonzero(eligible_v & np.isfinite(r) & np.isfinite(h) & ((h > MIN_H_NM) | (sdist > -REACH_NM)))
    si = np.asarray(fld.sample_index)
    names = feature_names(feature_set)
    if feature_set == "rings":
        nrm = getattr(fld, "vertex_normals", None)  # the shaft fit's vertex_normals(verts, faces), when it has them
        cols = ring_columns(verts, faces, e_mesh, h, r, fld.sample_points_nm[np.maximum(si, 0)],
                            nrm if nrm is not None and len(nrm) == nv else None, flat_rel)
    else:
        cols = {k: _scatter(v, idx, nv) for k, v in neighbourhood_features(verts, faces, area_f, fld, h, r,
                                                                             idx).items()}
    shaft_ok = eligible_v & np.isfinite(h) & (label < 0)
    scored = np.zeros(nv, dtype=bool)
    scored[idx] = True
    level = surface_level(verts, faces, area_f, h, shaft_ok, si, fld.sample_points_nm, query=scored)
    on = label >= 0
    dens = np.zeros(nv)
    if on.any():
        uniq, inv = np.unique(np.maximum(si[idx], 0), return_inverse=True)
        dens[idx] = found_spine_density(spine_anchor_samples(label, fld), fld, uniq, density_radius_nm)[inv]
    spread = np.asarray(fld.spread_nm, dtype=float) if fld.spread_nm is not None else np.full(nv, np.nan)
    cols.update(rule)
    cols.update({
        "h_nm": h, "h_rel": h / r, "relief_nm": h - level, "shaft_radius_nm": r, "spread_rel": spread / r,
        "skeleton_dist_rel": np.asarray(fld.distance_nm) / r, "beyond_end": np.asarray(fld.beyond_end, float),
        "in_rule_spine": on.astype(float),
        "seed_margin_nm": h - (seed if np.isscalar(seed) else np.asarray(seed)), "density_per_um": dens})
    return pd.DataFrame({k: np.asarray(cols[k], dtype=np.float64)[idx] for k in names}), idx


def relabel(prob: np.ndarray, idx: np.ndarray, label: np.ndarray, e_mesh: np.ndarray, va: np.ndarray,
            threshold: float, min_area_nm2: float, min_new_area_nm2: float, min_new_peak: float = 0.0,
            shaft_v: np.ndarray | None = None, cut_v: np.ndarray | None = None,
            verts: np.ndarray | None = None) -> np.ndarray:
    """New per-vertex spine labels from the model's probabilities ``prob`` at vertices ``idx``.

    Spine vertices: probability >= ``threshold``. A rule spine keeps its spine vertices; other spine vertices join
    the rule spine they reach through spine vertices (nearest in edge hops), or form new spines per connected
    group when it covers at least ``min_new_area_nm2`` of vertex area (``va``, nm²) and its highest probability
    reaches ``min_new_peak`` (and, with ``shaft_v`` (V,) bool, when it shares a mesh edge with a ``shaft_v``
    vertex the model leaves unlabelled, i.e. stands on a shaft (``pieces.shaft_surface``), or holds a ``cut_v``
    vertex: a piece cut off its shaft by a chunk boundary, ``pieces.cut_pieces``); spines with less than
    ``min_area_nm2`` are dropped. Labels renumbered 0..k-1 (rule spines first, in their order). With ``verts``
    ((V, 3) nm), a vertex that two rule spines reach in the same hop joins the one whose reaching neighbour comes
    first by coordinates (without: the last mesh edge listed wins, which follows the mesh's listing order)."""
    nv = len(label)
    on = np.zeros(nv, dtype=bool)
    on[idx[prob >= threshold]] = True
    out = np.where(on, label, -1)
    inner = e_mesh[on[e_mesh[:, 0]] & on[e_mesh[:, 1]]]
    rank = None if verts is None else coordinate_order(verts)[1]  # place by coordinates
    for _ in range(64):  # grow rule labels through the new spine vertices, one edge hop per round
        la, lb = out[inner[:, 0]], out[inner[:, 1]]
        fa = (la < 0) & (lb >= 0)
        fb = (lb < 0) & (la >= 0)
        if not (fa.any() or fb.any()):
            break
        tgt, src = np.r_[inner[fa, 0], inner[fb, 1]], np.r_[inner[fa, 1], inner[fb, 0]]
        if rank is not None:
            o = np.lexsort((rank[src], tgt))
            first = o[np.unique(tgt[o], return_index=True)[1]]
            tgt, src = tgt[first], src[first]
        out[tgt] = out[src]
    rest = on & (out < 0)
    if rest.any():
        sub = inner[rest[inner[:, 0]] & rest[inner[:, 1]]]
        comp = edge_components(nv, sub)[1]
        _, new = np.unique(comp[rest], return_inverse=True)
        pv = np.zeros(nv)
        pv[idx] = prob
        top = np.zeros(int(new.max()) + 1)
        np.maximum.at(top, new, pv[rest])
        big = (np.bincount(new, va[rest]) >= min_new_area_nm2) & (top >= min_new_peak)
        if shaft_v is not None:
            ground = shaft_v & ~on
            grp = np.full(nv, -1)
            grp[rest] = new
            touch = np.r_[grp[e_mesh[ground[e_mesh[:, 1]], 0]], grp[e_mesh[ground[e_mesh[:, 0]], 1]]]
            if cut_v is not None:
                touch = np.r_[touch, grp[rest & cut_v]]
            big &= np.isin(np.arange(len(big)), touch[touch >= 0])
        out[rest] = np.where(big[new], int(max(label.max(), out.max())) + 1 + new, -1)
    keep_on = out >= 0
    if not keep_on.any():
        return out
    uniq, inv = np.unique(out[keep_on], return_inverse=True)
    big = np.bincount(inv, va[keep_on]) >= min_area_nm2
    rank = np.where(big, np.cumsum(big) - 1, -1)
    out[keep_on] = rank[inv]
    return out


def refine_labels(mesh, fld, eligible_v: np.ndarray, label: np.ndarray, base: np.ndarray, ring: pd.DataFrame,
                  p, seed, sink: list | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The vertex-model stage: (label, base, ring) rebuilt from the model (``p.vertex_model``) or, with only
    ``sink`` (a list), the rule result unchanged and the features appended to ``sink`` (training capture)."""
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    e_mesh = np.asarray(mesh.edges_unique)
    area_f = np.asarray(mesh.area_faces)
    feats, idx = vertex_features(verts, faces, e_mesh, area_f, fld, eligible_v, label, seed,
                                 p.relief_density_radius_nm, p.vertex_feature_set,
                                 p.shaft.tie_rel, p.vertex_ties_by_coordinates)
    if isinstance(sink, list):
        sink.append({"features": feats, "idx": idx, "label": label.copy(), "eligible": eligible_v.copy(),
                     "mesh": mesh, "field": fld})
    if not p.vertex_model:
        return label, base, ring
    booster, meta = load_model(p.vertex_model_dir, p.vertex_feature_set)
    thr = float(meta["threshold"] if p.vertex_threshold is None else p.vertex_threshold)
    stop = {"pred_early_stop": True, "pred_early_stop_freq": EARLY_STOP_FREQ,
            "pred_early_stop_margin": float(p.vertex_early_stop_margin)} if p.vertex_early_stop_margin > 0 else {}
    prob = booster.predict(feats[meta["features"]].to_numpy(dtype=np.float64), num_threads=1, **stop) \
        if len(idx) else np.zeros(0)
    va = vertex_areas_nm2(faces, area_f, len(verts))
    shaft_v = cut_v = None
    if p.model_spine_needs_shaft:  # a new spine stands on a shaft, or on a piece cut off one (not on debris)
        r = np.asarray(fld.radius_nm, dtype=float)
        raised = np.asarray(fld.protrusion_nm) > p.grow_threshold_nm(r)
        piece = edge_components(len(verts), e_mesh)[1]
        shaft_v = shaft_surface(eligible_v, raised, r, piece, va, 0.0)  # any surface at the shaft's level
        cut_v = cut_pieces(mesh, piece) | np.isin(piece, piece[shaft_v])  # a cut piece, or one reaching the shaft
    new = relabel(prob, idx, label, e_mesh, va, thr, float(meta["min_area_nm2"]), float(meta["min_new_area_nm2"]),
                  float(meta.get("min_new_peak", 0.0)), shaft_v, cut_v,
                  verts if p.vertex_ties_by_coordinates else None)
    if p.model_skirt != "off":  # model-added shaft beside a rule spine goes back to the shaft (``skirt.py``)
        new = drop_model_skirt(verts, e_mesh, label, new, np.asarray(fld.protrusion_nm, dtype=float),
                               p.grow_threshold_nm(fld.radius_nm, nan_radius=0.0), eligible_v, p.extend_ring_nm,
                               p.model_skirt == "stalked")
    base, ring2 = attachment(e_mesh, new, eligible_v, ring.iloc[:0])
    return new, base, ring2

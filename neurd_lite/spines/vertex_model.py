"""Learned per-vertex spine refinement after the rule detector (``SpineParams.vertex_model``; nm inside).

The rule detector (``detect.py``) grows spines from seeds above a protrusion threshold; low stubby domes, the
junction of a neck with the shaft and spines with a poorly fitted shaft under them are missed or cut short. This
stage looks at every dendritic vertex again with a small LightGBM model (trained on the synthetic family's tune
members, ``classifiers/spine_vertex/train.py``) that reads the vertex's own geometry and the rule result around
it, and then rebuilds the spine vertex labels:

- features (:func:`vertex_features`, :data:`FEATURES`): the protrusion beyond the fitted shaft surface (nm and
  in shaft radii) and its area-weighted mean / maximum over a metric ball (:data:`NEAR_NM`, Euclidean, normals
  not opposed; "2" applies the ball twice), the protrusion above the local shaft level (``relief.surface_level``,
  1 µm, area-sampled), the alignment of the vertex normal with the shaft's radial direction and its ball means, a
  ball curvature (mean of -2 (x_j - x_i) . n_i / |x_j - x_i|², times the shaft radius) and its ball mean, the
  shaft radius, its scatter and the vertex's distance to the skeleton in radii, whether the vertex is beyond a
  dendrite end, the signed edge distance to the nearest rule spine's boundary (positive inside), that spine's
  peak protrusion and area, the rule's seed margin and the rule spines per µm of dendrite around the vertex's
  axis sample;
- labels (:func:`relabel`): vertices with probability >= the sidecar threshold are spine; a rule spine keeps
  those of its vertices, a new spine vertex joins the rule spine it touches (nearest along mesh edges), a
  connected group touching none becomes a new spine, and any spine with less than ``min_area_nm2`` of vertex
  area is dropped. Faces, head / neck and measurements then follow in ``detect.py`` as for the rules.

The neighbourhoods are metric (session 10 round 2; they were 1-2 mesh rings, which cover less surface on a
finer mesh). The stage runs on the working mesh.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..geometry.meshes import vertex_areas_nm2
from ..model.shipped import read_booster
from .relief import attachment, found_spine_density, spine_anchor_samples, surface_level
from .shaft import vertex_normals

MODEL_NAME = "spine_vertex"
FEATURES = ("h_nm", "h_rel", "h_mean1_nm", "h_mean2_nm", "h_max1_nm", "h_max2_nm", "h_minus_mean2_nm",
            "relief_nm", "radial_cos", "radial_cos_mean1", "radial_cos_mean2", "convexity1_rel",
            "convexity_mean2_rel", "shaft_radius_nm", "spread_rel", "skeleton_dist_rel",
            "beyond_end", "spine_edge_dist_nm", "in_rule_spine", "near_spine_peak_nm", "near_spine_area_nm2",
            "seed_margin_nm", "density_per_um")
NEAR_NM = 350.0  # neighbourhood radius of the "1" features; the "2" features repeat it once (about 700 nm)
REACH_NM = 2000.0  # edge distance to a rule spine beyond which the distance reads as this value
MIN_H_NM = -400.0  # vertices lower than this and farther than REACH_NM from a rule spine are never scored


@lru_cache(maxsize=2)
def load_model(folder: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The shipped spine-vertex booster and its JSON sidecar (features, threshold, min area, metrics)."""
    return read_booster(MODEL_NAME, folder, what="spine-vertex",
                        hint="run classifiers/spine_vertex/train.py or use SpineParams(vertex_model=False)")


def _ball(verts: np.ndarray, nrm: np.ndarray, va: np.ndarray, radius_nm: float) -> sp.csr_matrix:
    """(V, V) area weights (nm²) of the vertices within ``radius_nm`` (Euclidean) of each vertex whose raw normal
    is not opposed to its own (dot > -0.5, so the far side of a thin neck or a touching branch is left out);
    every row holds the vertex itself. Rows sorted by column; the same surface patch on any tessellation."""
    tree = cKDTree(verts)
    pr = tree.query_pairs(radius_nm, output_type="ndarray")
    pr = pr[(nrm[pr[:, 0]] * nrm[pr[:, 1]]).sum(1) > -0.5]
    nv = len(verts)
    i = np.r_[pr[:, 0], pr[:, 1], np.arange(nv)]
    j = np.r_[pr[:, 1], pr[:, 0], np.arange(nv)]
    w = sp.csr_matrix((np.maximum(va[j], 1e-6), (i, j)), shape=(nv, nv))
    w.sort_indices()
    return w


def _ball_mean(w: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """Area-weighted mean of ``x`` over each vertex's ball, ignoring NaN (NaN where all are)."""
    ok = np.isfinite(x)
    num = w @ np.where(ok, x, 0.0)
    den = w @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)


def _ball_max(w: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """Maximum of ``x`` over each vertex's ball (NaN counts as -inf; every row is non-empty)."""
    y = np.where(np.isfinite(x), x, -np.inf)[w.indices]
    out = np.maximum.reduceat(y, w.indptr[:-1])
    return np.where(np.isfinite(out), out, np.nan)


def _ball_convexity(w: sp.csr_matrix, verts: np.ndarray, nrm: np.ndarray) -> np.ndarray:
    """(V,) mean curvature estimate (1/nm) at the ball's scale: the area-weighted mean over the other vertices of
    the ball of -2 (x_j - x_i) . n_i / |x_j - x_i|² (positive on a dome under outward normals ``nrm``)."""
    i = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    j = w.indices
    d = verts[j] - verts[i]
    d2 = (d * d).sum(1)
    other = d2 > 1e-6
    k = np.where(other, -2.0 * (d * nrm[i]).sum(1) / np.maximum(d2, 1e-6), 0.0)
    wt = np.where(other, w.data, 0.0)
    num = np.bincount(i, wt * k, w.shape[0])
    den = np.bincount(i, wt, w.shape[0])
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def _edge_graph(verts: np.ndarray, e: np.ndarray) -> sp.csr_matrix:
    w = np.maximum(np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1), 1e-3)
    nv = len(verts)
    return sp.coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                         shape=(nv, nv)).tocsr()


def _spine_distance(g: sp.csr_matrix, e: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V,) signed edge distance (nm) to the boundary of the nearest rule spine (positive inside, +-REACH_NM
    beyond reach) and (V,) that spine's label (-1 none)."""
    nv = len(label)
    la, lb = label[e[:, 0]], label[e[:, 1]]
    cross = la != lb
    src = np.unique(np.r_[e[cross & (la >= 0), 0], e[cross & (lb >= 0), 1]])
    dist = np.full(nv, REACH_NM)
    near = np.full(nv, -1, dtype=np.int64)
    if len(src):
        d, _, s = csgraph.dijkstra(g, directed=False, indices=src, min_only=True, limit=REACH_NM,
                                   return_predecessors=True)
        ok = np.isfinite(d) & (s >= 0)
        dist[ok] = d[ok]
        near[ok] = label[s[ok]]
    inside = label >= 0
    near[inside] = label[inside]
    return np.where(inside, dist, -dist), near


def neighbourhood_features(verts: np.ndarray, faces: np.ndarray, va: np.ndarray, fld, h: np.ndarray,
                           r: np.ndarray) -> dict[str, np.ndarray]:
    """(V,) neighbourhood columns of :data:`FEATURES` at metric radii (:data:`NEAR_NM`, applied once for "1" and
    twice for "2"): area-weighted mean and maximum of the protrusion ``h`` (nm), |normal . radial direction|
    (``radial_cos``), and the ball curvature times the shaft radius ``r`` (nm). Same patch on any tessellation."""
    raw = vertex_normals(verts, faces)
    si = np.asarray(fld.sample_index)
    rad = verts - fld.sample_points_nm[np.maximum(si, 0)]
    rad /= np.maximum(np.linalg.norm(rad, axis=1), 1e-12)[:, None]
    cos = (raw * rad).sum(1)
    nrm = raw * np.where(cos < 0, -1.0, 1.0)[:, None]
    w = _ball(verts, raw, va, NEAR_NM)
    m1 = _ball_mean(w, h)
    m2 = _ball_mean(w, m1)
    x1 = _ball_max(w, h)
    ac = np.abs(cos)
    ac1 = _ball_mean(w, ac)
    conv = _ball_convexity(w, verts, nrm) * r
    return {"h_mean1_nm": m1, "h_mean2_nm": m2, "h_max1_nm": x1, "h_max2_nm": _ball_max(w, x1),
            "h_minus_mean2_nm": h - m2, "radial_cos": ac, "radial_cos_mean1": ac1,
            "radial_cos_mean2": _ball_mean(w, ac1), "convexity1_rel": conv, "convexity_mean2_rel": _ball_mean(w, conv)}


def vertex_features(verts: np.ndarray, faces: np.ndarray, e_mesh: np.ndarray, area_f: np.ndarray, fld,
                    eligible_v: np.ndarray, label: np.ndarray, seed: np.ndarray | float, density_radius_nm: float
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-vertex features (:data:`FEATURES`, nm / ratios / per µm) of the scored vertices and their indices.

    ``fld``: the ShaftField; ``eligible_v``: dendritic vertices; ``label``: the rule's spine label per vertex
    (-1 none); ``seed``: the rule's seed threshold (nm, scalar or per vertex). Scored vertices are eligible, have
    a shaft radius, and protrude more than :data:`MIN_H_NM` or lie within :data:`REACH_NM` of a rule spine.
    """
    nv = len(verts)
    r = np.asarray(fld.radius_nm, dtype=float)
    h = np.asarray(fld.protrusion_nm, dtype=float)
    r = np.where(r > 0, r, np.nan)  # no shaft model: NaN features (never scored)
    g = _edge_graph(verts, e_mesh)
    sdist, near = _spine_distance(g, e_mesh, label)
    idx = np.flatnonzero(eligible_v & np.isfinite(r) & np.isfinite(h) & ((h > MIN_H_NM) | (sdist > -REACH_NM)))
    si = np.asarray(fld.sample_index)
    va = vertex_areas_nm2(faces, area_f, nv)
    cols = neighbourhood_features(verts, faces, va, fld, h, r)
    shaft_ok = eligible_v & np.isfinite(h) & (label < 0)
    level = surface_level(verts, faces, area_f, h, shaft_ok, si, fld.sample_points_nm, query=np.isin(
        np.arange(nv), idx))
    nl_ = int(label.max()) + 1
    on = label >= 0
    peak = np.full(max(nl_, 1), np.nan)
    if nl_:
        np.fmax.at(peak, label[on], h[on])
    area = np.bincount(label[on], va[on], max(nl_, 1))
    dens = np.zeros(nv)
    if nl_:
        uniq, inv = np.unique(np.maximum(si[idx], 0), return_inverse=True)
        dens[idx] = found_spine_density(spine_anchor_samples(label, fld), fld, uniq, density_radius_nm)[inv]
    spread = np.asarray(fld.spread_nm, dtype=float) if fld.spread_nm is not None else np.full(nv, np.nan)
    nh = np.where(near >= 0, near, 0)
    cols.update({
        "h_nm": h, "h_rel": h / r, "relief_nm": h - level, "shaft_radius_nm": r, "spread_rel": spread / r,
        "skeleton_dist_rel": np.asarray(fld.distance_nm) / r, "beyond_end": np.asarray(fld.beyond_end, float),
        "spine_edge_dist_nm": sdist, "in_rule_spine": on.astype(float),
        "near_spine_peak_nm": np.where(near >= 0, peak[nh], np.nan),
        "near_spine_area_nm2": np.where(near >= 0, area[nh], np.nan),
        "seed_margin_nm": h - (seed if np.isscalar(seed) else np.asarray(seed)), "density_per_um": dens})
    return pd.DataFrame({k: np.asarray(cols[k], dtype=np.float64)[idx] for k in FEATURES}), idx


def relabel(prob: np.ndarray, idx: np.ndarray, label: np.ndarray, e_mesh: np.ndarray, va: np.ndarray,
            threshold: float, min_area_nm2: float, min_new_area_nm2: float, min_new_peak: float = 0.0
            ) -> np.ndarray:
    """New per-vertex spine labels from the model's probabilities ``prob`` at vertices ``idx``.

    Spine vertices: probability >= ``threshold``. A rule spine keeps its spine vertices; other spine vertices join
    the rule spine they reach through spine vertices (nearest in edge hops), or form new spines per connected
    group when it covers at least ``min_new_area_nm2`` of vertex area (``va``, nm²) and its highest probability
    reaches ``min_new_peak``; spines with less than
    ``min_area_nm2`` are dropped. Labels renumbered
    0..k-1 (rule spines first, in their order)."""
    nv = len(label)
    on = np.zeros(nv, dtype=bool)
    on[idx[prob >= threshold]] = True
    out = np.where(on, label, -1)
    inner = e_mesh[on[e_mesh[:, 0]] & on[e_mesh[:, 1]]]
    for _ in range(64):  # grow rule labels through the new spine vertices, one edge hop per round
        la, lb = out[inner[:, 0]], out[inner[:, 1]]
        fa = (la < 0) & (lb >= 0)
        fb = (lb < 0) & (la >= 0)
        if not (fa.any() or fb.any()):
            break
        out[inner[fa, 0]] = lb[fa]
        out[inner[fb, 1]] = la[fb]
    rest = on & (out < 0)
    if rest.any():
        sub = inner[rest[inner[:, 0]] & rest[inner[:, 1]]]
        g = sp.coo_matrix((np.ones(len(sub)), (sub[:, 0], sub[:, 1])), shape=(nv, nv))
        comp = csgraph.connected_components(g, directed=False)[1]
        _, new = np.unique(comp[rest], return_inverse=True)
        pv = np.zeros(nv)
        pv[idx] = prob
        top = np.zeros(int(new.max()) + 1)
        np.maximum.at(top, new, pv[rest])
        big = (np.bincount(new, va[rest]) >= min_new_area_nm2) & (top >= min_new_peak)
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
                                 p.relief_density_radius_nm)
    if isinstance(sink, list):
        sink.append({"features": feats, "idx": idx, "label": label.copy(), "eligible": eligible_v.copy()})
    if not p.vertex_model:
        return label, base, ring
    booster, meta = load_model(p.vertex_model_dir)
    thr = float(meta["threshold"] if p.vertex_threshold is None else p.vertex_threshold)
    prob = booster.predict(feats[meta["features"]].to_numpy(dtype=np.float64), num_threads=1) if len(idx) \
        else np.zeros(0)
    va = vertex_areas_nm2(faces, area_f, len(verts))
    new = relabel(prob, idx, label, e_mesh, va, thr, float(meta["min_area_nm2"]), float(meta["min_new_area_nm2"]),
                  float(meta.get("min_new_peak", 0.0)))
    base, ring2 = attachment(e_mesh, new, eligible_v, ring.iloc[:0])
    return new, base, ring2

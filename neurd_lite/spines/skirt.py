"""Shaft surface the vertex model adds beside a stalked rule spine, given back to the shaft (default since session 19;
nm; ``SpineParams.model_skirt``).

The vertex model (``vertex_model.py``) re-decides every dendritic vertex. Around spines with a stalk it also
takes a skirt of plain shaft beside the spine base (tune aspiny members, session 18: those false faces sit at the
shaft's own distance from the true axis, 100-400 nm from the spine), while around low domes the vertices it adds
are mostly the dome's true rim. Height above the surrounding shaft cannot tell a skirt from a rim (both stand
within about the growth threshold of the shaft level), so the test is applied only where the spine's own shape
says there is no rim to lose: a rule spine that stands higher above its surrounding level than the radius of its
footprint on the shaft is more than a hemisphere, i.e. it has a stalk (a neck, or an elongated body), and a dome
(at most a hemisphere, height <= footprint radius) keeps what the model added.

For a stalked spine, a vertex the model adds stays only where it stands above the level of the surface around
the spine (the affine fit to the non-spine surface in a ring around its rule vertices, ``extend.planar_level``,
the level the rules' neck extension reads) plus the growth threshold; what then no longer joins the rule vertices
is dropped. Spines the model makes on its own (no rule vertex) are left as they are.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshgraph import edge_components
from .extend import planar_level


def stalked_spines(verts: np.ndarray, edges: np.ndarray, rule_label: np.ndarray, h: np.ndarray,
                   level_peak: np.ndarray, peak_v: np.ndarray) -> np.ndarray:
    """(S,) bool per rule spine: its peak stands higher above its surrounding level than the radius of its
    footprint (nm). ``level_peak``, ``peak_v``: (S,) the level under each spine's highest vertex and that
    vertex (-1: none). Footprint radius = median distance of the spine's rim vertices (rule vertices with a
    mesh edge to a vertex outside the spine) from their centroid."""
    n_sp = len(peak_v)
    la, lb = rule_label[edges[:, 0]], rule_label[edges[:, 1]]
    rim = np.zeros(len(verts), dtype=bool)
    rim[edges[(la != lb) & (la >= 0), 0]] = True
    rim[edges[(la != lb) & (lb >= 0), 1]] = True
    rv = np.flatnonzero(rim)
    o = rule_label[rv]
    cnt = np.bincount(o, minlength=n_sp).astype(float)
    cen = np.stack([np.bincount(o, weights=verts[rv, k], minlength=n_sp) for k in range(3)], 1) / np.maximum(
        cnt, 1)[:, None]
    d = np.linalg.norm(verts[rv] - cen[o], axis=1)
    radius = np.full(n_sp, np.nan)
    order = np.lexsort((d, o))
    starts = np.searchsorted(o[order], np.arange(n_sp))
    has = cnt > 0
    mid = starts[has] + (cnt[has].astype(np.int64) - 1) // 2
    radius[has] = d[order][mid]
    height = np.where(peak_v >= 0, h[np.maximum(peak_v, 0)] - level_peak, np.nan)
    return np.isfinite(height) & np.isfinite(radius) & (height > radius)


def drop_model_skirt(verts: np.ndarray, edges: np.ndarray, rule_label: np.ndarray, new_label: np.ndarray,
                     h: np.ndarray, margin: np.ndarray, eligible: np.ndarray, ring_nm: tuple[float, float],
                     stalked_only: bool = True) -> np.ndarray:
    """``new_label`` with the model-added vertices of stalked rule spines (:func:`stalked_spines`; every rule
    spine when not ``stalked_only``) that do not stand above their spine's surrounding level removed (nm), and
    then what of such a spine no longer joins its rule vertices along ``edges`` (a spine stays one piece).
    ring_nm: (inner, outer) Euclidean distance from the spine's rule vertices of the non-spine eligible surface
    the level is fitted to; margin: (V,) growth threshold per vertex."""
    core = (new_label >= 0) & (rule_label >= 0)
    added = (new_label >= 0) & (rule_label < 0)
    if not core.any() or not added.any():
        return new_label
    cv = np.flatnonzero(core)
    tree = cKDTree(verts[cv])
    free = np.flatnonzero((new_label < 0) & eligible & np.isfinite(h))
    d, k = tree.query(verts[free], distance_upper_bound=ring_nm[1])
    hit = np.isfinite(d)
    owner = np.full(len(verts), -1, dtype=np.int64)
    ring = np.zeros(len(verts), dtype=bool)
    owner[free[hit]] = new_label[cv[k[hit]]]
    ring[free[hit & (d >= ring_nm[0])]] = True
    n_sp = int(new_label.max()) + 1
    hc = np.where(np.isfinite(h[cv]), h[cv], -np.inf)
    peak_v = np.full(n_sp, -1, dtype=np.int64)
    o = np.lexsort((hc, new_label[cv]))
    last = np.r_[new_label[cv][o][1:] != new_label[cv][o][:-1], True]
    peak_v[new_label[cv][o][last]] = cv[o][last]
    query = added & np.isin(new_label, np.unique(new_label[cv]))
    pk = np.zeros(len(verts), dtype=bool)
    pk[peak_v[peak_v >= 0]] = True
    owner[pk] = new_label[pk]
    owner[query] = new_label[query]
    both = query | pk
    lev = np.full(len(verts), np.nan)
    lev[both] = planar_level(verts, h, owner, ring, n_sp, both)
    target = np.ones(n_sp, dtype=bool)
    if stalked_only:  # footprint and height of each spine's rule part (its core vertices)
        target = stalked_spines(verts, edges, np.where(core, new_label, -1), h,
                                np.where(peak_v >= 0, lev[np.maximum(peak_v, 0)], np.nan), peak_v)
    out = new_label.copy()
    q = np.flatnonzero(query)
    low = target[new_label[q]] & np.isfinite(lev[q]) & np.isfinite(h[q]) & ~(h[q] > lev[q] + margin[q])
    out[q[low]] = -1
    same = (out[edges[:, 0]] == out[edges[:, 1]]) & (out[edges[:, 0]] >= 0)
    comp = edge_components(len(verts), edges[same])[1]
    keep = np.zeros(int(comp.max()) + 1, dtype=bool)
    keep[comp[core & (out >= 0)]] = True
    out[query & (out >= 0) & ~keep[comp]] = -1
    return out

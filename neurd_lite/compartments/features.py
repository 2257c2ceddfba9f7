"""Per-vertex features of a soma-rooted skeleton for the learned compartment models (nm in, µm out).

Nothing here depends on a dataset's frame or scale except through ``up`` (the pia direction, given or inferred):
heights and distances are measured from the soma in µm and in units of the cell's own extent (``ext``: the 95th
percentile of the soma distance of its non-soma vertices), radii relative to the cell's own median radius,
angles against ``up``. Three levels of context are attached to each vertex: the vertex itself, its subtree
(cable, tips, mean radius, distance to the farthest tip, synapses), its primary limb (the process leaving the
soma: cable share, height reached, stem radius and ranks among the cell's limbs) and the cell (number of
limbs, extent, field asymmetry along ``up``). The current rules' labels (``rule_axon``, ``rule_apical``) are
inputs too. Synapse columns are NaN when no synapses are given (LightGBM treats NaN as missing).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .axon import flow_centrality
from .tree import Tree

STEM_UM = 10.0       # stem radius: median radius over this much cable from the limb start
DIRECTION_UM = 5.0   # local direction: from the vertex to the point this far toward the soma


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the smallest (NaN last), over the given values."""
    v = np.nan_to_num(values, nan=-np.inf)
    order = np.argsort(-v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    return r / max(len(v) - 1, 1)


def _limb_groups(ls: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(limb ids, per-vertex index into them; -1 outside ``mask``)."""
    ids, inv = np.unique(ls[mask], return_inverse=True)
    idx = np.full(len(ls), -1, dtype=np.int64)
    idx[mask] = inv
    return ids, idx


class _Base(NamedTuple):
    """Per-vertex quantities every block of columns reads (nm unless named)."""

    body: np.ndarray   # in the soma's tree and not soma
    u: np.ndarray      # unit pia direction
    rel: np.ndarray    # offset from the root
    dist: np.ndarray   # straight distance from the root
    h: np.ndarray      # height along u
    d: np.ndarray      # path distance to the root (NaN off the tree)
    edge: np.ndarray   # length of the edge to the parent (0 off the body)
    ext: float         # the cell's extent: 95th percentile of the body's root distance (>= 1)
    r: np.ndarray      # radius (NaN when unknown)
    r_med: float       # median body radius
    nkids: np.ndarray  # children per vertex
    total: float       # body cable (>= 1)


def vertex_features(tree: Tree, up: np.ndarray, pre: np.ndarray | None = None, post: np.ndarray | None = None,
                    rule_labels: np.ndarray | None = None) -> pd.DataFrame:
    """One row per skeleton vertex (features in µm / ratios; NaN where undefined, e.g. soma vertices).

    up: (3,) pia direction. pre/post: per-vertex synapse counts or None (no synapses). rule_labels: the rule
    labeller's compartment per vertex (adds ``rule_axon`` and ``rule_apical``) or None.
    """
    n = tree.n
    b = _base(tree, up)
    f = _vertex_columns(tree, b)
    sub, cable = _subtree_columns(tree, b)
    f.update(sub)
    limb, li, lcable, lmax_h, lstem = _limb_columns(tree, b)
    f.update(limb)
    f.update(_cell_columns(n, b, lmax_h, lstem))
    if pre is not None and post is not None and (pre.sum() + post.sum()) > 0:
        f.update(_synapse_columns(tree, b, pre, post, cable, li, lcable))
    else:
        for name in SYNAPSE_FEATURES:
            f[name] = np.full(n, np.nan)
    if rule_labels is not None:
        lab = np.asarray(rule_labels).astype(str)
        f["rule_axon"] = (lab == "axon").astype(float)
        f["rule_apical"] = np.isin(lab, ("apical_shaft", "apical_tuft", "oblique")).astype(float)
    else:
        f["rule_axon"] = np.full(n, np.nan)
        f["rule_apical"] = np.full(n, np.nan)
    out = pd.DataFrame(f)
    out.loc[~b.body] = np.nan
    return out[FEATURES]


def _base(tree: Tree, up: np.ndarray) -> _Base:
    sk = tree.sk
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    body = tree.in_root_tree & ~tree.soma
    par = sk.parent
    rel = sk.vertices - sk.vertices[sk.root]
    dist = np.linalg.norm(rel, axis=1)
    h = rel @ u
    d = np.where(np.isfinite(sk.distance_to_root_nm), sk.distance_to_root_nm, np.nan)
    edge = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0)
    edge = np.where(body, edge, 0.0)
    ext = float(np.percentile(dist[body], 95)) if body.any() else 1.0
    ext = max(ext, 1.0)
    r = np.asarray(sk.radius, dtype=float)
    r = np.where(np.isfinite(r) & (r > 0), r, np.nan)
    r_med = float(np.nanmedian(r[body])) if np.isfinite(r[body]).any() else float("nan")
    nkids = np.array([len(c) for c in tree.children])
    return _Base(body, u, rel, dist, h, d, edge, ext, r, r_med, nkids, max(float(edge.sum()), 1.0))


def _vertex_columns(tree: Tree, b: _Base) -> dict[str, np.ndarray]:
    """The vertex itself: height, distances, angles to ``up``, radius, local direction."""
    sk = tree.sk
    h, dist, d, ext = b.h, b.dist, b.d, b.ext
    f: dict[str, np.ndarray] = {}
    f["height_um"] = h / 1000
    f["height_ext"] = h / ext
    f["dist_ext"] = dist / ext
    f["lateral_ext"] = np.sqrt(np.maximum(dist ** 2 - h ** 2, 0)) / ext
    with np.errstate(invalid="ignore", divide="ignore"):
        f["cos_up"] = np.where(dist > 0, h / dist, 0.0)
        f["path_um"] = d / 1000
        f["path_ext"] = d / ext
        f["tortuosity"] = np.where(dist > 0, d / dist, np.nan)
        f["radius_rel"] = b.r / b.r_med
    back = np.arange(tree.n)
    back[b.body] = tree.points_towards_root(np.flatnonzero(b.body), DIRECTION_UM * 1000)
    vec = sk.vertices - sk.vertices[back]
    norm = np.linalg.norm(vec, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["dir_cos_up"] = np.where(norm > 0, vec @ b.u / norm, np.nan)
    return f


def _subtree_columns(tree: Tree, b: _Base) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Branch order and the subtree below each vertex (cable, tips, radius, reach); also the subtree cable (nm)."""
    par, nkids, body, h, ext, r = tree.sk.parent, b.nkids, b.body, b.h, b.ext, b.r
    f: dict[str, np.ndarray] = {}
    order = np.zeros(tree.n)
    for v in tree.order:
        p = par[v]
        if p >= 0:
            order[v] = order[p] + (1 if nkids[p] > 1 and not tree.soma[p] else 0)
    f["branch_order"] = order
    tips = tree.subtree_sum((nkids == 0) & body)
    cable = tree.subtree_sum(b.edge)
    f["sub_cable_um"] = cable / 1000
    f["sub_cable_frac"] = cable / b.total
    f["sub_tips"] = tips
    with np.errstate(invalid="ignore", divide="ignore"):
        f["sub_tips_per_100um"] = np.where(cable > 0, tips / cable * 1e5, np.nan)
        rw = np.where(np.isfinite(r), r * b.edge, 0.0)
        rl = np.where(np.isfinite(r), b.edge, 0.0)
        f["sub_radius_rel"] = tree.subtree_sum(rw) / tree.subtree_sum(rl) / b.r_med
    f["to_tip_um"] = (tree.deepest - np.nan_to_num(b.d)) / 1000
    f["sub_height_max_ext"] = (tree.subtree_max(np.where(body, h, -np.inf)) - h) / ext
    f["sub_height_min_ext"] = -(tree.subtree_max(np.where(body, -h, -np.inf)) + h) / ext
    return f, cable


def _limb_columns(tree: Tree, b: _Base) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray]:
    """The primary limb of each vertex (cable share, height reached, stem radius, ranks among the limbs); also
    the per-vertex limb index (-1 outside), and per limb the cable (nm), highest height (nm) and stem radius."""
    n, body, h, d, r, edge, ext, r_med = tree.n, b.body, b.h, b.d, b.r, b.edge, b.ext, b.r_med
    ls = tree.limb_start
    ids, li = _limb_groups(ls, body & (ls >= 0))
    k = len(ids)
    inl = li >= 0
    lcable = np.bincount(li[inl], weights=edge[inl], minlength=k)
    lmax_h = np.full(k, -np.inf)
    np.maximum.at(lmax_h, li[inl], h[inl])
    lmin_h = np.full(k, np.inf)
    np.minimum.at(lmin_h, li[inl], h[inl])
    lreach = np.zeros(k)
    np.maximum.at(lreach, li[inl], b.dist[inl])
    stem = inl & (np.nan_to_num(d) - np.nan_to_num(d[np.maximum(ls, 0)]) <= STEM_UM * 1000) & np.isfinite(r)
    lstem = np.full(k, np.nan)
    for j in range(k):
        vals = r[stem & (li == j)]
        if len(vals):
            lstem[j] = np.median(vals)
    ltips = np.bincount(li[inl], weights=((b.nkids == 0) & body)[inl].astype(float), minlength=k)
    start_vec = b.rel[ids] if k else np.zeros((0, 3))
    lcos0 = np.array([tree_cos(tree, s, b.u) for s in ids])
    lrw = np.bincount(li[inl], weights=np.nan_to_num(r * edge)[inl], minlength=k)
    lrl = np.bincount(li[inl], weights=np.where(np.isfinite(r), edge, 0)[inl], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        lmean_r = lrw / lrl / r_med
    limb_cols = {
        "limb_cable_frac": lcable / b.total, "limb_height_max_ext": lmax_h / ext, "limb_height_min_ext": lmin_h / ext,
        "limb_reach_ext": lreach / ext, "limb_stem_radius_rel": lstem / r_med, "limb_radius_rel": lmean_r,
        "limb_tips_per_100um": ltips / np.maximum(lcable, 1.0) * 1e5, "limb_start_cos_up": lcos0,
        "limb_rank_height": _rank_desc(lmax_h), "limb_rank_stem": _rank_desc(lstem),
        "limb_rank_reach": _rank_desc(lreach), "limb_rank_cable": _rank_desc(lcable),
        "limb_start_dist_ext": np.linalg.norm(start_vec, axis=1) / ext if k else np.zeros(0),
    }
    f: dict[str, np.ndarray] = {}
    for name, vals in limb_cols.items():
        col = np.full(n, np.nan)
        col[inl] = np.asarray(vals, dtype=float)[li[inl]]
        f[name] = col
    return f, li, lcable, lmax_h, lstem


def _cell_columns(n: int, b: _Base, lmax_h: np.ndarray, lstem: np.ndarray) -> dict[str, np.ndarray]:
    """The cell (the same value on every vertex): limbs, extent, asymmetry along ``up``, the two highest limbs'
    gap, the two thickest stems' ratio."""
    k, ext = len(lmax_h), b.ext
    hb = b.h[b.body]
    f: dict[str, np.ndarray] = {}
    f["cell_n_limbs"] = np.full(n, float(k))
    f["cell_ext_um"] = np.full(n, ext / 1000)
    f["cell_up_asym"] = np.full(n, (float(hb.max()) + float(hb.min())) / ext if len(hb) else 0.0)
    best2 = np.sort(lmax_h)[::-1][:2] if k else np.zeros(0)
    f["cell_height_gap_ext"] = np.full(n, float(best2[0] - best2[1]) / ext if len(best2) == 2 else np.nan)
    srt = np.sort(np.nan_to_num(lstem, nan=0))[::-1]
    f["cell_stem_ratio"] = np.full(n, srt[1] / srt[0] if len(srt) > 1 and srt[0] > 0 else np.nan)
    f["cell_has_radius"] = np.full(n, float(np.isfinite(b.r_med)))
    return f


def _synapse_columns(tree: Tree, b: _Base, pre: np.ndarray, post: np.ndarray, cable: np.ndarray, li: np.ndarray,
                     lcable: np.ndarray) -> dict[str, np.ndarray]:
    """Synapses below each vertex and on its limb (fractions, per µm of cable) and the flow centrality."""
    n, body, k = tree.n, b.body, len(lcable)
    inl = li >= 0
    f: dict[str, np.ndarray] = {}
    sp, sq = tree.subtree_sum(pre * body), tree.subtree_sum(post * body)
    tp, tq = max(float((pre * body).sum()), 1.0), max(float((post * body).sum()), 1.0)
    flow = flow_centrality(tree, pre * body, post * body)
    fmax = max(float(flow.max()), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["syn_sub_pre_frac"] = sp / tp
        f["syn_sub_post_frac"] = sq / tq
        f["syn_sub_pre_per_um"] = np.where(cable > 0, sp / cable * 1000, np.nan)
        f["syn_sub_post_per_um"] = np.where(cable > 0, sq / cable * 1000, np.nan)
        f["syn_flow_rel"] = np.where(body, flow / fmax, np.nan)
        lp = np.bincount(li[inl], weights=pre[inl], minlength=k)
        lq = np.bincount(li[inl], weights=post[inl], minlength=k)
        col = np.full(n, np.nan)
        col[inl] = (lp / np.maximum(lcable, 1.0) * 1000)[li[inl]]
        f["syn_limb_pre_per_um"] = col
        col = np.full(n, np.nan)
        col[inl] = (lq / np.maximum(lcable, 1.0) * 1000)[li[inl]]
        f["syn_limb_post_per_um"] = col
    return f


def tree_cos(tree: Tree, start: int, u: np.ndarray, length_nm: float = 20_000.0) -> float:
    """Cosine to ``u`` of the vector from the soma to the point ``length_nm`` down the limb from ``start``."""
    sk = tree.sk
    v = tree.point_along(int(start), False, length_nm)
    vec = sk.vertices[v] - sk.vertices[sk.root]
    nv = float(np.linalg.norm(vec))
    return float(vec @ u / nv) if nv > 0 else 0.0


SYNAPSE_FEATURES = ["syn_sub_pre_frac", "syn_sub_post_frac", "syn_sub_pre_per_um", "syn_sub_post_per_um",
                    "syn_flow_rel", "syn_limb_pre_per_um", "syn_limb_post_per_um"]
FEATURES = ["height_um", "height_ext", "dist_ext", "lateral_ext", "cos_up", "path_um", "path_ext", "tortuosity",
            "radius_rel", "dir_cos_up", "branch_order", "sub_cable_um", "sub_cable_frac", "sub_tips",
            "sub_tips_per_100um", "sub_radius_rel", "to_tip_um", "sub_height_max_ext", "sub_height_min_ext",
            "limb_cable_frac", "limb_height_max_ext", "limb_height_min_ext", "limb_reach_ext", "limb_stem_radius_rel",
            "limb_radius_rel", "limb_tips_per_100um", "limb_start_cos_up", "limb_rank_height", "limb_rank_stem",
            "limb_rank_reach", "limb_rank_cable", "limb_start_dist_ext", "cell_n_limbs", "cell_ext_um",
            "cell_up_asym", "cell_height_gap_ext", "cell_stem_ratio", "cell_has_radius",
            *SYNAPSE_FEATURES, "rule_axon", "rule_apical"]

"""Axon vs dendrite on a soma-rooted skeleton (nm).

With synapses (default ``method="flow"``): synapse flow centrality (Schneider-Mizell et al. 2016): every
skeleton edge carries (presynapses beyond it x postsynapses before it + postsynapses beyond x presynapses
before); the axon is the subtree beyond the edge of maximal flow, the most proximal one among equal flows so the
bare initial segment stays with the axon. The cut may lie on a dendrite, so axons leaving from a basal
dendrite near the soma are found. ``method="segregation"`` instead takes the cut maximising the segregation
index; the segregation index of the chosen cut is reported either way (low -> flag ``axon_split_uncertain``).

Without synapses: the thinnest long process starting within ``origin_max_um`` of the soma (median radius of
its whole subtree against the rest of the cell), accepted only when clearly thinner, then extended toward the
soma while the cable it adds is thin as well (an axon leaving from a dendrite keeps the dendrite's stem).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import AxonParams  # noqa: F401 - re-exported (moved to params.py)
from .tree import Tree


@dataclass
class AxonResult:
    """Axon mask per skeleton vertex, how it was found, and the segregation index of the split (or NaN)."""

    mask: np.ndarray
    method: str
    segregation: float = float("nan")
    cut_vertex: int = -1


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    out = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return np.where((p <= 1e-12) | (p >= 1 - 1e-12), 0.0, out)


def segregation_scores(tree: Tree, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Segregation index (0..1) of cutting above each vertex (its subtree vs the rest); NaN where the
    subtree is not enriched in presynapses or the vertex is soma / outside the root tree."""
    s_pre = tree.subtree_sum(pre)
    s_post = tree.subtree_sum(post)
    p_tot, q_tot = float(pre[tree.in_root_tree].sum()), float(post[tree.in_root_tree].sum())
    n_tot = p_tot + q_tot
    if n_tot == 0 or p_tot == 0:
        return np.full(tree.n, np.nan)
    h0 = float(_entropy(np.array([p_tot / n_tot]))[0])
    if h0 == 0:
        return np.full(tree.n, np.nan)
    n1 = s_pre + s_post
    n2 = n_tot - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        h1 = _entropy(np.where(n1 > 0, s_pre / np.maximum(n1, 1e-12), 0))
        h2 = _entropy(np.where(n2 > 0, (p_tot - s_pre) / np.maximum(n2, 1e-12), 0))
        si = 1.0 - (n1 * h1 + n2 * h2) / (n_tot * h0)
        enriched = s_pre / np.maximum(n1, 1e-12) > p_tot / n_tot
    valid = tree.in_root_tree & ~tree.soma & enriched & (s_pre > 0)
    return np.where(valid, si, np.nan)


def flow_centrality(tree: Tree, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Synapse flow through the edge above each vertex (pre beyond x post before + post beyond x pre before);
    -1 at soma vertices and outside the root tree."""
    s_pre, s_post = tree.subtree_sum(pre), tree.subtree_sum(post)
    p_tot, q_tot = float(pre[tree.in_root_tree].sum()), float(post[tree.in_root_tree].sum())
    flow = s_pre * (q_tot - s_post) + s_post * (p_tot - s_pre)
    return np.where(tree.in_root_tree & ~tree.soma, flow, -1.0)


def axon_by_synapses(tree: Tree, pre: np.ndarray, post: np.ndarray, method: str = "flow") -> AxonResult:
    """Axon = subtree beyond the cut of maximal synapse flow (or maximal segregation index), the cut nearest
    the soma among ties. Reports the segregation index of the chosen cut."""
    si = segregation_scores(tree, pre, post)
    score = flow_centrality(tree, pre, post) if method == "flow" else np.nan_to_num(si, nan=-1.0)
    best = float(score.max()) if tree.n else -1.0
    if best <= 0:
        return AxonResult(np.zeros(tree.n, dtype=bool), "none")
    ties = np.flatnonzero(score >= best - 1e-9 * max(abs(best), 1.0))
    cut = int(ties[np.argmin(tree.sk.distance_to_root_nm[ties])])
    quality = float(si[cut]) if np.isfinite(si[cut]) else 0.0
    return AxonResult(tree.subtree_mask(cut), "synapses", quality, cut)


def _median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else float("nan")


def axon_by_geometry(tree: Tree, params: AxonParams) -> AxonResult:
    """Axon = the thinnest process (median radius of its whole subtree vs the rest of the cell) among those
    leaving within ``origin_max_um`` of the soma, extended toward the soma while the added cable stays thin."""
    sk = tree.sk
    none = AxonResult(np.zeros(tree.n, dtype=bool), "none")
    if not np.isfinite(sk.radius).any():
        return none
    d = sk.distance_to_root_nm
    par = sk.parent
    body = tree.in_root_tree & ~tree.soma
    edge_len = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0)
    cable = tree.subtree_sum(edge_len)
    n_kids = np.array([len(k) for k in tree.children])
    near = body & (d <= params.origin_max_um * 1000)
    starts = [int(v) for v in np.flatnonzero(body) if tree.soma[par[v]] or (near[par[v]] and n_kids[par[v]] > 1)]
    starts = [v for v in starts if cable[v] >= params.min_length_um * 1000]
    if len(starts) < 2:
        return none
    masks = {v: tree.subtree_mask(v) & body for v in starts}
    ratio = {}
    for v, m in masks.items():
        ratio[v] = _median(sk.radius[m]) / _median(sk.radius[body & ~m])
    best = min(ratio, key=lambda v: ratio[v] if np.isfinite(ratio[v]) else np.inf)
    if not np.isfinite(ratio[best]) or ratio[best] > params.max_radius_ratio:
        return none
    ref = _median(sk.radius[body & ~masks[best]])
    if _median(sk.radius[masks[best]]) > params.max_radius_nm:
        return none
    cut = best
    start_set = set(starts)
    while True:  # climb to the next candidate start toward the soma while the added cable is thin too
        v = int(par[cut])
        while v >= 0 and not tree.soma[v] and v not in start_set:
            v = int(par[v])
        if v < 0 or tree.soma[v]:
            break
        added = masks[v] & ~masks[cut]
        if _median(sk.radius[added]) > params.max_radius_ratio * ref:
            break
        cut = v
    return AxonResult(masks[cut], "geometry", cut_vertex=int(cut))


def find_axon(tree: Tree, pre: np.ndarray, post: np.ndarray, params: AxonParams | None = None) -> AxonResult:
    """Axon mask per skeleton vertex: synapse segregation when the cell has enough presynapses, else geometry."""
    params = params or AxonParams()
    if pre[tree.in_root_tree].sum() >= params.min_presynapses and post[tree.in_root_tree].sum() > 0:
        res = axon_by_synapses(tree, pre, post, params.method)
        if res.mask.any():
            return res
    return axon_by_geometry(tree, params)

"""Does a cell have an apical dendrite? Cell-level evidence for the ``compartment_has_apical`` model.

The evidence compares one *candidate* apical with the cell's other primary dendrites, in terms that do not
depend on the dataset's scale, frame or completeness once ``up`` (the pia direction) is known: no absolute
size (a truncated EM mesh, a light-microscopy tracing and a whole reconstructed cell all differ in size), no
synapses (in the training data only pyramidal cells carry them; the dense-proximal-input rule vetoes
interneurons separately). The candidate is the dendritic limb (process leaving the soma) that maximises
height reached along ``up`` x (1 + cosine of its trunk 20 µm out), the apical rule's score without its
thresholds. ``limb_dominance`` needs no ``up`` at all: 1 - runner-up / best limb score of the frame inference
(reach x sqrt(stem radius), :func:`~neurd_lite.compartments.frame.limb_scores`). ``cand_trunk_frac`` and
``others_top_share`` (session 6) are computed for ``classifiers/compartments/gate_fit.py``'s experiments;
``limb_p_top`` / ``limb_p_margin`` (session 7) come from the apical-limb model (:mod:`.candidate`).
``axon_height_ext`` / ``axon_cable_rel`` (session 9, :func:`axon_features`) read the axon, not the dendrite: a
pyramid's axon leaves downward toward the white matter, an interneuron's arborises around and above its soma.
The shipped model's sidecar lists the features it uses. Inputs (nm) are a
:class:`~neurd_lite.compartments.tree.Tree` and masks; outputs are ratios, cosines and fractions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..geometry.stats import weighted_quantile as _wq
from .frame import limb_scores, limb_table
from .tree import Tree

STEM_UM = 10.0          # stem radius: median radius over this much path from the limb start (µm)
TRUNK_UM = 20.0         # the trunk direction is read this far out along the candidate (µm)
TOP_FRACTION = 0.6      # tips above this share of the candidate's height count as its tuft
SPLIT_RATIO = 0.5       # a branch point whose second-largest child holds this share of the largest's cable ends the trunk
HIGH_FRACTION = 0.5     # dendrite above this share of the candidate's height is "high" (others_top_share)
AXON_START_UM = (40.0, 60.0)  # axon_start_cos reads the axon this far (path, µm) from where it leaves

GATE_FEATURES = [
    "n_limbs", "cand_height_ext", "cand_reach_ext", "cand_cos0", "cand_dir_cos", "cand_trunk_straight",
    "cand_cable_frac", "cand_tip_top_frac", "cand_stem_rel", "cand_stem_rank", "height_gap_ext",
    "reach_ratio", "second_height_ext", "others_dir_cos", "others_up_frac", "field_up_frac", "field_aspect",
    "cand_trunk_frac", "others_top_share", "limb_dominance", "limb_p_top", "limb_p_margin",
    "axon_height_ext", "axon_cable_rel", "axon_start_cos",
]
# Monotone constraints (LightGBM) from what an apical is, not from the data: +1 = more of it never makes an apical
# less likely (an apical trunk leaves upward, runs straight, is thicker than the basal stems, rises above and
# reaches beyond the other primaries, stretches the field along up, rises as one trunk before it splits into a tuft);
# -1 = the other primaries rising high, running upward or sharing the high dendrite make it less likely; 0 = free.
GATE_MONOTONE = {"cand_cos0": 1, "cand_trunk_straight": 1, "cand_stem_rel": 1, "height_gap_ext": 1, "reach_ratio": 1,
                 "field_aspect": 1, "cand_trunk_frac": 1, "second_height_ext": -1, "others_dir_cos": -1,
                 "others_up_frac": -1, "others_top_share": -1, "limb_dominance": 1,
                 "limb_p_top": 1, "limb_p_margin": 1, "axon_height_ext": -1, "axon_cable_rel": -1,
                 "axon_start_cos": -1}


def _limb_cos(tree: Tree, start: int, u: np.ndarray, length_nm: float) -> float:
    """Cosine to ``u`` of the soma -> (point ``length_nm`` down the limb from ``start``) vector."""
    sk = tree.sk
    v = tree.point_along(int(start), False, length_nm)
    vec = sk.vertices[v] - sk.vertices[sk.root]
    nv = float(np.linalg.norm(vec))
    return float(vec @ u / nv) if nv > 0 else 0.0


def _trunk_end(tree: Tree, start: int, dend: np.ndarray, sub: np.ndarray) -> int:
    """Where the trunk from ``start`` ends: follow the child with the most subtree cable (``sub``) until a tip
    or a major bifurcation (second child >= ``SPLIT_RATIO`` x the first in cable)."""
    v = int(start)
    while True:
        kids = [int(k) for k in tree.children[v] if dend[k]]
        if not kids:
            return v
        cab = sorted((sub[k] for k in kids), reverse=True)
        if len(kids) > 1 and cab[1] >= SPLIT_RATIO * cab[0]:
            return v
        v = max(kids, key=lambda k: sub[k])


@dataclass
class _Field:
    """Per skeleton vertex geometry of the dendrite (nm; ``up`` the unit pia direction)."""

    h: np.ndarray  # (N,) height along up above the root, nm
    dist: np.ndarray  # (N,) straight distance from the root, nm
    lateral: np.ndarray  # (N,) distance from the root across up, nm
    edge: np.ndarray  # (N,) length of the edge to the parent on the dendrite (0 elsewhere), nm
    ecos: np.ndarray  # (N,) cosine of that edge to up (0 where no edge)
    ext: float  # the field's extent: 95th percentile of the dendrite's distance from the root (>= 1), nm
    path: np.ndarray  # (N,) path distance to the root, nm
    radius: np.ndarray  # (N,) radius, nm (NaN where unknown or <= 0)
    tip: np.ndarray  # (N,) bool: dendrite vertices without children


@dataclass
class _Limbs:
    """Per dendritic limb (one per start vertex, sorted), nm unless stated."""

    ids: np.ndarray  # (k,) start vertex of each limb
    idx: np.ndarray  # (D,) the dendrite vertices
    li: np.ndarray  # (D,) limb of each of them
    cable: np.ndarray  # (k,) cable, nm
    hmax: np.ndarray  # (k,) greatest height along up, nm
    reach: np.ndarray  # (k,) greatest distance from the root, nm
    dircos: np.ndarray  # (k,) cable-weighted mean cosine of the edges to up
    upcable: np.ndarray  # (k,) cable above the root's height, nm
    stem: np.ndarray  # (k,) median radius over the first STEM_UM of path, nm (NaN: none known)
    top: np.ndarray  # (k,) the highest vertex


def _field(tree: Tree, u: np.ndarray, dend: np.ndarray) -> _Field:
    """:class:`_Field` of the ``dend`` vertices (bool (N,)) of a soma-rooted tree along the unit vector ``u``."""
    sk = tree.sk
    par = sk.parent
    rel = sk.vertices - sk.vertices[sk.root]
    h = rel @ u
    dist = np.linalg.norm(rel, axis=1)
    lateral = np.sqrt(np.maximum(dist ** 2 - h ** 2, 0.0))
    step = np.where(par >= 0, (sk.vertices - sk.vertices[np.maximum(par, 0)]).T, 0.0).T
    edge = np.linalg.norm(step, axis=1) * dend
    with np.errstate(invalid="ignore", divide="ignore"):
        ecos = np.where(edge > 0, step @ u / np.maximum(edge, 1e-9), 0.0)
    ext = max(float(np.percentile(dist[dend], 95)), 1.0)
    r = np.asarray(sk.radius, dtype=float) if sk.radius is not None else np.full(tree.n, np.nan)
    r = np.where(np.isfinite(r) & (r > 0), r, np.nan)
    nkids = np.array([len(c) for c in tree.children])
    return _Field(h, dist, lateral, edge, ecos, ext, sk.distance_to_root_nm, r, dend & (nkids == 0))


def _limbs(ls: np.ndarray, dend: np.ndarray, fd: _Field) -> _Limbs:
    """:class:`_Limbs` of the ``dend`` vertices grouped by their limb start ``ls`` ((N,) vertex)."""
    h, d, r = fd.h, fd.path, fd.radius
    ids, li = np.unique(ls[dend], return_inverse=True)
    idx = np.flatnonzero(dend)
    k = len(ids)
    cable = np.bincount(li, weights=fd.edge[idx], minlength=k)
    hmax = np.full(k, -np.inf)
    np.maximum.at(hmax, li, h[idx])
    reach = np.zeros(k)
    np.maximum.at(reach, li, fd.dist[idx])
    dircos = np.bincount(li, weights=(fd.ecos * fd.edge)[idx], minlength=k) / np.maximum(cable, 1e-9)
    upcable = np.bincount(li, weights=(fd.edge * (h > 0))[idx], minlength=k)
    stem = np.full(k, np.nan)
    top = np.zeros(k, dtype=np.int64)
    for j in range(k):
        m = idx[li == j]
        vals = r[m[d[m] - d[ids[j]] <= STEM_UM * 1000]]
        vals = vals[np.isfinite(vals)]
        if len(vals):
            stem[j] = float(np.median(vals))
        top[j] = m[np.argmax(h[m])]
    return _Limbs(ids, idx, li, cable, hmax, reach, dircos, upcable, stem, top)


def _other_limb_features(lm: _Limbs, c: int, ext: float) -> dict[str, float]:
    """The candidate ``c`` against the other limbs: heights over ``ext`` (nm / nm), reach ratio, the others'
    direction and share of cable above the soma, the candidate's stem radius relative to theirs ({} when alone)."""
    others = np.arange(len(lm.ids)) != c
    if not others.any():
        return {}
    oc = lm.cable[others]
    out = {"second_height_ext": float(lm.hmax[others].max() / ext),
           "height_gap_ext": float((lm.hmax[c] - lm.hmax[others].max()) / ext),
           "reach_ratio": float(lm.reach[c] / max(lm.reach[others].max(), 1e-9)),
           "others_dir_cos": float((lm.dircos[others] * oc).sum() / max(oc.sum(), 1e-9)),
           "others_up_frac": float(lm.upcable[others].sum() / max(oc.sum(), 1e-9))}
    so = lm.stem[others]
    if np.isfinite(lm.stem[c]) and np.isfinite(so).any():
        out["cand_stem_rel"] = float(lm.stem[c] / np.nanmedian(so))
        out["cand_stem_rank"] = float(np.mean(np.nan_to_num(so, nan=0.0) > lm.stem[c]))
    return out


def gate_features(tree: Tree, up: np.ndarray, dendrite: np.ndarray) -> dict[str, float]:
    """One dict of :data:`GATE_FEATURES` (NaN where undefined) for the ``dendrite`` vertices (bool (N,): not
    soma, not axon, not a merged second soma) of a soma-rooted tree (nm); ``up``: (3,) pia direction. Every
    value is a count, ratio, cosine or fraction. Steps: per-vertex geometry (:func:`_field`), per-limb sums
    (:func:`_limbs`), the candidate (the limb reaching highest) alone, frame-free extras, the candidate against
    the other limbs (:func:`_other_limb_features`)."""
    out = {k: float("nan") for k in GATE_FEATURES}
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    ls = tree.limb_start
    dend = dendrite & (ls >= 0)
    if not dend.any():
        out["n_limbs"] = 0.0
        return out
    fd = _field(tree, u, dend)
    h, d, edge, ext = fd.h, fd.path, fd.edge, fd.ext
    lm = _limbs(ls, dend, fd)
    hmax, ids, idx, li = lm.hmax, lm.ids, lm.idx, lm.li
    cos0 = np.array([_limb_cos(tree, s, u, TRUNK_UM * 1000) for s in ids])
    c = int(np.argmax(hmax))
    top = lm.top[c]
    total = max(float(lm.cable.sum()), 1e-9)
    cm = idx[li == c]
    ctips = cm[fd.tip[cm]]
    out.update({
        "n_limbs": float(len(ids)), "cand_height_ext": hmax[c] / ext, "cand_reach_ext": lm.reach[c] / ext,
        "cand_cos0": cos0[c], "cand_dir_cos": lm.dircos[c], "cand_cable_frac": lm.cable[c] / total,
        "cand_trunk_straight": float(h[top] / d[top]) if d[top] > 0 else float("nan"),
        "cand_tip_top_frac": float(np.mean(h[ctips] >= TOP_FRACTION * hmax[c])) if len(ctips) else float("nan"),
        "field_up_frac": float((edge * (h > 0)).sum() / total),
    })
    limbs = [lb for lb in limb_table(tree, dend) if lb["cable_nm"] > 0]
    if len(limbs) > 1:  # the frame's confidence, frame-free: 1 - runner-up / best of reach x sqrt(stem radius)
        sc = np.sort(limb_scores(limbs))[::-1]
        out["limb_dominance"] = float(np.clip(1.0 - sc[1] / max(sc[0], 1e-9), 0.0, 1.0))
    if hmax[c] > 0:
        high = dend & (h >= HIGH_FRACTION * hmax[c])
        out["others_top_share"] = float(edge[high & (ls != ids[c])].sum() / max(edge[high].sum(), 1e-9))
        end = _trunk_end(tree, int(ids[c]), dend, tree.subtree_sum(edge))
        out["cand_trunk_frac"] = float(max(h[end], 0.0) / hmax[c])
    hb, lb, wb = h[idx], fd.lateral[idx], edge[idx] + 1e-3
    vert = _wq(hb, wb, 0.95) - _wq(hb, wb, 0.05)
    out["field_aspect"] = float(vert / max(2 * _wq(lb, wb, 0.95), 1e-9))
    out.update(_other_limb_features(lm, c, ext))
    return out


def axon_features(tree: Tree, up: np.ndarray, dendrite: np.ndarray, axon: np.ndarray | None) -> dict[str, float]:
    """``axon_height_ext``: the cable-weighted mean height of the ``axon`` (bool (N,)) along ``up`` over the
    dendritic field's extent (95th percentile of the ``dendrite`` vertices' distance from the root);
    ``axon_cable_rel``: axon cable / dendrite cable; ``axon_start_cos`` (session 15): the direction the axon
    leaves in, cosine to ``up`` of the soma -> axon vector 40-60 µm along it (a pyramid's axon leaves toward
    the white matter, -1). All NaN without an axon in the soma's tree (a tracing without its axon, or none
    found)."""
    out = {"axon_height_ext": float("nan"), "axon_cable_rel": float("nan"), "axon_start_cos": float("nan")}
    if axon is None:
        return out
    ax = axon & tree.in_root_tree & ~tree.soma
    if not ax.any() or not dendrite.any():
        return out
    sk = tree.sk
    rel = sk.vertices - sk.vertices[sk.root]
    u = np.asarray(up, dtype=float) / np.linalg.norm(up)
    par = sk.parent
    edge = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0)
    ext = max(float(np.percentile(np.linalg.norm(rel[dendrite], axis=1), 95)), 1.0)
    w = edge[ax] + 1e-9
    out["axon_height_ext"] = float(np.average(rel[ax] @ u, weights=w) / ext)
    out["axon_cable_rel"] = float(edge[ax].sum() / max(float(edge[dendrite].sum()), 1e-9))
    out["axon_start_cos"] = _start_cos(sk.distance_to_root_nm, rel, u, np.flatnonzero(ax))
    return out


def _start_cos(dist_nm: np.ndarray, rel: np.ndarray, u: np.ndarray, ax: np.ndarray) -> float:
    """Mean cosine to ``u`` of the soma -> vertex vectors (``rel``, nm) of the axon vertices ``ax`` lying
    :data:`AXON_START_UM` along the path from where the axon leaves (its vertex nearest the root in path
    distance ``dist_nm``); an axon shorter than that: its farthest vertex."""
    d = dist_nm[ax] - dist_nm[ax].min()
    lo, hi = (x * 1000.0 for x in AXON_START_UM)
    pick = ax[(d >= lo) & (d <= hi)]
    if not len(pick):
        pick = ax[[int(np.argmax(d))]]
    norm = np.linalg.norm(rel[pick], axis=1)
    ok = norm > 0
    return float(np.mean(rel[pick][ok] @ u / norm[ok])) if ok.any() else float("nan")


def axon_vetoed(row: pd.Series | dict, veto: dict[str, float] | None) -> bool:
    """True when the cell's axon says "interneuron" whatever the dendrite's shape (session 10): it arborises above
    the soma (``axon_height_ext`` > ``veto["height_ext"]``, >= 0) and holds many times the dendrite's cable
    (``axon_cable_rel`` > ``veto["cable_rel"]``). A pyramid's axon leaves downward toward the white matter and its
    local collaterals, traced in full, stay within a few dendrites' cable. ``veto`` None (not chosen) or an axon
    input NaN (no axon): never."""
    if not veto:
        return False
    h, c = float(row["axon_height_ext"]), float(row["axon_cable_rel"])
    return bool(np.isfinite(h) and np.isfinite(c) and h > veto["height_ext"] and c > veto["cable_rel"])


def gate_row(tree: Tree, up: np.ndarray, dendrite: np.ndarray, extra: dict[str, float] | None = None,
             axon: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`gate_features` as a one-row frame in :data:`GATE_FEATURES` order (the model's input); ``extra``:
    columns computed elsewhere (``limb_p_top`` / ``limb_p_margin``: the limb model's, see
    :meth:`~neurd_lite.compartments.candidate.LimbChoice.gate_extra`; NaN when absent); ``axon``: bool (N,) the
    cell's axon for :func:`axon_features` (None: NaN)."""
    return pd.DataFrame([{**gate_features(tree, up, dendrite), **axon_features(tree, up, dendrite, axon),
                          **(extra or {})}], columns=GATE_FEATURES)

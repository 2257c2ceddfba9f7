"""Apical vs basal dendrites and the apical shaft / tuft / oblique split (nm inside, thresholds in µm).

``up`` is the unit vector toward the pia (minnie65: (0, -1, 0)). A dendritic limb (process leaving the soma)
is an apical candidate when it rises at least ``min_height_um`` above the soma and its trunk (soma to its
highest point) starts upward (cosine to ``up`` of the point ``initial_length_um`` out >= ``min_initial_cos``);
the candidate maximising height x (1 + that cosine) is the apical, plus any "twin" upward limb leaving from the
soma's pia-facing pole that reaches comparable height (an apical that splits inside the soma). Cells without a candidate, or declared to have
none (interneurons), get ``dendrite``.

Inside the apical limb: the trunk up to the first branch point in the top ``1 - tuft_height_frac`` of the
apical's height is the shaft and everything beyond is the tuft. Side branches of the shaft are obliques,
except branches that leave within ``basal_branch_max_um`` of the soma and never rise above their branch point
(basal dendrites sharing the apical's stem) and steep upward branches reaching the tuft zone (tuft).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import ApicalParams  # noqa: F401 - re-exported (moved to params.py)
from .tree import Tree


@dataclass
class ApicalResult:
    """Per-vertex dendrite labels plus what the apical decision was based on (height in µm)."""

    labels: np.ndarray
    has_apical: bool
    apical_height_um: float = float("nan")
    initial_cos: float = float("nan")
    n_apical_limbs: int = 0
    top_vertex: int = -1


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1, 1))))


def proximal_input_density_per_um(tree: Tree, dendrite: np.ndarray, post: np.ndarray, window_um: float) -> float:
    """Postsynapses per µm of dendritic cable within ``window_um`` (path, µm) of the soma; NaN without cable.

    Interneuron dendrites are covered by shaft synapses near the soma (a MICrONS basket cell: 4.2/µm), while
    pyramidal cells receive 0.35-1.2/µm there (53 labelled MICrONS cells, measured by the evaluation script).
    """
    sk = tree.sk
    par = sk.parent
    edge = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0)
    prox = dendrite & (sk.distance_to_root_nm <= window_um * 1000)
    cable_um = float(edge[prox].sum()) / 1000
    return float(post[prox].sum()) / cable_um if cable_um > 0 else float("nan")


def _limb_stats(tree: Tree, dend: np.ndarray, height: np.ndarray, u: np.ndarray, length_nm: float
                ) -> list[tuple[int, int, float]]:
    """(limb start, highest dendritic vertex, cos to up of the trunk point ``length_nm`` out) per limb."""
    sk = tree.sk
    tops: dict[int, int] = {}
    ls = tree.limb_start
    for v in np.flatnonzero(dend & (ls >= 0)):
        s = int(ls[v])
        if s not in tops or height[v] > height[tops[s]]:
            tops[s] = int(v)
    out = []
    d = sk.distance_to_root_nm
    for s, top in tops.items():
        path = tree.path_to_root(top)[::-1]
        k = min(int(np.searchsorted(d[path], length_nm)), len(path) - 1)
        vec = sk.vertices[path[k]] - sk.vertices[sk.root]
        norm = np.linalg.norm(vec)
        out.append((s, top, float(vec @ u / norm) if norm > 0 else 0.0))
    return out


def label_dendrites(tree: Tree, dendrite: np.ndarray, up: np.ndarray, params: ApicalParams | None = None,
                    has_apical: bool | None = None) -> ApicalResult:
    """Label dendritic vertices basal / apical_shaft / apical_tuft / oblique, or all ``dendrite``.

    dendrite: bool (N,) dendritic vertices (not soma, not axon). up: (3,) direction of the pia.
    has_apical: force (True/False) or decide from the shape (None).
    """
    params = params or ApicalParams()
    sk = tree.sk
    labels = np.full(tree.n, "", dtype=object)
    labels[dendrite] = "dendrite"
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    height = (sk.vertices - sk.vertices[sk.root]) @ u
    limbs = _limb_stats(tree, dendrite, height, u, params.initial_length_um * 1000)
    if not limbs or has_apical is False:
        return ApicalResult(labels, False)
    ok = [lb for lb in limbs if height[lb[1]] >= params.min_height_um * 1000]
    pool = ok if ok else (limbs if has_apical else [])
    if not pool:
        best = max(limbs, key=lambda lb: height[lb[1]])
        return ApicalResult(labels, False, float(height[best[1]]) / 1000, best[2])
    start, top, cos0 = max(pool, key=lambda lb: height[lb[1]] * (1 + lb[2]))
    chosen = [(start, top)]
    for s, t, cos_s in limbs:
        vec = sk.vertices[s] - sk.vertices[sk.root]
        pole = vec @ u >= params.twin_pole_cos * np.linalg.norm(vec) if np.linalg.norm(vec) > 0 else False
        if s != start and pole and cos_s >= params.min_initial_cos and height[t] >= params.twin_height_frac * height[top]:
            chosen.append((s, t))
    labels[dendrite] = "basal"
    for s, t in chosen:
        _label_apical_limb(tree, dendrite & (tree.limb_start == s), t, height, params, labels)
    return ApicalResult(labels, True, float(height[top]) / 1000, cos0, len(chosen), int(top))


def _label_apical_limb(tree: Tree, limb: np.ndarray, top: int, height: np.ndarray, params: ApicalParams,
                       labels: np.ndarray) -> None:
    """Shaft (trunk to the tuft's first branch point), tuft (beyond it) and side branches of one apical limb."""
    sk = tree.sk
    trunk = tree.path_to_root(top)[::-1]
    trunk = trunk[limb[trunk]]
    on_trunk = np.zeros(tree.n, dtype=bool)
    on_trunk[trunk] = True
    kids = tree.children
    tuft_level = params.tuft_height_frac * height[top]  # heights are measured from the soma
    tuft_start = len(trunk)
    for i, v in enumerate(trunk):
        if height[v] >= tuft_level and sum(limb[c] for c in kids[v]) > 1:
            tuft_start = i
            break
    shaft = trunk[:tuft_start + 1] if tuft_start < len(trunk) else trunk
    labels[shaft] = "apical_shaft"
    if tuft_start < len(trunk):
        tuft = tree.subtree_mask(trunk[tuft_start]) & limb
        tuft[trunk[tuft_start]] = False
        labels[tuft] = "apical_tuft"
    d = sk.distance_to_root_nm
    sub_top = tree.subtree_max(np.where(limb, height, -np.inf))
    step = params.angle_length_um * 1000
    for v in (shaft[:-1] if tuft_start < len(trunk) else shaft):
        for c in kids[v]:
            c = int(c)
            if not limb[c] or on_trunk[c]:
                continue
            branch = tree.subtree_mask(c) & limb
            a = _angle_deg(sk.vertices[tree.point_along(c, False, step, limb)] - sk.vertices[v],
                           sk.vertices[tree.point_along(v, True, step)] - sk.vertices[v])
            rise = sub_top[c] - height[v]
            labels[branch] = _side_branch_label(a, rise, d[v], sub_top[c] >= tuft_level, params)


def _side_branch_label(angle_deg: float, rise_nm: float, branch_dist_nm: float, reaches_tuft: bool,
                       params: ApicalParams) -> str:
    """Label of a side branch of the apical shaft from its take-off angle (to the shaft's direction back to
    the soma), its rise above the branch point (nm) and the branch point's path distance from the soma (nm)."""
    lo, hi = params.oblique_angle_deg
    finite = bool(np.isfinite(angle_deg))
    if branch_dist_nm <= params.basal_branch_max_um * 1000 and (
            rise_nm <= params.basal_rise_max_um * 1000 or (finite and angle_deg < lo)):
        return "basal"
    if finite and angle_deg > hi and reaches_tuft:
        return "apical_tuft"
    return "oblique"

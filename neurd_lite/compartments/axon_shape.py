"""Synapse-free branch-shape inputs of the opt-in axon model (session 18, issue 16 (b); nm in, degrees / µm out).

An axon without synapses still differs from a dendrite in how it branches: its collaterals leave the main
trunk near a right angle while dendrites fork in a Y, its segments run straight between branch points, and it
often leaves a proximal dendrite rather than the soma. None of these needs a radius (MICrONS level-2
skeletons carry none) or the frame's ``up``. Per vertex, from its segment (the unbranched run between branch
points it lies on, :func:`~neurd_lite.compartments.learned.segments`):

- ``branch_angle_deg``: angle between the segment's first ``ARM_UM`` and the parent's last ``ARM_UM`` into the
  branch point it leaves (0: continues straight on; 90: a right-angle collateral; NaN: leaves the soma);
- ``branch_path_um``: path distance from the soma to that branch point (0 for a segment leaving the soma);
- ``seg_straightness``: chord / cable of the segment (1: straight);
- ``sub_branch_angle_deg``: over the branch points in the vertex's subtree, the mean of the larger child's angle;
- ``sub_straightness``: cable-weighted mean ``seg_straightness`` over the vertex's subtree.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .learned import edge_um, segments
from .tree import Tree

ARM_UM = 5.0  # the directions into and out of a branch point are taken over this much cable
SHAPE_FEATURES = ["branch_angle_deg", "branch_path_um", "seg_straightness", "sub_branch_angle_deg",
                  "sub_straightness"]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise angle (degrees) between vectors ``a`` and ``b`` (NaN where either is zero)."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.einsum("ij,ij->i", a, b) / (na * nb)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def shape_features(tree: Tree, body: np.ndarray | None = None) -> pd.DataFrame:
    """One row per skeleton vertex with :data:`SHAPE_FEATURES` (NaN outside ``body``, default the soma's tree
    without the soma)."""
    sk = tree.sk
    n = tree.n
    body = tree.in_root_tree & ~tree.soma if body is None else body
    x = sk.vertices.astype(float)
    par = tree.parent
    d = np.nan_to_num(np.asarray(sk.distance_to_root_nm, dtype=float))
    seg = segments(tree, body)
    on = seg >= 0
    n_seg = int(seg.max()) + 1 if on.any() else 0
    f = {name: np.full(n, np.nan) for name in SHAPE_FEATURES}
    if not n_seg:
        return pd.DataFrame(f)
    first = np.full(n_seg, -1, dtype=np.int64)
    for v in tree.order:  # topological: a segment's first vertex is met first
        if on[v] and first[seg[v]] < 0:
            first[seg[v]] = v
    b = par[first]  # the branch point (or soma vertex) each segment leaves
    from_branch = (b >= 0) & body[np.maximum(b, 0)]
    bb = np.maximum(b, 0)
    out = np.array([tree.point_along(int(s), False, ARM_UM * 1000, within=body) for s in first])
    back = tree.points_towards_root(bb, ARM_UM * 1000)
    ang = np.where(from_branch, _angle_deg(x[out] - x[bb], x[bb] - x[back]), np.nan)
    f["branch_angle_deg"][on] = ang[seg[on]]
    f["branch_path_um"][on] = np.where(from_branch, d[bb], 0.0)[seg[on]] / 1000
    e = edge_um(tree)
    cable = np.bincount(seg[on], weights=e[on], minlength=n_seg)
    last = np.full(n_seg, -1, dtype=np.int64)
    idx = np.flatnonzero(on)
    for v in idx[np.argsort(d[idx], kind="stable")]:  # the segment's far end: its vertex farthest from the soma
        last[seg[v]] = v
    start = np.where(b >= 0, bb, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        straight = np.where(cable > 0, np.linalg.norm(x[last] - x[start], axis=1) / 1000 / cable, np.nan)
    straight = np.clip(straight, 0.0, 1.0)
    f["seg_straightness"][on] = straight[seg[on]]
    w = np.where(on, e, 0.0)
    sw = np.where(on, np.nan_to_num(straight[np.maximum(seg, 0)]) * e, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["sub_straightness"] = np.where(body, tree.subtree_sum(sw) / tree.subtree_sum(w), np.nan)
    bmax = np.full(n, -np.inf)  # per branch point: the larger angle of the segments leaving it
    ok = from_branch & np.isfinite(ang)
    np.maximum.at(bmax, bb[ok], ang[ok])
    has = np.isfinite(bmax)
    num = tree.subtree_sum(np.where(has, bmax, 0.0))
    cnt = tree.subtree_sum(has.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        f["sub_branch_angle_deg"] = np.where(body & (cnt > 0), num / cnt, np.nan)
    out_df = pd.DataFrame(f)
    out_df.loc[~body] = np.nan
    return out_df


def with_shape(features: pd.DataFrame, tree: Tree) -> pd.DataFrame:
    """``features`` (one row per vertex) with the :data:`SHAPE_FEATURES` columns added (computed once)."""
    if all(c in features.columns for c in SHAPE_FEATURES):
        return features
    return pd.concat([features, shape_features(tree).set_index(features.index)], axis=1)

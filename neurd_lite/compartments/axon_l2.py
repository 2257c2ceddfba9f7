"""Level-2 side-node inputs of the opt-in axon model (session 19, issue 16: a spine-density cue without synapses).

A MICrONS skeleton built from the level-2 (L2) chunk graph (MeshParty meshwork, ``pcg_skel``) carries no radius,
but each skeleton vertex keeps the L2 nodes it was built from. A spiny dendrite's spines reach into neighbouring
chunks and hang off its chain as L2 leaves (nodes with a single L2 edge); an axon's L2 chain has few of them (on
the labelled MICrONS cells whose axon has few inputs: ~0.15 of the axon's L2 nodes are leaves against ~0.35 on
the dendrites). ``io.meshwork`` stores the two counts per skeleton vertex as
``vertex_properties["l2_nodes"]`` / ``["l2_leaves"]``; without them (SWC, meshes) every input here is NaN.
Per vertex, relative to the cell's own leaf share so the inputs do not depend on the chunk size:

- ``l2_leaf_rel_seg``: leaf share of the vertex's segment (unbranched run between branch points) / the cell's;
- ``l2_leaf_rel_sub``: leaf share over the vertex's subtree / the cell's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .learned import segments
from .tree import Tree

L2_FEATURES = ["l2_leaf_rel_seg", "l2_leaf_rel_sub"]
L2_PROPS = ("l2_nodes", "l2_leaves")  # per skeleton vertex: L2 nodes mapped to it, of which L2-graph leaves


def l2_counts(tree: Tree) -> tuple[np.ndarray, np.ndarray] | None:
    """(nodes, leaves) per vertex of ``tree.sk`` from its vertex properties, or None when it has none."""
    props = tree.sk.vertex_properties or {}
    if not all(k in props and len(props[k]) == tree.n for k in L2_PROPS):
        return None
    return tuple(np.nan_to_num(np.asarray(props[k], dtype=float)) for k in L2_PROPS)  # type: ignore[return-value]


def l2_features(tree: Tree, body: np.ndarray | None = None) -> pd.DataFrame:
    """One row per skeleton vertex with :data:`L2_FEATURES` (NaN outside ``body``, default the soma's tree without
    the soma, and everywhere when the skeleton has no L2 counts or its body has no L2 node)."""
    body = tree.in_root_tree & ~tree.soma if body is None else body
    f = {name: np.full(tree.n, np.nan) for name in L2_FEATURES}
    counts = l2_counts(tree)
    if counts is None:
        return pd.DataFrame(f)
    nodes, leaves = np.where(body, counts[0], 0.0), np.where(body, counts[1], 0.0)
    if nodes.sum() <= 0 or leaves.sum() <= 0:
        return pd.DataFrame(f)
    cell = leaves.sum() / nodes.sum()
    seg = segments(tree, body)
    on = seg >= 0
    n_seg = int(seg.max()) + 1 if on.any() else 0
    sn = np.bincount(seg[on], weights=nodes[on], minlength=n_seg)
    sl = np.bincount(seg[on], weights=leaves[on], minlength=n_seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        seg_rel = np.where(sn > 0, sl / sn, np.nan) / cell
        sub_n, sub_l = tree.subtree_sum(nodes), tree.subtree_sum(leaves)
        f["l2_leaf_rel_sub"] = np.where(body & (sub_n > 0), sub_l / sub_n / cell, np.nan)
    f["l2_leaf_rel_seg"][on] = seg_rel[seg[on]]
    return pd.DataFrame(f)


def with_l2(features: pd.DataFrame, tree: Tree) -> pd.DataFrame:
    """``features`` (one row per vertex) with the :data:`L2_FEATURES` columns added (computed once)."""
    if all(c in features.columns for c in L2_FEATURES):
        return features
    return pd.concat([features, l2_features(tree).set_index(features.index)], axis=1)


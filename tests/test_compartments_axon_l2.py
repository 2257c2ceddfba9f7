"""Level-2 side-node inputs of the opt-in axon model (``compartments/axon_l2.py``, ``io.meshwork``; session 19)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurd_lite.compartments.axon_l2 import L2_FEATURES, l2_features, with_l2
from neurd_lite.compartments.tree import Tree
from neurd_lite.io.meshwork import l2_vertex_counts
from neurd_lite.skeleton.model import Skeleton


def test_l2_vertex_counts_leaves_and_mask():
    """A chain of 4 L2 nodes with a side node on node 1: leaves are the chain's far end and the side node (node 0
    too: one edge); a masked node no longer counts and its neighbour becomes a leaf; duplicate edges count once."""
    link = np.array([[0, 1], [1, 2], [2, 3], [1, 4], [2, 1]])
    m2s = np.array([0, 0, 1, 1, 0])
    c = l2_vertex_counts(link, m2s, 2)
    assert c["l2_nodes"].tolist() == [3, 2] and c["l2_leaves"].tolist() == [2, 1]
    keep = np.array([True, True, True, False, True])
    c2 = l2_vertex_counts(link, m2s, 2, keep)
    assert c2["l2_nodes"].tolist() == [3, 1] and c2["l2_leaves"].tolist() == [2, 1]


def _tree(props: dict | None) -> Tree:
    """Soma 0, a 10-vertex branch A (1-10) and a 10-vertex branch B (11-20), both leaving the soma along x / y."""
    a = np.outer(np.arange(1, 11), [1e3, 0, 0])
    b = np.outer(np.arange(1, 11), [0, 1e3, 0])
    v = np.vstack([np.zeros((1, 3)), a, b])
    e = [[1, 0]] + [[i, i - 1] for i in range(2, 11)] + [[11, 0]] + [[i, i - 1] for i in range(12, 21)]
    return Tree.from_skeleton(Skeleton(v, np.array(e), root=0, vertex_properties=props or {}))


def test_l2_features_relative_to_the_cell():
    """Branch A: 2 nodes per vertex, no leaves (an axon's bare chain); branch B: 2 nodes, 1 leaf each (spiny):
    cell share 0.25, so A reads 0 and B 2 on both inputs; the soma is NaN; no L2 counts -> all NaN."""
    nodes = np.full(21, 2)
    leaves = np.r_[0, np.zeros(10), np.ones(10)].astype(int)
    t = _tree({"l2_nodes": nodes, "l2_leaves": leaves})
    f = l2_features(t)
    assert list(f.columns) == L2_FEATURES
    assert np.allclose(f.loc[1:10].to_numpy(), 0.0) and np.allclose(f.loc[11:20].to_numpy(), 2.0)
    assert f.loc[0].isna().all()
    assert l2_features(_tree(None)).isna().all().all()
    base = pd.DataFrame({"x": np.arange(t.n, dtype=float)})
    once = with_l2(base, t)
    assert list(once.columns) == ["x", *L2_FEATURES] and with_l2(once, t) is once


@pytest.mark.realdata
def test_meshwork_level2_skeleton_carries_counts(real):
    """A MICrONS level-2 meshwork (its one face is a dummy [0, 0, 0]) gets per-vertex L2 counts summing to its
    kept L2 nodes."""
    from neurd_lite.io.skeletons import load_skeleton

    sk, _ = load_skeleton(real("skeletons/microns_apical_labelled/864691135274448101_with_apical.h5"))
    nodes, leaves = sk.vertex_properties["l2_nodes"], sk.vertex_properties["l2_leaves"]
    assert len(nodes) == sk.n_vertices and nodes.sum() > sk.n_vertices and 0 < leaves.sum() < nodes.sum()


@pytest.mark.realdata
def test_opt_in_axon_l2_model_reads_the_level2_inputs(real):
    """``CompartmentParams(axon_l2_model=True)`` on a MICrONS meshwork through ``label_skeleton``: the L2 counts
    reach the labeller's skeleton, the inputs are finite on the dendrite, ``compartment_axon_l2`` (text + sidecar,
    inputs listed) is the axon model used, and an axon is found. (No accuracy claim: this cell is a training cell.)"""
    import neurd_lite as nl
    from neurd_lite.compartments import CompartmentParams
    from neurd_lite.compartments.learned import AXON_L2_MODEL, load_vertex_model, models_available
    from neurd_lite.model.shipped import MODELS_DIR
    from neurd_lite.pipeline import PipelineParams

    if not models_available() or not (MODELS_DIR / f"{AXON_L2_MODEL}.txt").is_file():
        pytest.skip("compartment models not built")
    m = load_vertex_model(AXON_L2_MODEL)
    assert m.features[-len(L2_FEATURES):] == L2_FEATURES and m.meta["held_out_metrics"]["leave_cell_out"]
    path = real("skeletons/microns_apical_labelled/864691135274448101_with_apical.h5")
    n = nl.label_skeleton(path, params=PipelineParams(compartments=CompartmentParams(axon_l2_model=True)))
    assert "l2_nodes" in n.skeleton.vertex_properties
    t = Tree.from_skeleton(n.skeleton)
    f = l2_features(t)
    assert np.isfinite(f.loc[t.in_root_tree & ~t.soma, L2_FEATURES].to_numpy()).mean() > 0.9
    assert (n.skeleton_labels.astype(str) == "axon").any()

"""Branch-shape inputs of the opt-in axon model (``compartments/axon_shape.py``, session 18)."""
from __future__ import annotations

import numpy as np

from neurd_lite.compartments.axon_shape import SHAPE_FEATURES, shape_features, with_shape
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton


def _line(start: np.ndarray, direction: np.ndarray, n: int, step_nm: float = 1e3) -> np.ndarray:
    return start + np.outer(np.arange(1, n + 1), direction) * step_nm


def _branched(child_dir: tuple[float, float, float]) -> tuple[Tree, int]:
    """Soma 0, a straight trunk of 20 µm along +x, at its end a continuation along +x (10 µm) and a child of
    10 µm along ``child_dir``; returns the tree and the child's first vertex."""
    trunk = _line(np.zeros(3), np.array([1.0, 0, 0]), 20)
    cont = _line(trunk[-1], np.array([1.0, 0, 0]), 10)
    d = np.asarray(child_dir, dtype=float)
    child = _line(trunk[-1], d / np.linalg.norm(d), 10)
    v = np.vstack([np.zeros((1, 3)), trunk, cont, child])
    e = [[i, i - 1] for i in range(1, 21)] + [[21, 20]] + [[i, i - 1] for i in range(22, 31)] + [[31, 20]] + \
        [[i, i - 1] for i in range(32, 41)]
    return Tree.from_skeleton(Skeleton(v, np.array(e), root=0)), 31


def test_right_angle_collateral_vs_fork():
    """A collateral at 90° reads ~90°, a 30° fork ~30°; the continuation ~0°; the trunk's subtree mean is the
    larger child's angle; straight segments read 1 and the branch point lies 20 µm from the soma."""
    for deg in (90.0, 30.0):
        a = np.radians(deg)
        tree, c = _branched((np.cos(a), np.sin(a), 0.0))
        f = shape_features(tree)
        assert list(f.columns) == SHAPE_FEATURES
        assert abs(f.loc[c + 3, "branch_angle_deg"] - deg) < 1.0
        assert abs(f.loc[25, "branch_angle_deg"]) < 1.0
        assert abs(f.loc[5, "sub_branch_angle_deg"] - deg) < 1.0
        assert np.isnan(f.loc[5, "branch_angle_deg"])  # the trunk leaves the soma
        assert abs(f.loc[c + 3, "branch_path_um"] - 20.0) < 1e-6 and f.loc[5, "branch_path_um"] == 0.0
        assert np.allclose(f.loc[1:, "seg_straightness"], 1.0) and np.allclose(f.loc[1:, "sub_straightness"], 1.0)
        assert f.loc[0].isna().all()  # the soma vertex


def test_wiggly_segment_is_less_straight_and_with_shape_adds_once():
    tree, c = _branched((0.0, 1.0, 0.0))
    v = tree.sk.vertices.copy()
    v[22:31:2, 1] += 1.5e3  # zigzag the continuation
    t2 = Tree.from_skeleton(Skeleton(v, tree.sk.edges, root=0))
    f = shape_features(t2)
    assert f.loc[25, "seg_straightness"] < 0.9 and f.loc[c + 3, "seg_straightness"] > 0.99
    import pandas as pd

    base = pd.DataFrame({"x": np.arange(t2.n, dtype=float)})
    once = with_shape(base, t2)
    assert list(once.columns) == ["x", *SHAPE_FEATURES] and with_shape(once, t2) is once


def test_opt_in_axon_shape_model_labels_a_pyramid():
    """``CompartmentParams(axon_shape_model=True)`` reads ``compartment_axon_shape`` (text + sidecar) and finds the
    axon of a synthetic pyramid; the sidecar lists the shape inputs and carries held-out numbers."""
    import pytest

    import neurd_lite as nl
    from neurd_lite.compartments import CompartmentParams
    from neurd_lite.compartments.learned import AXON_SHAPE_MODEL, load_vertex_model, models_available
    from neurd_lite.model.shipped import MODELS_DIR
    from neurd_lite.pipeline import PipelineParams
    from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton

    if not models_available() or not (MODELS_DIR / f"{AXON_SHAPE_MODEL}.txt").is_file():
        pytest.skip("compartment models not built")
    m = load_vertex_model(AXON_SHAPE_MODEL)
    assert m.features[-len(SHAPE_FEATURES):] == SHAPE_FEATURES and m.meta["held_out_metrics"]["leave_cell_out"]
    centre = np.array([600e3, 800e3, 850e3])
    sk0 = tree_to_skeleton(grow_pyramidal(np.random.default_rng(7), centre))
    truth = np.asarray(sk0.vertex_properties["compartment"]).astype(str)
    sk = Skeleton(sk0.vertices - centre, sk0.edges, sk0.radius, sk0.root)
    n = nl.label_skeleton(sk, up=(0, -1, 0),
                          params=PipelineParams(compartments=CompartmentParams(axon_shape_model=True)))
    lab = n.skeleton_labels.astype(str)
    tp = float(((lab == "axon") & (truth == "axon")).sum())
    assert 2 * tp / ((lab == "axon").sum() + (truth == "axon").sum()) > 0.8

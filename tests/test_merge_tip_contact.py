"""End-on contacts of the merge generator (``testing.merge.MergeParams.tip_contact_nm``, session 23)."""
import numpy as np

from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.merge import MergeParams, _reach_beyond_nm


def _y_tree() -> Skeleton:
    """A soma vertex, a 10 µm stem, then two children of 5 and 20 µm (vertices every 1 µm, along x / y)."""
    pts = [[0.0, 0, 0]] + [[1000.0 * i, 0, 0] for i in range(1, 11)]
    pts += [[10_000.0 + 1000.0 * i, 0, 0] for i in range(1, 6)]
    pts += [[10_000.0, 1000.0 * i, 0] for i in range(1, 21)]
    edges = [[i, i + 1] for i in range(10)] + [[10, 11]] + [[i, i + 1] for i in range(11, 15)]
    edges += [[10, 16]] + [[i, i + 1] for i in range(16, 35)]
    return Skeleton(np.array(pts), np.array(edges), np.full(len(pts), 300.0), 0)


def test_reach_beyond_is_the_longest_run_to_a_tip():
    r = _reach_beyond_nm(_y_tree())
    assert r[0] == 30_000.0 and r[10] == 20_000.0
    assert r[15] == 0.0 and r[11] == 4000.0 and r[16] == 19_000.0 and r[35] == 0.0


def test_tip_contact_is_off_by_default():
    assert MergeParams().tip_contact_nm == 0.0


def test_tip_contact_keeps_only_points_near_their_last_tip():
    """With tip_contact_nm the contact candidates are the plain ones whose farthest tip beyond lies within it."""
    from neurd_lite.testing.merge import DENDRITIC, _candidates
    from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton

    tree = grow_pyramidal(np.random.default_rng(0), np.zeros(3))
    plain, _ = _candidates(tree, DENDRITIC, MergeParams())
    tip, _ = _candidates(tree, DENDRITIC, MergeParams(tip_contact_nm=10_000.0))
    assert 0 < len(tip) < len(plain)
    sk = tree_to_skeleton(tree)
    idx = {tuple(x): i for i, x in enumerate(sk.vertices)}
    reach = _reach_beyond_nm(sk)[[idx[tuple(x)] for x in tip]]
    assert reach.max() <= 10_000.0
    assert {tuple(x) for x in tip} <= {tuple(x) for x in plain}

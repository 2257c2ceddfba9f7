"""Side branches vote by their whole subtree (``SplitParams.side_subtree_weight``, opt-in)."""
import numpy as np

from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _assign_sides, _Forest


def _far_evidence_branch():
    """A straight soma-to-soma path along x (0-100 µm, a vertex every 500 nm; cell A's axon up to 50 µm, cell B's
    dendrite beyond) and a 60 µm side branch along y leaving just on B's side of the cut. Its first 30 µm carry no
    synapses and no labels (beyond ``side_evidence_nm``'s reach); its far 30 µm carry outputs and axon labels."""
    px = np.arange(0.0, 100_001.0, 500.0)
    by = np.arange(500.0, 60_001.0, 500.0)
    k = int(np.searchsorted(px, 50_000.0)) - 1
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), np.stack([np.full_like(by, px[k + 1]), by, 0 * by], axis=1)])
    m = len(px)
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(k + 1, m)
    pre, post = np.zeros(len(x)), np.zeros(len(x))
    is_axon, labelled = np.zeros(len(x), bool), np.ones(len(x), bool)
    pre[: k + 1: 4], is_axon[: k + 1] = 1, True
    post[k + 1: m: 4] = 1
    far = m + 60
    labelled[m:far] = False
    pre[far::4], is_axon[far:] = 1, True
    return f, list(range(m)), px, k, np.full(len(x), 300.0), (pre, post, is_axon, labelled), m


def _owner(weight: float) -> str:
    f, path, s, k, radius, evidence, first = _far_evidence_branch()
    _assign_sides(f, path, s, k, radius, SplitParams(side_subtree_weight=weight), evidence)
    return "A" if first + 5 in f.within({path[0]}, np.inf) else "B"


def test_subtree_vote_is_off_by_default_and_near_evidence_alone_does_not_move():
    assert SplitParams().side_subtree_weight == 0.0
    assert _owner(0.0) == "B"


def test_whole_subtree_evidence_moves_the_branch():
    assert _owner(0.5) == "A"

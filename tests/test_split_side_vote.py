"""Branches at path branch points beyond the contact zone vote too (``SplitParams.side_vote_nm``)."""
import numpy as np

from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _assign_sides, _Forest


def _far_branch(at_um: float):
    """A straight soma-to-soma path along x (0-100 µm, a vertex every 500 nm, cut at 50 µm) and a 20 µm side branch
    leaving at ``at_um`` on B's side, running on along +x (cell A's outward direction) at 45° to the path."""
    px = np.arange(0.0, 100_001.0, 500.0)
    m = len(px)
    k = int(np.searchsorted(px, 50_000.0)) - 1
    q = int(np.searchsorted(px, at_um * 1000.0))
    t = np.arange(500.0, 20_001.0, 500.0) / np.sqrt(2.0)
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), np.stack([px[q] + t, t, 0 * t], axis=1)])
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(q, m)
    return f, list(range(m)), px, k, np.full(len(x), 300.0), m


def _owner(side_vote_nm: float, at_um: float = 58.0) -> str:
    f, path, s, k, radius, first = _far_branch(at_um)
    _assign_sides(f, path, s, k, radius, SplitParams(side_vote_nm=side_vote_nm))
    return "A" if first + 5 in f.within({path[0]}, np.inf) else "B"


def test_far_branch_keeps_its_side_by_default():
    assert SplitParams().side_vote_nm == 0.0
    assert _owner(0.0) == "B"


def test_far_branch_follows_direction_through_its_junction():
    assert _owner(10_000.0) == "A"


def test_branch_beyond_side_vote_nm_does_not_vote():
    assert _owner(10_000.0, at_um=70.0) == "B"

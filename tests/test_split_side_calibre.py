"""Side branches much thicker than their parent arm go to the other cell (``SplitParams.side_calibre_ratio``)."""
import numpy as np

from neurd_lite.proofread.calibre import calibre_moves
from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _assign_sides, _Forest

SOMAS = (np.zeros(3), np.array([100_000.0, 0.0, 0.0]))


def _case(side_r: float, at_um: float = 60.0, path_r: float = 300.0):
    """A straight soma-to-soma path along x (a vertex every 500 nm, cut at 50 µm, branch radius ``path_r``) and a
    20 µm side branch of branch radius ``side_r`` leaving it at ``at_um`` straight along y (no growth vote)."""
    px = np.arange(0.0, 100_001.0, 500.0)
    m = len(px)
    q = int(np.searchsorted(px, at_um * 1000.0))
    side = np.stack([np.full(40, px[q]), 500.0 * np.arange(1, 41), np.zeros(40)], axis=1)
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), side])
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(q, m)
    branch_r = np.r_[np.full(m, path_r), np.full(40, side_r)]
    return f, list(range(m)), px, int(np.searchsorted(px, 50_000.0)) - 1, branch_r, m


def _owner(p: SplitParams, side_r: float, at_um: float = 60.0) -> str:
    f, path, s, k, branch_r, first = _case(side_r, at_um)
    _assign_sides(f, path, s, k, np.full(len(f.x), 300.0), p, None, (SOMAS, {path[0], path[-1]}), branch_r)
    return "A" if first + 39 in f.within({path[0]}, np.inf) else "B"


def test_thick_child_moves_only_when_on():
    assert SplitParams().side_calibre_ratio == 0.0
    assert _owner(SplitParams(), 900.0) == "B"
    assert _owner(SplitParams(side_calibre_ratio=2.0), 900.0) == "A"
    assert _owner(SplitParams(side_calibre_ratio=2.0), 900.0, at_um=40.0) == "B"  # on A's side: moves to B


def test_thin_or_far_child_stays():
    assert _owner(SplitParams(side_calibre_ratio=2.0), 500.0) == "B"  # 1.7x its parent: a plausible own branch
    assert _owner(SplitParams(side_calibre_ratio=2.0), 900.0, at_um=75.0) == "B"  # beyond side_growth_nm


def test_calibre_moves_reports_the_ratio():
    f, path, s, k, branch_r, first = _case(900.0)
    moves = calibre_moves(f, path, s, k, set(), {path[0], path[-1]}, branch_r, 2.0, 20_000.0, 5_000.0, 3_000.0)
    assert len(moves) == 1 and moves[0][1] == first and moves[0][2] == 0 and abs(moves[0][3] - 3.0) < 1e-9

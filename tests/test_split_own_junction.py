"""The own-branch-point test and the cut it moves (``proofread.junctions``, ``SplitParams.own_junction_recut``)."""
import numpy as np

from neurd_lite.proofread import SplitParams
from neurd_lite.proofread.forest import _Forest
from neurd_lite.proofread.junctions import own_junction, own_junction_cut

SOMAS = (np.array([0.0, 0.0, 0.0]), np.array([200_000.0, 0.0, 0.0]))


def _forest(path_pts: np.ndarray, branch_pts: np.ndarray, at: int) -> tuple[_Forest, np.ndarray]:
    """A path of points (nm) and one side branch leaving path vertex ``at``; (forest, path vertex ids)."""
    x = np.vstack([path_pts, branch_pts])
    f = _Forest(x, [set() for _ in range(len(x))])
    m = len(path_pts)
    for a in range(m - 1):
        f.join(a, a + 1)
    f.join(at, m)
    for a in range(m, len(x) - 1):
        f.join(a, a + 1)
    return f, np.arange(m)


def _line(a: np.ndarray, b: np.ndarray, step: float = 1000.0) -> np.ndarray:
    n = int(np.linalg.norm(b - a) // step)
    return a + (b - a) * (np.arange(1, n + 1) / n)[:, None]


def _straight(branch_dir: np.ndarray, length: float = 30_000.0) -> tuple[_Forest, np.ndarray, np.ndarray]:
    path = np.column_stack([np.arange(0, 200_001, 1000.0), np.zeros(201), np.zeros(201)])
    j = path[60]
    f, pa = _forest(path, _line(j, j + length * branch_dir / np.linalg.norm(branch_dir)), 60)
    return f, pa, path[:, 0]


def test_a_branch_point_passed_straight_is_own_and_names_its_child_side():
    f, pa, s = _straight(np.array([1.0, 1.0, 0.0]))  # leaves forwards, away from soma A: A's own branch point
    assert own_junction(f, pa, s, 60, 3000.0, 1500.0, (SOMAS, set())) == 1
    f, pa, s = _straight(np.array([-1.0, 1.0, 0.0]))  # leaves toward A: B's own, child side toward A
    assert own_junction(f, pa, s, 60, 3000.0, 1500.0, (SOMAS, set())) == -1
    f, pa, s = _straight(np.array([0.0, 1.0, 0.0]))  # at a right angle: own, parent arm unclear
    assert own_junction(f, pa, s, 60, 3000.0, 1500.0, (SOMAS, set())) == 2


def test_a_turning_path_with_a_side_branch_continuing_an_arm_is_a_contact():
    # A's neurite comes down along y and ends on B's shaft (along x), which goes on past the contact: a T contact
    arm_a = np.column_stack([np.full(60, 60_000.0), np.arange(60, 0, -1) * 1000.0, np.zeros(60)])
    arm_b = np.column_stack([np.arange(60_000, 200_001, 1000.0), np.zeros(141), np.zeros(141)])
    path = np.vstack([arm_a, arm_b])
    f, pa = _forest(path, _line(path[60], np.array([30_000.0, 0.0, 0.0])), 60)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    assert own_junction(f, pa, s, 60, 3000.0, 1500.0, (SOMAS, set())) == 0


def test_the_cut_moves_past_an_own_branch_point_to_the_best_score_on_its_child_side():
    f, pa, s = _straight(np.array([1.0, 1.0, 0.0]))
    prior = ((s > 10_000) & (s < 190_000)).astype(float)
    scores = np.zeros(len(s))
    scores[60], scores[120], scores[30] = 5.0, 2.0, 3.0  # own branch point, a weaker point beyond it, one behind
    k, rec = own_junction_cut(f, pa, s, prior, scores, 60, 3000.0, 1500.0, (SOMAS, set()))
    assert k == 120 and rec["junction_nm"] == 60_000.0
    f, pa, s = _straight(np.array([0.0, 1.0, 0.0]))  # parent arm unclear: the cut stays
    assert own_junction_cut(f, pa, s, prior, scores, 60, 3000.0, 1500.0, (SOMAS, set())) == (60, None)


def test_off_by_default():
    assert SplitParams().own_junction_recut is False

"""Session 23 round 2 (``SplitParams.end_on_stretch_nm``, default 72 µm): a cut at an end of a long junction-free
stretch moves to the stretch's middle, unless a branch at that end doubles back along the parent arm."""
import numpy as np

from neurd_lite.proofread import SplitParams
from neurd_lite.proofread.stretch import end_on_cut, junction_free_stretches


def _path(length_um: float = 200.0, junctions_um: tuple = (40.0, 140.0)):
    """A straight path along x (1 µm steps), soma prior off in the first and last 5 µm, junction cue peaks."""
    s = np.arange(0.0, length_um + 1.0) * 1000.0
    prior = ((s > 5000) & (s < s[-1] - 5000)).astype(float)
    junction = np.zeros_like(s)
    for j in junctions_um:
        junction = np.maximum(junction, np.exp(-0.5 * ((s - j * 1000.0) / 1500.0) ** 2))
    return s, prior, junction


def _skeleton(s: np.ndarray, side_at: int, side_dir: np.ndarray):
    """Path vertices 0..m-1 on the x axis plus a 10 µm off-path branch leaving vertex ``side_at`` along side_dir."""
    m = len(s)
    x = np.zeros((m + 10, 3))
    x[:m, 0] = s
    adj = [set() for _ in range(m + 10)]
    for i in range(m - 1):
        adj[i].add(i + 1)
        adj[i + 1].add(i)
    prev = side_at
    for t in range(10):
        v = m + t
        x[v] = x[side_at] + (t + 1) * 1000.0 * side_dir
        adj[prev].add(v)
        adj[v].add(prev)
        prev = v
    return adj, x, np.arange(m)


def test_stretches_and_off_switch():
    s, prior, junction = _path()
    st = junction_free_stretches(s, prior, junction)
    assert np.allclose(st / 1000.0, [[6, 40], [40, 140], [140, 194]])
    assert SplitParams().end_on_stretch_nm == 72_000.0
    assert end_on_cut(s, prior, junction, 40, 0.0) == (40, None)


def test_cut_at_stretch_end_moves_to_middle_only_when_long():
    s, prior, junction = _path()
    k, rec = end_on_cut(s, prior, junction, 40, 80_000.0)
    assert k == 90 and rec["stretch_nm"] == 100_000.0
    assert end_on_cut(s, prior, junction, 40, 120_000.0) == (40, None)  # stretch shorter than the threshold
    assert end_on_cut(s, prior, junction, 60, 80_000.0) == (60, None)  # the cut is not at the stretch's end


def test_backward_branch_keeps_the_cut():
    """The stretch runs +x from the junction at 40 µm, so the parent arm's forward direction is +x."""
    s, prior, junction = _path()
    forward_branch = _skeleton(s, 40, np.array([0.6, 0.8, 0.0]))
    assert end_on_cut(s, prior, junction, 40, 80_000.0, forward_branch)[0] == 90
    backward_branch = _skeleton(s, 40, np.array([-0.8, 0.6, 0.0]))
    assert end_on_cut(s, prior, junction, 40, 80_000.0, backward_branch) == (40, None)


def test_nan_or_negative_stretch_threshold_is_refused():
    """A NaN threshold passed the ``<= 0`` off-switch and every ``<`` test, so the rule moved any cut at the end of
    the longest stretch whatever its length; SplitParams now refuses NaN and negative lengths."""
    import pytest

    from neurd_lite.errors import InputError

    with pytest.raises(InputError):
        SplitParams(end_on_stretch_nm=float("nan"))
    with pytest.raises(InputError):
        SplitParams(end_on_stretch_nm=-1.0)

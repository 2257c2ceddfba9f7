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


def _face_accuracy(n, sn, params: SplitParams) -> tuple[list[float], list[dict]]:
    """Per true cell min(recall, precision) of its faces after ``find_cuts`` (each soma goes to the nearest true
    soma centre), and the cut records."""
    from neurd_lite.proofread import face_owner, find_cuts

    centres = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])
    truth = np.asarray(sn.face_cell)
    owner, cuts = find_cuts(n, params)
    cell_of_soma = [int(np.argmin(np.linalg.norm(centres - s.center_nm, axis=1))) for s in n.somas] + [-1]
    fo = face_owner(n, owner)
    got = np.asarray(cell_of_soma)[np.where(fo >= 0, fo, len(n.somas))]
    acc = [min(float((got == c)[truth == c].mean()), float((truth == c)[got == c].mean()) if (got == c).any() else 0.0)
           for c in range(len(centres))]
    return acc, cuts


def test_end_on_rule_fires_and_helps_on_a_tune_end_on_merge():
    """TUNE family seed 106 (bipolar 300 + basket 642, dendrite contact, fragmented) built end-on (contact within
    10 µm of a dendrite's last tip): the default cut lands at the end of a long junction-free stretch and the rule
    moves it (faces .9844 / .9923); with the rule off the cut stays there (.9462 / .974). ~6 s."""
    import neurd_lite as nl
    from neurd_lite.testing import family
    from neurd_lite.testing.merge import MergeParams

    sn = family.make_merge([("bipolar", 300), ("basket", 642)], contact="dendrite", seed=106, target_faces=80_000,
                           fragment=True, contact_params=MergeParams(tip_contact_nm=10_000.0))
    n = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                     params=nl.PipelineParams(skip=("spines",)))
    assert len(n.somas) == 2
    on, cuts = _face_accuracy(n, sn, SplitParams())
    off, cuts_off = _face_accuracy(n, sn, SplitParams(end_on_stretch_nm=0.0))
    assert [c for c in cuts if "end_on_stretch" in c and c["applied"]]
    assert not [c for c in cuts_off if "end_on_stretch" in c]
    assert min(on) >= 0.95 > min(off)
    assert all(a > b for a, b in zip(on, off))

"""Side assignment by a side branch's own evidence (``SplitParams.side_evidence_weight``)."""
import numpy as np

from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _assign_sides, _Forest


def _axon_meets_dendrite():
    """A straight soma-to-soma path along x (0-100 µm, a vertex every 500 nm; cell A's axon up to 50 µm, cell B's
    dendrite beyond) and a 20 µm side branch along y leaving just on B's side of the cut: its direction and calibre
    favour neither cell, its outputs and axon label favour A."""
    px = np.arange(0.0, 100_001.0, 500.0)
    path_x = np.stack([px, np.zeros_like(px), np.zeros_like(px)], axis=1)
    by = np.arange(500.0, 20_001.0, 500.0)
    k = int(np.searchsorted(px, 50_000.0)) - 1  # cut between path vertices k and k + 1
    br_x = np.stack([np.full_like(by, px[k + 1]), by, np.zeros_like(by)], axis=1)
    x = np.vstack([path_x, br_x])
    m, nb = len(px), len(by)
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in range(m - 1):
        f.join(a, a + 1)
    f.join(k + 1, m)
    for a in range(m, m + nb - 1):
        f.join(a, a + 1)
    pre, post = np.zeros(len(x)), np.zeros(len(x))
    is_axon = np.zeros(len(x), bool)
    pre[: k + 1: 4] = 1  # A's side of the path: outputs, axon
    is_axon[: k + 1] = True
    post[k + 1: m: 4] = 1  # B's side: inputs, dendrite
    pre[m::4] = 1  # the side branch: outputs, axon
    is_axon[m:] = True
    evidence = (pre, post, is_axon, np.ones(len(x), bool))
    return f, list(range(m)), px, k, np.full(len(x), 300.0), evidence, m


def _owner_of_branch(weight: float) -> str:
    f, path, s, k, radius, evidence, first = _axon_meets_dendrite()
    _assign_sides(f, path, s, k, radius, SplitParams(side_evidence_weight=weight), evidence)
    side_a = f.within({path[0]}, np.inf)
    return "A" if first + 5 in side_a else "B"


def test_side_branch_stays_on_its_attachment_side_without_evidence_vote():
    assert _owner_of_branch(0.0) == "B"


def test_side_branch_follows_its_own_polarity_and_label():
    assert SplitParams().side_evidence_weight > 0
    assert _owner_of_branch(SplitParams().side_evidence_weight) == "A"

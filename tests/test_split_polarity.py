"""The synapse-polarity gate of the splitter (neurd_lite.proofread.polarity, ``SplitParams.polarity_gate``)."""
from __future__ import annotations

import numpy as np

from neurd_lite.proofread import SplitParams, path_scores
from neurd_lite.proofread.polarity import polarity_change

GATE = SplitParams()  # the gate is on by default (session 10)
OFF = SplitParams(polarity_gate=0.0)


def _path(length_nm: float, bend_at_nm: float | None = None, step: float = 500.0) -> np.ndarray:
    """A straight path along x (nm); with ``bend_at_nm`` it turns 90 degrees there (toward +y)."""
    s = np.arange(0.0, length_nm + step / 2, step)
    x = np.zeros((len(s), 3))
    x[:, 0] = s
    if bend_at_nm is not None:
        far = s > bend_at_nm
        x[far, 0] = bend_at_nm
        x[far, 1] = s[far] - bend_at_nm
    return x


def _synapses(s: np.ndarray, change_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs every 2 µm before ``change_nm`` (A's dendrite), outputs every 4 µm after it (B's axon)."""
    post = ((s < change_nm) & (np.round(s / 500) % 4 == 0)).astype(float)
    pre = ((s > change_nm) & (np.round(s / 500) % 8 == 0)).astype(float)
    return pre, post


def test_axon_crossing_a_dendrite_without_a_branch_point_is_cut_at_the_crossing():
    """A's dendrite (inputs, 0-70 µm) crosses B's axon (outputs, 70-140 µm) and the skeleton runs straight through
    the crossing: no branch point there. 30 µm further B's axon has its own branch point and turns 90 degrees
    (junction + turn outscore the synapse change). The path's synapses fall into two pure runs, so only cuts
    between the last input and the first output agree with them: with the gate the cut is at the crossing."""
    x = _path(140e3, bend_at_nm=100e3)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(x, axis=0), axis=1))])
    junction = np.zeros(len(s), bool)
    junction[np.argmin(np.abs(s - 100e3))] = True
    args = (x, np.full(len(s), 300.0), np.zeros(len(s), bool), junction, (x[0], 5000.0), (x[-1], 5000.0))
    syn = _synapses(s, 70e3)
    off = path_scores(*args, OFF, synapses=syn)
    on = path_scores(*args, GATE, synapses=syn)
    assert abs(s[np.argmax(off["score"])] - 100e3) <= 2000  # without the gate: the decoy branch point
    assert abs(s[np.argmax(on["score"])] - 70e3) <= 3000  # with it: the crossing
    assert on["polarity"]["decisive"]


def test_near_tie_between_two_branch_points_is_broken_by_the_sides_polarity():
    """Two branch points with the same local cues, at 50 and 100 µm: a tie on the local score. Inputs run to
    50 µm and outputs after it, so only the cut at 50 µm leaves a pure dendrite on one side and a pure axon on
    the other; the gate keeps it and rules out the other."""
    x = _path(150e3)
    s = x[:, 0]
    junction = np.zeros(len(s), bool)
    j1, j2 = np.argmin(np.abs(s - 50e3)), np.argmin(np.abs(s - 100e3))
    junction[[j1, j2]] = True
    args = (x, np.full(len(s), 300.0), np.zeros(len(s), bool), junction, (x[0], 5000.0), (x[-1], 5000.0))
    pre, post = _synapses(s, 50e3)
    quiet = {**GATE.weights, "synapse_change": 0.0}
    off = path_scores(*args, SplitParams(weights=quiet, polarity_gate=0.0), synapses=(pre, post))
    assert abs(off["score"][j1] - off["score"][j2]) < 0.1 * off["score"][j1]  # a near-tie
    on = path_scores(*args, SplitParams(weights=quiet), synapses=(pre, post))
    assert abs(s[np.argmax(on["score"])] - 50e3) <= 1000 and on["score"][j2] == 0.0


def test_polarity_gate_is_silent_without_a_decisive_change():
    """No synapses, one polarity all along, mixed polarity, or a change at a soma's own axon start (labels call
    the far side axon): the score is the ungated one."""
    x = _path(150e3)
    s = x[:, 0]
    junction = np.zeros(len(s), bool)
    junction[np.argmin(np.abs(s - 100e3))] = True
    rng = np.random.default_rng(0)
    mixed = (rng.random(len(s)) < 0.2).astype(float), (rng.random(len(s)) < 0.2).astype(float)
    inputs = np.zeros(len(s)), (np.round(s / 500) % 4 == 0).astype(float)
    origin = _synapses(s, 20e3)  # inputs near A, outputs beyond: A's axon leaving a proximal dendrite
    for labels, syn in ((np.zeros(len(s), bool), None), (np.zeros(len(s), bool), inputs),
                        (np.zeros(len(s), bool), mixed), (s > 20e3, origin)):
        args = (x, np.full(len(s), 300.0), labels, junction, (x[0], 5000.0), (x[-1], 5000.0))
        on = path_scores(*args, GATE, synapses=syn)
        off = path_scores(*args, OFF, synapses=syn)
        assert np.array_equal(on["score"], off["score"]) and not on["polarity"]["decisive"]


def test_polarity_change_interval_brackets_the_change():
    """The consistent cuts span the gap between the last input and the first output (plus the slack)."""
    s = np.arange(0.0, 100e3 + 1, 500.0)
    pre, post = _synapses(s, 60e3)
    ok, rec = polarity_change(s, pre, post, 5000.0, 5000.0, 30000.0, slack_nm=0.0)
    assert rec["decisive"] and ok.any()
    last_in, first_out = s[post > 0].max(), s[pre > 0].min()
    assert s[ok].min() >= last_in - 1 and s[ok].max() < first_out

"""Where a soma-to-soma path changes from dendrite to axon, read from its synapses as a whole (nm).

Beyond the stretch where a soma's own axon may leave the soma or a proximal dendrite, a neurite followed from its
soma keeps its polarity: a dendrite carries inputs, an axon outputs, and neither turns into the other. A path
between two somata is one cell's neurite up to the contact and the other's after it, so when its synapses fall
into two pure runs (inputs on one side, outputs on the other) the contact lies between the last synapse of the
one run and the first of the other, wherever the branch points, turns and calibre steps are.

The change point is fitted once over the whole path: for a cut after vertex i the synapse counts on each side
are fitted by their own output share (binomial), and ``gain[i]`` = 2 x (log-likelihood of the two-share fit -
that of one share for the whole path), a likelihood-ratio statistic. The fit is *decisive* when the best gain
reaches ``min_gain``, each side has ``min_side`` synapses, one side's output share is <= 1 - ``purity`` and the
other's >= ``purity``, and the change is not a soma's own axon start (outputs on the side away from a soma within
``origin_nm`` of it, the hillock the ``synapse_change`` cue also leaves alone). The cuts consistent with it are
those whose gain lies within ``interval_gain`` of the best (a likelihood-ratio confidence set for the change
point; 3.84 = the 95 % point of chi-square with one degree of freedom).
"""
from __future__ import annotations

import numpy as np
from scipy.special import xlogy


def _deviance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """-2 x the binomial log-likelihood of counts a (outputs) and b (inputs) at their own share."""
    nn = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(nn > 0, a / np.maximum(nn, 1e-12), 0.0)
        return -2.0 * (xlogy(a, share) + xlogy(b, 1.0 - share))


def polarity_change(s: np.ndarray, pre: np.ndarray, post: np.ndarray, soma_a_nm: float, soma_b_nm: float,
                    origin_nm: float, axon_before: np.ndarray | None = None,
                    axon_after: np.ndarray | None = None, min_gain: float = 15.0, min_side: int = 3, purity: float = 0.8,
                    interval_gain: float = 3.84, slack_nm: float = 0.0) -> tuple[np.ndarray, dict]:
    """(m,) bool: the path vertices after which a cut agrees with the path's synapse polarity (all True when the
    fit is not decisive), and a record of the fit.

    s: (m,) arclength from soma A's vertex (nm); pre / post: (m,) output / input synapse counts per vertex (those
    inside a soma already zeroed); soma_a_nm / soma_b_nm: soma radii (nm); origin_nm: the stretch beyond a soma's
    radius where its own axon may start (nm); axon_before / axon_after: (m,) axon fraction of the compartment
    labels before / after each vertex: when given, a change near a soma counts as that soma's own axon start only
    where the labels call the side away from the soma axon; slack_nm: the consistent cuts reach this far beyond
    the confidence set (a synapse at a contact maps onto either neurite's skeleton there).
    """
    m = len(s)
    allowed = np.ones(m, dtype=bool)
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    cp, cq = np.cumsum(pre), np.cumsum(post)
    tp, tq = cp[-1] if m else 0.0, cq[-1] if m else 0.0
    rec = {"decisive": False, "outputs": int(tp), "inputs": int(tq)}
    if m < 3 or min(tp, tq) < min_side:
        return allowed, rec
    gain = _deviance(np.array(tp), np.array(tq)) - _deviance(cp, cq) - _deviance(tp - cp, tq - cq)
    gain[-1] = 0.0
    k = int(np.argmax(gain))
    n_left, n_right = cp[k] + cq[k], (tp - cp[k]) + (tq - cq[k])
    f_left, f_right = cp[k] / max(n_left, 1e-12), (tp - cp[k]) / max(n_right, 1e-12)
    rec.update(gain=round(float(gain[k]), 2), at_nm=round(float(s[k]), 1), share_before=round(float(f_left), 3),
               share_after=round(float(f_right), 3))
    pure = (f_left <= 1 - purity and f_right >= purity) or (f_left >= purity and f_right <= 1 - purity)
    if gain[k] < min_gain or min(n_left, n_right) < min_side or not pure:
        return allowed, rec
    total = s[-1]
    own = (s[k] < soma_a_nm + origin_nm and f_right > f_left) or (s[k] > total - soma_b_nm - origin_nm
                                                                    and f_left > f_right)
    if own and axon_before is not None and axon_after is not None:  # the labeller traced no axon leaving there
        own = bool((axon_after[k] if f_right > f_left else axon_before[k]) >= 0.5)
    if own:  # a soma's own axon leaving it: not a contact
        rec["own_axon_start"] = True
        return allowed, rec
    inside = gain >= gain[k] - interval_gain
    lo, hi = s[inside].min() - slack_nm, s[inside].max() + slack_nm
    allowed = (s >= lo) & (s <= hi)
    rec.update(decisive=True, interval_nm=[round(float(s[allowed].min()), 1), round(float(s[allowed].max()), 1)])
    return allowed, rec

"""A cut at a cell's own branch point moves past it, into the child side (``SplitParams.own_junction_recut``; nm).

Where the true contact carries no cue (two neurites fused end on, or along a shaft), the cut often goes to the
nearest strong cue, a branch point of one cell, 40-190 µm from the contact (docs/proofreading.md "Session 24",
"Session 25"). A branch point the soma path passes straight through is a cell's own: the path's two arms there
are one neurite (they leave the branch point in opposite directions, cos of the arms' directions <
-``STRAIGHT_COS``) and no branch leaving there continues either arm (a second cell's neurite touching a shaft, or
crossing it, leaves a branch collinear with one of the path's arms: cos >= ``SIBLING_COS`` with that arm's
reversed direction). On tune (ordinary 56 merges and end-on 31, natural paths; scratch ``/tmp/merge25/r``) this
test holds at 218 of 296 branch points > 5 µm from the true switch and 6 of 56 within 3 µm of it, and at none of
the 38 chosen cuts that lie at the contact.

The contact then lies beyond the branch point on its child side. Two reads say whose branch point it is, and the
rule moves the cut only when they agree: a cell's own branches leave forwards, away from its soma, so the parent
arm is the one the longest side branch leaves away from (its cos with that arm's direction the lower, by at least
``PARENT_MARGIN``); and that side branch's whole subtree grows away from its own soma
(``growth.zone_growth_vote`` beyond ``growth.UNDECIDED_GROWTH``). On session 24's forced own-branch cuts of tune
(``benchmarks/split_forced.py``, one row per branch point) the angle alone names the right cell at 74 of 86
decided branch points (ordinary) and 43 of 55 (end-on), the growth vote alone 79 of 90 and 45 of 53, the two
agreeing 69 of 76 and 41 of 46. The new cut is the best-scoring vertex (ranker or hand
score) from that branch point to the next branch point on the child side that passes the same test (or the end
of the soma prior), skipping the contact zones (``contact_nm``) of such own branch points.
"""
from __future__ import annotations

import numpy as np

from .forest import _Forest
from .growth import UNDECIDED_GROWTH, zone_growth_vote

ARM_NM = (2000.0, 10000.0)  # the arms' and side branches' directions are read over this band from the branch point
STRAIGHT_COS = 0.75  # -cos(arm A, arm B) at least this: the path passes straight through (about 41 degrees)
SIBLING_COS = 0.85  # -cos(side branch, an arm) at least this: the side branch continues that arm (about 32 degrees)
PARENT_MARGIN = 0.3  # the side branch's cos with the parent arm lower than with the child arm by this


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _side_branches(adj: list, x: np.ndarray, on_path: set, v: int, min_nm: float
                   ) -> list[tuple[float, np.ndarray, int]]:
    """(reach nm, unit direction over ``ARM_NM``, first vertex) of each off-path branch at skeleton vertex ``v``
    reaching at least ``min_nm`` (straight-line distance from ``v``)."""
    out = []
    for u in adj[v]:
        if u in on_path:
            continue
        seen, stack, pts, far = {v, u}, [u], [], 0.0
        while stack:
            w = stack.pop()
            d = float(np.linalg.norm(x[w] - x[v]))
            far = max(far, d)
            if d >= ARM_NM[0] and d <= ARM_NM[1]:
                pts.append(w)
            if d > ARM_NM[1]:
                continue
            for z in adj[w]:
                if z not in seen:
                    seen.add(z)
                    stack.append(z)
        if far >= min_nm:
            ref = x[pts].mean(axis=0) if pts else x[u]
            out.append((far, _unit(ref - x[v]), int(u)))
    return out


def own_junction(forest: _Forest, pa: np.ndarray, s: np.ndarray, q: int, min_nm: float, near_nm: float,
                 somas: tuple | None = None) -> int:
    """At path position ``q``: 0 when it is no branch point a cell's own tree passes straight through (see module
    doc), else the child side's direction along the path (+1: toward the path's end, -1: toward its start), or 2
    when the branch point is a cell's own but its parent arm is not clear (or ``somas`` is None). Side branches of
    the path vertices within ``near_nm`` of ``q`` count (a branch point traced as two); they must reach ``min_nm``.
    somas: ((path start's soma centre, path end's, nm), soma vertex ids) for the growth read."""
    adj, x = forest.adj, forest.x
    d, i = np.abs(s - s[q]), np.arange(len(pa))
    band = (d >= ARM_NM[0]) & (d <= ARM_NM[1])
    if not (band & (i < q)).any() or not (band & (i > q)).any():
        return 0
    da = _unit(x[pa[band & (i < q)]].mean(axis=0) - x[pa[q]])
    db = _unit(x[pa[band & (i > q)]].mean(axis=0) - x[pa[q]])
    if -float(da @ db) < STRAIGHT_COS:
        return 0
    on_path = set(int(v) for v in pa)
    sides = [(*b, int(pa[r])) for r in np.flatnonzero(d <= near_nm)
             for b in _side_branches(adj, x, on_path, int(pa[r]), min_nm)]
    if not sides or any(max(-float(u @ da), -float(u @ db)) >= SIBLING_COS for _, u, _, _ in sides):
        return 0
    _, u, first, root = max(sides, key=lambda b: b[0])
    ca, cb = float(u @ da), float(u @ db)
    if abs(ca - cb) < PARENT_MARGIN or somas is None:
        return 2
    g = zone_growth_vote(forest, root, first, somas[0], somas[1])
    if abs(g) <= UNDECIDED_GROWTH or (g > 0) != (ca < cb):
        return 2
    return 1 if ca < cb else -1


def own_junction_cut(forest: _Forest, pa: np.ndarray, s: np.ndarray, prior: np.ndarray, scores: np.ndarray,
                     k: int, min_nm: float, near_nm: float, somas: tuple) -> tuple[int, dict | None]:
    """The cut index after the own-branch-point rule (module doc) and a record of the move (None when it does not
    fire). forest: the current skeleton forest; pa: (m,) path vertex ids; s: (m,) arclength nm; prior: (m,) soma
    prior; scores: (m,) the score the cut was chosen by; k: the chosen cut; min_nm: shortest side branch that
    counts (``side_min_nm``); near_nm: the contact zone (``contact_nm``); somas: ((path start's soma centre, path
    end's, nm), soma vertex ids)."""
    junc = [q for q in range(1, len(pa) - 1) if len(forest.adj[int(pa[q])]) > 2 and prior[q] > 0]
    at_cut = [q for q in junc if abs(s[q] - s[k]) <= near_nm]
    if not at_cut:
        return k, None
    tests = {q: own_junction(forest, pa, s, q, min_nm, near_nm, somas) for q in at_cut}
    q0 = min(at_cut, key=lambda q: abs(s[q] - s[k]))
    if tests[q0] not in (1, -1) or any(t == 0 for t in tests.values()):
        return k, None
    sign = tests[q0]
    own = [q0]
    end = s[-1] if sign > 0 else s[0]
    for q in (junc if sign > 0 else junc[::-1]):
        if sign * (s[q] - s[q0]) <= near_nm:
            continue
        if own_junction(forest, pa, s, q, min_nm, near_nm):
            own.append(q)
            end = s[q]
            break
    lo, hi = sorted((s[q0], end))
    ok = (prior > 0) & (s >= lo) & (s <= hi)
    for q in own:
        ok &= np.abs(s - s[q]) > near_nm
    if not np.isfinite(scores[ok]).any():
        return k, None
    k2 = int(np.flatnonzero(ok)[np.argmax(scores[ok])])
    return k2, {"from_nm": round(float(s[k]), 1), "to_nm": round(float(s[k2]), 1),
                "junction_nm": round(float(s[q0]), 1), "window_nm": [round(float(lo), 1), round(float(hi), 1)]}

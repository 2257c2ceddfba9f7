"""End-on contacts: a cut at the end of a junction-free stretch too long for one terminal segment (nm).

Where two neurites fuse tip to tip (an end-on contact), the merged skeleton runs through the contact as a plain
chain: no branch point, no calibre step, no turn, so no cue reads there, and the cut goes to the nearest branch
point, which is one cell's own (docs/proofreading.md "Session 23, round 2"). The chain between that branch point
and the next one is then two cells' terminal stretches joined end to end. With no cue inside it, the middle of
the stretch is the cut that bounds the cable given to the wrong cell by half the stretch, where its end can give
all of it. ``SplitParams.end_on_stretch_nm`` (default 72 µm since session 23 round 2; 0 = off): when the chosen
cut lies within ``end_nm`` of an end of the path's longest junction-free stretch and that stretch is at least this
long, cut at its middle instead.
Junctions are read from the ``junction`` cue (its local maxima >= 0.5, after the own-branching discounts), the
stretch is bounded by the soma prior's edges at the path's ends. The rule is not applied when the branch
point at the cut has an off-path branch leaving backwards (its direction over ``REACH_NM`` makes cos <
``BACKWARD_COS`` with the parent arm's forward direction, the parent arm being the path arm away from the
stretch): a cell's own branches leave forwards, away from its soma, so a branch doubling back along the parent
arm is another cell's neurite and that branch point is a contact.
"""
from __future__ import annotations

import numpy as np

REACH_NM = 5000.0  # how far the arms' and the side branch's directions are read (nm)
BACKWARD_COS = -0.3  # cos(forward, side branch) below this: the side branch leaves backwards


def junction_free_stretches(s: np.ndarray, prior: np.ndarray, junction: np.ndarray) -> np.ndarray:
    """(k, 2) start and end (nm along the path) of the stretches between junction-cue peaks inside the prior."""
    ok = prior > 0
    if ok.sum() < 3:
        return np.zeros((0, 2))
    q = np.arange(1, len(s) - 1)
    peak = ok[q] & (junction[q] >= 0.5) & (junction[q] >= junction[q - 1]) & (junction[q] >= junction[q + 1])
    edges = np.concatenate([[s[ok].min()], s[q[peak]], [s[ok].max()]])
    return np.column_stack([edges[:-1], edges[1:]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def side_forward_cos(adj: list, x: np.ndarray, pa: np.ndarray, s: np.ndarray, q: int, sign: int,
                     near_nm: float = 2000.0) -> float | None:
    """cos between the parent arm's forward direction at path index ``q`` and the farthest-reaching off-path
    branch leaving within ``near_nm`` of it (None without one). adj: skeleton adjacency (sets); x: (N, 3) nm;
    sign: the stretch lies at +sign along the path from ``q``, the parent arm at -sign."""
    arm = (-sign * (s - s[q]) > 500.0) & (-sign * (s - s[q]) <= REACH_NM)
    if not arm.any():
        return None
    forward = _unit(x[pa[q]] - x[pa[arm]].mean(axis=0))
    on_path = set(int(v) for v in pa)
    best: tuple[float, np.ndarray] | None = None
    for r in np.where(np.abs(s - s[q]) <= near_nm)[0]:
        root = int(pa[r])
        for u in adj[root]:
            if u in on_path:
                continue
            pts, seen, cur = [u], {root, u}, u
            while np.linalg.norm(x[cur] - x[root]) < REACH_NM:
                nxt = [z for z in adj[cur] if z not in seen]
                if not nxt:
                    break
                cur = nxt[0]
                seen.add(cur)
                pts.append(cur)
            reach = float(np.linalg.norm(x[cur] - x[root]))
            if best is None or reach > best[0]:
                best = (reach, _unit(x[pts].mean(axis=0) - x[root]))
    return None if best is None else float(forward @ best[1])


def end_on_cut(s: np.ndarray, prior: np.ndarray, junction: np.ndarray, k: int, min_stretch_nm: float,
               skeleton: tuple[list, np.ndarray, np.ndarray] | None = None,
               end_nm: float = 2000.0) -> tuple[int, dict | None]:
    """The cut index after the end-on rule (module doc) and a record of the move (None when it does not fire).

    s: (m,) arclength along the path (nm); prior: (m,) the soma prior; junction: (m,) the ``junction`` cue;
    k: the chosen cut; min_stretch_nm: ``SplitParams.end_on_stretch_nm``; skeleton: (adjacency, (N, 3) vertices
    nm, (m,) path vertex ids) for the backward-branch check (skipped when None).
    """
    if min_stretch_nm <= 0:
        return k, None
    st = junction_free_stretches(s, prior, junction)
    if not len(st):
        return k, None
    a, b = st[int(np.argmax(st[:, 1] - st[:, 0]))]
    if b - a < min_stretch_nm or min(abs(s[k] - a), abs(s[k] - b)) > end_nm:
        return k, None
    if skeleton is not None:
        end = a if abs(s[k] - a) <= abs(s[k] - b) else b
        q = int(np.argmin(np.abs(s - end)))
        c = side_forward_cos(skeleton[0], skeleton[1], skeleton[2], s, q, 1 if end == a else -1)
        if c is not None and c < BACKWARD_COS:
            return k, None
    k2 = int(np.argmin(np.abs(s - (a + b) / 2)))
    return k2, {"from_nm": round(float(s[k]), 1), "to_nm": round(float(s[k2]), 1),
                "stretch_nm": round(float(b - a), 1)}

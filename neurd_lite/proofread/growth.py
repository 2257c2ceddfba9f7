"""Side branches beyond the contact zone go to the soma they grow away from (``SplitParams.side_growth_margin``); nm.

A neurite grows away from its own soma: the far end of a side branch lies farther from its own soma than the point
where it leaves its parent. Where two dendrites touch they look alike by polarity and labels, and the skeleton
often hangs a branch of one cell on the other cell's neurite a few to tens of µm from the cut (the two ran side
by side and were traced as one cable). For every off-path branch leaving the soma-to-soma path outside the
contact zone, the growth vote is

    (gain(other) - gain(own)) / extent,  gain(X) = max over the subtree of |u - c_X| - |v - c_X|,

with v the branch's root on the path, c_X soma X's centre and extent the largest distance of the subtree from v
(so the vote lies in [-2, 2]). A dendrite that curves back towards its own soma can reach away from the other
soma at its far end alone (session 12: two wrong moves on 68 tune merges, one on held-out), so a second cue must
agree: the path vote, the same difference averaged by arclength along the cable from v to the far end (``path_vote``).
A branch moves to the other cell when both votes exceed the margin: its whole cable grows away from the other soma
while it hardly gets farther from its owner's (docs/proofreading.md "Session 12, round 2").
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:
    from .split import _Forest


def growth_vote(x: np.ndarray, sub: np.ndarray, root: int, own: np.ndarray, other: np.ndarray) -> float:
    """(gain from the ``other`` soma centre - gain from ``own``) / extent of subtree ``sub`` rooted at ``root``
    (nm centres; positive: the subtree grows away from ``other``); 0 for a subtree without extent."""
    d = x[sub]
    extent = float(np.linalg.norm(d - x[root], axis=1).max()) if len(sub) else 0.0
    if extent <= 0:
        return 0.0

    def gain(c: np.ndarray) -> float:
        return float(np.linalg.norm(d - c, axis=1).max() - np.linalg.norm(x[root] - c))

    return (gain(other) - gain(own)) / extent


def _chain(adj: list[set], x: np.ndarray, sub: np.ndarray, root: int) -> np.ndarray:
    """Vertices from ``root`` to the vertex of subtree ``sub`` farthest from it (straight line), in order."""
    far = int(sub[np.argmax(np.linalg.norm(x[sub] - x[root], axis=1))])
    inside = set(sub.tolist())
    par, q = {root: -1}, deque([root])
    while q and far not in par:
        w = q.popleft()
        for y in adj[w]:
            if y not in par and y in inside:
                par[y] = w
                q.append(y)
    out = [far]
    while par[out[-1]] != -1:
        out.append(par[out[-1]])
    return np.asarray(out[::-1], dtype=np.int64)


def path_vote(adj: list[set], x: np.ndarray, sub: np.ndarray, root: int, own: np.ndarray,
              other: np.ndarray) -> float:
    """The growth vote along the subtree's own cable: the arclength mean, over the path from ``root`` to the far
    end, of (gain from ``other`` - gain from ``own``) / extent. A dendrite that curves back towards its own soma
    may reach away from the other soma at its end only; its path vote stays low. 0 without extent."""
    c = _chain(adj, x, sub, root)
    pts = x[c]
    extent = float(np.linalg.norm(pts[-1] - x[root]))
    if len(c) < 2 or extent <= 0:
        return 0.0
    g = (np.linalg.norm(pts - other, axis=1) - np.linalg.norm(pts - own, axis=1)
         - np.linalg.norm(x[root] - other) + np.linalg.norm(x[root] - own)) / extent
    w = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    return float(np.sum(w * 0.5 * (g[1:] + g[:-1])) / max(w.sum(), 1e-9))


def side_branches(forest: _Forest, path: list[int], s: np.ndarray, k: int, zone: set, avoid: set,
                  limit_nm: float) -> Iterator[tuple[int, int, int, int, np.ndarray, float]]:
    """Off-path branches of ``path`` (cut after position ``k``; arclength ``s`` nm) leaving outside the contact
    ``zone`` within ``limit_nm`` of the cut: (path position, root, first vertex, side of the root 0 = A / 1 = B,
    subtree vertices, subtree reach nm) each. Branches holding a vertex of ``avoid`` (somata) and the path's end
    vertices are skipped."""
    adj = forest.adj
    onpath = set(path)
    s_cut = 0.5 * (s[k] + s[k + 1])
    for q in range(1, len(path) - 1):
        v = path[q]
        if v in zone or abs(s[q] - s_cut) > limit_nm or len(adj[v]) < 3:
            continue
        for u in adj[v]:
            if u in onpath or u in zone:
                continue
            sub, far = forest.reach(u, v, np.inf)
            if not avoid.intersection(sub.tolist()):
                yield q, v, u, 0 if q <= k else 1, sub, far


def growth_moves(forest: _Forest, path: list[int], s: np.ndarray, k: int, zone: set,
                 centres: tuple[np.ndarray, np.ndarray], avoid: set, margin: float,
                 limit_nm: float) -> list[tuple[int, int, int, float]]:
    """Off-path branches of ``path`` (:func:`side_branches`) that grow away from the other soma by more than
    ``margin``: (root, first vertex, new side 0 = A / 1 = B, vote) each."""
    adj, x = forest.adj, forest.x
    out = []
    for _, v, u, side, sub, _ in side_branches(forest, path, s, k, zone, avoid, limit_nm):
        vote = growth_vote(x, sub, v, centres[side], centres[1 - side])
        if vote > margin:  # the far end says so: ask the cable on the way there too
            vote = min(vote, path_vote(adj, x, sub, v, centres[side], centres[1 - side]))
        if vote > margin:
            out.append((v, u, 1 - side, vote))
    return out


def zone_growth_vote(forest: _Forest, v: int, u: int, centres: tuple[np.ndarray, np.ndarray], avoid: set) -> float:
    """Growth vote of the contact-zone branch entered from ``v`` through ``u`` for cell A (``centres``: A's, B's
    soma centre, nm): :func:`growth_vote` over its whole subtree with B as its owner, so positive when it grows away
    from A's soma rather than B's (it is A's neurite), in [-2, 2] like the direction vote. 0 for a subtree holding a
    soma vertex of ``avoid`` (a third cell's soma: it is not one neurite)."""
    return _subtree_growth(forest, v, forest.reach(u, v, np.inf)[0], centres, avoid)


def _subtree_growth(forest: _Forest, v: int, sub: np.ndarray, centres: tuple[np.ndarray, np.ndarray], avoid: set
                    ) -> float:
    """:func:`zone_growth_vote` of the subtree ``sub`` (vertex ids) rooted at ``v``."""
    if avoid.intersection(sub.tolist()):
        return 0.0
    return growth_vote(forest.x, sub, v, centres[1], centres[0])


def long_growth_vote(forest: _Forest, v: int, u: int, centres: tuple[np.ndarray, np.ndarray], avoid: set,
                     long_nm: float) -> float | None:
    """:func:`zone_growth_vote` of the branch entered from ``v`` through ``u`` when its subtree reaches farther than
    ``long_nm`` (nm along the skeleton) from ``v``, else None (the subtree walked once for both)."""
    sub, far = forest.reach(u, v, np.inf)
    return None if far <= long_nm else _subtree_growth(forest, v, sub, centres, avoid)


UNDECIDED_GROWTH = 0.2  # a tenth of the growth vote's range [-2, 2]: below it the subtree grows sideways


def undecided_side(forest: _Forest, v: int, u: int, default: int, centres: tuple[np.ndarray, np.ndarray],
                   avoid: set, long_nm: float) -> int:
    """Side (0 = A, 1 = B) of an undecided contact-zone branch entered from ``v`` through ``u`` (its vote inside
    ``move_margin``; ``default``: the side of the cut it leaves from): when its subtree reaches farther than
    ``long_nm`` (nm) from its root, the soma its whole subtree grows away from (:func:`zone_growth_vote`, positive:
    A) once that vote passes ``UNDECIDED_GROWTH``; else ``default``. A neurite grows away from its own soma, and over
    a long subtree that is the larger measurement than the branching angle at a cell's own branch point."""
    g = long_growth_vote(forest, v, u, centres, avoid, long_nm)
    if g is None:
        return default
    return 0 if g > UNDECIDED_GROWTH else (1 if g < -UNDECIDED_GROWTH else default)

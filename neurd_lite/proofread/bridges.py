"""Pieces hung on the other cell through a heal bridge go to the soma they grow away from
(``SplitParams.bridge_growth_margin``); nm.

A fragmented mesh arrives in pieces that healing links by proximity (``mesh.heal``): a link carries no membrane,
so it says only that two pieces lie close, not that they are one neurite. Near a contact the nearest piece to a
fragment of cell A can be a side branch of cell B, and the skeleton then hangs A's fragment (and every piece
healed onto it) on B, a few to tens of µm from the cut, off the soma-to-soma path where the path's side-branch
rules (``growth``, the contact zone) never look. After the cuts, every skeleton edge near a cut that crosses from
one mesh piece to another (or through a faceless heal vertex) is such a possible bridge; the subtree beyond it
(away from its owner's soma) is judged by the rule the path's side branches use: it moves to the other cell of
that cut when it grows away from that cell's soma by more than the margin, at its far end and along its cable
(:func:`.growth.growth_vote`, :func:`.growth.path_vote`). An edge within one mesh piece is never re-judged: the
membrane itself says the two sides are one neurite. Only subtrees lying within the same distance of their bridge
are judged: the rule is for pieces hung near the contact; a subtree reaching farther is a whole arbor, whose far
end says little about the piece at its root (tune 800-899: the four largest wrong moves reach 21-50 µm).
With ``SplitParams.bridge_faced_pieces`` (opt-in) a faceless skeleton vertex (no faces mapped to it) is read
through to the first vertices with faces on each side: when both lie on one mesh piece the edge is no bridge
(tune: such "bridges" carried two of the wrong moves of a wider reach; docs/proofreading.md "Session 21").
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .growth import growth_vote, path_vote

if TYPE_CHECKING:
    from ..neuron import Neuron
    from .split import _Forest


def skeleton_pieces(n: Neuron) -> np.ndarray:
    """(N,) input-mesh piece (connected component of the faces, before healing) of each skeleton vertex: the piece
    holding most of its faces; -1 for faceless vertices (heal bridges) or without a face map."""
    nv = n.skeleton.n_vertices
    if n.mesh is None or n.face_to_skeleton is None or len(n.face_to_skeleton) != len(n.mesh.faces):
        return np.full(nv, -1, dtype=np.int64)
    if "skeleton_pieces" in n.cache and len(n.cache["skeleton_pieces"]) == nv:
        return n.cache["skeleton_pieces"]
    from ..geometry.meshgraph import vertex_components

    faces = np.asarray(n.mesh.faces, dtype=np.int64)
    _, lab = vertex_components(len(n.mesh.vertices), faces)
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    ok = f2s >= 0
    pair = np.unique(np.column_stack([f2s[ok], lab[faces[ok, 0]]]), axis=0, return_counts=True)
    out = np.full(nv, -1, dtype=np.int64)
    best = np.zeros(nv, dtype=np.int64)
    for (v, c), k in zip(pair[0], pair[1]):
        if k > best[v]:
            best[v], out[v] = k, c
    n.cache["skeleton_pieces"] = out
    return out


def _tree_parents(forest: _Forest, root: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) parent of each vertex in the forest component of ``root`` (-1 for the root, -2 elsewhere) and (N,)
    arclength from the root (nm; inf elsewhere)."""
    par = np.full(len(forest.adj), -2, dtype=np.int64)
    dist = np.full(len(forest.adj), np.inf)
    par[root], dist[root] = -1, 0.0
    q = deque([root])
    while q:
        v = q.popleft()
        for u in forest.adj[v]:
            if par[u] == -2:
                par[u] = v
                dist[u] = dist[v] + float(np.linalg.norm(forest.x[u] - forest.x[v]))
                q.append(u)
    return par, dist


def _faced_piece(forest: _Forest, piece: np.ndarray, start: int, came_from: int, cap: int = 64) -> int:
    """Mesh piece of the first vertex with faces met walking from ``start`` away from ``came_from`` (breadth
    first through faceless vertices; ``start`` itself when it has faces); -1 when none within ``cap`` vertices."""
    seen, q = {came_from, start}, deque([start])
    while q and len(seen) <= cap:
        w = q.popleft()
        if piece[w] >= 0:
            return int(piece[w])
        for y in forest.adj[w]:
            if y not in seen:
                seen.add(y)
                q.append(y)
    return -1


def _crosses(forest: _Forest, piece: np.ndarray, v: int, u: int, faced: bool) -> bool:
    """Whether skeleton edge v-u leaves its mesh piece. ``faced``: a faceless vertex (no faces mapped: a heal link
    or a skeleton vertex between faces) is read through to the first vertex with faces on each side, so an edge
    whose two sides lie on one piece is not a bridge; else a faceless end always counts as a bridge."""
    if piece[u] >= 0 and piece[v] >= 0:
        return bool(piece[u] != piece[v])
    if not faced:
        return True
    a, b = _faced_piece(forest, piece, v, u), _faced_piece(forest, piece, u, v)
    return a < 0 or b < 0 or a != b


def bridge_walk(forest: _Forest, owner: np.ndarray, sv: list[int], piece: np.ndarray, faced: bool,
                taken: np.ndarray, min_dist_nm: float = 0.0) -> Iterator[tuple]:
    """Every bridge edge (:func:`_crosses`) of each soma's tree, nearest its soma first (beyond ``min_dist_nm``
    along the skeleton): yields (own soma, other somata's vertices, their KD-tree, parent per vertex, v, u) for edge
    v-u, u the subtree side. Edges whose subtree was ``taken`` or re-hung meanwhile are skipped (the caller moves
    subtrees between yields)."""
    for own in range(len(sv)):
        host = np.flatnonzero((owner >= 0) & (owner != own))
        if not len(host):
            continue
        tree = cKDTree(forest.x[host])
        par, dist = _tree_parents(forest, sv[own])
        cand = sorted((dist[u], int(par[u]), int(u)) for u in np.flatnonzero((par >= 0) & (owner == own))
                      if dist[u] > min_dist_nm)
        for _, v, u in cand:
            if taken[u] or u not in forest.adj[v] or not _crosses(forest, piece, v, u, faced):
                continue
            yield own, host, tree, par, v, u


def bridge_moves(forest: _Forest, owner: np.ndarray, sv: list[int], centres: list[np.ndarray],
                 cuts: list[tuple[int, int, int]], piece: np.ndarray, margin: float,
                 limit_nm: float, faced: bool = False) -> list[dict]:
    """Re-hang subtrees entered through a bridge edge (module doc) within ``limit_nm`` (straight line) of a cut on
    the other cell of that cut when their growth vote passes ``margin``. owner: (N,) soma index per vertex before
    the moves; sv: soma vertices; centres: soma centres (nm); cuts: (soma i, soma j, cut vertex) each; piece: (N,)
    :func:`skeleton_pieces`. Subtrees reaching farther than ``limit_nm`` from their bridge are left. Returns the
    moves (the forest is changed in place)."""
    x = forest.x
    soma_set = set(sv)
    moved: list[dict] = []
    taken = np.zeros(len(x), dtype=bool)
    for i, j, cv in cuts:
        near = np.linalg.norm(x - x[cv], axis=1) <= limit_nm
        for own, other in ((i, j), (j, i)):
            par, dist = _tree_parents(forest, sv[own])
            cand = [(dist[u], int(par[u]), int(u)) for u in np.flatnonzero(near & (par >= 0) & (owner == own))
                    if _crosses(forest, piece, int(par[u]), int(u), faced)]
            host = np.flatnonzero(owner == other)
            if not cand or not len(host):
                continue
            tree = cKDTree(x[host])
            for _, v, u in sorted(cand):
                if taken[u] or u not in forest.adj[v]:
                    continue
                sub, _ = forest.reach(u, v, np.inf)
                if soma_set.intersection(sub.tolist()) or np.linalg.norm(x[sub] - x[v], axis=1).max() > limit_nm:
                    continue
                vote = growth_vote(x, sub, v, centres[own], centres[other])
                if vote > margin:
                    vote = min(vote, path_vote(forest.adj, x, sub, v, centres[own], centres[other]))
                if vote <= margin:
                    continue
                end = int(host[tree.query(x[u])[1]])
                forest.cut(v, u)
                forest.join(end, u)
                taken[sub] = True
                moved.append({"kind": "bridge_growth", "somas": (int(own), int(other)), "vertex": u, "attached_at": v,
                              "to_soma": int(other), "from_soma": int(own), "new_attach": end,
                              "vote": round(float(vote), 3), "vertices": int(len(sub)), "applied": True})
    return moved

"""Secondary contacts (``SplitParams.repair_contacts``): after the soma-to-soma cuts, a neurite of one cell that
seems to end against another cell, whose continuation hangs off that cell at a branch point, gets the
continuation back; moved from ``split.py``, which re-exports the names. Lengths in nm.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import csgraph

from ..neuron import Neuron
from .cuts import SplitParams
from .forest import NEITHER, _Forest, _junction_vertices


def _tips(n: Neuron) -> list[tuple[int, np.ndarray]]:
    """(tip vertex, the branch's skeleton vertices) of every terminal branch of the branch graph."""
    out = []
    for b, d in n.graph.nodes(data=True):
        if d.get("kind") == "branch" and not any(n.graph.nodes[c].get("kind") == "branch"
                                                 for c in n.graph.successors(b)):
            out.append((int(d["skeleton_vertices"][-1]), np.asarray(d["skeleton_vertices"], dtype=np.int64)))
    return out


def _repair_contacts(n: Neuron, forest: _Forest, owner: np.ndarray, sv: list[int], radius: np.ndarray,
                     p: SplitParams) -> list[dict]:
    """Contacts the soma-to-soma paths did not use. The skeleton is a tree, so where two cells touch a second
    time one cell's neurite seems to end at the other (a tip) and its continuation hangs off the other cell at a
    branch point. A side subtree there that continues the tip's direction better than the host neurite's (by
    ``move_margin``) is moved to the tip's cell."""
    from scipy.spatial import cKDTree

    x = forest.x
    r = np.where(np.isfinite(radius), radius, 0.0)
    tree = cKDTree(x)
    junction = _junction_vertices(n)
    soma_set = set(sv)
    moved: list[dict] = []
    for t, verts in _tips(n):
        y = owner[t]
        if y == NEITHER or len(forest.adj[t]) != 1:
            continue
        near = [v for v in tree.query_ball_point(x[t], r[t] + p.contact_nm)
                if owner[v] not in (y, NEITHER) and junction[v] and v not in soma_set]
        if not near:
            continue
        rev = verts[::-1]
        run = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(x[rev], axis=0), axis=1))])
        back = rev[min(int(np.searchsorted(run, p.direction_nm)), len(rev) - 1)]
        d_t = x[t] - x[back]
        if np.linalg.norm(d_t) == 0:
            continue
        d_t /= np.linalg.norm(d_t)
        pv = min(near, key=lambda v: np.linalg.norm(x[v] - x[t]))
        host = owner[pv]
        toward = _toward_soma(forest, pv, sv[host])
        if toward is None:
            continue
        d_x = x[pv] - x[toward]
        d_x /= max(np.linalg.norm(d_x), 1e-9)
        for u in list(forest.adj[pv]):
            if u == toward:
                continue
            sub, far = forest.reach(u, pv, max(p.direction_nm, p.side_min_nm))
            if far < p.side_min_nm:
                continue
            d_s = x[sub].mean(axis=0) - x[pv]
            d_s /= max(np.linalg.norm(d_s), 1e-9)
            vote = float(d_s @ d_t - d_s @ d_x)
            if vote > p.move_margin:
                forest.cut(pv, u)
                forest.join(t, u)
                moved.append({"kind": "secondary_contact", "tip": int(t), "tip_cell": int(y), "host_cell": int(host),
                              "attached_at": int(pv), "vertex": int(u), "vote": round(vote, 3),
                              "position_nm": np.round(x[pv], 1).tolist(), "applied": True})
    return moved


def _toward_soma(forest: _Forest, v: int, soma_vertex: int) -> int | None:
    """The neighbour of ``v`` on its forest path to ``soma_vertex`` (None when not connected)."""
    g = forest.csgraph()
    _, pred = csgraph.dijkstra(g, directed=False, indices=soma_vertex, return_predecessors=True)
    if v == soma_vertex or pred[v] < 0:
        return None
    return int(pred[v])

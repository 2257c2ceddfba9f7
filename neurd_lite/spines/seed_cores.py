"""A grown region split between its seed cores, and cores joined by a shallow saddle merged."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from ..geometry.meshgraph import edge_components


def split_by_seed_cores(verts: np.ndarray, edges: np.ndarray, seed: np.ndarray, comp: np.ndarray,
                        h: np.ndarray | None = None, persistence_nm: float = 0.0) -> np.ndarray:
    """Grown components (``comp``, -1 outside) split between their seed cores: each connected group of seed
    vertices is a core and every grown vertex joins the core nearest along ``edges`` (edges between grown
    vertices, nm lengths). Neighbouring spines joined by a low saddle of shaft stay apart; vertices reachable
    from no core get -1. With protrusion ``h`` (nm) and ``persistence_nm`` > 0, touching cores merge when the
    lower of their peaks rises less than ``persistence_nm`` above the highest saddle between them (a bump on one
    spine that a finer mesh resolves into two seed groups is not a second spine)."""
    nv = len(comp)
    both = seed[edges[:, 0]] & seed[edges[:, 1]]
    core = edge_components(nv, edges[both])[1]
    src = np.flatnonzero(seed & (comp >= 0))
    out = np.full(nv, -1, dtype=np.int64)
    if len(src) == 0:
        return out
    w = np.linalg.norm(verts[edges[:, 0]] - verts[edges[:, 1]], axis=1) + 1e-6
    gw = sp.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(nv, nv)).tocsr()
    dist, _, origin = csgraph.dijkstra(gw, directed=False, indices=src, min_only=True, return_predecessors=True)
    got = np.isfinite(dist) & (origin >= 0) & (comp >= 0)
    out[got] = core[origin[got]]
    if h is not None and persistence_nm > 0:
        out = merge_shallow_cores(out, edges, h, persistence_nm)
    return out


def merge_shallow_cores(owner: np.ndarray, edges: np.ndarray, h: np.ndarray, persistence_nm: float) -> np.ndarray:
    """Territories ``owner`` (-1 none) merged where the lower peak of two touching territories rises less than
    ``persistence_nm`` above their saddle (the highest min(h) over edges joining them; nm)."""
    cut = edges[(owner[edges[:, 0]] >= 0) & (owner[edges[:, 1]] >= 0) & (owner[edges[:, 0]] != owner[edges[:, 1]])]
    if len(cut) == 0:
        return owner
    ids = owner >= 0
    n_id = int(owner.max()) + 1
    peak = np.full(n_id, -np.inf)
    np.maximum.at(peak, owner[ids], h[ids])
    a, b = np.sort(owner[cut], axis=1).T
    sad = pd.Series(np.minimum(h[cut[:, 0]], h[cut[:, 1]])).groupby([a, b]).max()
    pa = np.array([i for i, _ in sad.index], dtype=np.int64)
    pb = np.array([j for _, j in sad.index], dtype=np.int64)
    join = np.minimum(peak[pa], peak[pb]) - sad.to_numpy() < persistence_nm
    root = edge_components(n_id, np.column_stack([pa[join], pb[join]]))[1]
    return np.where(ids, root[np.maximum(owner, 0)], -1)

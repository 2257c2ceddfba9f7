"""Terminal branches TEASAR left untraced (``SkeletonParams.untraced_reach_nm``, opt-in).

TEASAR covers every surface vertex within ``invalidation_d_nm`` (12 µm) of a traced path along the surface, so a
terminal branch shorter than that from its parent's path is never traced: its surface maps to the parent, the
skeleton stops short of the tip (up to ~10 µm on thin aspiny dendrites), the branch's length is missing from the
features and the spine stage reads the untraced tip's surface as standing out of the parent's shaft.

Here, after the trace: every kept surface vertex's distance along the surface to its skeleton vertex (one
multi-source Dijkstra from the skeleton's surface seeds) less twice the median of that distance over the skeleton
vertex's own surface vertices (the ring around the path: about half a tube's circumference) is its reach beyond
the ring. While some vertex reaches farther than ``reach_nm`` (and lies outside every soma's reach), the farthest
one is traced like a TEASAR path: the shortest surface path from it to the nearest skeleton vertex, which becomes
a new branch; the surface within ``reach_nm`` of the new path is then covered. A path that enters a soma's reach
(a bulge of the soma surface whose tip lies just beyond the reach) is covered but never added: joined to a vertex
that the soma collapse takes, it would become a stem, a new limb. A spine (neck plus head, 1-3 µm)
stays below a reach of a few µm; the graph stage prunes bristles shorter than ``prune_terminal_nm`` anyway.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .surface_seeds import nearest_kept
from .teasar import _cover, _nearest_skeleton_path

RING_HOPS = 10  # skeleton edges (TEASAR vertices are mesh vertices, ~0.1-0.3 µm apart: 1-3 µm of path)


def _ring(d: np.ndarray, src: np.ndarray, ok: np.ndarray, seeds: np.ndarray, se: np.ndarray, hops: int
          ) -> np.ndarray:
    """(V,) per mesh vertex the ring of its seed (nm): the median surface distance of each skeleton vertex's own
    vertices, then the median of those over the skeleton vertices within ``hops`` edges (an untraced branch's
    surface inflates the median of the few vertices it maps to, not that of most of their neighbours)."""
    med = pd.Series(d[ok]).groupby(src[ok]).median()
    per_seed = np.full(len(d), np.nan)
    per_seed[med.index.to_numpy()] = med.to_numpy()
    own = per_seed[seeds]
    n = len(seeds)
    a = sp.coo_matrix((np.ones(len(se)), (se[:, 0], se[:, 1])), shape=(n, n)).tocsr()
    a = ((a + a.T + sp.identity(n, format="csr")) > 0).astype(np.int8)
    near = sp.identity(n, format="csr", dtype=np.int8)
    for _ in range(hops):
        near = ((near @ a) > 0).astype(np.int8)
    near = near.tocoo()
    ring = pd.Series(own[near.col]).groupby(near.row).median().reindex(np.arange(n)).to_numpy()
    by_seed = np.full(len(d), np.nan)
    by_seed[seeds] = ring
    return np.where(ok, by_seed[np.maximum(src, 0)], np.nan)


def reach_beyond_ring(vertices: np.ndarray, graph: sp.csr_matrix, used: np.ndarray, seeds: np.ndarray,
                      se: np.ndarray, hops: int = RING_HOPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mesh vertex: (surface distance nm to the nearest seed, that seed's mesh vertex (-1: unreachable), the
    distance less twice the seed's ring (:func:`_ring`; nm; NaN where unreachable))."""
    useeds = np.unique(seeds)
    d, _, src = csgraph.dijkstra(graph, directed=True, indices=useeds, min_only=True, return_predecessors=True)
    ok = np.isfinite(d) & used & (src >= 0)
    src = np.where(ok, src, -1)
    ring_of = np.nan_to_num(_ring(d, src, ok, seeds, se, hops), nan=0.0)
    excess = np.where(ok, d - 2.0 * ring_of, np.nan)
    return np.where(ok, d, np.inf), src, excess


def trace_untraced(vertices: np.ndarray, graph: sp.csr_matrix, used: np.ndarray, sv: np.ndarray, se: np.ndarray,
                   excluded: np.ndarray, reach_nm: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Skeleton (vertices (S', 3) nm, edges) with a new branch to every untraced surface reaching more than
    ``reach_nm`` beyond its skeleton vertex's ring (module doc); ``excluded`` (V,) bool: vertices never traced
    to (soma surface). Returns (vertices, edges, number of branches added)."""
    v = np.asarray(vertices, dtype=np.float64)
    seeds = nearest_kept(v, used, sv)[3]
    owner_d, owner, excess = reach_beyond_ring(v, graph, used, seeds, se)
    far = used & ~excluded & (np.nan_to_num(excess, nan=-1.0) > reach_nm)
    if not far.any():
        return sv, se, 0
    skel_of = {int(m): k for k, m in enumerate(seeds)}
    parent = np.full(len(v), -2, dtype=np.int64)
    parent[seeds] = -1
    tree = cKDTree(v)
    new_v, new_e = [sv], [se]
    n_next, n_added = len(sv), 0
    while far.any():
        cand = np.flatnonzero(far)
        target = int(cand[np.argmax(excess[cand])])
        path = _nearest_skeleton_path(v, graph, tree, target, float(owner_d[target]), parent)
        before = owner_d.copy()
        if excluded[path].any():  # a bulge of the soma surface: covered, never a branch (nor, collapsed, a stem)
            _cover(v, graph, tree, path, reach_nm, owner, owner_d)
            far &= owner_d >= before
            far[path] = False
            continue
        fresh = path[:-1]
        ids = np.arange(n_next, n_next + len(fresh))
        for m, k in zip(fresh, ids):
            skel_of[int(m)] = int(k)
        parent[fresh] = -1
        chain = np.append(ids, skel_of[int(path[-1])])
        new_v.append(v[fresh])
        new_e.append(np.column_stack([chain[:-1], chain[1:]]))
        n_next += len(fresh)
        n_added += 1
        _cover(v, graph, tree, path, reach_nm, owner, owner_d)
        moved = owner_d < before
        excess[moved] = owner_d[moved]  # measured from the new path, no ring
        far &= ~moved | (owner_d > reach_nm)
        far[path] = False
    return np.vstack(new_v), np.vstack(new_e).astype(np.int64), n_added

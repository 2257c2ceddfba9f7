"""Weld coincident vertices before decimation (:func:`weld`), and carry the face map across the weld.

A mesh can hold two vertices at (almost) one position: chunked segmentations repeat the vertices of a chunk
seam, and refinement can leave zero-length edges. Quadric edge collapse (fast-simplification) stalls on them
(a pair it cannot collapse blocks its neighbours), so the working mesh stays far above its target.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def weld(vertices_nm: np.ndarray, faces: np.ndarray, tol_nm: float, edges_only: bool = False,
         min_edge_nm: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(vertices nm, corners, kept) after merging every group of vertices joined by gaps of at most ``tol_nm``
    (single linkage) into its lowest-id member: corners (F, 3) the welded vertex ids of every input face (uint32
    below 2^32 vertices, else int64); kept
    the ids of the input faces whose three corners stay distinct (the welded mesh is ``corners[kept]``; the
    dropped faces had an edge of at most ``tol_nm``, so near-zero area). None when no two vertices are that
    close (nothing to do). Vertices keep their order and positions (merged ones are dropped, unused ones kept).
    edges_only: join only close pairs that are an edge of a face (zero-length edges: every merge drops a face),
    never two close vertices on distinct surfaces (subdivision midpoints of overlapping edges).
    min_edge_nm: the mesh's shortest face edge when known (``load_mesh`` measures it): with edges_only, a mesh
    whose every edge is longer than ``tol_nm`` (a relative 1e-6 above it, far beyond rounding) has nothing to
    weld, and the edge scan is skipped (0.1 s at 1.3M faces, ~0.5 s at 5.2M)."""
    if edges_only and min_edge_nm is not None and min_edge_nm > float(tol_nm) * (1.0 + MIN_EDGE_SLACK):
        return None
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = len(v)
    if edges_only:  # the close pairs that are face edges: the edges of length <= tol, no KD-tree
        e = np.concatenate([_short_edges(v, f[i:i + _BLOCK], float(tol_nm)) for i in range(0, len(f), _BLOCK)]
                           or [np.zeros((0, 2), dtype=np.int64)])
        key = np.unique(np.minimum(e[:, 0], e[:, 1]) * n + np.maximum(e[:, 0], e[:, 1]))
        pairs = np.stack([key // n, key % n], axis=1)
    else:
        pairs = cKDTree(v, balanced_tree=False, compact_nodes=False).query_pairs(float(tol_nm),
                                                                                   output_type="ndarray")
    if not len(pairs):
        return None
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    rep = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(rep, comp, np.arange(n))  # lowest vertex id of each group
    target = rep[comp]
    keep_v = target == np.arange(n)
    new_id = (np.cumsum(keep_v) - 1)[target]  # welded id of every input vertex: one (F, 3) gather, no temporary
    if n < 2 ** 32:  # corners as uint32: half the bytes, and what meshoptimizer reads as it is (no copy)
        new_id = new_id.astype(np.uint32)
    wf = new_id[f]
    keep_f = np.flatnonzero((wf[:, 0] != wf[:, 1]) & (wf[:, 1] != wf[:, 2]) & (wf[:, 0] != wf[:, 2]))
    return v[keep_v], wf, keep_f


MIN_EDGE_SLACK = 1e-6  # relative: see weld's min_edge_nm
_BLOCK = 500_000  # faces per block of the edge-length pass (~110 MB of corner differences)


def _short_edges(v: np.ndarray, f: np.ndarray, tol_nm: float) -> np.ndarray:
    """(E, 2) vertex ids of the edges of faces ``f`` no longer than ``tol_nm`` (nm) between distinct vertices."""
    d = v[f]
    d -= d[:, [1, 2, 0]]  # (F, 3, 3): corner k minus corner k + 1
    short = np.einsum("fij,fij->fi", d, d) <= tol_nm ** 2
    e = np.stack([f, f[:, [1, 2, 0]]], axis=2)[short]
    return e[e[:, 0] != e[:, 1]]


def dropped_to_kept(welded_faces: np.ndarray, n_input_faces: int, kept: np.ndarray,
                    corners: np.ndarray) -> np.ndarray:
    """(F,) welded-face id of each input face: its own where kept; a dropped face takes a kept face at one of
    its welded corners (``corners`` (F, 3): the welded vertex ids of every input face's corners), -1 where none
    of its corners is on a kept face (a piece that welded away entirely)."""
    out = np.full(n_input_faces, -1, dtype=np.int64)
    out[kept] = np.arange(len(kept))
    at_vertex = np.full(int(corners.max()) + 1 if corners.size else 1, -1, dtype=np.int64)
    at_vertex[welded_faces.reshape(-1)] = np.repeat(np.arange(len(welded_faces)), 3)
    drop = np.flatnonzero(out < 0)
    for c in range(3):
        todo = drop[out[drop] < 0]
        out[todo] = at_vertex[corners[todo, c]]
    return out

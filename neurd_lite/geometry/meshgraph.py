"""Mesh-graph helpers shared by healing, skeletonization and the cut-end finder (vertex ids, no units)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from .meshes import coordinate_order


def vertex_components(n_vertices: int, faces: np.ndarray,
                      extra_edges: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Connected components of the vertex graph of ``faces`` (plus ``extra_edges``).

    Returns (number of components, (V,) component label per vertex). Vertices used by no face are their
    own components.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    rows = [faces[:, 0], faces[:, 1]]
    cols = [faces[:, 1], faces[:, 2]]
    if extra_edges is not None and len(extra_edges):
        e = np.asarray(extra_edges, dtype=np.int64).reshape(-1, 2)
        rows.append(e[:, 0])
        cols.append(e[:, 1])
    return edge_components(n_vertices, np.column_stack([np.concatenate(rows), np.concatenate(cols)]))


def edge_components(n_nodes: int, edges: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the undirected graph on ``n_nodes`` nodes with the (K, 2) ``edges`` (either
    direction, duplicates allowed): (number of components, (n_nodes,) component label per node)."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    adj = sp.coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(n_nodes, n_nodes)).tocsr()
    return csgraph.connected_components(adj, directed=False)


def best_per_group(comp: np.ndarray, dist: np.ndarray, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index (into comp/dist) of the smallest distance of each group label in comp, and the labels present;
    ``tie``: equal distances go to the smallest ``tie`` (then the lowest index)."""
    order = np.lexsort((dist, comp) if tie is None else (tie, dist, comp))
    first = np.ones(len(order), dtype=bool)
    first[1:] = comp[order][1:] != comp[order][:-1]
    best = order[first]
    return best, comp[best]


def sorted_face_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) the edges of every face (edge k of face i at row k * F + i), each as (smaller, larger) vertex id."""
    a, b = _face_edge_ends(faces)
    return np.column_stack([np.minimum(a, b), np.maximum(a, b)])


def _face_edge_ends(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two (3F,) int64 end columns of every face edge (edge k of face i at row k * F + i), as listed."""
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    return np.concatenate([f[:, 0], f[:, 1], f[:, 2]]), np.concatenate([f[:, 1], f[:, 2], f[:, 0]])


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """(B, 2) sorted vertex pairs of open edges (edges used by exactly one face)."""
    a, b = _face_edge_ends(faces)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    del a, b
    n = int(hi.max()) + 1 if len(hi) else 0
    small = max(n, len(lo)) < np.iinfo(np.int32).max  # int32 indices: scipy's CSR build ~2x faster (1.3M faces)
    if small:
        lo, hi = lo.astype(np.int32), hi.astype(np.int32)
    count = sp.coo_matrix((np.ones(len(lo), dtype=np.int32), (lo, hi)), shape=(n, n)).tocsr()
    count.sum_duplicates()  # faster than np.unique on edge rows at a million faces
    rows = np.repeat(np.arange(n), np.diff(count.indptr))
    once = count.data == 1
    return np.column_stack([rows[once], count.indices[once]]).astype(np.int64)


class BoundaryLoop(NamedTuple):
    """One connected set of open edges (a hole or a cut's rim). edges: (E, 2) vertex ids; vertices: the sorted ids
    they touch; length_nm: (E,) edge lengths; mid_nm: (E, 3) edge midpoints; centre_nm: length-weighted centroid of
    the midpoints; radius_nm: mean distance of ``vertices`` from the centre; perimeter_nm: sum of ``length_nm``."""

    edges: np.ndarray
    vertices: np.ndarray
    length_nm: np.ndarray
    mid_nm: np.ndarray
    centre_nm: np.ndarray
    radius_nm: float
    perimeter_nm: float


def boundary_loops(vertices_nm: np.ndarray, faces: np.ndarray) -> list[BoundaryLoop]:
    """The mesh's open boundary, one :class:`BoundaryLoop` per connected set of open edges (nm), in the order of
    their component labels (``edge_components``)."""
    v = np.asarray(vertices_nm, dtype=np.float64)
    be = boundary_edges(faces)
    if not len(be):
        return []
    _, lab = edge_components(len(v), be)
    elab = lab[be[:, 0]]
    out = []
    for c in np.unique(elab):
        e = be[elab == c]
        ids = np.unique(e)
        length = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1)
        perimeter = float(length.sum())
        mid = 0.5 * (v[e[:, 0]] + v[e[:, 1]])
        centre = (mid * length[:, None]).sum(axis=0) / max(perimeter, 1e-9)
        radius = float(np.linalg.norm(v[ids] - centre, axis=1).mean())
        out.append(BoundaryLoop(e, ids, length, mid, centre, radius, perimeter))
    return out


def hop_neighbourhoods(n_nodes: int, edges: np.ndarray, hops: int, include_self: bool = True) -> sp.csr_matrix:
    """(n, n) CSR with a 1 where node j lies within ``hops`` edges of node i (``edges``: (E, 2), either
    direction; itself included unless ``include_self`` is False)."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    a = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                      shape=(n_nodes, n_nodes))
    a = (a + sp.identity(n_nodes, format="coo")).tocsr()
    a.data[:] = 1.0
    out = a.copy()
    for _ in range(hops - 1):
        out = out @ a
        out.data[:] = 1.0
    if not include_self:
        out.setdiag(0)
        out.eliminate_zeros()
    return out.tocsr()


def tied_source_min(graph: sp.spmatrix, dist: np.ndarray, value: np.ndarray) -> np.ndarray:
    """(N,) per node the smallest ``value`` among all sources whose shortest paths reach it at exactly its
    distance. ``graph``: the (N, N) weighted graph (positive weights) a multi-source Dijkstra ran on; ``dist``
    (N,) its distances (inf unreached); ``value`` (N,) a key of the source it reported per node (inf unreached).
    Why: where two sources reach a node at the same float distance, Dijkstra reports the one it visited first,
    which follows the order the nodes are listed in; the edges on which ``dist[i] + w == dist[j]`` hold every
    equally short path, and the smallest key carried along them is the same in any listing order. Without ties
    the result is ``value`` itself (no propagation runs)."""
    g = graph.tocoo()
    i, j, w = g.row, g.col, g.data
    ok = np.isfinite(dist[i])
    i, j, w = i[ok], j[ok], w[ok]
    tight = dist[i] + w == dist[j]
    i, j = i[tight], j[tight]
    out = np.asarray(value, dtype=np.float64).copy()
    if not (out[i] != out[j]).any():
        return out
    order = np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=len(out)))])
    src = np.arange(len(out))  # the nodes whose key changed in the last round (first round: all)
    while len(src):  # dist grows strictly along tight edges: at most one round per hop
        cnt = ptr[src + 1] - ptr[src]
        at = np.repeat(ptr[src] - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())
        a, b = i[at], j[at]
        lower = out[a] < out[b]
        if not lower.any():
            break
        a, b = a[lower], b[lower]
        before = out[b]
        np.minimum.at(out, b, out[a])
        src = np.unique(b[out[b] < before])
    return out


def tied_labels(graph: sp.spmatrix, dist: np.ndarray, node_label: np.ndarray, label: np.ndarray,
                points: np.ndarray) -> np.ndarray:
    """(N,) ``node_label`` (the label of the source a multi-source Dijkstra on ``graph`` reported per node, -1
    none; ``dist`` its distances) with exact ties between labels broken by coordinates: a node that sources of
    several labels reach at the same distance takes the label whose first point (of ``points`` (P, 3) with
    labels ``label`` (P,), -1 none) comes first in coordinate order (:func:`tied_source_min`). ``graph`` must
    hold both directions of every edge the search used."""
    on = np.flatnonzero(label >= 0)
    if not len(on):
        return node_label
    key = np.full(int(label.max()) + 1, np.inf)
    np.minimum.at(key, label[on], coordinate_order(points[on])[1].astype(np.float64))
    val = np.where(node_label >= 0, key[np.maximum(node_label, 0)], np.inf)
    best = tied_source_min(graph, dist, val)
    if np.array_equal(best, val):
        return node_label
    of_key = np.full(len(on), -1, dtype=np.int64)
    ok = np.isfinite(key)
    of_key[key[ok].astype(np.int64)] = np.flatnonzero(ok)
    return np.where(best < val, of_key[np.where(best < val, best, 0).astype(np.int64)], node_label)

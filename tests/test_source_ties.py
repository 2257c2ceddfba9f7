"""Multi-source shortest paths whose ties do not follow the order nodes are listed in (session 27)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

import neurd_lite.spines.vertex_model as vm
from neurd_lite.geometry.meshgraph import tied_source_min


def _grid(n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """A flat n x n grid of 100 nm squares (edges along x and y) as vertices (nm) and unique edges:
    mirror-symmetric about x = 0, so mirrored paths have equal float lengths."""
    xs = (np.arange(n) - n // 2) * 100.0
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    v = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(n * n)])
    idx = np.arange(n * n).reshape(n, n)
    e = [np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
         np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])]
    return v, np.vstack(e)


def _relist(v: np.ndarray, e: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(v))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return v[order], rank[e][np.random.default_rng(seed + 1).permutation(len(e))], order


def test_tied_source_min_is_the_smallest_key_over_equal_paths():
    # path 0 - 1 - 2 - 3 - 4 with sources 0 and 4: node 2 is tied; keys 5 (node 0) and 3 (node 4)
    e = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    g = sp.coo_matrix((np.ones(8), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(5, 5)).tocsr()
    d, _, s = csgraph.dijkstra(g, indices=[0, 4], min_only=True, return_predecessors=True)
    key = np.array([5.0, 0, 0, 0, 3.0])[s]
    out = tied_source_min(g, d, key)
    assert out.tolist() == [5.0, 5.0, 3.0, 3.0, 3.0]
    # no tie: the keys come back unchanged
    d, _, s = csgraph.dijkstra(g, indices=[0, 3], min_only=True, return_predecessors=True)
    assert np.array_equal(tied_source_min(g, d, np.array([5.0, 0, 0, 3.0, 0])[s]), np.array([5.0, 0, 0, 3.0, 0])[s])


def test_spine_distance_nearest_spine_does_not_follow_listing_order():
    v, e = _grid()
    label = np.full(len(v), -1)
    label[np.flatnonzero((v[:, 0] == -300.0) & (v[:, 1] == 0.0))] = 0  # two one-vertex spines mirrored about x=0
    label[np.flatnonzero((v[:, 0] == 300.0) & (v[:, 1] == 0.0))] = 1
    ref = None
    old = set()
    for seed in range(8):
        pv, pe, order = _relist(v, e, seed)
        plab = label[order]
        # name each spine by its position, not its id (ids follow the listing in the engine)
        x_of = {int(plab[i]): pv[i, 0] for i in np.flatnonzero(plab >= 0)}
        g = vm._edge_graph(pv, pe)
        dist, near = vm._spine_distance(g, pv, pe, plab)
        got = np.full(len(v), np.nan)
        got[order] = np.where(near >= 0, [x_of.get(int(k), np.nan) for k in near], np.nan)
        ref = got if ref is None else ref
        assert np.array_equal(got, ref, equal_nan=True)
        dist_o, near_o = vm._spine_distance(g, pv, pe, plab, ties_by_coordinates=False)
        assert np.array_equal(dist_o, dist)
        at_mid = order.tolist().index(int(np.flatnonzero((v[:, 0] == 0) & (v[:, 1] == 0))[0]))
        old.add(x_of[int(near_o[at_mid])])
    centre = np.flatnonzero((v[:, 0] == 0) & (v[:, 1] == 0))[0]
    assert ref[centre] == -300.0  # the spine whose vertex comes first by coordinates
    assert old == {-300.0, 300.0}  # without the tie-break the listing decides (the test can fail)

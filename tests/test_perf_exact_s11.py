"""Session 11 speed-ups that must give the very same numbers as the code they replace."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse import csgraph

from neurd_lite import memory
from neurd_lite.geometry.stats import weighted_quantile
from neurd_lite.skeleton import teasar
from neurd_lite.skeleton.backends import mesh_csgraph
from neurd_lite.spines.headneck import _shell_profile


def _mesh(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A subdivided icosphere pulled into a bumpy tube-like blob (nm), with a few duplicate-length edges."""
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=4, radius=1000.0)
    rng = np.random.default_rng(seed)
    v = np.asarray(m.vertices) * np.array([4.0, 1.0, 1.0]) + rng.normal(scale=20.0, size=m.vertices.shape)
    return v, np.asarray(m.faces)


def test_induced_subgraph_equals_fancy_indexing():
    v, f = _mesh()
    g = mesh_csgraph(v, f).astype(np.float64)
    rng = np.random.default_rng(1)
    for k in (1, 40, 1000, len(v)):
        idx = np.unique(rng.integers(0, len(v), k)) if k < len(v) else np.arange(len(v))
        a, b = g[idx][:, idx], teasar.induced_subgraph(g, idx)
        assert a.shape == b.shape
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)


def test_directed_search_on_symmetric_graph_equals_undirected():
    v, f = _mesh(2)
    g = mesh_csgraph(v, f, np.array([[0, 500], [7, 900]])).astype(np.float64)
    for kw in ({"indices": 3, "return_predecessors": True},
               {"indices": [3, 77, 400], "min_only": True, "return_predecessors": True, "limit": 1500.0},
               {"indices": 10, "return_predecessors": True, "limit": 800.0}):
        und = csgraph.dijkstra(g, directed=False, **kw)
        dirc = csgraph.dijkstra(g, directed=True, **kw)
        for a, b in zip(und, dirc):
            assert np.array_equal(a, b)


def test_teasar_paths_equal_the_undirected_fancy_indexed_version(monkeypatch):
    v, f = _mesh(3)
    g = mesh_csgraph(v, f)
    new = teasar.teasar_paths(v, g, 0, 600.0, 10)
    real = csgraph.dijkstra

    def undirected(graph, directed=True, **kw):  # the code before session 11
        return real(graph, directed=False, **kw)

    monkeypatch.setattr(teasar.csgraph, "dijkstra", undirected)
    monkeypatch.setattr(teasar, "induced_subgraph", lambda gr, idx: gr[idx][:, idx])
    old = teasar.teasar_paths(v, g, 0, 600.0, 10)
    for a, b in zip(old, new):
        assert np.array_equal(a, b)


def test_shell_profile_grouped_equals_masks():
    rng = np.random.default_rng(4)
    for n in (1, 2, 9, 300):
        rho, t, w = rng.random(n) * 100, rng.random(n) * 1000, np.round(rng.random(n) * 3)  # zero weights too
        edges = np.linspace(0.0, 1000.0 * (1 + 1e-9), 8)
        idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
        ref = np.full(len(edges) - 1, np.nan)
        for b in np.unique(idx):  # the loop before session 11
            m = idx == b
            if m.sum() >= 2 and w[m].sum() > 0:
                ref[b] = 2.0 * weighted_quantile(rho[m], w[m], 0.8)
        assert np.array_equal(_shell_profile(rho, t, edges, w), ref, equal_nan=True)


class _FakeLibc:
    def __init__(self) -> None:
        self.trims = 0

    def malloc_trim(self, pad: int) -> int:
        self.trims += 1
        return 1


@pytest.mark.parametrize("free, trims", [(10 * 2**20, 0), (memory.TRIM_ABOVE_BYTES, 1), (None, 1)])
def test_release_memory_trims_only_a_large_free_heap(monkeypatch, free, trims):
    libc = _FakeLibc()
    monkeypatch.setattr(memory, "_libc", lambda: libc)
    monkeypatch.setattr(memory, "free_heap_bytes", lambda: free)
    memory.release_memory()
    assert libc.trims == trims


def test_free_heap_bytes_reads_glibc():
    free = memory.free_heap_bytes()
    assert free is None or free >= 0


def test_ball_union_equals_query_ball_point():
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(5)
    pts = rng.random((20_000, 3)) * 10_000.0
    pts[:50] = np.round(pts[:50] / 100.0) * 100.0  # grid points: distances that land on r exactly
    tree = cKDTree(pts)
    for centres, r in ((pts[[0]], 100.0), (pts[:30], 700.0), (np.array([[5000.0, 5000.0, 5000.0]]), 2500.0)):
        mask = np.zeros(len(pts), dtype=bool)
        for ball in tree.query_ball_point(centres, r=r, return_sorted=False):  # the code before session 11
            mask[ball] = True
        mask[[7, 8]] = True
        assert np.array_equal(teasar._ball_union(tree, centres, r, np.array([7, 8])), np.flatnonzero(mask))


def test_vertex_normals_bincount_equals_add_at():
    from neurd_lite.spines.shaft import vertex_normals

    v, f = _mesh(3)
    v = np.vstack([v, [[1e4, 0.0, 0.0]]])  # an unused vertex: zeros
    tri = v[f]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    ref = np.zeros_like(v)
    for k in range(3):  # the session-10 accumulation
        np.add.at(ref, f[:, k], cross)
    ref = ref / np.maximum(np.linalg.norm(ref, axis=1), 1e-12)[:, None]
    got = vertex_normals(v, f)
    assert got.tobytes() == ref.tobytes()
    assert not got[-1].any()


def test_nearest_faces_reuses_only_an_equal_centroid_tree():
    from scipy.spatial import cKDTree

    from neurd_lite.geometry.nearest import NearestFaces

    v, f = _mesh(4)
    tri = v[f]
    pts = np.random.default_rng(5).normal(scale=1500.0, size=(300, 3))
    ref = NearestFaces(tri).query(pts)
    same = cKDTree(tri.mean(1))
    shared = NearestFaces(tri, centroid_tree=same)
    assert shared.tree is same
    for a, b in zip(ref, shared.query(pts)):
        assert np.array_equal(a, b)
    other = NearestFaces(tri, centroid_tree=cKDTree(tri.mean(1) + 1.0))  # not these centroids: a new tree
    assert other.tree is not same
    for a, b in zip(ref, other.query(pts)):
        assert np.array_equal(a, b)

"""Session 17 exact speed-ups (issue 23): each fast path gives the plain computation's values bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.geometry.stats import group_quantiles, sorted_group_quantiles


@pytest.mark.parametrize("kind", ["float", "ties", "nan_inf", "neg_zero", "int", "many_groups"])
def test_group_quantiles_banded_equals_full_sort(kind):
    rng = np.random.default_rng(17)
    for _ in range(25):
        n = int(rng.integers(0, 3000))
        ng = 70_000 if kind == "many_groups" else int(rng.integers(1, 200))
        g = rng.integers(0, ng, n) if kind != "many_groups" else rng.integers(60_000, ng, n)
        v = rng.gamma(2.0, 100.0, n) * rng.choice([1.0, -1.0], n)
        if kind == "ties":
            v = np.round(v / 50.0) * 50.0
        elif kind == "nan_inf":
            v[rng.random(n) < 0.1] = np.nan
            v[rng.random(n) < 0.05] = np.inf
            v[rng.random(n) < 0.05] = -np.inf
        elif kind == "neg_zero":
            v[rng.random(n) < 0.2] = 0.0
            v[rng.random(n) < 0.2] = -0.0
        elif kind == "int":
            v = rng.integers(-5, 5, n)
        qs = (0.1, 0.5, 0.55, 1.0)
        got = group_quantiles(g, v, qs, ng)
        want = sorted_group_quantiles(g, v, qs, ng, np.full((ng, len(qs)), np.nan))  # the pre-session-17 path
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.int8])
def test_stable_int_order_equals_stable_argsort(dtype):
    from neurd_lite.geometry.stats import stable_int_order

    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    for n in (0, 5, 4095, 4096, 20_000, 300_000):
        for span in (1, 3, 100, n + 1, 10 * n + 5000):
            lo = max(int(info.min), -span // 2)
            hi = min(int(info.max), lo + span)
            k = rng.integers(lo, hi + 1, n).astype(dtype)
            assert np.array_equal(stable_int_order(k), np.argsort(k, kind="stable"))
    k2 = rng.integers(-3, 50, (3000, 3))
    assert np.array_equal(stable_int_order(k2), np.argsort(k2.reshape(-1), kind="stable"))


def test_spine_distance_directed_search_equals_undirected():
    import scipy.sparse as sp
    import trimesh
    from scipy.sparse import csgraph

    import neurd_lite.spines.vertex_model as vm

    m = trimesh.creation.icosphere(subdivisions=4, radius=2000.0)
    verts, e = np.asarray(m.vertices), np.asarray(m.edges_unique)
    rng = np.random.default_rng(2)
    for _ in range(5):
        label = np.full(len(verts), -1)
        for k, c in enumerate(rng.choice(len(verts), 6, replace=False)):
            label[np.linalg.norm(verts - verts[c], axis=1) < rng.uniform(200, 700)] = k
        g = vm._edge_graph(verts, e)
        got = vm._spine_distance(g, verts, e, label)
        # the pre-session-17 search: undirected
        la, lb = label[e[:, 0]], label[e[:, 1]]
        cross = np.flatnonzero(la != lb)
        half = np.maximum(0.5 * np.linalg.norm(verts[e[cross, 0]] - verts[e[cross, 1]], axis=1), 1e-3)
        nv, mid = len(verts), len(verts) + np.arange(len(cross))
        link = sp.coo_matrix((np.r_[half, half, half, half], (np.r_[mid, mid, e[cross, 0], e[cross, 1]],
                                                             np.r_[e[cross, 0], e[cross, 1], mid, mid])),
                             shape=(nv + len(cross),) * 2)
        g2 = (sp.block_diag([g, sp.csr_matrix((len(cross), len(cross)))]) + link).tocsr()
        d, _, s = csgraph.dijkstra(g2, directed=False, indices=mid, min_only=True, limit=vm.REACH_NM,
                                   return_predecessors=True)
        side = np.where(la[cross] >= 0, la[cross], lb[cross])
        d, s = d[:nv], s[:nv]
        ok = np.isfinite(d) & (s >= nv)
        dist, near = np.full(nv, vm.REACH_NM), np.full(nv, -1)
        dist[ok], near[ok] = d[ok], side[s[ok] - nv]
        near[label >= 0] = label[label >= 0]
        assert np.array_equal(got[0], np.where(label >= 0, dist, -dist)) and np.array_equal(got[1], near)

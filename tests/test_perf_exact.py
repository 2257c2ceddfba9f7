"""Session 9 speed-ups that must give the very same numbers as the code they replace."""
from __future__ import annotations

import numpy as np

from neurd_lite.geometry.meshes import face_areas_max_edge_nm, face_areas_nm2
from neurd_lite.geometry.nearest import max_edge_nm
from neurd_lite.geometry.stats import group_quantiles, group_value_order, unique_inverse, weighted_group_quantile
from neurd_lite.model.soma_extent import BLOCK, within_soma


def test_group_value_order_is_lexsort():
    rng = np.random.default_rng(0)
    for n_groups in (7, 70_000):  # the uint16 radix pass and the general stable pass
        g = rng.integers(0, n_groups, 5000)
        v = np.round(rng.random(5000) * 20)  # many ties
        v[::11] = np.nan
        assert np.array_equal(group_value_order(g, v), np.lexsort((v, g)))
        gf = g + 0.5  # float group ids take the general pass
        assert np.array_equal(group_value_order(gf, v), np.lexsort((v, gf)))


def test_group_quantiles_match_a_lexsort_reference():
    rng = np.random.default_rng(1)
    g, v, w = rng.integers(0, 40, 3000), np.round(rng.random(3000) * 50), rng.random(3000)
    order = np.lexsort((v, g))
    ref = np.full(40, np.nan)
    for k in range(40):
        vals = v[order][g[order] == k]
        if len(vals):
            ref[k] = vals[int(np.floor(0.3 * (len(vals) - 1)))]
    assert np.array_equal(group_quantiles(g, v, (0.3,), 40)[:, 0], ref, equal_nan=True)
    q = weighted_group_quantile(g, v, w, 0.45, 40)
    assert np.isfinite(q).sum() == len(np.unique(g))


def test_unique_inverse_equals_numpy():
    rng = np.random.default_rng(2)
    for x in (rng.integers(0, 60, 10_000), rng.integers(0, 10**12, 100), np.array([3, 3, 0], np.int32),
              np.zeros(0, np.int64)):
        u, inv = np.unique(x, return_inverse=True)
        u2, inv2 = unique_inverse(x)
        assert np.array_equal(u, u2) and u.dtype == u2.dtype and np.array_equal(inv.reshape(-1), inv2)


def test_areas_and_max_edge_in_one_pass():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(500, 3)) * 1000
    f = rng.integers(0, 500, (2000, 3))
    areas, edge = face_areas_max_edge_nm(v, f, chunk=300)
    assert np.array_equal(areas, face_areas_nm2(v, f))
    assert edge == max_edge_nm(v, f)


def test_within_soma_blocks_equal_one_pass():
    rng = np.random.default_rng(4)
    pts = rng.normal(size=(BLOCK + 1234, 3)) * 5000
    c, r = np.array([10.0, -20.0, 5.0]), 4000.0
    assert np.array_equal(within_soma(pts, c, r, 1.5), np.linalg.norm(pts - c, axis=1) <= 1.5 * r)


def test_surface_voxels_equal_trimesh_voxelized():
    import trimesh

    from neurd_lite.feature.perisomatic import surface_voxels

    rng = np.random.default_rng(5)
    noisy = trimesh.creation.icosphere(2, radius=5000)
    noisy.vertices += rng.normal(size=noisy.vertices.shape) * 300
    for m in (trimesh.creation.icosphere(3, radius=3000), trimesh.creation.box((4000, 300, 9000)),
              trimesh.creation.cylinder(800, 20000), noisy):
        for pitch in (250.0, 777.0):
            a, b = m.voxelized(pitch).matrix, surface_voxels(m, pitch)
            assert a.shape == b.shape and np.array_equal(a, b)

"""Session 9 speed-ups that must give the very same numbers as the code they replace."""
from __future__ import annotations

import numpy as np

from neurd_lite.geometry.meshes import face_areas_max_edge_nm, face_areas_nm2
from neurd_lite.geometry.nearest import max_edge_nm
from neurd_lite.geometry.stats import (group_normal_equations, group_quantiles, group_value_order, unique_inverse,
                                      weighted_group_quantile)
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


def _sees_outside_all_samples(intersector, origins, d, outside, grid, reach_nm):
    """The session-8 body of visibility._sees_outside: every sample before the first hit looked up at once."""
    from neurd_lite.mesh.visibility import _first_hits

    start = 0.02 * grid.voxel_nm
    limit = np.minimum(_first_hits(intersector, origins + start * d, d) + start, reach_nm)
    step = 0.5 * grid.voxel_nm
    s = np.arange(step, reach_nm + step, step)
    ray, step_i = np.nonzero(s[None, :] < limit[:, None])
    ijk = grid.index(origins[ray] + s[step_i, None] * d[ray])
    seen = np.zeros(len(origins), dtype=bool)
    seen[ray[outside[ijk[:, 0], ijk[:, 1], ijk[:, 2]]]] = True
    return seen


def test_sees_outside_stepwise_equals_all_samples():
    import trimesh

    from neurd_lite.mesh.visibility import _sees_outside
    from neurd_lite.mesh.voxel_fill import VoxelGrid

    rng = np.random.default_rng(3)
    outer = trimesh.creation.icosphere(3, radius=2000.0)
    inner = trimesh.creation.icosphere(2, radius=900.0)  # a nucleus-like inner surface
    mesh = trimesh.util.concatenate([outer, inner])
    grid = VoxelGrid(origin_nm=np.full(3, -3000.0), voxel_nm=137.0, shape=(45, 45, 45))
    outside = rng.random(grid.shape) < 0.15  # any bool grid: both versions read the same voxels
    origins = rng.uniform(-2500.0, 2500.0, (4000, 3))
    d = rng.normal(size=(4000, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    for reach in (3000.0, 700.0):
        new = _sees_outside(mesh.ray, origins, d, outside, grid, reach)
        assert np.array_equal(new, _sees_outside_all_samples(mesh.ray, origins, d, outside, grid, reach))
        assert 0 < new.sum() < len(new)


def test_face_centroids_equal_triangle_mean():
    from neurd_lite.geometry.meshes import face_centroids_nm

    rng = np.random.default_rng(4)
    v = rng.uniform(-1e6, 2e6, (500, 3)) + rng.random((500, 3))  # nm-scale coordinates with fractions
    f = rng.integers(0, 500, (3000, 3))
    assert np.array_equal(face_centroids_nm(v, f, chunk=701), v[f].mean(axis=1))  # soma and visibility


def test_grid_index_in_place_equals_expression():
    from neurd_lite.mesh.voxel_fill import VoxelGrid

    g = VoxelGrid(np.array([-3.3e5, 1.2e5, 7e5]), 137.3, (40, 38, 30))
    rng = np.random.default_rng(5)
    pts = rng.uniform(-3.4e5, -3.2e5, (20_000, 3)) + np.array([0.0, 4.5e5, 1.02e6])  # some outside the grid
    pts[::7] = np.round(pts[::7] / 68.65) * 68.65  # points on voxel boundaries (round-half-even ties)
    ref = np.clip(np.rint((pts - g.origin_nm) / g.voxel_nm).astype(np.int64), 0, np.asarray(g.shape) - 1)
    assert np.array_equal(g.index(pts), ref)
    assert np.array_equal(g.index(pts.astype(np.float32)), np.clip(np.rint(
        (pts.astype(np.float32).astype(np.float64) - g.origin_nm) / g.voxel_nm).astype(np.int64), 0,
        np.asarray(g.shape) - 1))


def test_unique_points_is_numpy_unique_rows():
    from neurd_lite.spines.headneck import unique_points

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 1200):
        v = np.round(rng.random((max(n // 3, 1), 3)) * 50) * 10.0  # shared coordinates: ties in every column
        pts = v[rng.integers(0, len(v), n)]  # corners repeated as in a spine's triangles
        assert np.array_equal(unique_points(pts), np.unique(pts.reshape(-1, 3), axis=0))


def test_group_normal_equations_skip_zero_weights_bit_for_bit():
    """Session 13: rows of weight 0 are left out of the sums when every input is finite: the same A and b as
    summing every row (the plain loop below, the code before), also with -0 weights and with a NaN or inf row,
    which keeps every row."""
    rng = np.random.default_rng(3)
    k, m = 20_000, 40
    grp = rng.integers(0, m, k)
    feats = [rng.normal(size=k) * 1e3 for _ in range(4)]
    q = rng.random(k) * 1e6
    w = np.where(rng.random(k) < 0.5, 0.0, rng.random(k))
    w[::7] = -0.0

    def plain(feats, q):
        a, b = np.zeros((m, 4, 4)), np.zeros((m, 4))
        for i in range(4):
            wi = w * feats[i]
            b[:, i] = np.bincount(grp, weights=wi * q, minlength=m)
            for j in range(i, 4):
                a[:, i, j] = a[:, j, i] = np.bincount(grp, weights=wi * feats[j], minlength=m)
        return a, b

    for bad in (None, np.nan, np.inf):
        f = [x.copy() for x in feats]
        if bad is not None:
            f[2][np.flatnonzero(w == 0)[5]] = bad
        got, want = group_normal_equations(grp, w, f, q, m), plain(f, q)
        assert all(np.array_equal(g, e, equal_nan=True) for g, e in zip(got, want))

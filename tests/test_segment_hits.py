"""The exact numpy segment test (mesh/segment_hits.py) and the membrane test's backends (mesh/visibility.py)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from neurd_lite.mesh.segment_hits import SegmentBVH, _morton_order


def _cell_with_nucleus() -> trimesh.Trimesh:
    outer = trimesh.creation.icosphere(3, radius=2000.0)
    inner = trimesh.creation.icosphere(2, radius=900.0)
    return trimesh.util.concatenate([outer, inner])


def _brute_force(tri: np.ndarray, p: np.ndarray, d: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Every segment against every triangle (Möller-Trumbore, float64), no hierarchy."""
    out = np.zeros(len(p), dtype=bool)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    for i in range(len(p)):
        pv = np.cross(d[i], e2)
        det = np.einsum("ij,ij->i", e1, pv)
        tv = p[i] - tri[:, 0]
        qv = np.cross(tv, e1)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.einsum("ij,ij->i", tv, pv) / det
            v = (qv @ d[i]) / det
            t = np.einsum("ij,ij->i", e2, qv) / det
        out[i] = bool(((det != 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0) & (t <= length[i])).any())
    return out


def test_bvh_equals_brute_force():
    rng = np.random.default_rng(0)
    mesh = _cell_with_nucleus()
    shift = np.array([3.1e5, 7.7e5, 1.2e6])  # nm-scale coordinates
    tri = mesh.triangles + shift
    n = 600
    p = rng.uniform(-2500.0, 2500.0, (n, 3)) + shift
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    length = rng.uniform(0.0, 3000.0, n)
    length[:30] = 0.0  # points
    truth = _brute_force(tri - shift, p - shift, d, length)
    assert 0 < truth.sum() < n
    for leaf in (1, 2, 5):
        assert np.array_equal(SegmentBVH(tri, leaf).meets(p, d, length), truth)
    # segments starting on the surface (face centroids) and leaving along the normal or grazing it
    c = tri.mean(axis=1)[:200]
    nrm = mesh.face_normals[:200]
    for k, dirs in enumerate((nrm, -nrm, nrm + 0.6 * np.cross(nrm, [0.0, 0.0, 1.0]))):
        dirs = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        q = c + 10.0 * dirs
        lens = np.full(len(q), 1000.0 * (k + 1))
        assert np.array_equal(SegmentBVH(tri).meets(q, dirs, lens), _brute_force(tri - shift, q - shift, dirs, lens))


def test_bvh_empty_inputs():
    tri = _cell_with_nucleus().triangles
    assert SegmentBVH(tri).meets(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)).shape == (0,)
    assert not SegmentBVH(np.zeros((0, 3, 3))).meets(np.zeros((2, 3)), np.eye(3)[:2], np.ones(2)).any()


def test_morton_order_is_a_permutation_along_the_curve():
    rng = np.random.default_rng(1)
    pts = rng.random((3000, 3))
    order = _morton_order(pts)
    assert np.array_equal(np.sort(order), np.arange(len(pts)))
    # consecutive points along the curve are near: their mean step is far below a random order's
    step = np.linalg.norm(np.diff(pts[order], axis=0), axis=1).mean()
    assert step < 0.25 * np.linalg.norm(np.diff(pts, axis=0), axis=1).mean()


def _membrane_case():
    from neurd_lite.mesh.voxel_fill import VoxelGrid

    mesh = _cell_with_nucleus()
    grid = VoxelGrid(origin_nm=np.full(3, -3000.0), voxel_nm=250.0, shape=(25, 25, 25))
    ijk = np.indices(grid.shape).reshape(3, -1).T
    outside = (np.linalg.norm(grid.centers(ijk), axis=1) > 2200.0).reshape(grid.shape)
    return mesh, grid, outside


def test_outer_faces_exact_backend_finds_the_membrane():
    from neurd_lite.mesh.visibility import outer_faces

    mesh, grid, outside = _membrane_case()
    ids = np.arange(len(mesh.faces))
    got = outer_faces(mesh.vertices, mesh.faces, ids, outside, grid, backend="exact")
    n_outer = len(trimesh.creation.icosphere(3).faces)
    assert got[:n_outer].all() and not got[n_outer:].any()  # membrane yes, nucleus no
    with pytest.raises(ValueError):
        outer_faces(mesh.vertices, mesh.faces, ids, outside, grid, backend="fast")


def test_outer_faces_backends_agree():
    import trimesh.ray

    from neurd_lite.mesh.visibility import _ray_directions, _sees_outside

    if not trimesh.ray.has_embree:
        pytest.skip("embreex not installed: no Embree backend to compare with")
    mesh, grid, outside = _membrane_case()
    rng = np.random.default_rng(2)
    outside = outside | (rng.random(grid.shape) < 0.05)  # scattered outside voxels inside the cell too
    c = mesh.triangles_center
    d = _ray_directions(mesh.face_normals).reshape(-1, 3)
    o = np.repeat(c, 6, axis=0)
    a = _sees_outside(mesh.ray, o, d, outside, grid, 3000.0)
    b = _sees_outside(SegmentBVH(mesh.triangles), o, d, outside, grid, 3000.0)
    assert np.array_equal(a, b) and 0 < a.sum() < len(a)

"""Face map, chunked nearest faces and synapse anchors (nm)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from neurd_lite.geometry.nearest import NearestFaces, closest_faces
from neurd_lite.model.anchors import anchor_to_mesh, anchor_to_skeleton
from neurd_lite.model.facemap import FaceMap


@pytest.fixture(scope="module")
def sphere():
    return trimesh.creation.icosphere(subdivisions=3, radius=2000.0)


def test_chunked_nearest_faces_equal_one_chunk_and_brute_force(sphere):
    rng = np.random.default_rng(0)
    pts = rng.normal(0.0, 1500.0, (700, 3))
    one = NearestFaces(sphere.triangles).query(pts, k=4, chunk=10_000)
    many = NearestFaces(sphere.triangles).query(pts, k=4, chunk=33)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)
    cp, dist, tri = trimesh.proximity.closest_point(sphere, pts)
    np.testing.assert_allclose(one[1], dist, rtol=1e-9, atol=1e-6)  # exact, not the nearest centroid
    f, d, _ = closest_faces(sphere, np.zeros((0, 3)))
    assert len(f) == len(d) == 0


def _slow_nearest_input(fm: FaceMap, wf: np.ndarray, pts: np.ndarray, cen: np.ndarray) -> np.ndarray:
    out = np.full(len(wf), -1)
    for i, (w, p) in enumerate(zip(wf, pts)):
        if w < 0 or not np.isfinite(p).all():
            continue
        cand = np.flatnonzero(fm.input_to_working == w)
        if len(cand) == 0:
            cand = np.array([fm.working_to_input[w]])
        out[i] = cand[np.argmin(np.linalg.norm(cen[cand] - p, axis=1))]
    return out


def test_face_map_lift_lower_and_nearest_input_faces():
    rng = np.random.default_rng(1)
    n_in, n_work = 200, 40
    i2w = rng.integers(0, n_work - 3, n_in)  # the last 3 working faces have no input face
    w2i = np.array([np.flatnonzero(i2w == w)[0] if (i2w == w).any() else rng.integers(n_in) for w in range(n_work)])
    fm = FaceMap(i2w, w2i)
    assert not fm.is_identity and FaceMap.identity(5).is_identity
    work = np.arange(n_work) * 10
    np.testing.assert_array_equal(fm.lift(work), work[i2w])
    np.testing.assert_array_equal(fm.lower(np.arange(n_in)), w2i)
    np.testing.assert_array_equal(fm.lift_faces([0, 1]), np.flatnonzero(np.isin(i2w, [0, 1])))
    with pytest.raises(ValueError):
        fm.lift(np.zeros(n_in))
    cen = rng.normal(size=(n_in, 3))
    wf = rng.integers(-1, n_work, 500)
    pts = rng.normal(size=(500, 3))
    pts[3] = np.nan
    want = _slow_nearest_input(fm, wf, pts, cen)
    np.testing.assert_array_equal(fm.nearest_input_faces(wf, pts, cen, chunk=37), want)


def test_anchors_on_mesh_and_skeleton(sphere):
    pts = np.array([[0.0, 0.0, 2100.0], [0.0, 0.0, 9000.0], [np.nan, 0.0, 0.0]])
    f2s = np.arange(len(sphere.faces)) % 7
    a = anchor_to_mesh(pts, sphere.triangles, FaceMap.identity(len(sphere.faces)), sphere.triangles_center, f2s,
                       None, max_distance_nm=1500.0)
    assert list(a.is_far) == [False, True, True]
    assert a.face[0] >= 0 and a.skeleton_vertex[0] == f2s[a.face[0]] and a.skeleton_vertex[1] == -1
    assert a.face[2] == -1 and np.isinf(a.distance_nm[2]) and a.branch[0] == -1
    assert a.distance_nm[0] == pytest.approx(100.0, abs=5.0)
    s = anchor_to_skeleton(pts, np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2000.0]]), np.array([3, 4]), 5000.0)
    assert list(s.skeleton_vertex) == [1, -1, -1] and list(s.branch) == [4, -1, -1]
    assert list(s.table().columns) == ["working_face", "face", "distance_to_mesh_nm", "skeleton_vertex", "branch",
                                       "is_far"]

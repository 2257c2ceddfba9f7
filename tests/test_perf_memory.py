"""Bounded-memory passes of issue 23: nearest faces with a huge face, blocked widths / areas, the features cache."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.geometry.meshes import face_areas_nm2, face_centroids_nm
from neurd_lite.geometry.nearest import NearestFaces, _batches


def _brute(tri: np.ndarray, pts: np.ndarray) -> np.ndarray:
    out = np.empty(len(pts))
    for i, p in enumerate(pts):
        cp = trimesh.triangles.closest_point(tri, np.repeat(p[None], len(tri), 0))
        out[i] = np.linalg.norm(cp - p, axis=1).min()
    return out


def test_nearest_exact_with_one_huge_face() -> None:
    sphere = trimesh.creation.icosphere(3, radius=1000.0)
    sliver = trimesh.Trimesh([[0, 0, 1500], [20000, 0, 1500], [0, 300, 1500]], [[0, 1, 2]])
    tri = trimesh.util.concatenate([sphere, sliver]).triangles
    pts = np.random.default_rng(0).normal(size=(200, 3)) * 1500
    nf = NearestFaces(tri)
    assert len(nf.tiers) >= 2  # the sliver sits in a tier of its own
    face, dist, _ = nf.query(pts, k=4)
    np.testing.assert_allclose(dist, _brute(tri, pts), atol=1e-9)
    assert np.all((face >= 0) & (face < len(tri)))


def test_ball_batches_respect_budget() -> None:
    counts = np.array([3, 4, 10, 1, 1, 0, 7])
    parts = _batches(counts, 8)
    assert np.array_equal(np.concatenate(parts), np.arange(len(counts)))
    assert all(counts[p].sum() <= 8 or len(p) == 1 for p in parts)


def test_blocked_centroids_and_areas_match_trimesh() -> None:
    m = trimesh.creation.icosphere(3, radius=500.0)
    np.testing.assert_allclose(face_centroids_nm(m.vertices, m.faces, chunk=97), m.triangles_center)
    np.testing.assert_allclose(face_areas_nm2(m.vertices, m.faces, chunk=97), m.area_faces)


def test_features_row_cached_and_invalidated() -> None:
    """features(n) twice on an unchanged Neuron is the cached row; any change to what it reads recomputes."""
    import neurd_lite as nl
    from neurd_lite.feature.cache import CACHE_KEY
    from neurd_lite.pipeline import PipelineParams

    m = trimesh.creation.capsule(radius=450.0, height=4000.0)
    m = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(m.vertices, m.faces, 150.0))
    n = nl.decompose(m, params=PipelineParams(skip=("spines",)))
    a = nl.features(n)
    key = n.cache[CACHE_KEY][0]
    b = nl.features(n)
    assert a.equals(b) and a is not b and n.cache[CACHE_KEY][0] == key
    n.mesh.vertices[:] *= 2.0  # in place: the key follows content, not identity
    c = nl.features(n)
    assert n.cache[CACHE_KEY][0] != key
    assert c["mesh_area_um2"].iloc[0] > 3.5 * a["mesh_area_um2"].iloc[0]
    n.face_labels = n.face_labels.copy()  # same content, new array: still a hit
    key2 = n.cache[CACHE_KEY][0]
    nl.features(n)
    assert n.cache[CACHE_KEY][0] == key2
    nl.features(n, up=(0, 1, 0))
    assert n.cache[CACHE_KEY][0] != key2


def test_forked_simplification_equals_in_process(monkeypatch) -> None:
    """Decimation in a forked child (large inputs) gives the same working mesh and face maps as in process."""
    from neurd_lite.mesh import decimate as dec

    m = trimesh.creation.icosphere(5, radius=5000.0)
    p = dec.DecimateParams(target_faces=2000, min_faces_to_decimate=0)
    monkeypatch.setattr(dec, "FORK_ABOVE_FACES", 10**9)
    a = dec.decimate(m.vertices, m.faces, p)
    monkeypatch.setattr(dec, "FORK_ABOVE_FACES", 100)
    b = dec.decimate(m.vertices, m.faces, p)
    for name in ("vertices", "faces", "input_to_working", "working_to_input"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name

"""Bounded-memory passes of issue 23: nearest faces with a huge face, blocked widths / areas, the features cache."""
from __future__ import annotations

import numpy as np
import pytest
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
    key3 = n.cache[CACHE_KEY][0]
    b0 = next(b for b in n.graph.nodes if n.graph.nodes[b].get("kind") == "branch")
    n.graph.nodes[b0]["skeleton_vertices"] = n.graph.nodes[b0]["skeleton_vertices"][::-1].copy()  # an array attribute
    nl.features(n, up=(0, 1, 0))
    assert n.cache[CACHE_KEY][0] != key3


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


def _tube(radius_nm: float, length_nm: float, sections: int, rings: int) -> trimesh.Trimesh:
    """A capped cylinder along z, finely tessellated (nm)."""
    return trimesh.creation.cylinder(radius=radius_nm, height=length_nm, sections=sections,
                                     segment=None).subdivide_to_size(length_nm / rings)


def test_prereduce_then_decimate() -> None:
    """Above ``prereduce_above_faces`` meshoptimizer reduces first (input vertices kept, area kept), the working
    mesh still has about the target faces and every input face maps to a working face nearby."""
    pytest.importorskip("meshoptimizer")
    from neurd_lite.mesh.decimate import DecimateParams, decimate, prereduce

    m = trimesh.util.concatenate([trimesh.creation.icosphere(6, radius=5000.0),
                                  _tube(150.0, 6000.0, 32, 60).apply_translation((9000.0, 0.0, 0.0))])
    v, f = prereduce(m.vertices, m.faces, 20_000)
    assert 15_000 <= len(f) <= 20_000
    assert np.isin(v.view([("", v.dtype)] * 3), m.vertices.view([("", v.dtype)] * 3)).all()  # input vertices
    assert abs(trimesh.Trimesh(v, f, process=False).area / m.area - 1.0) < 0.02
    p = DecimateParams(target_faces=4000, min_faces_to_decimate=0, prereduce_above_faces=50_000,
                       prereduce_to_faces=16_000)
    res = decimate(m.vertices, m.faces, p)
    assert 12_000 <= res.prereduced_faces <= 16_000 and 3000 <= len(res.faces) <= 4100
    sample = np.random.default_rng(0).choice(len(m.faces), 3000, replace=False)
    face, dist, _ = NearestFaces(res.vertices[res.faces]).query(m.triangles_center[sample])
    assert dist.max() < 400.0  # on the input surface (the sphere is worked at ~120 faces: its facets)
    mapped = res.vertices[res.faces[res.input_to_working[sample]]].mean(axis=1)
    assert np.mean(np.linalg.norm(mapped - m.triangles_center[sample], axis=1) < 2000.0) == 1.0
    plain = decimate(m.vertices, m.faces, DecimateParams(target_faces=4000, min_faces_to_decimate=0,
                                                         stall_rescue_ratio=None))  # the rescue pre-reduces too
    assert plain.prereduced_faces == 0


def test_width_pairs_equal_corner_median() -> None:
    """Widths from weighted (vertex, skeleton vertex) pairs equal the plain median over every kept face corner."""
    from neurd_lite.geometry.width import cross_section_width_nm, skeleton_tangents
    from neurd_lite.skeleton.model import Skeleton

    m = _tube(300.0, 4000.0, 24, 40)
    rng = np.random.default_rng(4)
    m.vertices += rng.normal(0, 20.0, m.vertices.shape)
    zs = np.linspace(-2000.0, 2000.0, 9)
    sk = Skeleton(np.column_stack([np.zeros(9), np.zeros(9), zs]), np.column_stack([np.arange(8), np.arange(1, 9)]),
                  root=0, radius=np.full(9, 111.0))
    f2s = np.abs(m.triangles_center[:, 2][:, None] - zs[None]).argmin(axis=1)
    f2s[rng.random(len(f2s)) < 0.05] = -1
    keep = rng.random(len(f2s)) > 0.2
    got = cross_section_width_nm(sk, m.vertices, m.faces, f2s, keep, "corners", chunk_faces=500)
    tang = skeleton_tangents(sk)
    want = 2.0 * sk.radius.copy()
    for s in range(9):
        fk = np.flatnonzero(keep & (f2s == s))
        if len(fk):
            off = m.vertices[m.faces[fk].reshape(-1)] - sk.vertices[s]
            off -= (off @ tang[s])[:, None] * tang[s]
            want[s] = 2.0 * np.median(np.linalg.norm(off, axis=1))
    assert np.allclose(got, want, rtol=0, atol=1e-9)
    assert np.all(got[1:-1] > 400.0) and np.all(got[1:-1] < 800.0)


@pytest.mark.parametrize("n_groups", [40, 70_000])
def test_corner_pairs_and_weighted_median_equal_unique_and_lexsort(n_groups: int) -> None:
    """The bincount grouping gives np.unique's pairs and counts; the two-sort median equals the lexsort one
    (ties in distance included; groups past 16 bits take the general stable sort)."""
    from neurd_lite.geometry.width import corner_pairs, _weighted_median_pairs

    rng = np.random.default_rng(7)
    faces = rng.integers(0, 3000, (20_000, 3))
    f2s = (faces[:, 0] * n_groups // 3000 + (rng.random(20_000) < 0.1)).astype(np.int64)
    idx, vert, mult = corner_pairs(f2s, faces, 3000)
    key, cnt = np.unique((f2s[:, None] * 3000 + faces).reshape(-1), return_counts=True)
    o = np.argsort(idx * 3000 + vert)
    assert np.array_equal((idx * 3000 + vert)[o], key) and np.array_equal(mult[o], cnt)
    dist = rng.integers(0, 50, len(idx)).astype(float)  # many ties
    got_g, got_w = _weighted_median_pairs(idx, dist, mult)
    want_g = np.unique(idx)
    want_w = np.array([np.median(np.repeat(dist[idx == g], mult[idx == g])) * 2 for g in want_g[:50]])
    assert np.array_equal(got_g, want_g) and np.array_equal(got_w[:50], want_w)


def test_binary_ply_fast_reader_equals_trimesh(tmp_path) -> None:
    """The numpy PLY reader gives trimesh's arrays for a binary triangle PLY and steps aside for other layouts."""
    from neurd_lite.io.meshes import _read_binary_ply_triangles, load_mesh

    m = trimesh.creation.icosphere(3, radius=2000.0)
    path = tmp_path / "s.ply"
    m.export(path)
    v, f = _read_binary_ply_triangles(path)
    ref = trimesh.load(path, process=False, force="mesh")
    assert np.array_equal(v, ref.vertices) and np.array_equal(f, ref.faces) and f.dtype == np.int64
    assert np.array_equal(load_mesh(path).faces, ref.faces)
    ascii_path = tmp_path / "a.ply"
    ascii_path.write_bytes(trimesh.exchange.ply.export_ply(m, encoding="ascii"))
    assert _read_binary_ply_triangles(ascii_path) is None
    assert np.array_equal(load_mesh(ascii_path).faces, ref.faces)
    cut = tmp_path / "cut.ply"
    cut.write_bytes(path.read_bytes()[:-50])  # truncated: left to trimesh, which reports it
    assert _read_binary_ply_triangles(cut) is None


def test_default_label_arrays_share_one_string() -> None:
    """A new Neuron's per-face label arrays hold references to one string, not one string object per face."""
    from neurd_lite.neuron import UNLABELLED, Neuron, label_array

    a = label_array(1000, "soma")
    assert a.dtype == object and all(x is a[0] for x in a) and a[0] == "soma"
    n = Neuron(name="x", mesh=trimesh.creation.icosphere(2, radius=1000.0))
    assert len({id(x) for x in n.face_labels}) == 1 and n.face_labels[0] == UNLABELLED
    assert np.all(n.face_compartment == UNLABELLED) and np.all(n.face_spine == -1)


def test_cross_rows_and_centroid_normals_equal_numpy() -> None:
    from neurd_lite.geometry.meshes import cross_rows, face_centroids_normals_nm, row_norms

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(500, 3)) * 1e4, rng.normal(size=(500, 3))
    assert np.array_equal(cross_rows(a, b), np.cross(a, b))
    assert np.array_equal(row_norms(a), np.linalg.norm(a, axis=1))
    m = trimesh.creation.icosphere(3, radius=500.0)
    c, nrm = face_centroids_normals_nm(m.vertices, m.faces)
    t = m.vertices[m.faces]
    assert np.array_equal(c, (t[:, 0] + t[:, 1] + t[:, 2]) / 3.0)
    assert np.array_equal(nrm, np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]))


@pytest.mark.parametrize("radius_nm", [5.0, 60.0])  # 5 nm: most queries need the doubling rounds or the full tree
def test_grid_restricted_nearest_input_faces_equal_full_tree(radius_nm: float) -> None:
    from scipy.spatial import cKDTree

    from neurd_lite.mesh.decimate import _centroids_normals, _nearest_input_same_way, _nearest_same_way

    rng = np.random.default_rng(5)
    m = trimesh.creation.icosphere(4, radius=2000.0)
    v = m.vertices + rng.normal(scale=3.0, size=m.vertices.shape)  # no equal distances
    cent, nrm = _centroids_normals(v, m.faces)
    q = cent[rng.choice(len(cent), 300, replace=False)] + rng.normal(scale=20.0, size=(300, 3))
    qn = rng.normal(size=(300, 3))  # random facing: many queries take a farther candidate or none faces their way
    full = _nearest_same_way(cKDTree(cent), nrm, q, qn, 6)
    assert np.array_equal(_nearest_input_same_way(cent, v, np.asarray(m.faces), q, qn, 6, radius_nm), full)


def test_nearest_faces_from_mesh_equals_triangle_index() -> None:
    sphere = trimesh.creation.icosphere(3, radius=1000.0)
    sliver = trimesh.Trimesh([[0, 0, 1500], [20000, 0, 1500], [0, 300, 1500]], [[0, 1, 2]])
    m = trimesh.util.concatenate([sphere, sliver])
    pts = np.random.default_rng(2).normal(size=(300, 3)) * 1500
    a = NearestFaces(m.triangles).query(pts, k=4)
    b = NearestFaces.from_mesh(m.vertices, m.faces).query(pts, k=4)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    np.testing.assert_allclose(b[1], _brute(m.triangles, pts), atol=1e-9)


def test_far_synapse_units_get_a_box_lower_bound() -> None:
    from neurd_lite.io.synapse_units import FAR_NM, median_distances_nm

    m = trimesh.creation.icosphere(3, radius=20_000.0)
    raw = m.vertices[::7] * 1.001  # nm, just outside the surface
    near, far = median_distances_nm(raw, (m.vertices, m.faces), ["nm", "um"])
    exact = NearestFaces(m.triangles)
    assert near == float(np.median(exact.query(raw, k=8)[1]))
    assert FAR_NM < far <= float(np.median(exact.query(raw * 1000.0, k=8)[1]))


def test_local_nearest_equals_full_index() -> None:
    """LocalNearest (faces near the points only, exact by the longest-edge bound) gives the full index's
    distances, for points on, near and far from a fine sphere with one long sliver face."""
    from neurd_lite.geometry.nearest import LocalNearest, max_edge_nm

    sphere = trimesh.creation.icosphere(4, radius=5000.0)
    sliver = trimesh.Trimesh([[0, 0, 5600], [9000, 0, 5600], [0, 200, 5600]], [[0, 1, 2]])
    m = trimesh.util.concatenate([sphere, sliver])
    rng = np.random.default_rng(4)
    pts = np.vstack([m.vertices[::9] * 1.01, rng.normal(size=(200, 3)) * 6000, [[4000, 100, 5700]],
                     [[60_000, 0, 0]]])
    assert max_edge_nm(m.vertices, m.faces) == pytest.approx(np.sqrt(9000.0 ** 2 + 200.0 ** 2))
    local = LocalNearest(m.vertices, m.faces, radius_nm=300.0).distances(pts, k=8)
    full = NearestFaces.from_mesh(m.vertices, m.faces).query(pts, k=8)[1]
    assert np.array_equal(local, full)


def test_corner_set_keys_number_each_corner_set_once() -> None:
    """Repeated faces (any corner order) share a key and different corner sets never do, up to ~4.7M
    vertices (64-bit keys); the surface check counts the same repeats as a row sort."""
    import math

    from neurd_lite.io.meshes import _corner_set_keys, surface_problem

    rng = np.random.default_rng(5)
    for nv in (7, 4_700_000):
        f = rng.integers(0, nv, (20_000, 3))
        f[:500] = f[500:1000][:, [2, 0, 1]]
        keys = _corner_set_keys(f, nv)
        assert len(np.unique(keys)) == len(np.unique(np.sort(f, axis=1), axis=0))
        lo, mid, hi = np.sort(f[-1]).tolist()
        assert int(keys[-1]) == math.comb(hi + 2, 3) + math.comb(mid + 1, 2) + lo
    assert _corner_set_keys(f, 5_000_000) is None
    m = trimesh.creation.icosphere(3)
    double = np.vstack([m.faces, m.faces[:, ::-1]])
    assert surface_problem(m.vertices, double).startswith(f"{len(m.faces)} of {len(double)} faces repeat")
    assert surface_problem(m.vertices, m.faces) is None


def test_outline_paths_equal_trimesh_outline() -> None:
    """outline_paths gives the points of every entity of mesh.outline(), in order, on a sphere with random
    holes (many touching at a vertex) and on a watertight one (no paths)."""
    from neurd_lite.geometry.meshes import outline_paths

    m = trimesh.creation.icosphere(4)
    for seed, frac in ((0, 0.02), (1, 0.2), (2, 0.5)):
        keep = np.random.default_rng(seed).random(len(m.faces)) > frac
        holed = trimesh.Trimesh(m.vertices, m.faces[keep], process=False)
        want = [np.asarray(e.points) for e in holed.outline().entities]
        got = outline_paths(holed)
        assert len(got) == len(want) > 0
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
    assert outline_paths(m) == []


def test_edt_equals_scipy_distance_transform() -> None:
    """voxel_fill.edt (feature transform, int32 squared offsets) gives scipy's exact Euclidean distances."""
    from scipy import ndimage

    from neurd_lite.mesh.voxel_fill import edt

    rng = np.random.default_rng(3)
    mask = ndimage.binary_closing(rng.random((41, 37, 29)) > 0.3, iterations=2)
    got = edt(mask)
    assert got.dtype == np.float64 and np.array_equal(got, ndimage.distance_transform_edt(mask))
    flat = np.ones((3, 2, 200), dtype=bool)
    flat[:, :, 0] = False
    assert np.array_equal(edt(flat), ndimage.distance_transform_edt(flat))


@pytest.mark.parametrize("shape", [(20, 17, 13), (5, 3, 40), (1, 9, 9)])
def test_ball_closing_steps_equal_scipy(shape: tuple[int, int, int]) -> None:
    """The shifted-grid cube / cross steps give scipy's binary_dilation / binary_erosion(border_value=1), and
    the closing built from them the same voxels as one built from scipy's calls."""
    from scipy import ndimage

    from neurd_lite.mesh.voxel_fill import _step, ball_closing

    rng = np.random.default_rng(5)
    for density in (0.05, 0.4):
        m = rng.random(shape) < density
        for cube in (True, False):
            se = np.ones((3, 3, 3), bool) if cube else ndimage.generate_binary_structure(3, 1)
            assert np.array_equal(_step(m, cube, True), ndimage.binary_dilation(m, structure=se))
            assert np.array_equal(_step(m, cube, False), ndimage.binary_erosion(m, structure=se, border_value=1))
        for r in (1, 2.4, 4):
            seq = [np.ones((3, 3, 3), bool) if i % 2 == 0 else ndimage.generate_binary_structure(3, 1)
                   for i in range(max(1, int(round(r))))]
            want = m
            for se in seq:
                want = ndimage.binary_dilation(want, structure=se)
            for se in reversed(seq):
                want = ndimage.binary_erosion(want, structure=se, border_value=1)
            assert np.array_equal(ball_closing(m, r), want | m)


def test_face_areas_read_once_and_dropped_when_the_mesh_changes(tmp_path) -> None:
    """load_mesh keeps the areas its surface check computed in the mesh's cache; the features' face areas are
    those values, equal to a fresh computation, and a changed mesh gets fresh areas."""
    from neurd_lite.geometry.meshes import AREA_CACHE_KEY, face_areas_nm2, mesh_face_areas_nm2
    from neurd_lite.io.meshes import load_mesh

    path = tmp_path / "sphere.ply"
    trimesh.creation.icosphere(4, radius=3000.0).export(path)
    m = load_mesh(path)
    kept = m._cache[AREA_CACHE_KEY]
    assert kept is not None and mesh_face_areas_nm2(m) is kept
    assert np.array_equal(kept, face_areas_nm2(m.vertices, m.faces))
    m.vertices = m.vertices * 2.0
    assert np.allclose(mesh_face_areas_nm2(m), 4.0 * kept)
    assert load_mesh(path, validate=False)._cache[AREA_CACHE_KEY] is None  # nothing computed, nothing kept

"""Session 19 exact speed-ups: a section cut from only the faces the plane may reach (spines.inscribed_axis) is the
same outline, and its inscribed circle the same, as one cut from every face in reach."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from neurd_lite.spines.inscribed_axis import (_local_faces, _plane_basis, _sections, inscribed_circle_at,
                                              section_faces, section_outlines)

pytest.importorskip("manifold3d")


@pytest.fixture(scope="module")
def spiny():
    from neurd_lite.spines.adapters import spiny_cylinder

    mesh, _, _ = spiny_cylinder(n_spines=6, seed=5, length_nm=5000.0, radius_nm=400.0, noise_nm=5.0)
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _planes(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.normal(0, 150, n), rng.normal(0, 150, n), rng.uniform(-2200, 2200, n)])
    nrm = rng.normal(0, 0.3, (n, 3)) + [0.0, 0.0, 1.0]
    return pts, nrm / np.linalg.norm(nrm, axis=1, keepdims=True)


def test_section_faces_keep_every_face_the_plane_cuts(spiny):
    v, f = spiny
    local = _local_faces(v, f, np.ones(len(f), dtype=bool))
    pts, nrm = _planes(40)
    for o, n in zip(pts, nrm):
        near = local.tree.query_ball_point(o, 1800.0)
        every = f[local.fid[near]]
        kept = section_faces(local, f, near, o, n)
        assert len(kept) < len(every)
        s = (v - o) @ n
        cut = every[(s[every] >= 0).any(1) & ~(s[every] >= 0).all(1)]
        assert {tuple(r) for r in cut} <= {tuple(r) for r in kept}
        basis = _plane_basis(n)
        a = [shapely.to_wkb(g) for g in section_outlines(v, every, o, n, basis)]
        b = [shapely.to_wkb(g) for g in section_outlines(v, kept, o, n, basis)]
        assert a == b


def test_sections_equal_one_circle_per_point_from_every_face(spiny):
    v, f = spiny
    local = _local_faces(v, f, np.ones(len(f), dtype=bool))
    pts, nrm = _planes(25, seed=1)
    rad = np.full(len(pts), 1800.0)
    got = _sections(local, v, f, pts, nrm, rad)
    found = 0
    for (c, r), o, n in zip(got, pts, nrm):
        c0, r0 = inscribed_circle_at(v, f[local.fid[local.tree.query_ball_point(o, 1800.0)]], o, n)
        assert np.array_equal(c, c0, equal_nan=True) and (r == r0 or (np.isnan(r) and np.isnan(r0)))
        found += np.isfinite(r)
    assert found >= 10
    assert _sections(local, v, f, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)) == []


def test_load_mesh_measures_the_shortest_edge_and_the_weld_skips_only_when_none_is_short(tmp_path):
    import trimesh

    from neurd_lite.geometry.meshes import cached_face_areas_nm2, cached_min_edge_nm, face_areas_nm2
    from neurd_lite.io.meshes import load_mesh
    from neurd_lite.mesh.decimate import DecimateParams, edge_target_faces
    from neurd_lite.mesh.weld import weld

    box = trimesh.creation.icosphere(subdivisions=3, radius=1000.0)
    v, f = np.asarray(box.vertices), np.asarray(box.faces)
    m = load_mesh((v, f), units="nm")
    e = v[f] - v[f[:, [1, 2, 0]]]
    assert cached_min_edge_nm(m) == pytest.approx(np.sqrt((e ** 2).sum(2).min()), rel=1e-12)
    assert np.array_equal(cached_face_areas_nm2(m), face_areas_nm2(m.vertices, m.faces))
    p = DecimateParams(target_faces="auto")
    assert edge_target_faces(v, f, p, cached_face_areas_nm2(m)) == edge_target_faces(v, f, p)
    short = cached_min_edge_nm(m)
    for tol in (0.5 * short, short, 1.5 * short):  # below, at and above the shortest edge
        a = weld(v, f, tol, edges_only=True)
        b = weld(v, f, tol, edges_only=True, min_edge_nm=short)
        assert (a is None) == (b is None)
        if a is not None:
            assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert weld(v, f, short, edges_only=True) is not None  # an edge at the tolerance welds: no skip there


def test_welded_uint32_corners_decimate_as_int64_ones(monkeypatch):
    """Above ``prereduce_above_faces`` the welded corners reach meshoptimizer and the face map as uint32: the same
    working mesh and maps as with int64 corners on that path."""
    pytest.importorskip("meshoptimizer")
    import trimesh

    import neurd_lite.mesh.decimate as dec
    from neurd_lite.mesh.weld import weld

    s = trimesh.creation.icosphere(subdivisions=4, radius=5000.0)
    v, f = np.asarray(s.vertices, dtype=np.float64), np.asarray(s.faces, dtype=np.int64).copy()
    extra_v, extra_f = [], []
    for k, face in enumerate(f[::50].copy()):  # a duplicate of corner a: a zero-length edge in a sliver face
        a, b = int(face[0]), int(face[1])
        dup = len(v) + k
        extra_v.append(v[a])
        f[k * 50, 0] = dup
        extra_f.append([a, dup, b])
    v = np.vstack([v, extra_v])
    f = np.vstack([f, extra_f])
    assert weld(v, f, 1.0, edges_only=True)[1].dtype == np.uint32
    p = dec.DecimateParams(target_faces=3000, min_faces_to_decimate=0, prereduce_above_faces=4000,
                           prereduce_to_faces=6000)
    got = dec.decimate(v, f, p)
    monkeypatch.setattr(dec, "_prereduces", lambda *a: False)  # the int64 corners on the same path
    ref = dec.decimate(v, f, p)
    assert got.prereduced_faces > 0 and len(got.faces) < len(f)
    for x, y in [(got.vertices, ref.vertices), (got.faces, ref.faces), (got.input_to_working, ref.input_to_working),
                 (got.working_to_input, ref.working_to_input)]:
        assert x.dtype == y.dtype and np.array_equal(x, y)

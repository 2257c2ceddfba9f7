"""Face maps read from fast-simplification's collapse list (``mesh/collapse_map.py``, session 10)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import trimesh

from neurd_lite.mesh import decimate as dec
from neurd_lite.mesh.collapse_map import collapse_face_map, collapse_roots


def _sphere_and_tube() -> trimesh.Trimesh:
    m = trimesh.creation.icosphere(subdivisions=4, radius=5000.0)
    cyl = trimesh.creation.cylinder(radius=300.0, height=8000.0, sections=16)
    cyl.apply_translation([0, 0, 9000.0])
    cyl = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(cyl.vertices, cyl.faces, 400.0))
    return trimesh.util.concatenate([m, cyl])


def test_collapse_roots_follow_chains():
    col = np.array([[1, 2], [0, 1], [4, 3], [0, 4]])  # 2 -> 1 -> 0, 3 -> 4 -> 0
    assert collapse_roots(6, col).tolist() == [0, 0, 0, 0, 0, 5]


def test_collapse_map_rebuilds_the_working_faces_and_maps_every_input_face():
    import fast_simplification

    m = _sphere_and_tube()
    v, f = np.asarray(m.vertices), np.asarray(m.faces, dtype=np.int64)
    wv, wf, col = fast_simplification.simplify(v / 10.0, f, target_count=len(f) // 4, return_collapses=True)
    wv, wf = wv * 10.0, np.asarray(wf, dtype=np.int64)
    wc, wn = dec._centroids_normals(wv, wf)
    ic, inn = dec._centroids_normals(v, f)
    in2w, w2in, unplaced = collapse_face_map(len(v), f, col, wf, wc, wn, ic, inn)
    assert len(unplaced) == 0 and (in2w >= 0).all() and in2w.max() < len(wf)
    assert np.array_equal(in2w[w2in], np.arange(len(wf)))  # each working face's input face maps back to it
    # a surviving input face is the working face: its corners merged into the working face's corners
    mf = collapse_roots(len(v), col)[f[w2in]]
    used = np.unique(mf)  # fast-simplification keeps the used vertices in input order
    assert np.array_equal(np.searchsorted(used, mf), wf)
    d = np.linalg.norm(ic - wc[in2w], axis=1)
    assert np.percentile(d, 99) < 1500.0
    assert (np.einsum("ij,ij->i", wn[in2w], inn) > 0).mean() > 0.99
    n_sphere = 20 * 4 ** 4  # tube faces land on tube faces
    assert (wc[in2w[n_sphere:], 2] > 4999.0).all()  # the tube spans z 5000-13000 nm
    # a collapse list that does not rebuild the faces is refused
    assert collapse_face_map(len(v), f, col[:-1], wf, wc, wn, ic, inn) is None


def test_decimate_uses_the_collapse_map_and_keeps_the_contract():
    m = _sphere_and_tube()
    # stall rescue off: its re-decimation maps by nearest centroid (tests/test_stall_rescue.py covers it)
    p = dec.DecimateParams(target_faces=len(m.faces) // 4, min_faces_to_decimate=0, stall_rescue_ratio=None)
    a = dec.decimate(m.vertices, m.faces, replace(p, map_from_collapses=True))
    b = dec.decimate(m.vertices, m.faces, replace(p, map_from_collapses=False))
    assert np.array_equal(a.faces, b.faces) and np.array_equal(a.vertices, b.vertices)
    for r in (a, b):
        assert r.input_to_working.shape == (len(m.faces),) and (r.input_to_working >= 0).all()
        assert (r.working_to_input >= 0).all() and np.array_equal(r.input_centroids, m.triangles_center)
    assert np.array_equal(a.input_to_working[a.working_to_input], np.arange(len(a.faces)))
    # the two maps differ only where the nearest centroid is not on the surface the face collapsed into
    assert (a.input_to_working == b.input_to_working).mean() > 0.6


def test_collapse_map_keeps_facing_walls_apart():
    # two parallel plates 60 nm apart, finely meshed: every face of a plate maps onto its own plate
    a = trimesh.creation.box(extents=[4000, 4000, 40])
    a = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(a.vertices, a.faces, 150.0))
    b = a.copy()
    b.apply_translation([0, 0, 100])
    m = trimesh.util.concatenate([a, b])
    res = dec.decimate(m.vertices, m.faces, dec.DecimateParams(target_faces=len(m.faces) // 5,
                                                               min_faces_to_decimate=0, map_from_collapses=True))
    top_in = m.triangles_center[:, 2] > 50
    top_w = res.vertices[res.faces].mean(axis=1)[:, 2] > 50
    assert (top_w[res.input_to_working] == top_in).all()

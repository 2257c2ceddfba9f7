"""Face maps read off the cluster pre-reduction (``DecimateParams.prereduce_cluster_map``, session 26)."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.mesh import decimate as dec
from neurd_lite.mesh.cluster import cluster_reduce
from neurd_lite.mesh.collapse_map import vertex_face_map


def _sphere_and_tube() -> tuple[np.ndarray, np.ndarray]:
    m = trimesh.creation.icosphere(subdivisions=5, radius=5000.0)
    cyl = trimesh.creation.cylinder(radius=300.0, height=8000.0, sections=24)
    cyl.apply_translation([0, 0, 9000.0])
    cyl = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(cyl.vertices, cyl.faces, 150.0))
    m = trimesh.util.concatenate([m, cyl])
    return np.asarray(m.vertices), np.asarray(m.faces, dtype=np.int64)


def test_clustered_vertex_map_gives_every_clustered_face_an_input_face():
    v, f = _sphere_and_tube()
    cv, cf, vmap = cluster_reduce(v, f, len(f) // 4, vertex_map=True)
    assert vmap.shape == (len(v),) and vmap.max() < len(cv)
    wc, wn = dec._centroids_normals(cv, cf)
    ic, inn = dec._centroids_normals(v, f)
    in2w, w2in, unplaced = vertex_face_map(vmap, f, cf, wc, wn, ic, inn)
    assert (w2in >= 0).all() and len(unplaced) < 0.01 * len(f)  # faces of clusters in no kept face: the caller's
    assert np.array_equal(np.flatnonzero(in2w < 0), unplaced)
    # the representative input face's corners went to the clustered face's corners, in its orientation
    assert np.array_equal(in2w[w2in], np.arange(len(cf)))
    assert np.array_equal(np.sort(vmap[f[w2in]], axis=1), np.sort(cf, axis=1))
    placed = in2w >= 0
    d = np.linalg.norm(ic[placed] - wc[in2w[placed]], axis=1)
    assert np.percentile(d, 99) < 1500.0
    assert (np.einsum("ij,ij->i", wn[in2w[placed]], inn[placed]) > 0).mean() > 0.97
    n_sphere = 20 * 4 ** 5  # tube faces land on tube faces: never across to the sphere
    tube = in2w[n_sphere:]
    assert (wc[tube[tube >= 0], 2] > 4900.0).all()


def test_decimate_reads_the_map_off_the_clustering_with_the_same_working_mesh():
    v, f = _sphere_and_tube()
    p = dec.DecimateParams(target_faces=len(f) // 8, min_faces_to_decimate=0, prereduce_above_faces=len(f) // 2,
                           weld_nm=0.0, prereduce_cluster_map=False)
    a = dec.decimate(v, f, p)
    b = dec.decimate(v, f, dec.replace(p, prereduce_cluster_map=True))
    assert a.prereduced_faces > 0 and a.prereduced_faces == b.prereduced_faces
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.faces, b.faces)
    assert (b.input_to_working >= 0).all() and (b.working_to_input >= 0).all()
    assert np.mean(a.input_to_working == b.input_to_working) > 0.5
    wc = dec._centroids_normals(b.vertices, b.faces)[0]
    ic = dec._centroids_normals(v, f)[0]
    far = [np.percentile(np.linalg.norm(ic - wc[r.input_to_working], axis=1), 99) for r in (a, b)]
    assert far[1] < 1.1 * far[0] + 50.0  # as near as the nearest-centroid search, give or take

"""Pre-reduction by vertex clustering with quadric-optimal points (DecimateParams.prereduce_method="cluster")."""
import numpy as np
import pytest
import trimesh

from neurd_lite.errors import InputError
from neurd_lite.mesh.cluster import cluster_reduce
from neurd_lite.mesh.decimate import DecimateParams, decimate, prereduce

RADIUS_NM = 1000.0


def _radial_gap_nm(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Mean thickness (nm) of the shell between the sphere of RADIUS_NM and the mesh inside it: the volume lost
    over the sphere's area (< 0: the mesh is larger)."""
    m = trimesh.Trimesh(vertices, faces, process=False)
    return float((4.0 / 3.0 * np.pi * RADIUS_NM ** 3 - abs(m.volume)) / (4.0 * np.pi * RADIUS_NM ** 2))


def test_cluster_points_sit_on_the_surface() -> None:
    """On a fine sphere the clustered mesh is about the asked size, closed, and its faces lie much closer to the
    sphere than meshoptimizer's kept-vertex chords at about the same size; a flat face of a box keeps its plane."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=RADIUS_NM)  # 82k faces
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    cv, cf = cluster_reduce(v, f, 4000)
    assert 2500 <= len(cf) <= 6000 and cf.max() < len(cv) and cf.min() >= 0
    m = trimesh.Trimesh(cv, cf, process=False)
    assert abs(m.area - s.area) < 0.02 * s.area
    assert np.all(np.linalg.norm(cv, axis=1) > RADIUS_NM - 1e-6)  # on or just outside: the quadric of a cap
    assert np.linalg.norm(cv, axis=1).max() < RADIUS_NM + 15.0
    pytest.importorskip("meshoptimizer")
    mv, mf = prereduce(v, f, len(cf))
    assert abs(_radial_gap_nm(cv, cf)) < 0.8 * _radial_gap_nm(mv, mf)  # 0.81 vs 1.14 nm (3.7k vs 4.3k faces)
    box = trimesh.creation.box(extents=(2000.0, 2000.0, 2000.0)).subdivide().subdivide().subdivide()  # flat faces
    bv, bf = cluster_reduce(np.asarray(box.vertices), np.asarray(box.faces), 300)
    assert np.abs(np.abs(bv).max(axis=1) - 1000.0).max() < 1e-6  # every point on a face of the box


def test_cluster_keeps_thin_walls_apart() -> None:
    """Two parallel sheets closer than a grid cell (a thin part's two walls) are clustered apart: the normal's
    octant splits the cell, so no face joins them."""
    box = trimesh.creation.box(extents=(4000.0, 4000.0, 60.0)).subdivide().subdivide().subdivide().subdivide()
    v, f = cluster_reduce(np.asarray(box.vertices), np.asarray(box.faces), 500)
    m = trimesh.Trimesh(v, f, process=False)
    top = m.triangles_center[:, 2] > 29.0
    bottom = m.triangles_center[:, 2] < -29.0
    assert top.sum() > 20 and bottom.sum() > 20
    assert np.all(np.abs(m.face_normals[top, 2] - 1.0) < 1e-6)
    assert np.all(np.abs(m.face_normals[bottom, 2] + 1.0) < 1e-6)


def test_cluster_method_in_decimate() -> None:
    """The option acts on inputs above prereduce_above_faces only; the default since session 23; unknown values
    refused."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=RADIUS_NM)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    base = dict(target_faces=1500, min_faces_to_decimate=0, min_target_faces=1000,
                prereduce_above_faces=10_000, prereduce_to_faces=4000)
    a = decimate(v, f, DecimateParams(**base, prereduce_method="cluster"))
    assert 0 < a.prereduced_faces and len(a.faces) <= 1.05 * 1500
    assert a.input_to_working.min() >= 0 and a.input_to_working.max() < len(a.faces)
    assert abs(_radial_gap_nm(a.vertices, a.faces)) < 3.0
    assert DecimateParams().prereduce_method == "cluster"
    with pytest.raises(InputError):
        DecimateParams(prereduce_method="grid")


def test_cluster_ratio_sizes_the_grid_from_the_working_target() -> None:
    """prereduce_cluster_ratio asks the clustering for ratio x target_faces (above prereduce_to_faces, at most
    prereduce_above_faces); 2.0 by default since session 23; non-positive values refused."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=RADIUS_NM)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    base = dict(target_faces=1500, min_faces_to_decimate=0, min_target_faces=1000, prereduce_above_faces=20_000,
                prereduce_to_faces=2000, prereduce_method="cluster")
    plain = decimate(v, f, DecimateParams(**base, prereduce_cluster_ratio=None))
    finer = decimate(v, f, DecimateParams(**base, prereduce_cluster_ratio=5.0))
    assert finer.prereduced_faces > 2 * plain.prereduced_faces
    assert len(finer.faces) <= 1.05 * 1500
    assert DecimateParams().prereduce_cluster_ratio == 2.0
    with pytest.raises(InputError):
        DecimateParams(prereduce_cluster_ratio=0.0)

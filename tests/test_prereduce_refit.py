"""Refitting the pre-reduced mesh onto the input surface (DecimateParams.prereduce_refit, opt-in)."""
import numpy as np
import pytest
import trimesh

from neurd_lite.errors import InputError
from neurd_lite.mesh.decimate import DecimateParams, decimate, prereduce
from neurd_lite.mesh.refit import refit_to_input

RADIUS_NM = 1000.0


def _inward_gap_nm(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Mean distance (nm) by which the faces' centroids lie inside the sphere of RADIUS_NM."""
    return float(RADIUS_NM - np.linalg.norm(trimesh.Trimesh(vertices, faces, process=False).triangles_center,
                                            axis=1).mean())


def _sphere_arms(target: int, prereduce_to: int, refit: str):
    """(vertices, faces, default result, result with ``prereduce_refit=refit``) of a fine icosphere (nm) decimated
    to ``target`` faces after a meshoptimizer pre-reduction to ``prereduce_to``."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=RADIUS_NM)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    base = dict(target_faces=target, min_faces_to_decimate=0, min_target_faces=1000, prereduce_method="meshoptimizer",
                fragmented_border_um_per_um2=None, prereduce_above_faces=10_000, prereduce_to_faces=prereduce_to)
    return v, f, decimate(v, f, DecimateParams(**base)), decimate(v, f, DecimateParams(**base, prereduce_refit=refit))


def test_refit_centres_chords_on_a_sphere() -> None:
    """Pre-reduced faces of a sphere are chords inside it; the refit brings them most of the way back (and the
    working mesh fast-simplification makes of them lies closer too), while a flat-faced mesh stays where it is."""
    pytest.importorskip("meshoptimizer")
    v, f, a, b = _sphere_arms(2000, 2000, "prereduced")
    assert a.prereduced_faces == b.prereduced_faces > 0 and len(b.faces) <= 1.05 * 2000
    assert _inward_gap_nm(b.vertices, b.faces) < 0.6 * _inward_gap_nm(a.vertices, a.faces)
    rv, rf = prereduce(v, f, 2000)  # the refit alone, before fast-simplification: 1.37 -> 0.28 nm
    assert _inward_gap_nm(refit_to_input(v, f, rv, rf), rf) < 0.3 * _inward_gap_nm(rv, rf)
    assert b.input_to_working.min() >= 0 and b.input_to_working.max() < len(b.faces)
    plane = trimesh.creation.box(extents=(2000.0, 2000.0, 2000.0)).subdivide().subdivide()
    moved = refit_to_input(plane.vertices, plane.faces, plane.vertices, plane.faces)
    assert np.abs(moved - plane.vertices).max() < 1e-6


def test_refit_of_the_working_mesh() -> None:
    """"working" refits fast-simplification's result instead: closer to the sphere than the default, same faces;
    off by default, and an unknown value is refused."""
    pytest.importorskip("meshoptimizer")
    _, _, a, b = _sphere_arms(1500, 4000, "working")
    assert np.array_equal(a.faces, b.faces)
    assert _inward_gap_nm(b.vertices, b.faces) < 0.5 * _inward_gap_nm(a.vertices, a.faces)
    assert DecimateParams().prereduce_refit is None
    with pytest.raises(InputError):
        DecimateParams(prereduce_refit="both")

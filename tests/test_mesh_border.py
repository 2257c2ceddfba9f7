"""Open border length per area (neurd_lite.mesh.border) and the opt-in border test for a fragmented input."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from conftest import chunk_mesh
from neurd_lite.mesh.border import chunk_spacing_um, open_border_um_per_um2
from neurd_lite.mesh.decimate import DecimateParams, decimate, is_fragmented


def test_closed_mesh_has_no_border_and_open_disc_reads_its_rim():
    s = trimesh.creation.icosphere(subdivisions=3, radius=5000.0)
    assert open_border_um_per_um2(s.vertices, s.faces) == 0.0
    ang = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    v = np.vstack([[0.0, 0.0, 0.0], np.column_stack([2000.0 * np.cos(ang), 2000.0 * np.sin(ang), np.zeros(256)])])
    f = np.column_stack([np.zeros(256, int), 1 + np.arange(256), 1 + (np.arange(256) + 1) % 256])  # a fan
    assert open_border_um_per_um2(v, f) == pytest.approx(2.0 / 2.0, rel=0.01)  # rim 2 pi r over pi r²: 2 / r


def test_border_density_is_resolution_free_and_tracks_chunk_spacing():
    s = trimesh.creation.icosphere(subdivisions=5, radius=10_000.0)
    v, f = chunk_mesh(s, 2000.0)
    b = open_border_um_per_um2(v, f)
    v2, f2 = trimesh.remesh.subdivide(v, f)
    assert open_border_um_per_um2(v2, f2) == pytest.approx(b, rel=1e-6)  # subdividing keeps border and area
    assert chunk_spacing_um(b) == pytest.approx(2.0, rel=0.35)  # ~4.7 / c on a sphere: the seam model
    coarse = open_border_um_per_um2(*chunk_mesh(s, 8000.0))
    assert coarse < 0.5 * b  # sparser seams, less border per area


def test_refined_fragmented_mesh_missed_by_vertices_per_face_caught_by_border():
    s = trimesh.creation.icosphere(subdivisions=4, radius=10_000.0)
    v, f = chunk_mesh(s, 3000.0)
    assert is_fragmented(f, len(v))  # coarse pieces: many border vertices per face
    for _ in range(2):
        v, f = trimesh.remesh.subdivide(v, f)
    assert not is_fragmented(f, len(v))  # refined interiors pull vertices per face toward 0.5
    assert open_border_um_per_um2(v, f) > 0.5


def test_border_test_locks_the_borders_of_a_refined_fragmented_input():
    pytest.importorskip("meshoptimizer")
    s = trimesh.creation.icosphere(subdivisions=4, radius=10_000.0)
    v, f = chunk_mesh(s, 3000.0)
    for _ in range(2):
        v, f = trimesh.remesh.subdivide(v, f)
    base = DecimateParams(target_faces=len(f) // 4, min_faces_to_decimate=0, fragmented_target_faces=len(f) // 4,
                          weld_nm=0.0)
    e = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    ue, count = np.unique(e, axis=0, return_counts=True)
    border = {tuple(x) for x in np.round(v[np.unique(ue[count == 1])], 3)}

    def kept_share(p: DecimateParams) -> float:
        res = decimate(v, f, p)
        kept = {tuple(x) for x in np.round(res.vertices[np.unique(res.faces)], 3)}
        return len(border & kept) / len(border)

    assert base.fragmented_border_um_per_um2 is None  # opt-in again since session 22 (aspiny members)
    on = DecimateParams(**{**base.__dict__, "fragmented_border_um_per_um2": 0.5})
    assert kept_share(on) == 1.0
    assert kept_share(base) < 0.9  # off: the border is decimated like the interior

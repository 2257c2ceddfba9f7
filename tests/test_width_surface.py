"""Width over the surface (``at="surface"``, geometry/width_surface.py): the same for any tessellation of one
surface, where the corner median reads a flat-subdivided mesh narrower."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from conftest import hex_tube

from neurd_lite.geometry.width import cross_section_width_nm
from neurd_lite.geometry.width_surface import surface_samples
from neurd_lite.skeleton.model import Skeleton


def _coarse_tube():
    """A hexagonal tube of radius 300 nm along z (corners on the circle, faces are chords), no caps; a skeleton
    on its axis every 500 nm."""
    return hex_tube()


def _widths(v: np.ndarray, f: np.ndarray, sk: Skeleton, zs: np.ndarray, at: str) -> np.ndarray:
    centre_z = v[f].mean(axis=1)[:, 2]
    f2s = np.abs(centre_z[:, None] - zs[None]).argmin(axis=1)
    return cross_section_width_nm(sk, v, f, f2s, np.ones(len(f), bool), at)[2:-2]


def test_surface_width_does_not_move_when_the_mesh_is_subdivided() -> None:
    """Subdivided flat twice (16x faces, new vertices on chords): corners read ~10 % narrower, the surface
    median moves < 1 % and lies between the hexagon's inscribed (apothem) and circumscribed diameters."""
    v, f, sk, zs = _coarse_tube()
    v2, f2 = trimesh.remesh.subdivide(*trimesh.remesh.subdivide(v, f))
    corners, corners2 = _widths(v, f, sk, zs, "corners"), _widths(v2, f2, sk, zs, "corners")
    surf, surf2 = _widths(v, f, sk, zs, "surface"), _widths(v2, f2, sk, zs, "surface")
    assert np.allclose(corners, 600.0) and np.median(corners2) < 0.95 * 600.0
    assert np.all(np.abs(surf2 / surf - 1.0) < 0.01), (surf, surf2)
    assert np.all((surf > 600.0 * np.cos(np.pi / 6)) & (surf < 600.0))


def test_surface_samples_cover_each_face_by_area() -> None:
    """Sample weights add up to each face's area; a face with longest edge L gets ceil(L / spacing)² samples."""
    v = np.array([[0.0, 0, 0], [250.0, 0, 0], [0, 250.0, 0], [0, 0, 50.0]])
    f = np.array([[0, 1, 2], [0, 3, 1]])
    pts, fid, w = surface_samples(v, f, spacing_nm=100.0)
    assert np.bincount(fid).tolist() == [16, 9]  # longest edges 354 nm -> 4 x 4, 255 nm -> 3 x 3
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    assert np.allclose(np.bincount(fid, weights=w), area)
    assert np.allclose(np.bincount(fid, weights=w * pts[:, 0]) / area, v[f].mean(axis=1)[:, 0])  # centroid


def test_unknown_sampling_rejected() -> None:
    v, f, sk, zs = _coarse_tube()
    with pytest.raises(ValueError):
        _widths(v, f, sk, zs, "vertices")

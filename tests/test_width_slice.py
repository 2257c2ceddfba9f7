"""Plane-section perimeter (geometry/width_slice.py), the independent check of the width diagnosis: on a tube
whose skeleton lies two radii off the axis (as on the real cell's axon, docs/width_diagnosis.md), the section
perimeter / pi and the area width agree, the corner cross-section reads far wider."""
from __future__ import annotations

import numpy as np
from conftest import hex_tube

from neurd_lite.geometry.width import cross_section_width_nm
from neurd_lite.geometry.width_area import area_width_nm
from neurd_lite.geometry.width_slice import slice_perimeter_nm

R = 300.0
HEX = 6 * R / np.pi  # perimeter / pi of the hexagonal section (each side is R)


def test_slice_perimeter_of_a_hexagonal_tube() -> None:
    v, f, _, _ = hex_tube(R, ring_nm=250.0)
    z = np.array([0.0, 0.0, 1.0])
    for zc in (0.0, 125.0, 333.0):  # on a ring, between rings
        assert abs(slice_perimeter_nm(v, f, np.array([0.0, 0.0, zc]), z, 2000.0) - 6 * R) < 1e-6
    assert slice_perimeter_nm(v, f, np.array([0.0, 0.0, 1e5]), z, 2000.0) == 0.0  # plane misses the tube
    assert slice_perimeter_nm(v, f, np.array([0.0, 0.0, 0.0]), z, 100.0) == 0.0  # all segments too far


def test_off_axis_skeleton_inflates_corners_not_area_or_slice() -> None:
    v, f, sk, zs = hex_tube(R, ring_nm=250.0, offset_nm=2 * R)
    f2s = np.abs(v[f].mean(axis=1)[:, 2][:, None] - zs[None]).argmin(axis=1)
    keep = np.ones(len(f), dtype=bool)
    inner = np.arange(2, len(zs) - 2)
    area = area_width_nm(sk, v, f, f2s, keep, 500.0)[inner]
    corners = cross_section_width_nm(sk, v, f, f2s, keep)[inner]
    z = np.array([0.0, 0.0, 1.0])
    sl = np.array([slice_perimeter_nm(v, f, sk.vertices[i], z, 2000.0) for i in inner]) / np.pi
    assert np.allclose(sl, HEX) and np.allclose(area, HEX, rtol=0.02)
    assert np.median(corners) > 1.8 * HEX

"""Width from surface area per cable length (``FeatureParams.width.sample="area"``, geometry/width_area.py):
independent of where the skeleton sits across the cable and of the tessellation; the shaft under a spine is
restored from the spine's vector area."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from conftest import hex_tube

from neurd_lite.feature.params import WidthParams
from neurd_lite.geometry.width import cross_section_width_nm
from neurd_lite.geometry.width_area import adaptive_area_width_nm, area_width_nm, spine_base_area_nm2

R = 300.0  # circumradius of the hexagonal tube (nm)
HEX = 6 * R / np.pi  # its perimeter / pi: the area width of the tube


def _tube(offset_nm: float = 0.0):
    """Hexagonal tube along z, rings every 250 nm (two rows of faces per skeleton vertex), skeleton every 500 nm
    ``offset_nm`` off the axis."""
    return hex_tube(R, ring_nm=250.0, offset_nm=offset_nm)


def _f2s(v: np.ndarray, f: np.ndarray, zs: np.ndarray) -> np.ndarray:
    return np.abs(v[f].mean(axis=1)[:, 2][:, None] - zs[None]).argmin(axis=1)


def test_area_width_ignores_skeleton_offset_and_subdivision() -> None:
    """Skeleton 150 nm (half a radius) off the axis, mesh subdivided flat twice: the interior vertices read the
    hexagon's perimeter / pi within 1 %, where the corner median moves with both."""
    out = {}
    for off in (0.0, 150.0):
        v, f, sk, zs = _tube(off)
        for sub in (0, 2):
            vv, ff = v, f
            for _ in range(sub):
                vv, ff = trimesh.remesh.subdivide(vv, ff)
            f2s = _f2s(vv, ff, zs)
            keep = np.ones(len(ff), bool)
            out[off, sub] = (area_width_nm(sk, vv, ff, f2s, keep, 1000.0)[3:-3],
                             cross_section_width_nm(sk, vv, ff, f2s, keep)[3:-3])
    for (off, sub), (area, corners) in out.items():
        assert np.allclose(area, HEX, rtol=0.01), (off, sub, area)
    assert np.median(out[150.0, 0][1]) > 1.05 * np.median(out[0.0, 0][1])  # the corners read the offset


def test_spine_base_is_restored_from_the_vector_area() -> None:
    """A quad of the tube replaced by a pyramid (a 'spine' on the same boundary): left out of the kept faces, its
    vector area gives back the quad's area exactly, so the width equals the plain tube's; without it the
    window loses the quad."""
    v, f, sk, zs = _tube()
    f2s = _f2s(v, f, zs)
    keep = np.ones(len(f), bool)
    plain = area_width_nm(sk, v, f, f2s, keep, 1000.0)
    q = 7 * 6 * 2 + 2 * 1  # the quad (two faces) of ring 7, side 1
    a, b, c, d = f[q][0], f[q][1], f[q + 1][1], f[q][2]  # a, b on one ring, d = a + 6, c = b + 6
    apex = v[[a, b, c, d]].mean(axis=0) * np.array([1.8, 1.8, 1.0])  # 0.8 radii out of the surface
    v2 = np.vstack([v, apex])
    t = len(v)
    pyr = np.array([[a, b, t], [b, c, t], [c, d, t], [d, a, t]])
    f2 = np.vstack([np.delete(f, [q, q + 1], axis=0), pyr])
    f2s2 = np.r_[np.delete(f2s, [q, q + 1]), np.full(4, f2s[q])]
    spine = np.r_[np.full(len(f) - 2, -1), np.zeros(4, int)]
    keep2 = spine < 0
    quad_area = np.linalg.norm(np.cross(v[b] - v[a], v[d] - v[a]))
    base = spine_base_area_nm2(v2, f2, f2s2, spine, sk.n_vertices)
    assert base.sum() == pytest.approx(quad_area) and np.count_nonzero(base) == 1
    restored = area_width_nm(sk, v2, f2, f2s2, keep2, 1000.0, face_spine=spine)
    lost = area_width_nm(sk, v2, f2, f2s2, keep2, 1000.0)
    assert np.allclose(restored, plain)
    assert lost[f2s[q]] < 0.99 * plain[f2s[q]]


def test_excluded_vertices_and_fallback() -> None:
    """Excluded (soma) vertices bring neither area nor cable; a vertex whose window holds none gets 2 x radius."""
    v, f, sk, zs = _tube()
    f2s = _f2s(v, f, zs)
    excl = np.zeros(sk.n_vertices, bool)
    excl[:2] = True
    w = area_width_nm(sk, v, f, f2s, np.ones(len(f), bool), 400.0, exclude_vertices=excl)  # window: neighbours
    assert w[0] == pytest.approx(2 * R)  # window 400 nm < spacing: only itself, excluded -> fallback
    assert np.allclose(w[3:-3], HEX, rtol=0.01)


def test_area_sample_rejects_a_centre_window() -> None:
    with pytest.raises(ValueError):
        WidthParams(sample="area", centre_window_nm=500.0)
    with pytest.raises(ValueError):
        WidthParams(sample="vertices")


def test_adaptive_window_reads_the_tube_and_scales_with_width() -> None:
    """Two of the vertex's widths (first pass at 1000 nm), 500 nm to the cap: the tube (width 573 nm, window
    1146 nm) still reads its perimeter / pi; a cap below the first window is respected."""
    v, f, sk, zs = _tube()
    f2s = _f2s(v, f, zs)
    keep = np.ones(len(f), bool)
    assert np.allclose(adaptive_area_width_nm(sk, v, f, f2s, keep, 2000.0)[3:-3], HEX, rtol=0.01)
    assert np.allclose(adaptive_area_width_nm(sk, v, f, f2s, keep, 400.0)[3:-3],
                       area_width_nm(sk, v, f, f2s, keep, 400.0)[3:-3])

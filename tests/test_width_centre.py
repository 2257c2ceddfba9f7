"""Width about a fitted cable centre (geometry/width_centre.py): an off-axis skeleton no longer inflates the width."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.feature.params import FeatureParams, WidthParams
from neurd_lite.geometry.width import cross_section_width_nm, skeleton_tangents
from neurd_lite.geometry.width_centre import fitted_centres_nm, recentred_width_nm, window_pairs
from neurd_lite.skeleton.model import Skeleton


def _tube_with_skeleton(radius_nm: float, offset_nm: float, spacing_nm: float = 250.0, length_nm: float = 6000.0):
    """A tube along z (nm), a skeleton ``offset_nm`` off its axis in x, faces mapped to the nearest vertex by z."""
    m = trimesh.creation.cylinder(radius=radius_nm, height=length_nm, sections=32,
                                  segment=None).subdivide_to_size(spacing_nm / 3)
    zs = np.arange(-length_nm / 2 + spacing_nm, length_nm / 2, spacing_nm)
    k = len(zs)
    sk = Skeleton(np.column_stack([np.full(k, offset_nm), np.zeros(k), zs]),
                  np.column_stack([np.arange(k - 1), np.arange(1, k)]), root=0, radius=np.full(k, radius_nm))
    f2s = np.abs(m.triangles_center[:, 2][:, None] - zs[None]).argmin(axis=1)
    side = np.abs(m.triangles_center[:, 2]) < length_nm / 2 - 1.0  # drop the caps
    return m, sk, f2s, side


def test_off_axis_skeleton_width_recovered() -> None:
    """A skeleton 1.3 radii off the axis reads the width ~1.4x about the vertex, 1.00 +- 0.03 about the fitted
    centre, and the centre lands on the axis."""
    m, sk, f2s, keep = _tube_with_skeleton(300.0, 400.0)
    inner = slice(3, sk.n_vertices - 3)
    base = cross_section_width_nm(sk, m.vertices, m.faces, f2s, keep, "corners")
    assert np.median(base[inner]) > 1.3 * 600.0
    for window in (0.0, 500.0, 1000.0):
        w = recentred_width_nm(sk, m.vertices, m.faces, f2s, keep, window)
        assert np.all(np.abs(w[inner] / 600.0 - 1.0) < 0.03), (window, w[inner])
    c = fitted_centres_nm(sk, m.vertices, m.faces, f2s, keep, 500.0)
    assert np.all(np.hypot(c[inner, 0], c[inner, 1]) < 15.0)
    assert np.allclose(c[:, 2], sk.vertices[:, 2])  # moved across the tangent only


def test_partial_arcs_pooled_over_the_window() -> None:
    """Each vertex keeps only a 120° arc, a different one per vertex (faces assigned by an off-axis vertex,
    spine bases cut out): one slice is a poor fit, the pooled window gets the width within 3 %."""
    m, sk, f2s, keep = _tube_with_skeleton(400.0, 300.0)
    ang = np.degrees(np.arctan2(m.triangles_center[:, 1], m.triangles_center[:, 0])) % 360.0
    keep = keep & (((ang - 120.0 * (f2s % 3)) % 360.0) < 120.0)
    inner = slice(4, sk.n_vertices - 4)
    w = recentred_width_nm(sk, m.vertices, m.faces, f2s, keep, 600.0)
    assert np.all(np.abs(w[inner] / 800.0 - 1.0) < 0.03), w[inner]


def test_window_pairs_path_distance_and_direction() -> None:
    """Pairs within the path window, never across a perpendicular child, each vertex with itself."""
    v = np.array([[0, 0, 0], [100, 0, 0], [200, 0, 0], [300, 0, 0], [200, 100, 0], [200, 200, 0]], float)
    e = np.array([[0, 1], [1, 2], [2, 3], [2, 4], [4, 5]])
    sk = Skeleton(v, e, root=0, radius=np.full(6, 50.0))
    s, nb = window_pairs(sk, 150.0, skeleton_tangents(sk))
    pairs = set(zip(s.tolist(), nb.tolist()))
    assert {(i, i) for i in range(6)} <= pairs
    assert (0, 1) in pairs and (1, 0) in pairs and (0, 2) not in pairs  # 200 nm apart
    assert (4, 5) in pairs and (3, 4) not in pairs  # 3 -> 4 turns 90°
    s2, _ = window_pairs(sk, np.array([150.0, 0.0, 0.0, 0.0, 0.0, 0.0]), skeleton_tangents(sk))
    assert np.array_equal(np.bincount(s2, minlength=6), [2, 1, 1, 1, 1, 1])  # per-vertex windows


def test_width_param_default_off() -> None:
    """The opt-in lives in the one tree and is off by default (outputs unchanged)."""
    assert FeatureParams().width == WidthParams() and WidthParams().centre_window_nm is None

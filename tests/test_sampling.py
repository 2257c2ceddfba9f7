"""Area sampling decided by each face's geometry (neurd_lite.geometry.sampling)."""
from __future__ import annotations

import numpy as np

from neurd_lite.geometry.sampling import area_points, area_samples


def _triangles(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    tri = np.random.default_rng(seed).random((n, 3, 3)) * 1000.0
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return tri, area


def test_samples_do_not_depend_on_face_or_corner_order():
    tri, area = _triangles(500)
    order = np.random.default_rng(1).permutation(len(tri))
    a = area_points(tri, area, 1500)
    b = area_points(tri[order][:, [2, 0, 1]], area[order], 1500)
    assert len(a) == len(b) and len(a) <= 1500
    assert np.allclose(a, b)  # same points in the same (key) order


def test_one_face_less_moves_few_samples_and_counts_follow_area():
    tri, area = _triangles(2000)
    a = area_points(tri, area, 4000)
    b = area_points(tri[1:], area[1:], 4000)
    kept = np.isin(np.round(b, 6), np.round(a, 6)).all(axis=1).mean()
    assert kept > 0.99  # an inverse-CDF draw would move almost every sample
    f, bary = area_samples(tri, area, 4000)
    assert np.allclose(bary.sum(axis=1), 1.0) and (bary >= 0).all()
    big = area > np.quantile(area, 0.9)
    per_face = np.bincount(f, minlength=len(tri))
    assert per_face[big].mean() > 3 * per_face[area < np.quantile(area, 0.1)].mean()

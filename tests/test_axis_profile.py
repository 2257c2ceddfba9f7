"""Axis-profile head/neck split (spines/axis_profile.py): the same split on coarse and fine tessellations."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurd_lite.spines.axis_profile import axis_profile, profile_is_neck, site_profile_features, surface_samples


def revolution(radius, length_nm: float, n_theta: int, n_z: int) -> np.ndarray:
    """(K, 3, 3) nm triangles of the surface r(z) (z from 0 to length_nm along +z), closed at the tip."""
    z = np.linspace(0.0, length_nm, n_z + 1)
    r = np.array([radius(v) for v in z])
    th = np.linspace(0, 2 * np.pi, n_theta + 1)[:-1]
    ring = np.stack([r[:, None] * np.cos(th), r[:, None] * np.sin(th), np.repeat(z[:, None], n_theta, 1)], -1)
    tris = []
    for i in range(n_z):
        for j in range(n_theta):
            a, b = ring[i, j], ring[i, (j + 1) % n_theta]
            c, d = ring[i + 1, j], ring[i + 1, (j + 1) % n_theta]
            tris += [(a, b, d), (a, d, c)]
    return np.array(tris, dtype=float)


def mushroom(z: float) -> float:
    """A 60 nm-radius neck to 600 nm, a 250 nm-radius head on it (tip at 1100 nm)."""
    if z < 600:
        return 60.0
    u = (z - 850.0) / 250.0
    return max(250.0 * np.sqrt(max(1 - u * u, 0.0)), 60.0 if z < 700 else 1.0)


def stubby(z: float) -> float:
    """A dome 300 nm wide and 400 nm high: no neck."""
    return 300.0 * np.sqrt(max(1 - (z / 420.0) ** 2, 0.0)) + 1.0


def test_surface_samples_keep_area():
    tri = revolution(mushroom, 1100, 8, 6)
    pts, w, own = surface_samples(tri, 20.0)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    assert np.isclose(w.sum(), area)
    assert len(pts) > 20 * len(tri)


def test_split_does_not_move_with_tessellation():
    splits = []
    for nt, nz in ((8, 6), (16, 22), (48, 110)):
        pr = axis_profile(revolution(mushroom, 1100, nt, nz), np.zeros(3))
        assert pr.has_neck, (nt, nz)
        assert pr.head_radius_nm / pr.neck_radius_nm > 2.5
        splits.append(pr.t_split_nm)
    assert 550 < min(splits) and max(splits) < 750, splits
    assert max(splits) - min(splits) < 80, splits
    for nt, nz in ((8, 4), (48, 60)):
        assert not axis_profile(revolution(stubby, 420, nt, nz), np.zeros(3)).has_neck


def test_site_features_neck_and_head():
    tri = revolution(mushroom, 1100, 16, 22)
    cp = np.array([[60.0, 0, 300], [0, 250.0, 850], [0, 0, 2000.0]])
    x = site_profile_features(tri, np.zeros(len(tri), dtype=np.int64), np.zeros((1, 3)), np.array([0, 0, -1]), cp)
    assert list(profile_is_neck(x)) == [True, False, False]
    assert x.loc[0, "profile_headness"] < 0.2 < 0.8 < x.loc[1, "profile_headness"]
    assert np.isnan(x.loc[2, "profile_has_neck"])
    assert isinstance(x, pd.DataFrame)

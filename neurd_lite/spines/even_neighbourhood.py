"""The synapse-target model's neighbourhood inputs read on evenly spaced surface samples (lengths in nm).

The first models (``target_model._neighbourhood``) took the fraction protruding, the max and the mean protrusion
over the working mesh's *vertices* within 250 / 500 / 1000 nm of a site. How many vertices a ball holds depends on
the tessellation: on the real cell the 250 nm ball held a median of 1 / 4 / 1 / 3 working vertices at 81k / 324k /
1.3M / 5.2M input faces (none for up to 107 of 903 postsynapses), and the model's head share swung with it
(docs/spines.md "Session 25 round 2"). Here the surface near the sites is cut into points about
``SAMPLE_REL`` x radius apart (``axis_profile.surface_samples``: each triangle into equal sub-triangles), each
point carrying its share of the area and the protrusion interpolated linearly from its triangle's vertices, so a
ball holds a few hundred points at any tessellation and its statistics are area integrals of the same surface field.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .axis_profile import surface_samples

SAMPLE_REL = 0.16  # sample spacing / ball radius: ~40 / 80 / 160 nm at 250 / 500 / 1000 nm (~280 points per flat ball)
MAX_SPLIT = 64  # a triangle is cut into at most 64² pieces (a 10 µm soma face at 160 nm spacing)


def faces_near(tri: np.ndarray, pts: np.ndarray, radius: float) -> np.ndarray:
    """Indices of the triangles ``tri`` (K, 3, 3) nm that may hold a point within ``radius`` nm of a site ``pts``:
    those whose centroid is within radius + its own farthest-corner distance of the nearest site."""
    if not len(tri) or not len(pts):
        return np.zeros(0, dtype=np.int64)
    cen = tri.mean(axis=1)
    reach = np.linalg.norm(tri - cen[:, None, :], axis=2).max(axis=1)
    d, _ = cKDTree(pts).query(cen, distance_upper_bound=radius + float(reach.max()) + 1.0)
    return np.flatnonzero(d <= radius + reach)


def barycentric(tri: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 3) barycentric weights of points ``p`` (N, 3) in their triangles ``tri`` (N, 3, 3) (clipped to >= 0)."""
    e1, e2, q = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], p - tri[:, 0]
    d11, d12, d22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    q1, q2 = (q * e1).sum(1), (q * e2).sum(1)
    den = np.where(np.abs(d11 * d22 - d12 * d12) > 0, d11 * d22 - d12 * d12, 1.0)
    u = (d22 * q1 - d12 * q2) / den
    v = (d11 * q2 - d12 * q1) / den
    b = np.clip(np.stack([1.0 - u - v, u, v], axis=1), 0.0, None)
    return b / np.maximum(b.sum(1, keepdims=True), 1e-12)


def sampled_neighbourhood(vertices: np.ndarray, faces: np.ndarray, h: np.ndarray, prot: np.ndarray,
                          pts: np.ndarray, radius: float, sample_rel: float = SAMPLE_REL
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per site ``pts`` (S, 3): the area share of the surface within ``radius`` nm that protrudes, and the max and
    area-weighted mean protrusion (nm) there; ``h``: (V,) vertex protrusion (NaN read as 0), ``prot``: (V,) 0/1
    vertex protruding flags, both interpolated linearly over each triangle. NaN where no sample is in the ball."""
    frac, hmax, hmean = (np.full(len(pts), np.nan) for _ in range(3))
    tri_all = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    near = faces_near(tri_all, pts, radius)
    if not len(near):
        return frac, hmax, hmean
    tri = tri_all[near]
    sp, w, k = surface_samples(tri, sample_rel * radius, MAX_SPLIT)
    b = barycentric(tri[k], sp)
    fv = np.asarray(faces)[near][k]
    hs = (b * np.nan_to_num(np.asarray(h, dtype=np.float64), nan=0.0)[fv]).sum(1)
    ps = (b * np.asarray(prot, dtype=np.float64)[fv]).sum(1)
    lists = cKDTree(sp).query_ball_point(pts, radius)
    counts = np.array([len(x) for x in lists])
    ok = counts > 0
    if not ok.any():
        return frac, hmax, hmean
    idx = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
    owner = np.repeat(np.arange(len(pts)), counts)
    area = np.bincount(owner, weights=w[idx], minlength=len(pts))
    frac[ok] = np.bincount(owner, weights=w[idx] * ps[idx], minlength=len(pts))[ok] / area[ok]
    hmean[ok] = np.bincount(owner, weights=w[idx] * hs[idx], minlength=len(pts))[ok] / area[ok]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    hmax[ok] = np.maximum.reduceat(hs[idx], starts[ok])
    return frac, hmax, hmean

"""The synapse-target model's neighbourhood inputs read on evenly spaced surface samples (lengths in nm).

The first models (``target_model._neighbourhood``) took the fraction protruding, the max and the mean protrusion
over the working mesh's *vertices* within 250 / 500 / 1000 nm of a site. How many vertices a ball holds depends on
the tessellation: on the real cell the 250 nm ball held a median of 1 / 4 / 1 / 3 working vertices at 81k / 324k /
1.3M / 5.2M input faces (none for up to 107 of 903 postsynapses), and the model's head share swung with it
(docs/spines.md "Session 25 round 2"). Here the surface near the sites is cut into points about
``SAMPLE_REL`` x radius apart (as ``axis_profile.surface_samples``: each triangle into equal sub-triangles), each
point carrying its share of the area and the protrusion interpolated linearly from its triangle's vertices, so a
ball holds ~100 points at any tessellation and its statistics are area integrals of the same surface field.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .axis_profile import _splits, _sub_centroids

SAMPLE_REL = 0.25  # sample spacing / ball radius: ~62 / 125 / 250 nm at 250 / 500 / 1000 nm (~115 points per flat ball)
MAX_SPLIT = 48  # a triangle is cut into at most 48² pieces (a 12 µm soma face at 250 nm spacing)
CHUNK = 256  # sites per chunk


def faces_near(tri: np.ndarray, pts: np.ndarray, radius: float) -> np.ndarray:
    """Indices of the triangles ``tri`` (K, 3, 3) nm that may hold a point within ``radius`` nm of a site ``pts``:
    those whose centroid is within radius + its own farthest-corner distance of the nearest site."""
    if not len(tri) or not len(pts):
        return np.zeros(0, dtype=np.int64)
    cen = tri.mean(axis=1)
    reach = np.linalg.norm(tri - cen[:, None, :], axis=2).max(axis=1)
    d, _ = cKDTree(pts).query(cen, distance_upper_bound=radius + float(reach.max()) + 1.0)
    return np.flatnonzero(d <= radius + reach)


def valued_samples(tri: np.ndarray, corner_values: np.ndarray, sample_nm: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``axis_profile.surface_samples`` of triangles ``tri`` (K, 3, 3) nm (the centroids of k² equal
    sub-triangles, k = ceil(longest edge / sample_nm) up to ``MAX_SPLIT``), their areas (nm²) and per sample the
    values ``corner_values`` (K, 3, m) interpolated linearly from the corners: (N, 3), (N,), (N, m)."""
    k_of = _splits(tri, sample_nm, MAX_SPLIT)
    size = k_of * k_of
    first = np.r_[0, np.cumsum(size)[:-1]]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1)
    g1, g2 = corner_values[:, 1] - corner_values[:, 0], corner_values[:, 2] - corner_values[:, 0]
    n = int(size.sum())
    pts, wts, vals = np.empty((n, 3)), np.empty(n), np.empty((n, corner_values.shape[2]))
    for k in np.unique(k_of):
        sel = np.flatnonzero(k_of == k)
        bary = _sub_centroids(int(k))
        at = (first[sel][:, None] + np.arange(k * k)).reshape(-1)
        u, v = bary[None, :, 0, None], bary[None, :, 1, None]  # (1, k², 1)
        pts[at] = (tri[sel, 0][:, None] + u * e1[sel][:, None] + v * e2[sel][:, None]).reshape(-1, 3)
        vals[at] = (corner_values[sel, 0][:, None] + u * g1[sel][:, None] + v * g2[sel][:, None]
                    ).reshape(-1, corner_values.shape[2])
        wts[at] = np.repeat(area[sel] / (k * k), k * k)
    return pts, wts, vals


def sampled_neighbourhood(vertices: np.ndarray, faces: np.ndarray, h: np.ndarray, prot: np.ndarray,
                          pts: np.ndarray, radius: float, sample_rel: float = SAMPLE_REL
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per site ``pts`` (S, 3): the area share of the surface within ``radius`` nm that protrudes, and the max and
    area-weighted mean protrusion (nm) there; ``h``: (V,) vertex protrusion (NaN read as 0), ``prot``: (V,) 0/1
    vertex protruding flags, both interpolated linearly over each triangle. NaN where no sample is in the ball.
    Sites go in spatially sorted chunks of ``CHUNK`` (samples of the faces near a chunk only: bounded memory)."""
    frac, hmax, hmean = (np.full(len(pts), np.nan) for _ in range(3))
    faces = np.asarray(faces)
    tri_all = np.asarray(vertices, dtype=np.float64)[faces]
    vv = np.stack([np.nan_to_num(np.asarray(h, dtype=np.float64), nan=0.0), np.asarray(prot, dtype=np.float64)],
                  axis=1)[faces]  # (F, 3 corners, 2)
    cell = np.floor(pts / (4.0 * radius)).astype(np.int64)
    order = np.lexsort((cell[:, 2], cell[:, 1], cell[:, 0])) if len(pts) else np.zeros(0, np.int64)
    for lo in range(0, len(order), CHUNK):
        site = order[lo:lo + CHUNK]
        near = faces_near(tri_all, pts[site], radius)
        if not len(near):
            continue
        sp, w, val = valued_samples(tri_all[near], vv[near], sample_rel * radius)
        lists = cKDTree(sp).query_ball_point(pts[site], radius)
        counts = np.array([len(x) for x in lists])
        ok = counts > 0
        if not ok.any():
            continue
        idx = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
        owner = np.repeat(np.arange(len(site)), counts)
        area = np.bincount(owner, weights=w[idx], minlength=len(site))[ok]
        frac[site[ok]] = np.bincount(owner, weights=w[idx] * val[idx, 1], minlength=len(site))[ok] / area
        hmean[site[ok]] = np.bincount(owner, weights=w[idx] * val[idx, 0], minlength=len(site))[ok] / area
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        hmax[site[ok]] = np.maximum.reduceat(val[idx, 0], starts[ok])
    return frac, hmax, hmean

"""Local relief of the dendrite surface above its own neighbourhood (nm).

The protrusion ``h`` (distance to the axis minus a chunk radius, ``shaft.py``) carries the errors of the shaft
model: an axis off centre by d tilts it by -d cos(angle) around the circumference, a taper or an elliptic
cross-section shifts it along and around the shaft. Those errors vary over the scale of the shaft itself; a spine
is a small, compact rise. The relief of a point is its protrusion minus a low quantile of the protrusion of the
surface within ``radius_nm`` of it (the local shaft level, which smooth shaft-model errors move with it while a
spine covering a small part of that neighbourhood does not). A stubby spine standing 100-200 nm out of its shaft
is then measured against the shaft around it, not against a radius pooled over 2 µm of spiny dendrite.

The level is computed on points spread uniformly over the surface by area (so mesh resolution does not change
it) and interpolated to the mesh vertices.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.stats import group_quantiles


def surface_level(verts: np.ndarray, faces: np.ndarray, area_f: np.ndarray, h: np.ndarray, ok: np.ndarray,
                  sample_index: np.ndarray, sample_points: np.ndarray, radius_nm: float = 1000.0,
                  quantile: float = 0.5, density_per_um2: float = 12.0, max_points: int = 200_000,
                  seed: int = 0, query: np.ndarray | None = None) -> np.ndarray:
    """(V,) local shaft level of the protrusion ``h`` (nm) at each vertex; NaN where it is not defined.

    ``ok`` (V,) bool: vertices whose protrusion is the shaft's (eligible dendrite with a shaft model, not a
    spine found so far); the level is returned at ``query`` vertices (default ``ok``). Points are
    drawn on faces whose three corners are ok, ``density_per_um2`` per µm² (at most ``max_points``), each
    carrying ``h`` interpolated linearly over its face. A point's level is the ``quantile`` of the points within
    ``radius_nm`` whose axis samples (``sample_index`` of the face's first corner into ``sample_points``) lie
    within 1.5 x ``radius_nm`` of its own (the same neurite, not one passing by). A vertex takes the
    inverse-distance mean of the levels of its 4 nearest points.
    """
    nv = len(verts)
    out = np.full(nv, np.nan)
    hf = h[faces]
    fok = ok[faces].all(1) & np.isfinite(hf).all(1)
    idx = np.flatnonzero(fok)
    if len(idx) < 8:
        return out
    a = area_f[idx]
    count = int(min(max_points, max(8, density_per_um2 * a.sum() / 1e6)))
    rng = np.random.default_rng(seed)
    pick = idx[rng.choice(len(idx), size=count, p=a / a.sum())]
    u, w = rng.random(count), rng.random(count)
    flip = u + w > 1
    u[flip], w[flip] = 1 - u[flip], 1 - w[flip]
    tri = verts[faces[pick]]
    pts = tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0]) + w[:, None] * (tri[:, 2] - tri[:, 0])
    hp = (1 - u - w) * hf[pick, 0] + u * hf[pick, 1] + w * hf[pick, 2]
    tree = cKDTree(pts)
    pairs = tree.query_pairs(radius_nm, output_type="ndarray")
    s = sample_index[faces[pick, 0]]
    if len(pairs):
        same = np.linalg.norm(sample_points[s[pairs[:, 0]]] - sample_points[s[pairs[:, 1]]], axis=1) \
            <= 1.5 * radius_nm
        pairs = pairs[same]
    own = np.arange(count)
    gi = np.concatenate([pairs[:, 0], pairs[:, 1], own])
    gj = np.concatenate([pairs[:, 1], pairs[:, 0], own])
    level = group_quantiles(gi, hp[gj], (quantile,), count)[:, 0]
    need = np.flatnonzero(ok if query is None else query)
    if len(need) == 0:
        return out
    k = min(4, count)
    d, j = tree.query(verts[need], k=k)
    d, j = d.reshape(len(need), k), j.reshape(len(need), k)
    wts = 1.0 / np.maximum(d, 1.0)
    out[need] = (level[j] * wts).sum(1) / wts.sum(1)
    return out

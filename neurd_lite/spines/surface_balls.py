"""Neighbourhood statistics of the spine-vertex model read from a fixed-density surface sample (nm inside).

Session 11 (issue 17): the round-2 model averaged over the mesh vertices inside a 350 nm ball. On the real cell's
81k-face mesh most vertices have no other vertex that close, so its ball mean, maximum and curvature collapsed to
the vertex's own value, while the same surface subdivided (324k, 1.3M) held several: the same place read other
inputs at every resolution. Here every statistic is an area-weighted sum over quadrature points on the surface:
each face is cut into k x k equal sub-triangles, k the power of two nearest (in log scale) to what brings the
sub-triangles to the area of an equilateral triangle of side :data:`SPACING_NM` and their longest edge to
:data:`LONG_NM`, and each sub-triangle gives its centroid, its area, the protrusion interpolated there and the
face normal. Midpoint subdivision (how the real cell's 324k / 1.3M / 5.2M meshes are made) halves both, so the
four children of a face split k / 2 times give exactly the points of the parent split k times (k >= 2): a ball
holds the same surface on either mesh. A face smaller than one sub-triangle keeps its one point with probability
area / sub-triangle area (decided by its own coordinates, ``geometry.sampling.face_keys``) and weight area /
that probability, so a fine mesh carries the same number of points per µm² as a coarse one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ..geometry.sampling import face_keys, unit_interval

SPACING_NM = 250.0  # sub-triangle size of the quadrature (~50 points per µm², ~20 in a flat 350 nm ball)
LONG_NM = 800.0  # and longest sub-triangle edge (long thin faces)
MAX_SPLIT = 64  # at most 64 x 64 sub-triangles per face
OWN_FRACTION = 0.5  # the "own" columns (vertex level) read the points within this fraction of the ball radius


@dataclass
class SurfacePoints:
    """Points on the surface: positions (P, 3) nm, area (P,) nm², protrusion (P,) nm (NaN where a corner has none),
    unit face normals (P, 3) as the mesh orients them, the same turned outward from the shaft axis, |normal . radial|."""

    xyz: np.ndarray
    w: np.ndarray
    h: np.ndarray
    normal: np.ndarray
    outward: np.ndarray
    radial_cos: np.ndarray


def _split_centroids(k: int) -> np.ndarray:
    """(k², 3) barycentric coordinates of the centroids of the k x k regular sub-triangles of a triangle."""
    out = []
    for i in range(k):
        for j in range(k - i):
            out.append((i + 1 / 3, j + 1 / 3))  # upward sub-triangle
            if i + j < k - 1:
                out.append((i + 2 / 3, j + 2 / 3))  # downward sub-triangle
    u = np.asarray(out) / k
    return np.c_[1 - u.sum(1), u]


def surface_points(verts: np.ndarray, faces: np.ndarray, area_f: np.ndarray, h: np.ndarray,
                   sample_index: np.ndarray, sample_points: np.ndarray, spacing_nm: float = SPACING_NM,
                   keep: np.ndarray | None = None) -> SurfacePoints:
    """Quadrature points of the surface ``faces`` (see the module docstring; ``area_f`` nm², ``spacing_nm``), with
    the protrusion ``h`` (V,) interpolated linearly over the face and the face normal; the radial direction runs
    from the axis sample (``sample_index`` of the face's first corner into ``sample_points``, nm) to the point.
    ``keep`` (F,) bool: the faces to sample (default all)."""
    area_f = np.asarray(area_f, dtype=float)
    a0 = 0.433 * spacing_nm ** 2
    tri = verts[faces]
    longest = np.sqrt(np.max([((tri[:, a] - tri[:, b]) ** 2).sum(1) for a, b in ((0, 1), (1, 2), (2, 0))], axis=0))
    need = np.maximum(longest / LONG_NM, np.sqrt(area_f / a0))
    k = np.minimum(2 ** np.round(np.log2(np.maximum(need, 1.0))).astype(np.int64), MAX_SPLIT)
    prob = np.where(k > 1, 1.0, np.minimum(area_f / a0, 1.0))
    take = unit_interval(face_keys(tri)[0]) < prob
    if keep is not None:
        take &= keep
    faces, tri, area_f, prob, k = faces[take], tri[take], area_f[take], prob[take], k[take]
    fid, bary = [], []
    for kk in np.unique(k):
        f = np.flatnonzero(k == kk)
        c = _split_centroids(int(kk))
        fid.append(np.repeat(f, len(c)))
        bary.append(np.tile(c, (len(f), 1)))
    sel = np.concatenate(fid)
    bary = np.concatenate(bary)
    xyz = np.einsum("nk,nkd->nd", bary, tri[sel])
    hp = (bary * h[faces[sel]]).sum(1)  # NaN when a corner is NaN
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    fn = (fn / np.maximum(np.linalg.norm(fn, axis=1), 1e-12)[:, None])[sel]
    si = np.asarray(sample_index)[faces[sel, 0]]
    rad = xyz - sample_points[np.maximum(si, 0)]
    rad /= np.maximum(np.linalg.norm(rad, axis=1), 1e-12)[:, None]
    cos = (fn * rad).sum(1)
    w = area_f[sel] / (k[sel] ** 2) / np.maximum(prob[sel], 1e-12)
    return SurfacePoints(xyz, w, hp, fn, fn * np.where(cos < 0, -1.0, 1.0)[:, None], np.abs(cos))


def _pairs(a: np.ndarray, b: np.ndarray, na: np.ndarray, nb: np.ndarray, radius_nm: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) of every point ``b[j]`` within ``radius_nm`` of ``a[i]`` whose normal ``nb[j]`` is not
    opposed to ``na[i]`` (dot > -0.5: the far wall of a thin neck or a touching branch is left out)."""
    m = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius_nm, output_type="ndarray")
    i, j, d = m["i"].astype(np.int64), m["j"].astype(np.int64), m["v"]
    ok = (na[i] * nb[j]).sum(1) > -0.5
    return i[ok], j[ok], d[ok]


def _mean(i: np.ndarray, x: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """(n,) ``w``-weighted mean of ``x`` (one value and weight per pair) per row ``i``, NaN ignored (NaN where all
    are)."""
    ok = np.isfinite(x)
    num = np.bincount(i, np.where(ok, x * w, 0.0), n)
    den = np.bincount(i, np.where(ok, w, 0.0), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)


def _max(i: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, i, np.where(np.isfinite(x), x, -np.inf))
    return np.where(np.isfinite(out), out, np.nan)


def _curvature(i: np.ndarray, j: np.ndarray, pts: SurfacePoints, n: int) -> np.ndarray:
    """(n,) ball curvature (1/nm) from the ball's points alone (area-weighted) (where the centre sits on the surface does not
    matter): with n_i the normalised sum of their outward normals and c_i their centroid, the least-squares slope
    b of z = (p - c_i) . n_i against s = |p - c_i - z n_i|² / 2, curvature = -b (1 / R on a sphere of radius R,
    positive on a dome, 0 where the ball holds fewer than 4 points)."""
    w = pts.w[j]
    cnt = np.bincount(i, minlength=n).astype(float)
    tot = np.maximum(np.bincount(i, w, n), 1e-12)
    nrm = np.zeros((n, 3))
    cen = np.zeros((n, 3))
    for k in range(3):
        nrm[:, k] = np.bincount(i, w * pts.outward[j, k], n)
        cen[:, k] = np.bincount(i, w * pts.xyz[j, k], n) / tot
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1), 1e-12)[:, None]
    d = pts.xyz[j] - cen[i]
    z = (d * nrm[i]).sum(1)
    s = 0.5 * ((d * d).sum(1) - z * z)
    ez, es = np.bincount(i, w * z, n) / tot, np.bincount(i, w * s, n) / tot
    cov = np.bincount(i, w * z * s, n) / tot - ez * es
    var = np.bincount(i, w * s * s, n) / tot - es * es
    ok = (cnt >= 4) & (var > 1e-9 * np.maximum(es * es, 1.0))
    return np.where(ok, -cov / np.where(ok, var, 1.0), 0.0)


def _centre_curvature(i: np.ndarray, j: np.ndarray, d: np.ndarray, own: np.ndarray, centre: np.ndarray,
                      pts: SurfacePoints, radius_nm: float, n: int) -> np.ndarray:
    """(n,) curvature (1/nm) seen from the centre (n, 3) on the surface: the area-weighted mean over the ball's
    points farther than a quarter of the radius of -2 (p_j - c_i) . n_i / |p_j - c_i|², n_i the area-weighted
    outward normal of the points near the centre (``own`` pairs; else of the whole ball); 1 / R on a sphere."""
    nrm = np.zeros((n, 3))
    near = np.zeros((n, 3))
    for k in range(3):
        nrm[:, k] = np.bincount(i, pts.w[j] * pts.outward[j, k], n)
        near[:, k] = np.bincount(i[own], pts.w[j[own]] * pts.outward[j[own], k], n)
    has = np.linalg.norm(near, axis=1) > 0
    nrm[has] = near[has]
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1), 1e-12)[:, None]
    far = d > 0.25 * radius_nm
    i2, j2, d2 = i[far], j[far], d[far]
    k = -2.0 * ((pts.xyz[j2] - centre[i2]) * nrm[i2]).sum(1) / np.maximum(d2 * d2, 1e-6)
    out = _mean(i2, k, pts.w[j2], n)
    return np.where(np.isfinite(out), out, 0.0)


def ball_columns(query: np.ndarray, query_normal: np.ndarray, h_query: np.ndarray, r_query: np.ndarray,
                 pts: SurfacePoints, radius_nm: float) -> dict[str, np.ndarray]:
    """Neighbourhood columns of the spine-vertex model at the ``query`` vertices (Q, 3) nm with raw normals
    ``query_normal``, own protrusion ``h_query`` and shaft radius ``r_query`` (nm), over the surface points
    ``pts``: protrusion mean / max over the ball ("1") and over the ball of each ball point's own ball ("2",
    ~2 x radius), |normal . radial| near the vertex (within :data:`OWN_FRACTION` of the radius, else the nearest
    point), "1" and "2", the curvature x r seen from the vertex (:func:`_centre_curvature`) and the "2" mean of the
    ball curvature (:func:`_curvature`) x r. Keys as ``FEATURES``."""
    q = len(query)
    if q == 0 or len(pts.xyz) == 0:
        return {}
    i, j, d = _pairs(query, pts.xyz, query_normal, pts.normal, radius_nm)
    npnt = len(pts.xyz)
    inner = np.unique(j)  # the points in some query's ball: their own balls give the "2" columns
    a, b, _ = _pairs(pts.xyz[inner], pts.xyz, pts.normal[inner], pts.normal, radius_nm)
    a = inner[a]
    wb, wj = pts.w[b], pts.w[j]
    hp1 = _mean(a, pts.h[b], wb, npnt)
    xp1 = _max(a, pts.h[b], npnt)
    cp1 = _mean(a, pts.radial_cos[b], wb, npnt)
    kp = _curvature(a, b, pts, npnt)
    m1 = _mean(i, pts.h[j], wj, q)
    m2 = _mean(i, hp1[j], wj, q)
    x1 = np.fmax(_max(i, pts.h[j], q), h_query)
    x2 = np.fmax(_max(i, xp1[j], q), x1)
    own = d <= OWN_FRACTION * radius_nm
    ac = _mean(i[own], pts.radial_cos[j[own]], wj[own], q)
    lack = ~np.isfinite(ac)
    if lack.any():
        _, nearest = cKDTree(pts.xyz).query(query[lack])
        ac[lack] = pts.radial_cos[nearest]
    conv = _centre_curvature(i, j, d, own, query, pts, radius_nm, q) * r_query
    return {"h_mean1_nm": m1, "h_mean2_nm": m2, "h_max1_nm": x1, "h_max2_nm": x2, "h_minus_mean2_nm": h_query - m2,
            "radial_cos": ac, "radial_cos_mean1": _mean(i, pts.radial_cos[j], wj, q),
            "radial_cos_mean2": _mean(i, cp1[j], wj, q), "convexity1_rel": conv,
            "convexity_mean2_rel": _mean(i, kp[j], wj, q) * r_query}

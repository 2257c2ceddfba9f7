"""Mesh-ring neighbourhood features of the spine-vertex model (``SpineParams.vertex_feature_set="rings"``; nm).

The session-10 round-1 vertex model read its neighbourhoods over one and two mesh rings (a vertex and its edge
neighbours, then theirs): protrusion mean / max, |normal . radial| means and an umbrella convexity. On meshes of
different tessellation a ring covers different surface, so that model alone was not resolution-stable (real cell
572 / 625 / 609 / 599 spines at 81k / 324k / 1.3M / 5.2M); on a mesh refined to one edge length first
(``SpineParams.normalise_edge_nm``, ``normalise.py``) a ring covers about the same surface at any input
resolution. This module computes those columns (:data:`RING_COLUMNS`); ``vertex_model.py`` adds the rest.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..geometry.meshes import vertex_normals

RING_COLUMNS = ("h_mean1_nm", "h_mean2_nm", "h_max1_nm", "h_max2_nm", "h_minus_mean2_nm", "radial_cos",
                "radial_cos_mean1", "radial_cos_mean2", "convexity_rel", "convexity_mean1_rel",
                "convexity_mean2_rel")


def ring_adjacency(e: np.ndarray, nv: int) -> sp.csr_matrix:
    """(V, V) 0/1 matrix of mesh edges plus the identity: one ring around each vertex, the vertex included."""
    a = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(nv, nv))
    return (a.tocsr() + sp.identity(nv, format="csr")).tocsr()


def ring_mean(a: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """Mean of ``x`` over each vertex's ring (``a``: :func:`ring_adjacency`), ignoring NaN (NaN where all are)."""
    ok = np.isfinite(x)
    num = a @ np.where(ok, x, 0.0)
    den = a @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)


def ring_max(e: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Maximum of ``x`` over each vertex and its edge neighbours (NaN counts as -inf; NaN where all are)."""
    y = np.where(np.isfinite(x), x, -np.inf)
    out = y.copy()
    np.maximum.at(out, e[:, 0], y[e[:, 1]])
    np.maximum.at(out, e[:, 1], y[e[:, 0]])
    return np.where(np.isfinite(out), out, np.nan)


def ring_columns(verts: np.ndarray, faces: np.ndarray, e: np.ndarray, h: np.ndarray, r: np.ndarray,
                 axis_points: np.ndarray, normals: np.ndarray | None = None, flat_rel: float = 0.0
                 ) -> dict[str, np.ndarray]:
    """(V,) columns :data:`RING_COLUMNS` for every vertex: protrusion ``h`` (nm) mean / max over one and two
    rings and the vertex minus its two-ring mean; |normal . radial| (radial: from the vertex's shaft axis point
    ``axis_points`` (V, 3), nm) and its ring means; the umbrella convexity (mean edge neighbour minus the vertex,
    along the outward normal, over the squared mean edge length, times the shaft radius ``r``, nm) and its ring
    means (1 / (2R) on a sphere of radius R, times r). normals: ``geometry.meshes.vertex_normals`` of (verts, faces)
    when the caller has them (not modified). ``flat_rel`` > 0: an umbrella offset within ``flat_rel`` times the
    vertex's distance from the origin (rounding of a vertex that is flat in exact arithmetic, e.g. a refinement
    midpoint) reads as 0, so its sign does not follow the coordinates' last bits."""
    nv = len(verts)
    a = ring_adjacency(e, nv)
    m1 = ring_mean(a, h)
    m2 = ring_mean(a, m1)
    x1 = ring_max(e, h)
    rad = verts - axis_points
    rad /= np.maximum(np.linalg.norm(rad, axis=1), 1e-12)[:, None]
    nrm = vertex_normals(verts, faces) if normals is None else np.array(normals, dtype=np.float64)  # (a copy)
    cos = (nrm * rad).sum(1)
    nrm *= np.where(cos < 0, -1.0, 1.0)[:, None]  # outward along the radial direction
    deg = np.asarray(a.sum(1)).ravel() - 1.0
    lap = (a @ verts - verts) / np.maximum(deg, 1.0)[:, None] - verts
    elen = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1)
    mean_edge = (np.bincount(e[:, 0], elen, nv) + np.bincount(e[:, 1], elen, nv)) / np.maximum(deg, 1.0)
    off = (lap * nrm).sum(1)
    if flat_rel > 0:
        off[np.abs(off) <= flat_rel * np.linalg.norm(verts, axis=1)] = 0.0
    conv = -off / np.maximum(mean_edge, 1.0) ** 2 * r
    c1 = ring_mean(a, conv)
    ac = np.abs(cos)
    ac1 = ring_mean(a, ac)
    return {"h_mean1_nm": m1, "h_mean2_nm": m2, "h_max1_nm": x1, "h_max2_nm": ring_max(e, x1),
            "h_minus_mean2_nm": h - m2, "radial_cos": ac, "radial_cos_mean1": ac1,
            "radial_cos_mean2": ring_mean(a, ac1), "convexity_rel": conv, "convexity_mean1_rel": c1,
            "convexity_mean2_rel": ring_mean(a, c1)}

"""Perimeter of a mesh's cross-section by a plane (nm): an independent check of the cable widths.

A plane through a point with a given normal cuts each face whose corners lie on both sides in one segment; the
summed length of the segments near the point is the cross-section's perimeter, and perimeter / pi is the
diameter of a circle with the same perimeter. It reads the surface itself, not distances from a skeleton vertex,
so it tells a skeleton lying off the axis (which inflates ``cross_section_width_nm``) from a thin surface
(``docs/width_diagnosis.md``, session 20 round 2). Not used by the pipeline.
"""
from __future__ import annotations

import numpy as np


def slice_segments_nm(vertices_nm: np.ndarray, faces: np.ndarray, point_nm: np.ndarray, normal: np.ndarray,
                      max_distance_nm: float) -> np.ndarray:
    """(k, 2, 3) end points (nm) of the cut of ``faces`` by the plane through ``point_nm`` with unit ``normal``,
    one segment per cut face whose midpoint lies within ``max_distance_nm`` of the point. Faces touching the
    plane at a corner only (no sign change) give none."""
    v, f = np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces)
    d = (v - np.asarray(point_nm, dtype=np.float64)) @ np.asarray(normal, dtype=np.float64)
    df = d[f]
    below = df < 0
    cut = below.any(axis=1) & ~below.all(axis=1)
    if not cut.any():
        return np.zeros((0, 2, 3))
    fc, dc, bc = f[cut], df[cut], below[cut]
    pts = []
    for a, b in ((0, 1), (1, 2), (2, 0)):  # each cut face has exactly two crossing edges
        cross = bc[:, a] != bc[:, b]
        s = np.divide(dc[:, a], dc[:, a] - dc[:, b], out=np.zeros(len(dc)), where=cross)
        p = v[fc[:, a]] + s[:, None] * (v[fc[:, b]] - v[fc[:, a]])
        pts.append(np.where(cross[:, None], p, np.nan))
    pts = np.stack(pts, axis=1)  # (n, 3 edges, 3): two finite rows per face
    order = np.argsort(np.isnan(pts[:, :, 0]), axis=1, kind="stable")[:, :2]
    ends = np.take_along_axis(pts, order[:, :, None], axis=1)
    mid = ends.mean(axis=1)
    return ends[np.linalg.norm(mid - point_nm, axis=1) <= max_distance_nm]


def slice_perimeter_nm(vertices_nm: np.ndarray, faces: np.ndarray, point_nm: np.ndarray, normal: np.ndarray,
                       max_distance_nm: float) -> float:
    """Length (nm) of the cut of :func:`slice_segments_nm` (the section's perimeter when it is closed)."""
    seg = slice_segments_nm(vertices_nm, faces, point_nm, normal, max_distance_nm)
    return float(np.linalg.norm(seg[:, 0] - seg[:, 1], axis=1).sum())

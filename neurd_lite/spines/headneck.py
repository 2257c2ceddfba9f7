"""Head/neck split and measurements of one spine (nm inside; the spine table reports µm).

The spine is cut into shells by distance ``t`` from its base centroid (the centroid of the spine vertices that
touch the shaft). Each shell's width is twice the median distance of its vertices to the shell centroid. The
head is the widest distal shell and every shell distal to the first proximal shell narrower than
``neck_ratio`` x head width; everything proximal is neck. A spine with no narrower proximal shell is stubby:
all head, no neck.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadNeckParams:
    """neck_ratio: a shell narrower than this fraction of the head width is neck. min_vertices_to_split: fewer
    vertices -> the spine is all head. max_shells: number of distance shells (fewer on coarse spines)."""

    neck_ratio: float = 0.7
    min_vertices_to_split: int = 9
    max_shells: int = 8
    min_head_start_fraction: float = 0.3


@dataclass
class SpineGeometry:
    """Head/neck split and measurements of one spine, all nm / nm² / nm³."""

    base_nm: np.ndarray
    t_split_nm: float
    length_nm: float
    head_width_nm: float
    neck_width_nm: float
    neck_length_nm: float
    area_nm2: float
    volume_nm3: float


def _shell_widths(pos: np.ndarray, t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Width (nm) of each distance shell [edges[i], edges[i+1]); NaN for shells with < 3 vertices."""
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
    widths = np.full(len(edges) - 1, np.nan)
    for b in np.unique(idx):
        sel = pos[idx == b]
        if len(sel) >= 3:
            widths[b] = 2.0 * np.median(np.linalg.norm(sel - sel.mean(0), axis=1))
    return widths


def closed_volume_nm3(tri: np.ndarray, apex: np.ndarray) -> float:
    """Volume (nm³) enclosed by triangles ``tri`` (K, 3, 3) closed by a fan to ``apex`` (the base centroid).

    Uses the signed tetrahedron sum; the result is capped by the convex hull volume of the points, which also
    stands in when the faces are inconsistently wound (sum near zero).
    """
    a, b, c = tri[:, 0] - apex, tri[:, 1] - apex, tri[:, 2] - apex
    vol = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)
    pts = np.unique(tri.reshape(-1, 3), axis=0)
    hull = 0.0
    if len(pts) >= 4:
        try:
            from scipy.spatial import ConvexHull

            hull = float(ConvexHull(np.vstack([pts, apex])).volume)
        except Exception:  # noqa: BLE001 - coplanar / degenerate point sets have no hull
            hull = 0.0
    if vol <= 0.05 * hull:
        return hull
    return min(vol, hull) if hull > 0 else vol


def spine_geometry(vpos: np.ndarray, base_mask: np.ndarray, tri: np.ndarray,
                   params: HeadNeckParams | None = None, base_nm: np.ndarray | None = None) -> SpineGeometry:
    """Split one spine and measure it.

    vpos: (k, 3) nm spine vertex positions; base_mask: (k,) True for vertices touching the shaft;
    tri: (m, 3, 3) nm spine triangles; base_nm: the attachment point on the shaft (default: centroid of the
    base vertices). Returns a SpineGeometry (t_split_nm = 0 for a stubby, all-head spine).
    """
    p = params or HeadNeckParams()
    if base_nm is not None:
        base = np.asarray(base_nm, dtype=np.float64)
    else:
        base = vpos[base_mask].mean(0) if base_mask.any() else vpos.mean(0)
    t = np.linalg.norm(vpos - base, axis=1)
    length = float(t.max()) if len(t) else 0.0
    area = float(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())
    volume = closed_volume_nm3(tri, base) if len(tri) else 0.0
    t_split, head_w, neck_w = 0.0, np.nan, np.nan
    if len(vpos) >= p.min_vertices_to_split and length > 0:
        n_shells = int(np.clip(len(vpos) // 5, 3, p.max_shells))
        edges = np.linspace(0.0, length * (1 + 1e-9), n_shells + 1)
        widths = _shell_widths(vpos, t, edges)
        distal = np.flatnonzero((edges[:-1] >= p.min_head_start_fraction * length) & np.isfinite(widths))
        if len(distal):
            k = int(distal[np.argmax(widths[distal])])
            head_w = float(widths[k])
            start = k
            while start > 0 and not (np.isfinite(widths[start - 1]) and widths[start - 1] < p.neck_ratio * head_w):
                start -= 1
            if start > 0:
                t_split = float(edges[start])
                neck = widths[:start]
                neck_w = float(np.nanmedian(neck)) if np.isfinite(neck).any() else np.nan
        else:
            head_w = float(np.nanmax(widths)) if np.isfinite(widths).any() else np.nan
    else:
        head_w = 2.0 * float(np.median(np.linalg.norm(vpos - vpos.mean(0), axis=1))) if len(vpos) else np.nan
    return SpineGeometry(base_nm=base, t_split_nm=t_split, length_nm=length, head_width_nm=head_w,
                         neck_width_nm=neck_w, neck_length_nm=t_split, area_nm2=area, volume_nm3=volume)

"""Mesh cross-sections along a soma-to-soma path: two tubes side by side (nm).

Where two neurites touch and run along each other, the merged skeleton often traces them as one straight cable:
no branch point, no turn, no calibre step on the branch radii. The mesh still shows the contact: a plane across the
path cuts the surface in two loops of neurite calibre side by side, the one the skeleton runs through and the other
neurite next to it, for as long as the two run together. A cell's own branch point shows a second loop too (the
sister child), but only for the first micrometres, where the children have not yet diverged. ``side_by_side``
marks the path vertices inside runs of two-tube sections at least ``min_run_nm`` long.
"""
from __future__ import annotations

import numpy as np


def _section_loops(mesh, faces: np.ndarray, origin: np.ndarray, normal: np.ndarray) -> list[tuple[float, float]]:
    """(area nm², distance nm from ``origin``) of each closed loop where the plane through ``origin`` with
    ``normal`` cuts the faces ``faces`` of ``mesh``; [] when the plane misses them or the loops do not close."""
    import trimesh
    from shapely.geometry import Point

    sub = mesh.submesh([faces], append=True)
    try:
        sec = sub.section(plane_origin=origin, plane_normal=normal)
        if sec is None:
            return []
        flat, to_3d = sec.to_2D(normal=normal, check=False)
        o = Point(*trimesh.transform_points([origin], np.linalg.inv(to_3d))[0][:2])
        return [(float(pl.area), float(pl.distance(o))) for pl in flat.polygons_full]
    except (ValueError, IndexError):  # degenerate sections (a plane along a face) say nothing
        return []


def side_by_side(mesh, face_to_skeleton: np.ndarray, skeleton_x: np.ndarray, path: np.ndarray, s: np.ndarray,
                 branch_radius: np.ndarray, ok: np.ndarray, min_run_nm: float = 4000.0, reach_nm: float = 4000.0,
                 tangent_nm: float = 2000.0, max_slope: float | None = None) -> np.ndarray:
    """(m,) 1 at path vertices inside a run of two-tube cross-sections of at least ``min_run_nm``, else 0.

    mesh: the neuron's working mesh (nm); face_to_skeleton: (F,) skeleton vertex of each face; skeleton_x: (N, 3)
    skeleton vertices (nm); path: (m,) skeleton vertex ids; s: (m,) arclength (nm); branch_radius: (m,) nm; ok:
    (m,) bool, vertices to look at (outside the somata). At each vertex the faces mapped to skeleton vertices
    within ``reach_nm`` are cut by the plane normal to the path (direction over ±``tangent_nm``); a second loop
    counts when its equivalent radius is at least half the branch radius and it lies within twice the branch
    radius + 1 µm of the skeleton point (spine necks and heads are smaller; other neurites farther). Vertices
    whose section is empty (gaps of fragmented meshes) neither start nor break a run. max_slope: when set, a run
    counts only if the second loop's distance from the skeleton point spans at most this share of the run's
    length: two neurites running together keep their spacing, while a sister
    child diverging from a branch point, or a neurite crossing at an angle, does not.
    """
    from scipy.spatial import cKDTree

    m = len(path)
    out = np.zeros(m)
    if mesh is None or face_to_skeleton is None or m < 3:
        return out
    f2s = np.asarray(face_to_skeleton, dtype=np.int64)
    order = np.argsort(f2s, kind="stable")
    starts = np.searchsorted(f2s[order], np.arange(len(skeleton_x) + 1))
    tree = cKDTree(skeleton_x)
    x = skeleton_x[path]
    two = np.zeros(m, dtype=bool)
    seen = np.zeros(m, dtype=bool)
    gap = np.full(m, np.nan)  # distance (nm) of the nearest second loop
    for q in np.flatnonzero(ok):
        lo = np.searchsorted(s, s[q] - tangent_nm)
        hi = min(np.searchsorted(s, s[q] + tangent_nm, side="right"), m) - 1
        t = x[hi] - x[lo]
        if np.linalg.norm(t) == 0:
            continue
        near = tree.query_ball_point(x[q], reach_nm)
        faces = np.concatenate([order[starts[v]:starts[v + 1]] for v in near]) if near else np.zeros(0, np.int64)
        if len(faces) < 10:
            continue
        loops = sorted(_section_loops(mesh, faces, x[q], t / np.linalg.norm(t)), key=lambda z: z[1])
        if not loops:
            continue
        seen[q] = True
        rb = branch_radius[q] if np.isfinite(branch_radius[q]) and branch_radius[q] > 0 else np.sqrt(loops[0][0] / np.pi)
        second = [d for a, d in loops[1:] if np.sqrt(a / np.pi) >= 0.5 * rb and d <= 2.0 * rb + 1000.0]
        two[q] = bool(second)
        gap[q] = min(second) if second else np.nan
    q = 0
    while q < m:
        if not two[q]:
            q += 1
            continue
        j = q
        while j + 1 < m and (two[j + 1] or not seen[j + 1]) and ok[j + 1]:
            j += 1
        last = max(k for k in range(q, j + 1) if two[k])
        if s[last] - s[q] >= min_run_nm and (max_slope is None or _steady(s[q:last + 1], gap[q:last + 1], max_slope)):
            out[q:last + 1] = 1.0
        q = j + 1
    return out


def _steady(s: np.ndarray, gap: np.ndarray, max_slope: float) -> bool:
    """True when ``gap`` (nm; NaN skipped) spans at most ``max_slope`` times the run's length ``s`` (nm): the two
    neurites keep their spacing (a neurite crossing at an angle approaches and recedes, a sister child diverges)."""
    ok = np.isfinite(gap)
    if ok.sum() < 2:
        return True
    return float(np.ptp(gap[ok])) <= max_slope * max(float(np.ptp(s)), 1.0)

"""Decisions between quantities that are equal in exact arithmetic (nm).

Meshes made of regular rings (synthetic tubes; midpoint refinement of them) hold many lengths and distances that
are equal up to float rounding: the two diagonals of a symmetric quadrilateral, an axis point at the centre of a
ring of vertices. A ``<`` or an argmin between them is then decided by the last bits of the input, and a one-ulp
change of a coordinate flips it (docs/benchmarks.md, "Session 24: spine boundaries under last-bit input changes").
Values within :data:`TIE_REL` of each other count as equal and the tie is broken by something the rounding does
not touch (topology, or all tied members together).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

TIE_REL = 1e-9  # relative; ~10^7 ulps of a float64, 1e-6 nm at 1 mm: far below any length that matters


def tied_members(tree: cKDTree, points: np.ndarray, dist: np.ndarray) -> list[tuple[int, list[int]]]:
    """(row, members) for each of ``points`` (M, 3) nm whose nearest distance ``dist`` (M,) in ``tree`` is shared
    by more than one tree point within :data:`TIE_REL`: the indices (into the tree's data) of all of them."""
    r = dist * (1.0 + TIE_REL) + 1e-9
    tied = np.flatnonzero(tree.query_ball_point(points, r, return_length=True) > 1)
    if not len(tied):
        return []
    return list(zip(tied.tolist(), tree.query_ball_point(points[tied], r[tied])))


def outside_nearest(tree: cKDTree, points: np.ndarray, dist: np.ndarray, idx: np.ndarray, surface: np.ndarray,
                    normals: np.ndarray, resolve_ties: bool = True) -> np.ndarray:
    """(M,) bool: each point (M, 3) nm lies on the outer side of its nearest surface vertex (``tree`` over
    ``surface``; ``dist``, ``idx`` its nearest distance and index; ``normals`` outward unit normals).
    With ``resolve_ties``, where several vertices are nearest within :data:`TIE_REL` (a point at the centre of a
    ring), the signed offsets along their normals are summed, so the answer does not depend on which of them
    rounding put first (False: the vertex ``idx`` names alone)."""
    signed = ((points - surface[idx]) * normals[idx]).sum(1)
    for row, members in tied_members(tree, points, dist) if resolve_ties else ():
        m = np.asarray(members)
        signed[row] = ((points[row] - surface[m]) * normals[m]).sum()
    return signed > 0

"""The kept mesh vertex nearest each skeleton vertex (nm): where the surface map's searches start.

TEASAR's skeleton vertices are mesh vertices, so each finds itself (or a coincident vertex) here; both the surface
map (:func:`~.skeletonizer.surface_nearest`) and the untraced-branch search (:mod:`.untraced`) seed from it.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def nearest_kept(vertices: np.ndarray, used: np.ndarray, points: np.ndarray
                 ) -> tuple[np.ndarray, cKDTree, np.ndarray, np.ndarray]:
    """(kept vertex ids, KD-tree over their positions, each point's distance nm to its nearest, that vertex's id)
    for ``points`` (S, 3) nm among the mesh ``vertices`` (V, 3) nm where ``used`` (V,) bool."""
    cand = np.flatnonzero(used)
    tree = cKDTree(vertices[cand])
    dist, local = tree.query(points)
    return cand, tree, dist, cand[local]

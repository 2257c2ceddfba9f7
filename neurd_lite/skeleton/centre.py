"""Skeleton centring: move each skeleton vertex to the centre of the mesh cross-section it owns (nm).

Skeletonizers that walk mesh vertices (TEASAR) run along the surface; the spine stage centres the skeleton
before measuring protrusion (``spines.detect``, ``centre_skeleton``).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.stats import weighted_group_quantile
from .model import Skeleton


def centred_skeleton(skel: Skeleton, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray | None,
                     eligible_faces: np.ndarray, iterations: int = 3, smooth_rounds: int = 2) -> Skeleton:
    """A copy of ``skel`` with every vertex moved to the centre of the mesh cross-section it owns (nm).

    Skeletonizers that walk mesh vertices (TEASAR) run along the surface, so distances from them are not radii.
    Each skeleton vertex owns the faces mapped to it (``face_to_skeleton``; nearest vertex when absent); its new
    position is the area-weighted centroid of those face centroids, trimmed ``iterations`` times to faces within
    1.25 x the median distance + 60 nm (spines drop out), then smoothed along the tree. Vertices owning no
    faces keep their position. Edges, root and radius are unchanged.
    """
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]
    c = tri.mean(1)
    a = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    owner = np.full(len(f), -1, dtype=np.int64) if face_to_skeleton is None else np.asarray(face_to_skeleton).copy()
    miss = (owner < 0) | (owner >= skel.n_vertices)
    if miss.any():
        owner[miss] = cKDTree(skel.vertices).query(c[miss])[1]
    use = np.asarray(eligible_faces, dtype=bool).copy()
    ns = skel.n_vertices
    pos = skel.vertices.copy()
    for it in range(iterations + 1):
        w = a * use
        cnt = np.bincount(owner, weights=w, minlength=ns)
        cen = np.stack([np.bincount(owner, weights=c[:, k] * w, minlength=ns) for k in range(3)], 1)
        has = cnt > 0
        pos[has] = cen[has] / cnt[has, None]
        if it == iterations:
            break
        dist = np.linalg.norm(c - pos[owner], axis=1)
        med = weighted_group_quantile(owner[eligible_faces], dist[eligible_faces], a[eligible_faces], 0.5, ns)
        use = eligible_faces & (dist <= 1.25 * np.nan_to_num(med[owner], nan=np.inf) + 60.0)
    e = skel.edges
    for _ in range(smooth_rounds):
        acc = pos.copy()
        deg = np.ones(ns)
        np.add.at(acc, e[:, 0], pos[e[:, 1]])
        np.add.at(acc, e[:, 1], pos[e[:, 0]])
        np.add.at(deg, e.reshape(-1), 1.0)
        pos = acc / deg[:, None]
    return Skeleton(pos, e.copy(), skel.radius.copy(), skel.root)

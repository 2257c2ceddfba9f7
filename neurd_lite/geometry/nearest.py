"""Exact nearest surface point of many points on a triangle mesh, in bounded memory (nm in, nm out).

A KD-tree over face centroids proposes ``k`` faces per point, the exact point-triangle distance picks the
closest, and a ball query (radius: best distance + the largest face circumradius) covers the points where a face
outside the candidates could still be closer. Points are processed in chunks, so memory grows with the chunk,
not with the number of points (1M points on a 1M-face mesh stay well under 4 GB; see tests/test_anchors.py).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

DEFAULT_CHUNK = 50_000  # points per chunk: ~16 candidates x 50k points x 9 floats ~ 60 MB of triangles


def _exact_best(tri: np.ndarray, pts: np.ndarray, owner: np.ndarray, cand: np.ndarray, n_pts: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point the candidate triangle with the smallest exact distance (candidates given as flat pairs)."""
    import trimesh

    cp = trimesh.triangles.closest_point(tri[cand], pts[owner])
    d = np.linalg.norm(cp - pts[owner], axis=1)
    order = np.lexsort((d, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    face = np.zeros(n_pts, np.int64)
    dist = np.full(n_pts, np.inf)
    point = np.zeros((n_pts, 3))
    face[owner[first]], dist[owner[first]], point[owner[first]] = cand[first], d[first], cp[first]
    return face, dist, point


class NearestFaces:
    """A reusable nearest-face index over one mesh's triangles (nm)."""

    def __init__(self, triangles_nm: np.ndarray) -> None:
        self.tri = np.asarray(triangles_nm, dtype=np.float64)
        cen = self.tri.mean(1)
        self.reach = float(np.linalg.norm(self.tri - cen[:, None, :], axis=2).max()) if len(cen) else 0.0
        self.tree = cKDTree(cen) if len(cen) else None

    def query(self, points_nm: np.ndarray, k: int = 16, chunk: int = DEFAULT_CHUNK
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(face (N,), distance nm (N,), closest point (N, 3)) of each point; exact, chunked."""
        pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
        face, dist, point = np.zeros(len(pts), np.int64), np.full(len(pts), np.inf), np.zeros((len(pts), 3))
        if len(pts) == 0 or self.tree is None:
            return face, dist, point
        for lo in range(0, len(pts), max(int(chunk), 1)):
            sl = slice(lo, lo + chunk)
            face[sl], dist[sl], point[sl] = self._query(pts[sl], k)
        return face, dist, point

    def _query(self, pts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tri, tree = self.tri, self.tree
        k = int(min(max(k, 1), len(tri)))
        dk, cand = tree.query(pts, k=k)
        dk, cand = dk.reshape(len(pts), k), cand.reshape(len(pts), k)
        owner = np.repeat(np.arange(len(pts)), k)
        face, dist, point = _exact_best(tri, pts, owner, cand.reshape(-1), len(pts))
        unsure = np.flatnonzero((dk[:, -1] < dist + self.reach) & (k < len(tri)))
        if len(unsure):
            balls = tree.query_ball_point(pts[unsure], dist[unsure] + self.reach)
            counts = np.array([len(b) for b in balls])
            extra = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
            f2, d2, p2 = _exact_best(tri, pts[unsure], np.repeat(np.arange(len(unsure)), counts), extra, len(unsure))
            better = d2 < dist[unsure]
            face[unsure[better]], dist[unsure[better]], point[unsure[better]] = f2[better], d2[better], p2[better]
        return face, dist, point


def closest_faces(mesh, points_nm: np.ndarray, k: int = 16, chunk: int = DEFAULT_CHUNK
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest surface point of each point (nm) -> (face index (N,), distance nm (N,), closest point (N, 3)).

    Exact (see module docstring); ``mesh`` is anything with ``triangles`` (a trimesh); chunked by ``chunk`` points.
    """
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
    return NearestFaces(np.asarray(mesh.triangles, dtype=np.float64)).query(pts, k, chunk)

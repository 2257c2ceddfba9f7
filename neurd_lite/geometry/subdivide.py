"""Points of trimesh's ``remesh.subdivide_to_size`` without its vertex bookkeeping (nm in, nm out).

``subdivide_to_size`` bisects every edge longer than ``max_edge`` at its midpoint, splits each face by the number
of its long edges (one: a fan to the opposite corner; two: a corner triangle and the quad cut along its shorter
diagonal; three: 1 -> 4) and repeats. Every decision reads coordinates only: an edge's length, its midpoint
``(a + b) / 2`` (the same float for either end order) and the diagonal test. So each face can be split on its own
corner coordinates, with no shared-edge table (the ``unique_rows`` sort per round that costs trimesh most of its
time), and the corners met on the way are exactly the vertices trimesh adds. Used where only the point set
matters (the soma's surface voxels, :func:`neurd_lite.feature.perisomatic.surface_voxels`).
"""
from __future__ import annotations

import numpy as np


def _sq_len(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances of paired rows, summed x, y, z in order (trimesh's expression)."""
    return ((a - b) ** 2).sum(axis=1)


def subdivision_points(vertices: np.ndarray, faces: np.ndarray, max_edge: float, max_iter: int = 10) -> np.ndarray:
    """(P, 3) corners of the faces of ``trimesh.remesh.subdivide_to_size(vertices, faces, max_edge, max_iter)``
    that it creates or keeps (with repeats; the unused input vertices are not included): with the input
    vertices, the set of its output vertices. Raises ValueError("max_iter exceeded!") where trimesh does."""
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[np.asarray(faces, dtype=np.int64)]  # (F, 3, 3) corners of the faces still being split
    done: list[np.ndarray] = []
    for i in range(max_iter + 1):
        a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
        split = np.column_stack([_sq_len(a, b) ** 0.5, _sq_len(b, c) ** 0.5, _sq_len(c, a) ** 0.5]) > max_edge
        count = split.sum(axis=1)
        done.append(tri[count == 0].reshape(-1, 3))  # finished: trimesh keeps it as it is
        if not count.any():
            break
        if i >= max_iter:
            raise ValueError("max_iter exceeded!")
        mid = np.stack([(a + b) / 2.0, (b + c) / 2.0, (c + a) / 2.0], axis=1)  # per edge (v0v1, v1v2, v2v0)
        parts = []
        one = count == 1
        if one.any():
            j = np.argmax(split[one], axis=1)
            r, t, m = np.arange(len(j)), tri[one], mid[one]
            pa, pb, pc, pp = t[r, j], t[r, (j + 1) % 3], t[r, (j + 2) % 3], m[r, j]
            parts.append(np.stack([pa, pp, pc, pp, pb, pc], axis=1).reshape(-1, 3, 3))
        two = count == 2
        if two.any():
            j = (np.argmin(split[two], axis=1) + 1) % 3
            r, t, m = np.arange(len(j)), tri[two], mid[two]
            pa, pb, pc = t[r, j], t[r, (j + 1) % 3], t[r, (j + 2) % 3]
            pp, pq = m[r, j], m[r, (j + 1) % 3]
            aq = (_sq_len(pa, pq) <= _sq_len(pp, pc))[:, None]
            parts.append(np.stack([pp, pb, pq], axis=1))
            parts.append(np.stack([pa, pp, np.where(aq, pq, pc)], axis=1))
            parts.append(np.stack([np.where(aq, pa, pp), pq, pc], axis=1))
        three = count == 3
        if three.any():
            t, m = tri[three], mid[three]
            parts.append(np.stack([t[:, 0], m[:, 0], m[:, 2], m[:, 0], t[:, 1], m[:, 1],
                                   m[:, 2], m[:, 1], t[:, 2], m[:, 0], m[:, 1], m[:, 2]], axis=1).reshape(-1, 3, 3))
        tri = np.concatenate(parts)
    return np.concatenate(done) if done else np.zeros((0, 3))

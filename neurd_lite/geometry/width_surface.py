"""Points spread evenly over each face of a mesh, for a width that does not depend on the tessellation (nm).

The corner median of :func:`~neurd_lite.geometry.width.cross_section_width_nm` samples the surface only at mesh
vertices. On a mesh whose vertices lie on the membrane and whose faces are chords (any decimated mesh), that reads
the circumscribed radius; flat subdivision of the same mesh adds vertices on the chords, inside the membrane, so
the same surface reads narrower (real cell 81k -> 1.3M faces: x 0.85, ``docs/width_diagnosis.md``). Sampling
the piecewise-flat surface itself at a fixed spacing, each sample weighted by the area it stands for, gives the
same distribution for any tessellation of that surface.
"""
from __future__ import annotations

import numpy as np

#: Surface sample spacing (nm): each face is cut into an n x n grid of sub-triangles with n = ceil(longest
#: edge / spacing), at most ``MAX_GRID``; real 81k-face mesh (edges ~250 nm): n = 3, 1.3M faces (~60 nm): n = 1.
SPACING_NM = 100.0
MAX_GRID = 6


def _grid_barycentric(n: int) -> np.ndarray:
    """(n², 3) barycentric centroids of the n x n sub-triangles of a triangle (equal areas)."""
    pts = []
    for i in range(n):
        for j in range(n - i):
            pts.append(((i + 1 / 3) / n, (j + 1 / 3) / n))  # upright sub-triangle
            if i + j < n - 1:
                pts.append(((i + 2 / 3) / n, (j + 2 / 3) / n))  # inverted one
    uv = np.asarray(pts)
    return np.column_stack([1.0 - uv.sum(axis=1), uv])


def surface_samples(vertices_nm: np.ndarray, faces: np.ndarray, spacing_nm: float = SPACING_NM,
                    max_grid: int = MAX_GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (P, 3) nm, face (P,) row of ``faces``, weight (P,) nm²): the sub-triangle centroids of each face
    cut into an n x n grid (n from its longest edge, see ``SPACING_NM``), each weighted by its sub-area. Ordered
    by grid size, then face."""
    tri = np.asarray(vertices_nm, dtype=np.float64)[np.asarray(faces)]
    if not len(tri):
        return np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0)
    e = np.stack([tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 2]], axis=1)
    longest = np.sqrt((e * e).sum(axis=2)).max(axis=1)
    area = 0.5 * np.linalg.norm(np.cross(e[:, 0], -e[:, 2]), axis=1)
    grid = np.clip(np.ceil(longest / spacing_nm), 1, max_grid).astype(np.int64)
    pts, fid, wts = [], [], []
    for n in np.unique(grid):
        sel = np.flatnonzero(grid == n)
        b = _grid_barycentric(int(n))
        pts.append(np.einsum("pk,fkd->fpd", b, tri[sel]).reshape(-1, 3))
        fid.append(np.repeat(sel, len(b)))
        wts.append(np.repeat(area[sel] / len(b), len(b)))
    return np.concatenate(pts), np.concatenate(fid), np.concatenate(wts)

"""Move a reduced mesh's vertices back onto the surface it was reduced from (opt-in, ``DecimateParams.prereduce_refit``).

meshoptimizer keeps input vertex positions, so its reduced faces are chords of the input surface: on convex parts
(spine heads, thin necks) they lie inside it, on concave parts outside (docs/spines.md, session 22: 7.8 nm mean,
31 nm p90 inward near the real cell's spines at 5.2M faces). Here each reduced face reads how far the input
surface it stands for lies from its plane (the area-weighted mean signed distance of the input faces nearest to
it, along its normal), and each vertex moves along its normal by the area-weighted mean of that gap over its
faces: a face whose three corners move by g moves by g, so the reduced surface ends centred on the input one.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshes import face_centroids_normals_nm

REFIT_CHUNK = 1_000_000  # input faces per block of the nearest-face query


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    n = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, n, out=np.zeros_like(rows), where=n > 0)


def refit_to_input(in_vertices: np.ndarray, in_faces: np.ndarray, vertices: np.ndarray, faces: np.ndarray
                   ) -> np.ndarray:
    """(V, 3) vertices (nm) of the reduced mesh (``vertices``, ``faces``) moved along their normals by the signed
    gap to the input mesh (``in_vertices``, ``in_faces``, nm) measured at their faces (module doc). Input faces
    facing away from their nearest reduced face (the other wall of a thin part) are not counted; a reduced face
    no input face is nearest to, and a vertex of only such faces, does not move."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    cent, nrm = face_centroids_normals_nm(v, f)
    area2 = np.linalg.norm(nrm, axis=1)  # twice each reduced face's area
    unit = _unit(nrm)
    tree = cKDTree(cent)
    gap_sum, w_sum = np.zeros(len(f)), np.zeros(len(f))
    for lo in range(0, len(in_faces), REFIT_CHUNK):
        c, n = face_centroids_normals_nm(in_vertices, in_faces[lo:lo + REFIT_CHUNK])
        j = np.asarray(tree.query(c, k=1)[1], dtype=np.int64)
        w = np.linalg.norm(n, axis=1)  # input face area weight (x2)
        ok = np.einsum("fd,fd->f", n, unit[j]) > 0
        gap = np.einsum("fd,fd->f", c - cent[j], unit[j])  # > 0: the input lies outside the reduced face
        gap_sum += np.bincount(j[ok], weights=(w * gap)[ok], minlength=len(f))
        w_sum += np.bincount(j[ok], weights=w[ok], minlength=len(f))
    g = np.divide(gap_sum, w_sum, out=np.zeros(len(f)), where=w_sum > 0)
    seen = (w_sum > 0).astype(np.float64) * area2
    corners = f.reshape(-1)
    vg = np.bincount(corners, weights=np.repeat(g * seen, 3), minlength=len(v))
    vw = np.bincount(corners, weights=np.repeat(seen, 3), minlength=len(v))
    vn = _unit(np.column_stack([np.bincount(corners, weights=np.repeat(nrm[:, d], 3), minlength=len(v))
                                for d in range(3)]))
    step = np.divide(vg, vw, out=np.zeros(len(v)), where=vw > 0)
    return v + step[:, None] * vn


"""Optional decimation (quadric edge collapse, fast-simplification) with face maps both ways.

Per-face results computed on the decimated "working" mesh land on input faces through
``input_to_working`` (see :func:`map_faces`: nearest centroid facing the same way).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError


@dataclass(frozen=True)
class DecimateParams:
    """target_faces: decimate to about this many faces; only when the input has more than
    ``min_faces_to_decimate`` faces (None disables decimation). aggressiveness: fast-simplification ``agg``."""

    target_faces: int | None = None
    min_faces_to_decimate: int = 0
    aggressiveness: int = 7


@dataclass
class DecimationResult:
    """vertices (V', 3) nm and faces (F', 3) of the working mesh; input_to_working (F,) working face of each
    input face; working_to_input (F',) one representative input face per working face;
    vertex_map (V,) working vertex each input vertex collapsed into; seconds spent."""

    vertices: np.ndarray
    faces: np.ndarray
    input_to_working: np.ndarray
    working_to_input: np.ndarray
    seconds: float

    @property
    def is_identity(self) -> bool:
        return len(self.input_to_working) == len(self.faces) and bool(
            np.array_equal(self.input_to_working, np.arange(len(self.faces))))


def identity(vertices: np.ndarray, faces: np.ndarray) -> DecimationResult:
    """A no-op result: the working mesh is the input mesh."""
    nf = len(faces)
    return DecimationResult(np.asarray(vertices, np.float64), np.asarray(faces, np.int64), np.arange(nf),
                            np.arange(nf), 0.0)


def _unit_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def map_faces(src_vertices: np.ndarray, src_faces: np.ndarray, dst_vertices: np.ndarray, dst_faces: np.ndarray,
              k: int = 6) -> np.ndarray:
    """(F_src,) index of a dst face for every src face (coordinates nm).

    Among the ``k`` dst faces with the nearest centroids, the nearest one facing the same way (positive
    normal dot product) is chosen, so a face is not mapped onto the facing wall of a touching neurite;
    when none faces the same way, the nearest is used.
    """
    src_cent = src_vertices[src_faces].mean(axis=1)
    dst_cent = dst_vertices[dst_faces].mean(axis=1)
    k = max(1, min(k, len(dst_faces)))
    _, cand = cKDTree(dst_cent).query(src_cent, k=k)
    cand = cand.reshape(len(src_faces), k)
    dots = np.einsum("fkd,fd->fk", _unit_normals(dst_vertices, dst_faces)[cand],
                     _unit_normals(src_vertices, src_faces))
    same = dots > 0
    pick = np.where(same.any(axis=1), np.argmax(same, axis=1), 0)
    return cand[np.arange(len(cand)), pick].astype(np.int64)


def decimate(vertices: np.ndarray, faces: np.ndarray, params: DecimateParams | None = None) -> DecimationResult:
    """Decimate a mesh (nm) to about ``params.target_faces`` faces, keeping face maps both ways.

    Returns the identity result when decimation is disabled or the mesh is already small enough.
    """
    p = params or DecimateParams()
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if p.target_faces is None or len(faces) <= max(p.target_faces, p.min_faces_to_decimate):
        return identity(vertices, faces)
    if p.target_faces < 4:
        raise InputError(f"decimation target of {p.target_faces} faces is too small", hint="use at least 1000")
    import fast_simplification

    t0 = time.perf_counter()
    wv, wf = fast_simplification.simplify(vertices, faces, target_count=int(p.target_faces), agg=p.aggressiveness)
    wv = np.asarray(wv, dtype=np.float64)
    wf = np.asarray(wf, dtype=np.int64).reshape(-1, 3)
    if len(wf) == 0:
        raise InputError("decimation removed every face", hint="raise target_faces or disable decimation")
    in2w = map_faces(vertices, faces, wv, wf)
    w2in = np.full(len(wf), -1, dtype=np.int64)
    w2in[in2w[::-1]] = np.arange(len(faces))[::-1]  # first input face mapped to each working face
    missing = np.flatnonzero(w2in < 0)
    if len(missing):
        w2in[missing] = map_faces(wv, wf[missing], vertices, faces)
    return DecimationResult(wv, wf, in2w, w2in, round(time.perf_counter() - t0, 4))

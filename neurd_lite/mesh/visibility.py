"""Which faces of a region face the outside (membrane) and which are enclosed (nucleus, inner surfaces).

Rays leave each face along both normal directions and two tilted pairs (face orientation does not matter).
A face sees the outside when one of its rays passes through a voxel of the outside (see
``voxel_fill.solid_interior``) before it hits another face, within ``reach_nm``. A nucleus face's rays hit
the membrane or the nucleus's far side first. Only faces near the region can block a ray. Lengths nm.

Backends: Embree through trimesh when embreex is installed (a dependency on x86-64, where its wheels exist), else
:class:`.segment_hits.SegmentBVH` (exact float64 numpy, ~3x slower; never trimesh's rtree intersector, which is
minutes slower and needs rtree). On the benchmark cells both give the same faces (docs/benchmarks.md, session 12);
they can only differ where Embree's float32 hit lands within rounding of a sample point or a triangle edge.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import coordinate_order, face_centroids_nm
from .segment_hits import SegmentBVH
from .voxel_fill import VoxelGrid

BACKENDS = ("auto", "embree", "exact")


def _ray_directions(normals: np.ndarray) -> np.ndarray:
    """(F, 6, 3) unit directions per face: ±n and ±(n ± 0.6 t) for a tangent t."""
    helper = np.where(np.abs(normals[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    t = np.cross(normals, helper)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    dirs = [normals, normals + 0.6 * t, normals - 0.6 * t]
    dirs = [d / np.linalg.norm(d, axis=1, keepdims=True) for d in dirs]
    return np.stack(dirs + [-d for d in dirs], axis=1)


def _first_hits(intersector: object, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Distance (nm) from each origin to the first face hit along its direction (inf on a miss)."""
    tri, ray, loc = intersector.intersects_id(  # type: ignore[attr-defined]
        origins, directions, multiple_hits=False, return_locations=True)
    out = np.full(len(origins), np.inf)
    if len(ray):
        out[ray] = np.linalg.norm(loc - origins[ray], axis=1)
    return out


def _first_outside(origins: np.ndarray, d: np.ndarray, outside: np.ndarray, grid: VoxelGrid,
                   reach_nm: float) -> np.ndarray:
    """Per ray: distance (nm) of its first sample (every half voxel from the origin, below reach_nm) in an
    outside voxel; inf when there is none. Rays leave the loop at their first outside sample."""
    step = 0.5 * grid.voxel_nm
    first = np.full(len(origins), np.inf)
    live = np.arange(len(origins))
    for s in np.arange(step, reach_nm + step, step):
        if s >= reach_nm or len(live) == 0:
            break
        ijk = grid.index(origins[live] + s * d[live])
        hit = outside[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
        first[live[hit]] = s
        live = live[~hit]
    return first


def _sees_outside(blocker: object, origins: np.ndarray, d: np.ndarray, outside: np.ndarray,
                  grid: VoxelGrid, reach_nm: float) -> np.ndarray:
    """Per ray: does it pass an outside voxel before its first mesh hit (and within reach_nm)?

    The samples lie every half voxel along the ray; a ray sees the outside when its first outside sample comes
    before its first hit (the same answer as testing every sample below the hit). Only rays with an outside
    sample are cast. blocker: a trimesh ray intersector (first-hit distances) or a :class:`SegmentBVH` (does
    the segment from the ray's start to that sample meet the mesh)."""
    start = 0.02 * grid.voxel_nm
    first = _first_outside(origins, d, outside, grid, reach_nm)
    todo = np.flatnonzero(np.isfinite(first))
    seen = np.zeros(len(origins), dtype=bool)
    if len(todo) == 0:
        return seen
    p, dt = origins[todo] + start * d[todo], d[todo]
    if isinstance(blocker, SegmentBVH):
        seen[todo] = ~blocker.meets(p, dt, first[todo] - start)
    else:
        seen[todo] = first[todo] < _first_hits(blocker, p, dt) + start
    return seen


def _blocker(vertices_nm: np.ndarray, faces: np.ndarray, backend: str) -> object:
    """The ray backend over these faces: Embree (through trimesh) or the exact :class:`SegmentBVH`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend != "exact":
        import trimesh
        import trimesh.ray

        if trimesh.ray.has_embree:
            return trimesh.Trimesh(vertices=vertices_nm, faces=faces, process=False).ray
        if backend == "embree":
            raise ImportError("backend='embree' needs embreex (pip install embreex)")
    return SegmentBVH(vertices_nm[faces])


def outer_faces(vertices_nm: np.ndarray, faces: np.ndarray, face_ids: np.ndarray, outside: np.ndarray,
                grid: VoxelGrid, reach_nm: float = 3000.0, max_tested: int = 60_000, backend: str = "auto",
                centroids: np.ndarray | None = None, sample_by_coordinates: bool = False) -> np.ndarray:
    """(len(face_ids),) bool: True where the face sees the outside voxels within ``reach_nm`` (nm; float64
    vertices).

    outside: bool grid (``grid``) of empty space connected to the grid border. When there are more than
    ``max_tested`` faces, a fixed random sample of that many (positions in ``face_ids``; with
    ``sample_by_coordinates``, in the faces' centroid coordinate order, so the same faces in any listing order) is
    ray-tested and every other face takes the answer of the nearest tested face (so the cost stays flat on fine
    meshes). backend: "auto" (Embree when
    embreex is installed, else the exact numpy one), "embree" or "exact". centroids: (F, 3)
    ``face_centroids_nm(vertices_nm, faces)`` when the caller has them (read, not recomputed).
    """
    face_ids = np.asarray(face_ids, dtype=np.int64)
    if len(face_ids) > max_tested:
        from scipy.spatial import cKDTree

        if centroids is None:
            centroids = face_centroids_nm(vertices_nm, faces)
        pick = np.random.default_rng(0).choice(len(face_ids), max_tested, replace=False)
        pick = np.sort(coordinate_order(centroids[face_ids])[0][pick] if sample_by_coordinates else pick)
        tested = outer_faces(vertices_nm, faces, face_ids[pick], outside, grid, reach_nm, max_tested, backend,
                             centroids)
        mine = centroids[face_ids]  # = face_centroids_nm(vertices_nm, faces[face_ids]): row by row
        _, nearest = cKDTree(mine[pick]).query(mine)
        return tested[nearest]
    if len(face_ids) == 0:
        return np.zeros(0, dtype=bool)
    tri = vertices_nm[faces[face_ids]]
    centre = (tri[:, 0] + tri[:, 1] + tri[:, 2]) / 3.0  # = tri.mean(axis=1) (float64 vertices)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    ok = length > 0
    result = np.ones(len(face_ids), dtype=bool)  # degenerate faces: keep with their neighbours (outer)
    if not ok.any():
        return result
    normal = normal[ok] / length[ok, None]
    centre = centre[ok]
    dirs = _ray_directions(normal)  # (n, 6, 3)
    # only faces near the region can block its rays
    lo = centre.min(axis=0) - reach_nm
    hi = centre.max(axis=0) + reach_nm
    all_c = face_centroids_nm(vertices_nm, faces) if centroids is None else centroids
    near = np.all((all_c >= lo) & (all_c <= hi), axis=1)
    ray = _blocker(vertices_nm, faces[near], backend)
    seen = np.zeros(len(centre), dtype=bool)
    # the straight pair (±n) settles most membrane faces; the tilted pairs only run for the rest
    for cols in ((0, 3), (1, 2, 4, 5)):
        todo = np.flatnonzero(~seen)
        if len(todo) == 0:
            break
        d = dirs[todo][:, cols].reshape(-1, 3)
        origins = np.repeat(centre[todo], len(cols), axis=0)
        hits = _sees_outside(ray, origins, d, outside, grid, reach_nm)
        seen[todo] = hits.reshape(-1, len(cols)).any(axis=1)
    result[ok] = seen
    return result

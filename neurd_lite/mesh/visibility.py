"""Which faces of a region face the outside (membrane) and which are enclosed (nucleus, inner surfaces).

Rays leave each face along both normal directions and two tilted pairs (face orientation does not matter).
A face sees the outside when one of its rays passes through a voxel of the outside (see
``voxel_fill.solid_interior``) before it hits another face, within ``reach_nm``. A nucleus face's rays hit
the membrane or the nucleus's far side first. Ray casting uses trimesh (Embree when embreex is installed)
on the faces near the region only. Lengths nm.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import face_centroids_nm
from .voxel_fill import VoxelGrid


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


def _sees_outside(intersector: object, origins: np.ndarray, d: np.ndarray, outside: np.ndarray,
                  grid: VoxelGrid, reach_nm: float) -> np.ndarray:
    """Per ray: does it pass an outside voxel before its first mesh hit (and within reach_nm)?

    Sample by sample along the rays (every half voxel): a ray leaves the loop at its first outside sample or
    its first hit, so most rays cost one or two look-ups (the same sample points as testing every sample)."""
    start = 0.02 * grid.voxel_nm
    limit = np.minimum(_first_hits(intersector, origins + start * d, d) + start, reach_nm)
    step = 0.5 * grid.voxel_nm
    seen = np.zeros(len(origins), dtype=bool)
    live = np.arange(len(origins))
    for s in np.arange(step, reach_nm + step, step):
        live = live[s < limit[live]]
        if len(live) == 0:
            break
        ijk = grid.index(origins[live] + s * d[live])
        hit = outside[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
        seen[live[hit]] = True
        live = live[~hit]
    return seen


def outer_faces(vertices_nm: np.ndarray, faces: np.ndarray, face_ids: np.ndarray, outside: np.ndarray,
                grid: VoxelGrid, reach_nm: float = 3000.0, max_tested: int = 60_000) -> np.ndarray:
    """(len(face_ids),) bool: True where the face sees the outside voxels within ``reach_nm`` (nm; float64
    vertices).

    outside: bool grid (``grid``) of empty space connected to the grid border. When there are more than
    ``max_tested`` faces, a fixed random sample of that many is ray-tested and every other face takes the
    answer of the nearest tested face (so the cost stays flat on fine meshes).
    """
    face_ids = np.asarray(face_ids, dtype=np.int64)
    if len(face_ids) > max_tested:
        from scipy.spatial import cKDTree

        pick = np.sort(np.random.default_rng(0).choice(len(face_ids), max_tested, replace=False))
        tested = outer_faces(vertices_nm, faces, face_ids[pick], outside, grid, reach_nm, max_tested)
        centroids = face_centroids_nm(vertices_nm, faces[face_ids])
        _, nearest = cKDTree(centroids[pick]).query(centroids)
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
    all_c = face_centroids_nm(vertices_nm, faces)
    near = np.all((all_c >= lo) & (all_c <= hi), axis=1)
    import trimesh

    ray = trimesh.Trimesh(vertices=vertices_nm, faces=faces[near], process=False).ray
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

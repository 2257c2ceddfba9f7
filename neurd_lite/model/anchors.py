"""Synapse anchors: where every synapse sits, computed once per neuron and read by every later stage.

For each synapse (nm): its nearest working-mesh face and input face, distance to the mesh (nm), closest surface
point, skeleton vertex and branch of that face, and ``is_far`` (farther from the mesh than ``max_distance_nm``,
the one far-synapse limit: such synapses count nowhere). Skeleton-only neurons anchor to the nearest skeleton
vertex instead (``distance_nm`` is then to that vertex, ``face`` -1, limit ``max_skeleton_distance_nm``).
The compartment stage counts synapses per ``skeleton_vertex``; the synapse stage labels targets from ``face``;
features place synapses through the ``skeleton_vertex`` column written into ``n.synapses``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geometry.nearest import DEFAULT_CHUNK, NearestFaces
from .facemap import FaceMap
from .limits import FAR_NM, SKELETON_FAR_NM  # noqa: F401 - re-exported


@dataclass(eq=False)
class Anchors:
    """One row per synapse. working_face / face: nearest working / input face (-1: non-finite position or no
    mesh); distance_nm; closest_nm (N, 3) closest surface point (the skeleton vertex for skeleton-only
    neurons); skeleton_vertex and branch (-1 when far or unmapped); is_far."""

    working_face: np.ndarray
    face: np.ndarray
    distance_nm: np.ndarray
    closest_nm: np.ndarray
    skeleton_vertex: np.ndarray
    branch: np.ndarray
    is_far: np.ndarray

    def __len__(self) -> int:
        return len(self.face)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"working_face": self.working_face, "face": self.face,
                             "distance_to_mesh_nm": self.distance_nm, "skeleton_vertex": self.skeleton_vertex,
                             "branch": self.branch, "is_far": self.is_far})


def _positions(synapses: pd.DataFrame) -> np.ndarray:
    return synapses[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)


def anchor_to_mesh(points_nm: np.ndarray, working_triangles_nm: np.ndarray, face_map: FaceMap,
                   input_centroids_nm: np.ndarray, face_to_skeleton: np.ndarray | None,
                   face_branch: np.ndarray | None, max_distance_nm: float = FAR_NM, k: int = 16,
                   chunk: int = DEFAULT_CHUNK, centroid_tree: cKDTree | None = None) -> Anchors:
    """Anchors on a mesh: exact nearest working face (chunked), the nearest input face mapped to it, and the
    skeleton vertex / branch of that input face (per-input-face arrays; None: -1). centroid_tree: a k-d tree
    over the working faces' centroids to reuse (see :class:`~neurd_lite.geometry.nearest.NearestFaces`)."""
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(pts).all(axis=1)
    wf = np.full(len(pts), -1, dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    cp = np.full((len(pts), 3), np.nan)
    index = NearestFaces(working_triangles_nm, centroid_tree=centroid_tree)
    wf[finite], dist[finite], cp[finite] = index.query(pts[finite], k, chunk)
    face = face_map.nearest_input_faces(wf, pts, input_centroids_nm)
    is_far = ~(dist <= max_distance_nm)
    sv = np.full(len(pts), -1, dtype=np.int64)
    br = np.full(len(pts), -1, dtype=np.int64)
    ok = (face >= 0) & ~is_far
    if face_to_skeleton is not None:
        sv[ok] = np.asarray(face_to_skeleton, dtype=np.int64)[face[ok]]
    if face_branch is not None:
        br[ok] = np.asarray(face_branch, dtype=np.int64)[face[ok]]
    return Anchors(wf, face, dist, cp, sv, br, is_far)


def anchor_to_skeleton(points_nm: np.ndarray, skeleton_vertices_nm: np.ndarray, vertex_branch: np.ndarray | None,
                       max_distance_nm: float = SKELETON_FAR_NM) -> Anchors:
    """Anchors of a skeleton-only neuron: the nearest skeleton vertex within ``max_distance_nm``."""
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(pts).all(axis=1)
    n = len(pts)
    dist = np.full(n, np.inf)
    idx = np.full(n, -1, dtype=np.int64)
    sk = np.asarray(skeleton_vertices_nm, dtype=np.float64)
    if len(sk) and finite.any():
        d, i = cKDTree(sk).query(pts[finite])
        dist[finite], idx[finite] = d, i
    is_far = ~(dist <= max_distance_nm)
    sv = np.where(is_far, -1, idx)
    cp = np.full((n, 3), np.nan)
    cp[idx >= 0] = sk[idx[idx >= 0]]
    br = np.full(n, -1, dtype=np.int64)
    if vertex_branch is not None:
        br[sv >= 0] = np.asarray(vertex_branch, dtype=np.int64)[sv[sv >= 0]]
    none = np.full(n, -1, dtype=np.int64)
    return Anchors(none, none.copy(), dist, cp, sv, br, is_far)


def write_anchor_columns(synapses: pd.DataFrame, anchors: Anchors, mesh: bool) -> pd.DataFrame:
    """A copy of the synapse table with the anchors' ``is_far`` and ``skeleton_vertex`` (-1 when far) and, for
    mesh neurons, ``distance_to_mesh_nm``."""
    out = synapses.copy()
    if mesh:
        out["distance_to_mesh_nm"] = anchors.distance_nm
    out["is_far"] = anchors.is_far
    out["skeleton_vertex"] = anchors.skeleton_vertex
    return out

"""Turned surface next to a spine: the rim a spine on dense spiny dendrite may take (nm; session 26, default).

A shaft wall faces away from its axis: its outward normal is radial (cos = 1 with the direction from the nearest
axis sample, tangent component removed). Where a spine rises from the shaft the surface turns away from radial
towards the spine's own axis: a smoothed junction (a fillet) or the base of a neck has normals at 60-90 degrees
to radial, whatever the mesh's tessellation. The junction rim (``rim.py``) is gated to sparsely spiny dendrite
because on dense dendrite the vertex model already takes the crease and the rim added plain shaft; on finely
meshed, smoothed spines (a 2M-face member) the model leaves the fillet and the neck base on the shaft. This step
gives a dense spine only the part of its rim whose surface is turned: plain shaft beside it keeps a radial normal
and is not taken. Normals are area-weighted over a ball (``radius_nm``) so that vertex noise of a fine mesh does
not decide it.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshes import face_areas_nm2, vertex_areas_nm2, vertex_normals


def turned_vertices(verts: np.ndarray, faces: np.ndarray, fld, candidates: np.ndarray, radius_nm: float,
                    max_cos: float) -> np.ndarray:
    """(V,) bool: ``candidates`` (vertex ids) whose area-weighted mean normal within ``radius_nm`` (nm) makes a
    cosine below ``max_cos`` with the radial direction from their nearest shaft-axis sample (``fld``:
    :class:`ShaftField`); vertices without an axis sample are never turned."""
    out = np.zeros(len(verts), dtype=bool)
    idx = np.asarray(candidates, dtype=np.int64)
    s = np.asarray(fld.sample_index)[idx] if len(idx) else idx
    idx, s = idx[s >= 0], s[s >= 0]
    if not len(idx):
        return out
    radial = verts[idx] - fld.sample_points_nm[s]
    if fld.sample_tangent is not None:
        t = fld.sample_tangent[s]
        radial -= (radial * t).sum(1)[:, None] * t
    radial /= np.maximum(np.linalg.norm(radial, axis=1), 1e-12)[:, None]
    nrm = getattr(fld, "vertex_normals", None)  # the shaft fit's vertex_normals(verts, faces), when it has them
    nrm = nrm if nrm is not None and len(nrm) == len(verts) else vertex_normals(verts, faces)
    weighted = nrm * vertex_areas_nm2(faces, face_areas_nm2(verts, faces), len(verts))[:, None]
    balls = cKDTree(verts).query_ball_point(verts[idx], radius_nm)
    sizes = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(balls))
    members = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls]) if sizes.sum() else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(idx)), sizes)
    mean = np.column_stack([np.bincount(owner, weights=weighted[members, c], minlength=len(idx)) for c in range(3)])
    mean /= np.maximum(np.linalg.norm(mean, axis=1), 1e-12)[:, None]
    out[idx] = (mean * radial).sum(1) < max_cos
    return out

"""Cable width from surface area per cable length (nm), for ``FeatureParams.width.sample="area"`` (opt-in).

A tube of diameter d has d = lateral area / (pi x length). Per skeleton vertex, the area of the kept (non-spine)
faces of every vertex within ``window_nm`` of it along the tree (running the same way,
:func:`~neurd_lite.geometry.width_centre.window_pairs`) is divided by pi x their cable (half of each incident
skeleton edge). Nothing reads the skeleton vertex position across the cable, and a mesh area does not depend on
its tessellation, so the width does not move with the skeleton's offset from the axis or with subdivision (real
cell 81k / 40k / 1.3M: whole-cell median spread 1.03x; corners 1.44x). The shaft surface under each excluded spine
is restored as the spine's vector area (the sum of its faces' oriented areas equals the area vector of any cap
closing the spine's base), given to the skeleton vertex holding most of its faces.

Reads a window average, not a cross-section: on synthetic members it gets compartment medians within a few % of
the truth at default resolution and on coarse meshes (``docs/width_diagnosis.md``, session 20), but single
vertices near branch points and tips are noisier than the cross-section widths.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .width import skeleton_tangents
from .width_centre import window_pairs


def spine_base_area_nm2(vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                        face_spine: np.ndarray, n_vertices: int) -> np.ndarray:
    """(N,) area (nm²) of the shaft surface under the spines (``face_spine`` >= 0: spine id per face), per
    skeleton vertex: each spine's vector area (norm of the summed oriented face areas), at the vertex of
    ``face_to_skeleton`` holding most of the spine's faces (ties: the lowest vertex)."""
    out = np.zeros(n_vertices)
    fs, f2s = np.asarray(face_spine), np.asarray(face_to_skeleton)
    sp = np.flatnonzero((fs >= 0) & (f2s >= 0))
    if not len(sp):
        return out
    tri = np.asarray(vertices_nm, dtype=np.float64)[np.asarray(faces)[sp]]
    vec_f = 0.5 * np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    ids, inv = np.unique(fs[sp], return_inverse=True)
    vec = np.stack([np.bincount(inv, weights=vec_f[:, k], minlength=len(ids)) for k in range(3)], 1)
    nv = np.int64(n_vertices)
    key, cnt = np.unique(inv.astype(np.int64) * nv + f2s[sp], return_counts=True)
    spine, vert = key // nv, key % nv
    order = np.lexsort((vert, -cnt, spine))  # per spine: most faces first, then the lowest vertex
    first = order[np.unique(spine[order], return_index=True)[1]]
    np.add.at(out, vert[first], np.linalg.norm(vec[spine[first]], axis=1))
    return out


def area_width_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                  keep_faces: np.ndarray, window_nm: float, face_spine: np.ndarray | None = None,
                  exclude_vertices: np.ndarray | None = None, tangents: np.ndarray | None = None) -> np.ndarray:
    """(N,) width (diameter, nm) per skeleton vertex: (kept face area + spine base area) / (pi x cable), both
    summed over the vertices within ``window_nm`` (nm, path distance) running the same way. ``face_spine``:
    spine id per face (-1 none; None: no base restored). ``exclude_vertices``: (N,) bool, vertices whose area
    and cable are left out (the soma). Vertices without area or cable in their window get 2 x ``sk.radius``."""
    n = sk.n_vertices
    v, f = np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces)
    f2s = np.asarray(face_to_skeleton)
    kept = np.flatnonzero(np.asarray(keep_faces, dtype=bool) & (f2s >= 0))
    tri = v[f[kept]]
    face_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    area = np.bincount(f2s[kept], weights=face_area, minlength=n)
    if face_spine is not None:
        area += spine_base_area_nm2(v, f, f2s, face_spine, n)
    cable = np.asarray(sk.csgraph.sum(axis=1)).ravel() / 2.0  # half of every incident edge (nm)
    if exclude_vertices is not None:
        area[exclude_vertices] = 0.0
        cable[exclude_vertices] = 0.0
    tang = skeleton_tangents(sk) if tangents is None else tangents
    src, nb = window_pairs(sk, window_nm, tang)
    a_win = np.bincount(src, weights=area[nb], minlength=n)
    l_win = np.bincount(src, weights=cable[nb], minlength=n)
    width = 2.0 * np.asarray(sk.radius, dtype=np.float64).copy()
    ok = (a_win > 0) & (l_win > 0)
    width[ok] = a_win[ok] / (np.pi * l_win[ok])
    return width

"""Cable width from surface area per cable length (nm), for ``FeatureParams.width.sample="area"`` (opt-in).

A tube of diameter d has d = lateral area / (pi x length). Per skeleton vertex, the area of the kept (non-spine)
faces of every vertex within ``window_nm`` of it along the tree (running the same way,
:func:`~neurd_lite.geometry.width_centre.window_pairs`) is divided by pi x their cable (half of each incident
skeleton edge). Nothing reads the skeleton vertex position across the cable, and a mesh area does not depend on
its tessellation, so the width does not move with the skeleton's offset from the axis or with subdivision (real
cell 81k / 40k / 1.3M: whole-cell median spread 1.03x; corners 1.44x). The shaft surface under each excluded spine
is restored as the spine's vector area (the sum of its faces' oriented areas equals the area vector of any cap
closing the spine's base), given to the skeleton vertex holding most of its faces.

The window is twice the vertex's own width (first pass at +-1000 nm), 500 nm to ``area_window_nm``.
Reads a window average, not a cross-section: on synthetic members it gets compartment medians within a few % of
the truth at default resolution and on coarse meshes (``docs/width_diagnosis.md``, session 20), but single
vertices near branch points and tips are noisier than the cross-section widths.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .width import skeleton_tangents
from .width_centre import window_pairs

#: Window of the first pass (nm), whose width sets each vertex's own window in the second.
FIRST_WINDOW_NM = 1000.0
#: A vertex's window is this many of its first-pass widths (tune: thin axons read their boutons over long
#: windows, dendrites average out branch points and tips over long ones; default-resolution axon median
#: |log(width / true)| .128 at a fixed 1000 nm, .103 here; basal .165 -> .124).
WINDOW_WIDTHS = 2.0
#: Shortest window (nm).
MIN_WINDOW_NM = 500.0


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


def _vertex_area_cable(sk: Any, v: np.ndarray, f: np.ndarray, f2s: np.ndarray, keep_faces: np.ndarray,
                       face_spine: np.ndarray | None, exclude_vertices: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(N,) kept face area + spine base area (nm²) and (N,) cable (nm, half of every incident edge) per skeleton
    vertex, zero on ``exclude_vertices``."""
    n = sk.n_vertices
    kept = np.flatnonzero(np.asarray(keep_faces, dtype=bool) & (f2s >= 0))
    tri = v[f[kept]]
    face_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    area = np.bincount(f2s[kept], weights=face_area, minlength=n)
    if face_spine is not None:
        area += spine_base_area_nm2(v, f, f2s, face_spine, n)
    cable = np.asarray(sk.csgraph.sum(axis=1)).ravel() / 2.0
    if exclude_vertices is not None:
        area[exclude_vertices] = 0.0
        cable[exclude_vertices] = 0.0
    return area, cable


def _windowed_width(sk: Any, area: np.ndarray, cable: np.ndarray, window_nm: float | np.ndarray,
                    tang: np.ndarray) -> np.ndarray:
    """(N,) summed area / (pi x summed cable) over each vertex's window (nm); 2 x ``sk.radius`` where either is 0."""
    n = sk.n_vertices
    src, nb = window_pairs(sk, window_nm, tang)
    a_win = np.bincount(src, weights=area[nb], minlength=n)
    l_win = np.bincount(src, weights=cable[nb], minlength=n)
    width = 2.0 * np.asarray(sk.radius, dtype=np.float64).copy()
    ok = (a_win > 0) & (l_win > 0)
    width[ok] = a_win[ok] / (np.pi * l_win[ok])
    return width


def area_width_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                  keep_faces: np.ndarray, window_nm: float | np.ndarray, face_spine: np.ndarray | None = None,
                  exclude_vertices: np.ndarray | None = None, tangents: np.ndarray | None = None) -> np.ndarray:
    """(N,) width (diameter, nm) per skeleton vertex: (kept face area + spine base area) / (pi x cable), both
    summed over the vertices within ``window_nm`` (nm, path distance; one value or one per vertex) running the
    same way. ``face_spine``:
    spine id per face (-1 none; None: no base restored). ``exclude_vertices``: (N,) bool, vertices whose area
    and cable are left out (the soma). Vertices without area or cable in their window get 2 x ``sk.radius``."""
    area, cable = _vertex_area_cable(sk, np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces),
                                     np.asarray(face_to_skeleton), keep_faces, face_spine, exclude_vertices)
    tang = skeleton_tangents(sk) if tangents is None else tangents
    return _windowed_width(sk, area, cable, window_nm, tang)


def adaptive_area_width_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                           keep_faces: np.ndarray, max_window_nm: float, face_spine: np.ndarray | None = None,
                           exclude_vertices: np.ndarray | None = None, tangents: np.ndarray | None = None
                           ) -> np.ndarray:
    """(N,) :func:`area_width_nm` with each vertex's window ``WINDOW_WIDTHS`` x its width from a first pass at
    +-``FIRST_WINDOW_NM``, clipped to ``MIN_WINDOW_NM``-``max_window_nm`` (nm): short on thin cable, long on thick.
    The per-vertex area and cable are summed once for both passes."""
    tang = skeleton_tangents(sk) if tangents is None else tangents
    area, cable = _vertex_area_cable(sk, np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces),
                                     np.asarray(face_to_skeleton), keep_faces, face_spine, exclude_vertices)
    first = _windowed_width(sk, area, cable, min(FIRST_WINDOW_NM, max_window_nm), tang)
    window = np.clip(WINDOW_WIDTHS * np.nan_to_num(first, nan=0.0), min(MIN_WINDOW_NM, max_window_nm), max_window_nm)
    return _windowed_width(sk, area, cable, window, tang)

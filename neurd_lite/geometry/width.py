"""Cross-section width of a cable around its skeleton (nm).

The engine has three width measures, kept apart because each feeds outputs that must not move:

- ``cross_section_width_nm`` (here): 2 x the median distance of a skeleton vertex's mesh points from the
  skeleton axis, the along-axis offset removed. The features' ``width_*`` and NEURD's E/I width window use it
  (face corners; face centres for NEURD's own choice in ``benchmarks/bench_features.py``).
- ``Skeleton.radius`` (``skeleton/skeletonizer.py``): median distance of the surface vertices mapped to a
  vertex, without removing the along-axis offset, on the working mesh before spines are known. It places the
  skeleton and feeds the spine stage, so replacing it moves spines.
- the shaft radius of spine detection (``spines/shaft.py``): an area-weighted 0.45 quantile per 1 µm chunk of
  the pruned, re-centred skeleton, tuned for protrusion; a median would include spine surface.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def skeleton_tangents(sk: Any) -> np.ndarray:
    """(N, 3) unit skeleton direction at each vertex (parent to first child; zero for isolated vertices)."""
    par = sk.parent
    first_child = np.full(sk.n_vertices, -1, dtype=np.int64)
    has_par = np.flatnonzero(par >= 0)
    first_child[par[has_par[::-1]]] = has_par[::-1]  # any child works; the lowest index wins
    prev = np.where(par >= 0, par, np.arange(sk.n_vertices))
    nxt = np.where(first_child >= 0, first_child, np.arange(sk.n_vertices))
    t = sk.vertices[nxt] - sk.vertices[prev]
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return np.divide(t, norm, out=np.zeros_like(t), where=norm > 0)


def cross_section_width_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                           keep_faces: np.ndarray, at: str = "corners",
                           tangents: np.ndarray | None = None, chunk_faces: int = 500_000) -> np.ndarray:
    """(N,) width (diameter, nm) per skeleton vertex: 2 x the median distance from the skeleton axis of the kept
    faces' ``"corners"`` (on the surface) or ``"centres"`` (inside the surface of a coarse mesh), each face
    counted at its ``face_to_skeleton`` vertex. Vertices without kept faces get 2 x ``sk.radius``. The distances are
    computed ``chunk_faces`` faces at a time (memory: 16 bytes per point kept for the median, not ~200)."""
    width = 2.0 * sk.radius.copy()
    if at not in ("corners", "centres"):
        raise ValueError(f"at must be 'corners' or 'centres', got {at!r}")
    v = np.asarray(vertices_nm)
    f = np.asarray(faces)
    f2s = np.asarray(face_to_skeleton)
    kept = np.flatnonzero(np.asarray(keep_faces, dtype=bool) & (f2s >= 0))
    tang = skeleton_tangents(sk) if tangents is None else tangents
    per = 3 if at == "corners" else 1
    idx = np.repeat(f2s[kept], per)
    dist = np.empty(len(idx))
    for lo in range(0, len(kept), chunk_faces):  # bounded temporaries: ~200 bytes per point in flight
        fk = f[kept[lo:lo + chunk_faces]]
        pts = v[fk.reshape(-1)] if at == "corners" else v[fk].mean(axis=1)
        i = idx[lo * per:lo * per + len(pts)]
        t = tang[i]
        off = pts - sk.vertices[i]
        off -= (off * t).sum(axis=1, keepdims=True) * t  # across the cable only
        dist[lo * per:lo * per + len(pts)] = np.linalg.norm(off, axis=1)
    if len(idx):
        order = np.lexsort((dist, idx))
        idx, dist = idx[order], dist[order]
        del order
        uniq, start, count = np.unique(idx, return_index=True, return_counts=True)
        lo_d = dist[start + (count - 1) // 2]
        hi_d = dist[start + count // 2]
        width[uniq] = lo_d + hi_d  # 2 x median
    return width

"""Cable centre fitted on a window of skeleton, for the cross-section width (nm).

The skeleton is placed before spines are known: on coarse meshes it sits 1.5-1.7 cable radii off the cable axis,
on spiny dendrites at default resolution 0.9-1.5 radii (pulled toward spine bases; ``docs/width_diagnosis.md``).
The median corner distance about an off-axis point over-reads the width (an offset of one radius gives 1.41x).
Here each skeleton vertex gets a centre fitted by a least-squares circle (Kasa) through the non-spine surface
corners of every skeleton vertex within ``window_nm`` of it along the tree (and running the same way), projected
on the plane across its tangent; the width is then measured about that centre by
:func:`~neurd_lite.geometry.width.cross_section_width_nm`. A single vertex's slice sees a partial arc (its faces
were assigned by the off-axis vertex, spine bases leave holes), which the pooled window fills.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .width import corner_pairs, cross_section_width_nm, skeleton_tangents

#: The window of a vertex is at most this many of its own radii (half its width about the vertex itself): thin
#: axons curve within a micrometre, so pooling them over the full window blurs the fit (tune: l23_pyramidal 5
#: axon median |log(width / true)| .080 single slice, .144 at +-500 nm, .089 capped at 2 radii).
WINDOW_RADII = 2.0
#: Fewest corner pairs a window needs for a fit; fewer: the vertex keeps its own position.
MIN_POINTS = 6
#: Pooled neighbours must run the same way: |cos| of the two tangents at least this (keeps child branches at a
#: branch point out of the parent's fit).
MIN_TANGENT_COS = 0.8
#: Largest accepted shift of the centre, as a multiple of the root-mean-square distance of the window's corners
#: from the vertex (a right fit moves by less than that: shift d, cable radius r, rms ~ sqrt(d² + r²)); farther
#: fits (a partial arc whose circle runs away) keep the vertex's own position.
MAX_SHIFT_RMS = 1.5


def window_pairs(sk: Any, window_nm: float | np.ndarray, tangents: np.ndarray, min_cos: float = MIN_TANGENT_COS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(source, neighbour) vertex pairs with tree path distance <= ``window_nm`` (nm; one value or one per
    source vertex), each vertex with itself,
    neighbours whose tangent runs within ``min_cos`` of the source's only. Found by walking outward along the
    tree from every vertex at once (never stepping back)."""
    n = sk.n_vertices
    g = sk.csgraph  # cached on the Skeleton: symmetric, weighted by edge length (nm)
    limit = np.broadcast_to(np.asarray(window_nm, dtype=np.float64), (n,))
    src, cur, prev, dist = np.arange(n), np.arange(n), np.full(n, -1), np.zeros(n)
    out_s, out_n = [src], [cur]
    for _ in range(n):  # a tree is left after at most n steps (the cap only guards against cycles)
        if not len(cur):
            break
        deg = np.diff(g.indptr)[cur]
        rep = np.repeat(np.arange(len(cur)), deg)
        pos = g.indptr[cur][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg))
        nb, d = g.indices[pos], dist[rep] + g.data[pos]
        ok = (nb != prev[rep]) & (d <= limit[src[rep]])
        src, prev, cur, dist = src[rep][ok], cur[rep][ok], nb[ok], d[ok]
        out_s.append(src)
        out_n.append(cur)
    s, nb = np.concatenate(out_s), np.concatenate(out_n)
    same_way = np.abs((tangents[s] * tangents[nb]).sum(axis=1)) >= min_cos
    same_way |= s == nb
    return s[same_way], nb[same_way]


def _plane_axes(tang: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane across each tangent (arbitrary but fixed orientation)."""
    ref = np.where(np.abs(tang[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    e1 = np.cross(tang, ref)
    e1 /= np.maximum(np.linalg.norm(e1, axis=1, keepdims=True), 1e-12)
    return e1, np.cross(tang, e1)


def fitted_centres_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                      keep_faces: np.ndarray, window_nm: float | np.ndarray, tangents: np.ndarray | None = None,
                      chunk_points: int = 2_000_000) -> np.ndarray:
    """(N, 3) cable centre per skeleton vertex (nm): the vertex moved across its tangent to the centre of the
    least-squares circle through the kept faces' corners of the vertices within ``window_nm`` along the tree
    (each distinct corner weighted by how many kept corners it stands for). Vertices with fewer than
    ``MIN_POINTS`` corner pairs in the window, a degenerate fit or a shift beyond ``MAX_SHIFT_RMS`` x their
    rms distance (or tangent zero) keep their position."""
    verts = np.asarray(sk.vertices, dtype=np.float64)
    centre = verts.copy()
    f2s = np.asarray(face_to_skeleton)
    kept = np.flatnonzero(np.asarray(keep_faces, dtype=bool) & (f2s >= 0))
    if not len(kept):
        return centre
    tang = skeleton_tangents(sk) if tangents is None else tangents
    idx, vert, mult = corner_pairs(f2s[kept], np.asarray(faces)[kept], len(vertices_nm))
    order = np.argsort(idx, kind="stable")
    idx, vert, mult = idx[order], vert[order], mult[order].astype(np.float64)
    start = np.searchsorted(idx, np.arange(sk.n_vertices + 1))
    src, nb = window_pairs(sk, window_nm, tang)
    e1, e2 = _plane_axes(tang)
    cnt = start[nb + 1] - start[nb]
    mom = np.zeros((sk.n_vertices, 9))  # sum of w, x, y, xx, yy, xy, z, xz, yz (z = x^2 + y^2), µm
    bounds = np.searchsorted(np.cumsum(cnt), np.arange(0, cnt.sum() + chunk_points, chunk_points), side="right")
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        s_, n_, c_ = src[lo:hi], nb[lo:hi], cnt[lo:hi]
        if not c_.sum():
            continue
        rep = np.repeat(np.arange(len(s_)), c_)
        pt = start[n_][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(c_) - c_, c_))
        i = s_[rep]
        off = (np.asarray(vertices_nm)[vert[pt]] - verts[i]) / 1000.0
        x, y, w = (off * e1[i]).sum(1), (off * e2[i]).sum(1), mult[pt]
        z = x * x + y * y
        for k, val in enumerate((w, w * x, w * y, w * x * x, w * y * y, w * x * y, w * z, w * x * z, w * y * z)):
            mom[:, k] += np.bincount(i, weights=val, minlength=sk.n_vertices)
    n_pairs = np.bincount(src, weights=cnt, minlength=sk.n_vertices)
    s1, sx, sy, sxx, syy, sxy, sz, sxz, syz = mom.T
    a_mat = np.stack([np.stack([4 * sxx, 4 * sxy, 2 * sx], -1), np.stack([4 * sxy, 4 * syy, 2 * sy], -1),
                      np.stack([2 * sx, 2 * sy, s1], -1)], 1)
    rhs = np.stack([2 * sxz, 2 * syz, sz], -1)
    ok = (n_pairs >= MIN_POINTS) & (np.linalg.norm(tang, axis=1) > 0)
    det = np.zeros(sk.n_vertices)
    det[ok] = np.linalg.det(a_mat[ok])
    ok &= np.abs(det) > 1e-12 * np.maximum(s1, 1.0) ** 3
    sol = np.zeros((sk.n_vertices, 3))
    sol[ok] = np.linalg.solve(a_mat[ok], rhs[ok][..., None])[..., 0]
    a, b, k = sol.T
    r2 = k + a * a + b * b
    rms = np.sqrt(np.divide(sz, s1, out=np.zeros_like(sz), where=s1 > 0))
    ok &= (r2 > 0) & (np.hypot(a, b) <= MAX_SHIFT_RMS * rms)
    centre[ok] += 1000.0 * (a[ok, None] * e1[ok] + b[ok, None] * e2[ok])
    return centre


def recentred_width_nm(sk: Any, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray,
                       keep_faces: np.ndarray, window_nm: float, at: str = "corners",
                       tangents: np.ndarray | None = None, window_radii: float | None = WINDOW_RADII) -> np.ndarray:
    """(N,) width (diameter, nm) per skeleton vertex as :func:`cross_section_width_nm` measures it, about the
    centre :func:`fitted_centres_nm` fits on ±``window_nm`` (nm) of skeleton, at most ``window_radii`` of the
    vertex's own radii (None: no cap), instead of the vertex itself.
    Same tangents, same faces and fallback (2 x ``sk.radius`` where a vertex has no kept faces)."""
    tang = skeleton_tangents(sk) if tangents is None else tangents
    window = window_nm
    if window_radii is not None:
        own = cross_section_width_nm(sk, vertices_nm, faces, face_to_skeleton, keep_faces, "corners", tang)
        window = np.minimum(window_nm, window_radii * 0.5 * np.nan_to_num(own, nan=0.0))
    centre = fitted_centres_nm(sk, vertices_nm, faces, face_to_skeleton, keep_faces, window, tang)
    moved = SimpleNamespace(vertices=centre, radius=sk.radius, n_vertices=sk.n_vertices, parent=sk.parent)
    return cross_section_width_nm(moved, vertices_nm, faces, face_to_skeleton, keep_faces, at, tang)

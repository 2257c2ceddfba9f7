"""Face map of a fast-simplification decimation read from its collapse sequence (no nearest-neighbour search).

fast-simplification (Fast-Quadric-Mesh-Simplification) only ever collapses an edge: vertex ``i1`` merges into
``i0`` and the triangles holding both become degenerate and are dropped; every other triangle survives with its
corners re-pointed, and the output keeps the surviving triangles and their used vertices in input order. So the
collapse list (``return_collapses=True``) gives, for every input vertex, the working vertex it merged into, and
for every working face the input face it *is*. :func:`collapse_face_map` rebuilds the working faces from the
collapses (and declines, returning None, if they do not match exactly), maps each surviving input face to its
own working face and each dropped input face to a working face around the working vertices its corners merged
into (the nearest centroid facing the same way among them). A dropped face can only land on faces of the surface
it collapsed into, never on a facing wall across a gap, which the nearest-centroid map of
:mod:`neurd_lite.mesh.decimate` has to guard against by orientation alone.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import row_norms
from ..geometry.stats import stable_int_order
from .cluster import even_order

MAP_CHUNK = 262_144  # dropped input faces per block of candidate pairs


def collapse_roots(n_vertices: int, collapses: np.ndarray) -> np.ndarray:
    """(n_vertices,) the input vertex each vertex finally merged into (itself when never collapsed).

    collapses: (C, 2) rows ``[i0, i1]``, vertex ``i1`` collapsed into ``i0`` (fast-simplification's order); a
    vertex is collapsed at most once, so the chains are followed by pointer jumping (log of their length rounds)."""
    root = np.arange(int(n_vertices), dtype=np.int64)
    c = np.asarray(collapses, dtype=np.int64).reshape(-1, 2)
    root[c[:, 1]] = c[:, 0]
    for _ in range(64):
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt
    raise ValueError("collapse chains do not end (not a fast-simplification collapse list)")


def _pick(cand: np.ndarray, q_cent: np.ndarray, q_n: np.ndarray, w_cols: tuple[np.ndarray, ...]) -> np.ndarray:
    """(n,) for each query row, the working face among its candidates (row of the (n, k) ``cand``) whose centroid
    is nearest (nm) among those facing the same way (positive normal dot product), the nearest overall when
    none does; ties go to the earlier column. w_cols: the working faces' centroid x, y, z and unit normal x, y, z
    as six contiguous columns (gathered one at a time: 2-3x faster than (n, k, 3) blocks and ``einsum``)."""
    key = np.zeros(cand.shape, dtype=w_cols[0].dtype)
    dot = np.zeros(cand.shape, dtype=w_cols[0].dtype)
    for i in range(3):
        t = w_cols[i][cand]
        t -= q_cent[:, i:i + 1]
        t *= t
        key += t
        t = w_cols[3 + i][cand]
        t *= q_n[:, i:i + 1]
        dot += t
    away = dot <= 0
    if away.any():
        key[away] += 2.0 * float(key.max()) + 1.0  # behind every candidate facing the same way, order kept
    return cand[np.arange(len(cand)), np.argmin(key, axis=1)]


def collapse_vertex_map(n_vertices: int, faces: np.ndarray, collapses: np.ndarray, w_faces: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray] | None:
    """((n_vertices,) working vertex each input vertex merged into, -1 when no working face uses it; (F',) the input
    face each working face is) of a fast-simplification run, or None when the collapses do not rebuild ``w_faces``
    exactly (see :func:`collapse_face_map` for the arguments)."""
    f = np.asarray(faces, dtype=np.int64)
    wf = np.asarray(w_faces, dtype=np.int64)
    root = collapse_roots(n_vertices, collapses)
    mf = root[f]
    keep = (mf[:, 0] != mf[:, 1]) & (mf[:, 1] != mf[:, 2]) & (mf[:, 0] != mf[:, 2])
    used = np.zeros(int(n_vertices), dtype=bool)
    used[mf[keep].reshape(-1)] = True
    rank = np.where(used, np.cumsum(used) - 1, -1)  # working vertex of each used input vertex
    surv = np.flatnonzero(keep)
    if len(surv) != len(wf) or not np.array_equal(rank[mf[surv]], wf):
        return None
    return rank[root], surv


def collapse_face_map(n_vertices: int, faces: np.ndarray, collapses: np.ndarray, w_faces: np.ndarray,
                      w_cent: np.ndarray, w_normals: np.ndarray, in_cent: np.ndarray, in_normals: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(input_to_working (F,), working_to_input (F',), unplaced input faces) of a fast-simplification run, or
    None when the collapses do not rebuild ``w_faces`` exactly.

    faces: (F, 3) input faces over ``n_vertices`` vertices; collapses: fast-simplification's (C, 2) list;
    w_faces (F', 3) its output faces; w_cent / w_normals, in_cent / in_normals: centroids (nm) and normals of the
    working / input faces. A surviving input face maps to its own working face (and is that face's
    representative input face); a dropped face whose corners merged into two working vertices goes to a working
    face on the edge between them, otherwise to one around the working vertices its corners merged into (the
    nearest centroid facing the same way, see :func:`_pick`). Input faces whose corners all merged into
    vertices no working face uses (a closed piece collapsed away) are returned as unplaced, with -1 in the map,
    for the caller's nearest-centroid search."""
    got = collapse_vertex_map(n_vertices, faces, collapses, w_faces)
    if got is None:
        return None
    vmap, surv = got
    in2w = np.full(len(faces), -1, dtype=np.int64)
    in2w[surv] = np.arange(len(surv))
    place_dropped(in2w, np.flatnonzero(in2w < 0), vmap, faces, w_faces, w_cent, w_normals, in_cent, in_normals)
    return in2w, surv, np.flatnonzero(in2w < 0)


# working vertices below this: a sorted corner triple (and its orientation) fits one int64 key
TRIPLE_KEY_LIMIT = 2 ** 20


def vertex_face_map(vmap: np.ndarray, faces: np.ndarray, w_faces: np.ndarray, w_cent: np.ndarray,
                    w_normals: np.ndarray, in_cent: np.ndarray, in_normals: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(input_to_working (F,), working_to_input (F', -1 where no input face is that working face), unplaced input
    faces) from a vertex map: vmap (V,) the working vertex each input vertex went to (-1: none), as a vertex
    clustering composed with fast-simplification's collapses gives it. An input face whose three corners went to
    the three corners of a working face in the same orientation maps to it (the lowest such input face represents
    it; a working face on the same corners as another, its twin's); the others are
    placed as :func:`collapse_face_map` places dropped faces. None when the working mesh has too many vertices
    for the triple key (``TRIPLE_KEY_LIMIT``)."""
    f = np.asarray(faces, dtype=np.int64)
    wf = np.asarray(w_faces, dtype=np.int64)
    nw = int(wf.max()) + 1 if len(wf) else 0
    if nw >= TRIPLE_KEY_LIMIT:
        return None
    wkey = _oriented_keys(wf, nw)
    worder = np.argsort(wkey, kind="stable")
    wkey = wkey[worder]
    in2w = np.full(len(f), -1, dtype=np.int64)
    for lo in range(0, len(f), 4 * MAP_CHUNK):
        m = vmap[f[lo:lo + 4 * MAP_CHUNK]]
        rows = np.flatnonzero((m.min(axis=1) >= 0) & (m[:, 0] != m[:, 1]) & (m[:, 1] != m[:, 2])
                              & (m[:, 0] != m[:, 2]))
        key = _oriented_keys(m[rows], nw)
        at = np.minimum(np.searchsorted(wkey, key), max(len(wkey) - 1, 0))
        hit = wkey[at] == key
        in2w[lo + rows[hit]] = worder[at[hit]]
    exact = np.flatnonzero(in2w >= 0)
    w2in = np.full(len(wf), -1, dtype=np.int64)
    w2in[in2w[exact][::-1]] = exact[::-1]
    if len(wkey) and (w2in < 0).any():  # a working face twin of another (same corners): the twin's input face
        starts = np.flatnonzero(np.r_[True, (wkey[1:] // 2) != (wkey[:-1] // 2)])
        rep = np.maximum.reduceat(w2in[worder], starts)
        grouped = np.repeat(rep, np.diff(np.r_[starts, len(wkey)]))
        w2in[worder] = np.where(w2in[worder] < 0, grouped, w2in[worder])
    place_dropped(in2w, np.flatnonzero(in2w < 0), vmap, f, wf, w_cent, w_normals, in_cent, in_normals)
    return in2w, w2in, np.flatnonzero(in2w < 0)


def _oriented_keys(tri: np.ndarray, nw: int) -> np.ndarray:
    """(n,) int64 key of each corner triple (n, 3) over nw vertices: the sorted corners, times two, plus 1 for an
    even corner order (the same key: the same corners in the same orientation)."""
    s = np.sort(tri, axis=1)
    return ((s[:, 0] * nw + s[:, 1]) * nw + s[:, 2]) * 2 + even_order(tri).astype(np.int64)


def place_dropped(in2w: np.ndarray, gone: np.ndarray, vmap: np.ndarray, faces: np.ndarray, w_faces: np.ndarray,
                  w_cent: np.ndarray, w_normals: np.ndarray, in_cent: np.ndarray, in_normals: np.ndarray) -> None:
    """Fill ``in2w`` (in place) for the input faces ``gone``, whose corners went to the working vertices
    ``vmap[faces[gone]]`` (-1: none) without being a working face: a face with two distinct working corners a, b
    on a manifold working edge goes to one of its two faces, otherwise to one of the faces around a and b (the
    nearest centroid facing the same way, :func:`_pick`); faces with no working corner stay -1."""
    f = np.asarray(faces, dtype=np.int64)
    wf = np.asarray(w_faces, dtype=np.int64)
    nw = int(wf.max()) + 1 if len(wf) else 0  # working vertices (each used by a working face)
    corner = wf.reshape(-1)
    star = stable_int_order(corner)  # working faces around each working vertex, ascending ids
    star_lo = np.searchsorted(corner[star], np.arange(nw + 1))
    star //= 3
    u, w = wf, wf[:, [1, 2, 0]]  # the three edges of each face, (F', 3) ends each
    e_lo, e_hi = np.minimum(u, w).reshape(-1), np.maximum(u, w).reshape(-1)
    ekey = e_lo * nw + e_hi
    by_hi = stable_int_order(e_hi)  # then by the low end: argsort(ekey, stable) as two counting passes
    eorder = by_hi[stable_int_order(e_lo[by_hi])]  # working faces on each edge, ascending ids
    ekey = np.append(ekey[eorder], [-1, -1, -1])  # sentinels: the edge test reads up to two past a key's slot
    eface = np.append(eorder // 3, [0, 0, 0])
    del u, w, eorder, e_lo, e_hi, by_hi
    origin = w_cent.mean(axis=0) if len(w_cent) else np.zeros(3)
    w_unit = w_normals / np.maximum(row_norms(w_normals), 1e-300)[:, None]
    w_cols = tuple(np.ascontiguousarray(c, dtype=np.float32)
                   for c in (*(w_cent - origin).T, *w_unit.T))

    def _query(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (in_cent[q] - origin).astype(np.float32), in_normals[q].astype(np.float32)

    for lo in range(0, len(gone), MAP_CHUNK):
        g = gone[lo:lo + MAP_CHUNK]
        r = vmap[f[g]]
        a = np.where(r[:, 0] >= 0, r[:, 0], np.where(r[:, 1] >= 0, r[:, 1], r[:, 2]))
        b = np.where((r[:, 1] >= 0) & (r[:, 1] != a), r[:, 1], np.where((r[:, 2] >= 0) & (r[:, 2] != a), r[:, 2], a))
        key = np.minimum(a, b) * nw + np.maximum(a, b)
        at = np.empty(len(key), dtype=np.int64)
        o = np.argsort(key)
        at[o] = np.searchsorted(ekey[:-3], key[o])  # sorted queries walk the table in order: ~2x faster
        on_edge = (a != b) & (a >= 0) & (ekey[at] == key) & (ekey[at + 1] == key) & (ekey[at + 2] != key)
        rows = np.flatnonzero(on_edge)
        if len(rows):  # the two working faces on the (manifold) edge between a and b
            q = g[rows]
            in2w[q] = _pick(np.stack([eface[at[rows]], eface[at[rows] + 1]], axis=1), *_query(q), w_cols)
        rows = np.flatnonzero(~on_edge & (a >= 0))
        na = star_lo[a[rows] + 1] - star_lo[a[rows]]
        nb = np.where(b[rows] != a[rows], star_lo[b[rows] + 1] - star_lo[b[rows]], 0)
        order = np.argsort(na + nb, kind="stable")
        bounds = np.flatnonzero(np.diff((na + nb)[order])) + 1
        for part in np.split(order, bounds) if len(order) else []:  # rows with the same number of candidates
            k = int(na[part[0]] + nb[part[0]])
            j = np.arange(k)[None, :]
            ra, rb, ka = a[rows[part]], b[rows[part]], na[part][:, None]
            pos = np.where(j < ka, star_lo[ra][:, None] + j, star_lo[rb][:, None] + j - ka)
            q = g[rows[part]]
            in2w[q] = _pick(star[pos], *_query(q), w_cols)

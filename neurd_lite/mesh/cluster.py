"""Pre-reduction by vertex clustering with quadric-optimal representatives (opt-in,
``DecimateParams.prereduce_method``).

meshoptimizer's pre-reduction collapses edges onto kept input vertices, so on convex parts its faces are chords
inside the input surface (docs/spines.md, session 22). Here the input's vertices are grouped by a uniform grid
(cells far below a spine; a cell's vertices split by the octant of their normal, so that the two walls of a thin
part never share a cluster and a neck thinner than a cell stays a tube) and each cluster gets one vertex at the
point nearest, in the least-squares sense, to the planes of the input faces around its vertices (Lindstrom 2000,
out-of-core simplification): the quadric-optimal point, solved in the span of the quadric's well-conditioned
directions from the cluster's mean vertex (a flat patch only moves along its normal). Faces whose corners fall
into three different clusters are kept (once). It keeps no (F, ...) state beyond a few arrays of the input's size
and takes a few seconds of numpy at 5M faces.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..geometry.meshes import cross_rows

CLUSTER_RANK_TOL = 1e-3  # quadric eigenvalues below this fraction of the largest are not solved for (Lindstrom)
CLUSTER_CHUNK = 1_000_000  # input faces per block
CLUSTER_SIZE_TRIES = 2  # groupings tried toward the asked cluster count (the grid side corrected once)


def _cluster_ids(v: np.ndarray, vn: np.ndarray, h: float, alone: np.ndarray | None = None
                 ) -> tuple[np.ndarray, int]:
    """(V,) cluster id of each vertex (nm) for grid side h (nm) and (V, 3) vertex normals, number of clusters: a
    grid cell's vertices split by the octant of their normal (the two walls of a thin part, and the sides of a
    neck thinner than a cell, fall apart). alone: (V,) bool vertices that form a cluster of their own."""
    cell = np.floor((v - v.min(axis=0)) / h).astype(np.int64)
    span = cell.max(axis=0) + 1
    octant = ((vn[:, 0] >= 0).astype(np.int64) | ((vn[:, 1] >= 0).astype(np.int64) << 1)
              | ((vn[:, 2] >= 0).astype(np.int64) << 2))
    key = ((cell[:, 0] * span[1] + cell[:, 1]) * span[2] + cell[:, 2]) * 8 + octant
    if alone is not None:
        key[alone] = -1 - np.flatnonzero(alone)  # below every grid key: one cluster each
    uniq, ids = np.unique(key, return_inverse=True)
    return ids.reshape(-1), len(uniq)


def border_vertices(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """(V,) bool: vertices on an open border (an edge used by exactly one face) of faces (F, 3)."""
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    a, b = f.reshape(-1), f[:, [1, 2, 0]].reshape(-1)
    key = np.sort(np.minimum(a, b) * int(n_vertices) + np.maximum(a, b))
    single = np.ones(len(key), dtype=bool)
    same = key[1:] == key[:-1]
    single[1:] &= ~same
    single[:-1] &= ~same
    out = np.zeros(int(n_vertices), dtype=bool)
    out[key[single] // int(n_vertices)] = True
    out[key[single] % int(n_vertices)] = True
    return out


def _face_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(F, 3) face normals (nm², length twice the face area) of faces f (F, 3) over vertices v (nm)."""
    return cross_rows(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])


def _optimal_points(v: np.ndarray, f: np.ndarray, ids: np.ndarray, n: int, h: float) -> np.ndarray:
    """(n, 3) quadric-optimal point of each cluster (nm): the area-weighted plane quadrics of the input faces at
    its vertices, minimised from the cluster's mean vertex over the quadric's eigen-directions with eigenvalues
    above ``CLUSTER_RANK_TOL`` of the largest; a point farther than h from the mean falls back to the mean."""
    cnt = np.bincount(ids, minlength=n).astype(np.float64)
    mean = np.column_stack([np.bincount(ids, weights=v[:, d], minlength=n) for d in range(3)]) / cnt[:, None]
    acc = np.zeros((n, 9))  # summed quadrics, :func:`face_quadrics` order
    for lo in range(0, len(f), CLUSTER_CHUNK):
        fc = f[lo:lo + CLUSTER_CHUNK]
        comps = face_quadrics(_face_normals(v, fc), v[fc[:, 0]])
        for k in range(3):  # each face's quadric to the cluster of each corner
            ck = ids[fc[:, k]]
            for c, q in enumerate(comps):
                acc[:, c] += np.bincount(ck, weights=q, minlength=n)
    return quadric_points(acc, mean, h)


QUADRIC_PAIRS = [(i, j) for i in range(3) for j in range(i, 3)]  # the order of a00 a01 a02 a11 a12 a22


def face_quadrics(fn: np.ndarray, on_plane: np.ndarray) -> list[np.ndarray]:
    """The 9 components (a00 a01 a02 a11 a12 a22 b0 b1 b2, each (F,)) of the area-weighted plane quadric
    area * (n.x + d)^2 of faces with normals fn ((F, 3), length twice the area, nm²) through the points
    on_plane ((F, 3) nm)."""
    area2 = np.linalg.norm(fn, axis=1)
    un = np.divide(fn, area2[:, None], out=np.zeros_like(fn), where=area2[:, None] > 0)
    d = -np.einsum("fd,fd->f", un, on_plane)  # plane n.x + d = 0
    return [fn[:, i] * un[:, j] for i, j in QUADRIC_PAIRS] + [fn[:, i] * d for i in range(3)]


def quadric_points(acc: np.ndarray, start: np.ndarray, max_step: float | np.ndarray) -> np.ndarray:
    """(n, 3) points (nm) minimising the summed quadrics acc ((n, 9), :func:`face_quadrics` order) from start
    ((n, 3)) over the quadric's eigen-directions with eigenvalues above ``CLUSTER_RANK_TOL`` of the largest; a
    point farther than max_step (nm) from its start stays at the start."""
    n = len(acc)
    a = np.empty((n, 3, 3))
    for c, (i, j) in enumerate(QUADRIC_PAIRS):
        a[:, i, j] = a[:, j, i] = acc[:, c]
    lam, vec = np.linalg.eigh(a)  # ascending eigenvalues
    keep = lam > CLUSTER_RANK_TOL * lam[:, -1:]
    grad = np.einsum("nij,nj->ni", a, start) + acc[:, 6:]  # the quadric's half-gradient at the start
    proj = np.einsum("nji,nj->ni", vec, grad)  # in eigen coordinates
    step = np.divide(proj, lam, out=np.zeros_like(proj), where=keep & (lam > 0))
    x = start - np.einsum("nij,nj->ni", vec, step)
    far = np.linalg.norm(x - start, axis=1) > max_step
    x[far] = start[far]
    return x


def even_order(tri: np.ndarray) -> np.ndarray:
    """(F,) 1.0 where the corner order of each row is an even permutation of its sorted order, else 0.0."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return (((a < b) & (b < c)) | ((b < c) & (c < a)) | ((c < a) & (a < b))).astype(np.float64)


def cluster_reduce(vertices_nm: np.ndarray, faces: np.ndarray, target_faces: int, keep_border: bool = False,
                   clip_box: bool = False, vertex_map: bool = False
                   ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices nm, faces) of the mesh reduced to about ``target_faces`` faces by vertex clustering with
    quadric-optimal representatives (module doc). The grid side starts from the surface area (a closed surface
    has about half as many vertices as faces; a plane crosses 1.5 cells of side h per h² on average) and is
    corrected once by the cluster count it gives. Faces are read in blocks (no (F, 3) float temporaries).
    keep_border: vertices of open borders (:func:`border_vertices`) stay where they are, one cluster each, and no
    point leaves the input's bounding box, so a cut opening keeps its outline and its plane (clustered, the
    outline breaks into µm-wide holes and quadric points stand ~100 nm beyond the cut, which the soma stage's
    ``cut_sides`` then misses: the real cell's second soma, cut by the volume, leaks and is lost;
    docs/benchmarks.md "Session 24"). clip_box: only the clip to the bounding box (the border clustered as
    usual; enough for that soma, and ~free). vertex_map: also return the (V,) clustered vertex each input vertex
    went to (-1: its cluster is in no kept face), from which :func:`neurd_lite.mesh.collapse_map.vertex_face_map`
    reads a face map without a search."""
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces).reshape(-1, 3)
    if len(f) == 0:
        raise InputError("cluster_reduce: the mesh has no faces",
                         hint="give it a surface mesh: vertices nm, (F, 3) faces")
    vn = np.zeros((len(v), 3))
    area2 = 0.0
    for lo in range(0, len(f), CLUSTER_CHUNK):
        fc = f[lo:lo + CLUSTER_CHUNK]
        fn = _face_normals(v, fc)
        area2 += float(np.linalg.norm(fn, axis=1).sum())
        for k in range(3):
            for d in range(3):
                vn[:, d] += np.bincount(fc[:, k], weights=fn[:, d], minlength=len(v))
    want = max(1, int(target_faces) // 2)
    h = float(np.sqrt(1.5 * 0.5 * area2 / want))
    if not h > 0:
        raise InputError("cluster_reduce: the mesh has zero surface area", hint="check for degenerate faces")
    alone = border_vertices(f, len(v)) if keep_border else None
    for t in range(CLUSTER_SIZE_TRIES):
        ids, n = _cluster_ids(v, vn, h, alone)
        if 0.85 * want <= n <= 1.15 * want or t == CLUSTER_SIZE_TRIES - 1:
            break  # h stays the side of the grid that made ids (the points' max step below)
        h *= float(np.sqrt(n / want))
    del vn
    x = _optimal_points(v, f, ids, n, h)
    if alone is not None:
        x[ids[alone]] = v[alone]  # a border vertex is its own cluster: it stays put
    if keep_border or clip_box:
        np.clip(x, v.min(axis=0), v.max(axis=0), out=x)  # no point beyond a flat cut of the bounding box
    kept = []
    for lo in range(0, len(f), CLUSTER_CHUNK):
        cf = ids[f[lo:lo + CLUSTER_CHUNK]]
        kept.append(cf[(cf[:, 0] != cf[:, 1]) & (cf[:, 1] != cf[:, 2]) & (cf[:, 0] != cf[:, 2])])
    cf = np.concatenate(kept)
    del kept
    srt = np.sort(cf, axis=1)
    if n < 2 ** 21:  # one int64 key per corner triple
        _, first, inv, cnt = np.unique((srt[:, 0] * n + srt[:, 1]) * n + srt[:, 2], return_index=True,
                                       return_inverse=True, return_counts=True)
    else:
        _, first, inv, cnt = np.unique(srt, axis=0, return_index=True, return_inverse=True, return_counts=True)
    # a triple met by faces of both orientations is a fold pressed flat (a fin): dropped; else kept once
    up = np.bincount(inv.reshape(-1), weights=even_order(cf), minlength=len(first))
    flat = (up > 0) & (up < cnt)
    cf = cf[np.sort(first[~flat])]
    used = np.zeros(n, dtype=bool)
    used[cf.reshape(-1)] = True
    new_id = np.cumsum(used, dtype=np.int64) - 1
    if vertex_map:
        return x[used], new_id[cf], np.where(used[ids], new_id[ids], -1)
    return x[used], new_id[cf]

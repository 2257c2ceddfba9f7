"""Mesh coercion shared by the feature code and chunked per-face passes over full-resolution meshes (nm)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def as_trimesh(obj: Any, what: str) -> Any:
    """A trimesh from a Trimesh, a ``(vertices, faces)`` pair or a dict with those keys (nm); InputError naming
    ``what`` for anything else or a mesh too small / non-finite to be a closed body."""
    import trimesh

    if isinstance(obj, trimesh.Trimesh):
        mesh = obj
    elif isinstance(obj, dict) and {"vertices", "faces"} <= set(obj):
        mesh = trimesh.Trimesh(np.asarray(obj["vertices"]), np.asarray(obj["faces"]), process=False)
    elif isinstance(obj, (tuple, list)) and len(obj) == 2:
        mesh = trimesh.Trimesh(np.asarray(obj[0]), np.asarray(obj[1]), process=False)
    else:
        raise InputError(f"{what} must be a trimesh.Trimesh or (vertices, faces) in nm, got {type(obj).__name__}")
    if len(mesh.faces) < 4 or not np.all(np.isfinite(mesh.vertices)):
        raise InputError(f"{what} mesh has {len(mesh.faces)} faces or non-finite vertices: not a closed body")
    return mesh


FACE_CHUNK = 100_000  # faces per block in the full-resolution passes (~10 MB of temporaries, which stay in cache:
# face areas of 1.3M faces 0.16-0.33 -> 0.13 s; no gain measured for centroids + normals taken in 1M-face blocks)


def face_centroids_nm(vertices_nm: np.ndarray, faces: np.ndarray, chunk: int = FACE_CHUNK) -> np.ndarray:
    """(F, 3) face centroids (nm), computed ``chunk`` faces at a time: the (F, 3, 3) triangle array a trimesh
    builds (and keeps in its cache) is never made whole (216 bytes per face on a 5M-face mesh is 1.1 GB)."""
    v, f = np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces)
    out = np.empty((len(f), 3))
    for lo in range(0, len(f), chunk):
        fk = f[lo:lo + chunk]
        out[lo:lo + len(fk)] = (v[fk[:, 0]] + v[fk[:, 1]] + v[fk[:, 2]]) / 3.0
    return out


def cross_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of two (N, 3) float arrays: the same values as ``np.cross(a, b)`` (same products
    and differences in the same order) at a quarter of its cost on large arrays (np.cross builds a
    temporary per term: 3 s for 5M faces' normals, 0.6 s here)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.result_type(a, b))
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def row_norms(x: np.ndarray) -> np.ndarray:
    """(N,) Euclidean norms of the rows of an (N, 3) array (the values of ``np.linalg.norm(x, axis=1)``)."""
    return np.sqrt(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])


def face_centroids_normals_nm(vertices_nm: np.ndarray, faces: np.ndarray, chunk: int = FACE_CHUNK
                              ) -> tuple[np.ndarray, np.ndarray]:
    """(F, 3) face centroids (nm) and (F, 3) un-normalised face normals (nm², right-hand rule over the corner
    order; twice the face area long) of the given faces, in one pass over their corners, ``chunk`` at a time."""
    v, f = np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces)
    cent, nrm = np.empty((len(f), 3)), np.empty((len(f), 3))
    for lo in range(0, len(f), chunk):
        fk = f[lo:lo + chunk]
        a, b, c = v[fk[:, 0]], v[fk[:, 1]], v[fk[:, 2]]
        ck = cent[lo:lo + len(fk)]
        np.add(a, b, out=ck)
        ck += c
        ck /= 3.0
        b -= a
        c -= a
        nrm[lo:lo + len(fk)] = cross_rows(b, c)
    return cent, nrm


def vertex_areas_nm2(faces: np.ndarray, face_areas: np.ndarray, n_vertices: int) -> np.ndarray:
    """(n_vertices,) area (nm²) per vertex: a third of each face's area (``face_areas``, nm²) to each corner."""
    return np.bincount(np.asarray(faces).reshape(-1), weights=np.repeat(np.asarray(face_areas) / 3.0, 3),
                       minlength=n_vertices)


def face_areas_nm2(vertices_nm: np.ndarray, faces: np.ndarray, chunk: int = FACE_CHUNK) -> np.ndarray:
    """(F,) face areas (nm²), ``chunk`` faces at a time (as :func:`face_centroids_nm`)."""
    return face_areas_max_edge_nm(vertices_nm, faces, chunk, with_edge=False)[0]


def face_areas_max_edge_nm(vertices_nm: np.ndarray, faces: np.ndarray, chunk: int = FACE_CHUNK,
                           with_edge: bool = True) -> tuple[np.ndarray, float]:
    """((F,) face areas nm², longest face edge nm) in one pass over the corners, ``chunk`` faces at a time: the
    values of :func:`face_areas_nm2` and ``geometry.nearest.max_edge_nm`` (0.0 when ``with_edge`` is False;
    the edge pass alone re-gathers every corner: ~0.4 s at 5.2M faces)."""
    areas, _, longest = face_areas_edge_range_nm(vertices_nm, faces, chunk, with_edge)
    return areas, longest


def face_areas_edge_range_nm(vertices_nm: np.ndarray, faces: np.ndarray, chunk: int = FACE_CHUNK,
                             with_edge: bool = True) -> tuple[np.ndarray, float, float]:
    """((F,) face areas nm², shortest face edge nm, longest face edge nm) in one pass over the corners, ``chunk``
    faces at a time (:func:`face_areas_max_edge_nm`; without ``with_edge`` the edges are inf and 0.0)."""
    v, f = np.asarray(vertices_nm, dtype=np.float64), np.asarray(faces)
    out = np.empty(len(f))
    best, least = 0.0, np.inf
    for lo in range(0, len(f), chunk):
        fk = f[lo:lo + chunk]
        a, b, c = v[fk[:, 0]], v[fk[:, 1]], v[fk[:, 2]]  # each corner gathered once (the edge pass reuses b, c)
        ab, ac = b - a, c - a
        out[lo:lo + len(fk)] = 0.5 * row_norms(cross_rows(ab, ac))
        if with_edge:
            for d in (ab, c - b, ac):  # the squares of max_edge_nm's differences
                sq = np.einsum("ij,ij->i", d, d)
                best = max(best, float(sq.max(initial=0.0)))
                least = min(least, float(sq.min(initial=np.inf)))
    return out, float(np.sqrt(least)), float(np.sqrt(best))


MAX_EDGE_CACHE_KEY = "neurd_lite_max_edge_nm"


def cached_max_edge_nm(mesh: Any) -> float | None:
    """The longest edge (nm) ``load_mesh`` measured with the face areas, from the trimesh's own cache (cleared
    by trimesh when the vertices or faces change), or None."""
    cache = getattr(mesh, "_cache", None)
    value = cache[MAX_EDGE_CACHE_KEY] if cache is not None else None
    return None if value is None else float(value)


MIN_EDGE_CACHE_KEY = "neurd_lite_min_edge_nm"


def cached_min_edge_nm(mesh: Any) -> float | None:
    """The shortest face edge (nm) ``load_mesh`` measured with the face areas (trimesh's cache, as
    :func:`cached_max_edge_nm`), or None."""
    cache = getattr(mesh, "_cache", None)
    value = cache[MIN_EDGE_CACHE_KEY] if cache is not None else None
    return None if value is None else float(value)


AREA_CACHE_KEY = "neurd_lite_face_areas_nm2"


def cached_face_areas_nm2(mesh: Any) -> np.ndarray | None:
    """The (F,) face areas (nm²) ``load_mesh`` stored in the trimesh's cache, or None (nothing computed)."""
    cache = getattr(mesh, "_cache", None)
    return cache[AREA_CACHE_KEY] if cache is not None else None


def mesh_face_areas_nm2(mesh: Any) -> np.ndarray:
    """(F,) face areas (nm²) of a trimesh (:func:`face_areas_nm2`), kept in the mesh's own cache, which trimesh
    clears when the vertices or faces change: ``load_mesh`` stores the areas its surface check computed, so the
    features reuse them (0.4-0.6 s of CPU at 5.2M faces). Other mesh objects: computed each call."""
    cache = getattr(mesh, "_cache", None)
    areas = cache[AREA_CACHE_KEY] if cache is not None else None
    if areas is None:
        areas = face_areas_nm2(mesh.vertices, mesh.faces)
        if cache is not None:
            cache[AREA_CACHE_KEY] = areas
    return areas


def compact_faces(faces: np.ndarray, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """(used vertex ids (U,) sorted, faces (F, 3) renumbered into them): the values of
    ``np.unique(faces, return_inverse=True)`` from a used-vertex mask instead of a sort of 3F ids."""
    f = np.asarray(faces, dtype=np.int64)
    used = np.zeros(int(n_vertices), dtype=bool)
    used[f.reshape(-1)] = True
    ids = np.flatnonzero(used)
    new_id = np.cumsum(used, dtype=np.int64) - 1
    return ids, new_id[f].reshape(-1, 3)


def submesh(mesh: Any, faces: np.ndarray) -> Any:
    """A trimesh of ``mesh`` restricted to ``faces`` (face order kept, unused vertices dropped, nm as given).

    The same vertices and faces as ``mesh.submesh([faces], append=True)`` without its whole-mesh work: trimesh
    computes and caches the (F, 3) normals of the full mesh for that (2 s and 120 MB on a 5M-face mesh)."""
    import trimesh

    v = np.asarray(mesh.vertices)
    used, f = compact_faces(np.asarray(mesh.faces)[np.asarray(faces, dtype=np.int64)], len(v))
    return trimesh.Trimesh(v[used], f, process=False)


def outline_paths(mesh: Any) -> list[np.ndarray]:
    """Vertex index sequences of the open-boundary paths of a trimesh: the ``points`` of
    ``mesh.outline().entities`` (trimesh 5: boundary edges, one depth-first traversal per connected piece,
    started from its lowest-numbered leaf, else its lowest-numbered vertex, pieces in that order; split where
    consecutive vertices share no edge), from one traversal over the boundary vertices renumbered in order (same
    neighbour order, same traversal); trimesh runs one over all mesh vertices per opening (8 s for a 600k-face
    soma crop with 5,500 openings). Empty for a watertight mesh."""
    from scipy.sparse import csgraph
    from trimesh import grouping
    from trimesh.graph import edges_to_coo, fill_traversals

    edges = mesh.edges_sorted
    boundary = edges[grouping.group_rows(edges, require_count=1)]
    if not len(boundary):
        return []
    e = np.array(boundary, dtype=np.int64)
    e.sort(axis=1)
    ids, compact = np.unique(e, return_inverse=True)
    compact = compact.reshape(-1, 2)
    _, piece = csgraph.connected_components(edges_to_coo(compact), directed=False)
    count = np.bincount(compact.ravel())
    starts = np.concatenate((np.nonzero(count == 1)[0], np.nonzero(count > 1)[0]))  # trimesh's start order
    pieces, first = np.unique(piece[starts], return_index=True)
    # one traversal for all pieces: an extra vertex joined to every piece's start; the search leaves it for one
    # piece, covers that piece exactly as a search from its start would (the extra vertex is already visited),
    # comes back and enters the next piece: split by piece, the order is the per-piece traversals'
    root = len(ids)
    joined = np.vstack([compact, np.column_stack([np.full(len(pieces), root), starts[first]])])
    ordered = csgraph.depth_first_order(edges_to_coo(joined), i_start=root, return_predecessors=False,
                                        directed=False).astype(np.int64)[1:]
    cut = np.flatnonzero(np.diff(piece[ordered])) + 1
    segments = np.split(ordered, cut)
    if len(segments) != len(pieces):  # not one run per piece: fall back to one search per piece
        segments = [csgraph.depth_first_order(edges_to_coo(compact), i_start=int(s0), return_predecessors=False,
                                              directed=False).astype(np.int64) for s0 in starts[first]]
    by_piece = {int(piece[seg[0]]): ids[seg] for seg in segments}
    traversals = [by_piece[int(pieces[k])] for k in np.argsort(first, kind="stable")]
    return [np.asarray(t, dtype=np.int64) for t in fill_traversals(traversals, edges=boundary)]


def coordinate_order(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank) of (N, 3) points sorted by x, then y, then z (ties keep index order): ``order`` the indices
    in that order, ``rank`` (N,) each point's place in it (the inverse permutation). The order-free key of the
    canonical listings below and of every tie broken by where things are rather than where they are listed."""
    p = np.asarray(points).reshape(-1, 3)
    order = np.lexsort(p.T[::-1]).astype(np.int64, copy=False)
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(len(p))
    return order, rank


def canonical_order(vertices_nm: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same surface listed in a geometric order: vertices sorted by coordinates (x, then y, then z), each
    face rotated to start at its lowest vertex (winding kept), faces sorted. Returns (vertices (V, 3), faces
    (F, 3)); nm as given. Code that walks a mesh in index order (boundary loops, traversals with ties) gives the
    same result on this copy whatever order the input listed its vertices and faces in."""
    v = np.asarray(vertices_nm, dtype=np.float64).reshape(-1, 3)
    order, rank = coordinate_order(v)
    f = rank[np.asarray(faces, dtype=np.int64).reshape(-1, 3)]
    first = np.argmin(f, axis=1)
    f = np.take_along_axis(f, (first[:, None] + np.arange(3)) % 3, axis=1)
    return v[order], f[np.lexsort(f.T[::-1])] if len(f) else f


def vertex_normals(vertices_nm: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted unit vertex normals (float64; zeros for unused vertices). One bincount per coordinate
    over the corners in (corner, face) order: float64 vertices give np.add.at's sums per corner column, bit for bit."""
    tri = np.asarray(vertices_nm, dtype=np.float64)[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 x area: area weighting
    corner, out = np.asarray(faces).T.reshape(-1), np.empty((len(vertices_nm), 3))
    for c in range(3):
        out[:, c] = np.bincount(corner, weights=np.tile(cross[:, c], 3), minlength=len(vertices_nm))
    return out / np.maximum(np.linalg.norm(out, axis=1), 1e-12)[:, None]

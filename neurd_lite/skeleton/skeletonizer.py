"""Mesh -> rooted skeleton with radius (nm), soma collapse and vertex/face -> skeleton maps.

Steps: a backend (this package's TEASAR, ``skeleton/teasar.py``, by default) traces the mesh graph including heal
link edges, rooted at the mesh vertex nearest soma 0; the result is made a tree (minimum spanning tree, stray pieces bridged to
the main one); every soma region (skeleton vertices within ``SomaExtentParams.core_factor`` soma radii of the
centre, or mapped mostly from soma mesh vertices) collapses to one vertex at the soma centre; TEASAR runs on
the surface, so every other skeleton vertex is moved to the per-axis median of the mesh vertices mapped to it
(the centre of its ring of surface), and its radius is the median distance to those vertices. Each mesh vertex maps to its
nearest skeleton vertex along the mesh surface (one multi-source Dijkstra on the mesh graph seeded at the
skeleton vertices), so touching neurites do not steal each other's surface; TEASAR's own map (the path that
invalidated a vertex, up to 12 µm away) is too coarse for per-face labels. Without a soma the root is the
thickest point (radius averaged over two hops). A short fragment cut out of a volume (two or more open planar
cross-sections within ``fragment_max_trunk_nm`` along the mesh, see :mod:`.cut_ends`) is skeletonized as the
path between its cut ends plus the traced branches that reach ``fragment_branch_min_nm`` away from it; the end
centres carry ``vertex_properties["cut_end"]`` so that later stages do not prune them as spine twigs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geometry.meshgraph import best_per_group
from ..geometry.ties import tied_members
from ..model.soma_extent import SomaExtentParams, within_soma
from .backends import BACKENDS, mesh_csgraph
from .cut_ends import find_cut_ends, fragment_trunk
from .model import Skeleton
from .params import SkeletonParams  # noqa: F401 - moved to params.py, re-exported
from .surface_seeds import nearest_kept
from .untraced import trace_untraced


@dataclass
class SkeletonResult:
    """skeleton (nm, rooted at soma 0); vertex_to_skeleton (V,) and face_to_skeleton (F,) for the mesh given
    (-1 = not mapped); soma_vertices: skeleton vertex of each soma; stats: counts for provenance."""

    skeleton: Skeleton
    vertex_to_skeleton: np.ndarray
    face_to_skeleton: np.ndarray
    soma_vertices: list[int] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def _mesh_arrays(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(mesh, (tuple, list)) and len(mesh) == 2:
        v, f = mesh
    else:
        v, f = getattr(mesh, "vertices", None), getattr(mesh, "faces", None)
    if v is None or f is None:
        raise InputError(f"cannot skeletonize a {type(mesh).__name__}", hint="pass a trimesh or (vertices, faces)")
    v = np.asarray(v, dtype=np.float64)
    f = np.asarray(f, dtype=np.int64).reshape(-1, 3)
    if len(f) == 0:
        raise InputError(f"mesh has no faces to skeletonize ({len(v)} vertices, 0 faces)",
                         hint="give skeletonize a triangle mesh with faces")
    return v, f


def as_tree(vertices: np.ndarray, edges: np.ndarray, root: int) -> tuple[np.ndarray, int]:
    """Edges of a spanning tree (minimum total length, nm) of the graph; other pieces are bridged to the
    root's piece by their shortest straight gap. Returns (tree edges, number of bridges added)."""
    n = len(vertices)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    w = np.maximum(np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1), 1e-6)
    g = sp.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    g = g.maximum(g.T)
    ncomp, lab = csgraph.connected_components(g, directed=False)
    n_bridges = 0
    if ncomp > 1:
        main = lab[root]
        inside = np.flatnonzero(lab == main)
        outside = np.flatnonzero(lab != main)
        d, i = cKDTree(vertices[inside]).query(vertices[outside])
        best, _ = best_per_group(lab[outside], d)
        extra = np.column_stack([outside[best], inside[i[best]]])
        n_bridges = len(extra)
        w2 = np.maximum(d[best], 1e-6)
        g = g + sp.coo_matrix((w2, (extra[:, 0], extra[:, 1])), shape=(n, n)).tocsr()
        g = g.maximum(g.T)
    t = csgraph.minimum_spanning_tree(g).tocoo()
    return np.column_stack([t.row, t.col]).astype(np.int64), n_bridges


def _group_median(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(groups):
        med = pd.Series(values).groupby(groups).median()
        out[med.index.to_numpy()] = med.to_numpy()
    return out


def _fill_nan_from_neighbours(values: np.ndarray, edges: np.ndarray, rounds: int = 50) -> np.ndarray:
    """Fill NaN entries with the mean of known neighbours, repeated; leftovers get the overall median."""
    v = values.copy()
    for _ in range(rounds):
        miss = np.isnan(v)
        if not miss.any() or not len(edges):
            break
        a, b = edges[:, 0], edges[:, 1]
        s = np.zeros(len(v))
        c = np.zeros(len(v))
        for x, y in ((a, b), (b, a)):
            ok = miss[x] & ~np.isnan(v[y])
            np.add.at(s, x[ok], v[y[ok]])
            np.add.at(c, x[ok], 1)
        if not (c > 0).any():
            break
        v[c > 0] = s[c > 0] / c[c > 0]
    if np.isnan(v).any():
        v[np.isnan(v)] = np.nanmedian(v) if np.isfinite(v).any() else np.nan
    return v


def _collapse_somas(sv: np.ndarray, se: np.ndarray, v2s: np.ndarray, centers: np.ndarray, radii: np.ndarray,
                    masks: Sequence[np.ndarray | None], factor: float, region_v2s: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int], np.ndarray]:
    """Replace each soma's skeleton region by one vertex at its centre (appended after the kept vertices).
    ``region_v2s``: the vertex map that decides the regions (None: ``v2s``). Also returns (S,) the new index of
    every input vertex."""
    n = len(sv)
    owner = np.full(n, -1, dtype=np.int64)
    best = np.full(n, np.inf)
    rv = v2s if region_v2s is None else region_v2s
    mapped = rv >= 0
    total = np.bincount(rv[mapped], minlength=n)
    for k, (c, r) in enumerate(zip(centers, radii)):
        d = np.linalg.norm(sv - c, axis=1)
        region = within_soma(sv, c, r, factor)
        m = masks[k] if k < len(masks) else None
        if m is not None:
            hit = np.bincount(rv[mapped & m], minlength=n)
            region |= hit * 2 > np.maximum(total, 1)
        region[int(np.argmin(d))] = True
        take = region & (d < best)
        owner[take] = k
        best[take] = d[take]
    keep = np.flatnonzero(owner < 0)
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[keep] = np.arange(len(keep))
    soma_vertices = [len(keep) + k for k in range(len(centers))]
    new_index[owner >= 0] = len(keep) + owner[owner >= 0]
    nv = np.vstack([sv[keep], centers])
    ne = new_index[se]
    ne = np.unique(np.sort(ne[ne[:, 0] != ne[:, 1]], axis=1), axis=0)
    nv2s = np.where(v2s >= 0, new_index[np.maximum(v2s, 0)], -1)
    return nv, ne, nv2s, soma_vertices, new_index


def _release_far_soma_vertices(v: np.ndarray, v2s: np.ndarray, sv: np.ndarray, soma_vertices: list[int],
                               centers: np.ndarray, radii: np.ndarray, reach: float,
                               masks: Sequence[np.ndarray | None]) -> int:
    """Mesh vertices mapped to a soma vertex but farther than ``reach`` x its radius from its centre (stems that
    reached the soma only through the collapse) map to the nearest non-soma skeleton vertex instead, unless the
    soma's vertex mask claims them (an elongated soma). In place on ``v2s``; returns how many moved."""
    others = np.setdiff1d(np.arange(len(sv)), soma_vertices)
    if reach <= 0 or not len(others):
        return 0
    moved = 0
    tree = cKDTree(sv[others])
    for k, sidx in enumerate(soma_vertices):
        mine = np.flatnonzero(v2s == sidx)
        far = mine[~within_soma(v[mine], centers[k], radii[k], reach)]
        if k < len(masks) and masks[k] is not None:
            far = far[~masks[k][far]]
        if len(far):
            v2s[far] = others[tree.query(v[far])[1]]
            moved += len(far)
    return moved


def surface_nearest(vertices: np.ndarray, graph: sp.csr_matrix, used: np.ndarray, sv: np.ndarray,
                    fallback: np.ndarray, stable_ties: bool = False) -> np.ndarray:
    """(V,) nearest skeleton vertex of every mesh vertex along the (symmetric) mesh graph; ``fallback`` where
    unreachable; ``stable_ties``: where mesh vertices coincide at a skeleton vertex, seed from the one the trace
    ran through (False: the KD-tree's pick, which follows other vertices' last bits)."""
    cand, tree, dist, seeds = nearest_kept(vertices, used, sv)
    # a skeleton vertex where two mesh vertices coincide: the KD-tree's pick among them followed the last bits of
    # every other vertex; take the one the trace ran through (``fallback``: its own map), else the lowest index
    for k, members in tied_members(tree, sv, dist) if stable_ties else ():
        tied = np.sort(cand[members])
        own = tied[fallback[tied] == k]
        seeds[k] = own[0] if len(own) else tied[0]
    skel_of_seed = np.full(len(vertices), -1, dtype=np.int64)
    skel_of_seed[seeds[::-1]] = np.arange(len(sv))[::-1]
    useeds = np.unique(seeds)
    # graph is mesh_csgraph's, symmetric: the directed search gives the undirected one's distances and sources
    # without a transposed copy (skeleton.teasar's module docstring)
    d, _, src = csgraph.dijkstra(graph, directed=True, indices=useeds, min_only=True, return_predecessors=True)
    out = np.where(np.isfinite(d) & (src >= 0), skel_of_seed[np.maximum(src, 0)], -1)
    return np.where(out >= 0, out, fallback)


def smooth_path_vertices(sv: np.ndarray, edges: np.ndarray, movable: np.ndarray, iterations: int) -> np.ndarray:
    """Laplacian smoothing of degree-2 vertices (branch points, tips and fixed vertices stay put)."""
    n = len(sv)
    if iterations <= 0 or not len(edges):
        return sv
    a = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    a = (a + a.T).tocsr()
    deg = np.asarray(a.sum(axis=1)).ravel()
    free = movable & (deg == 2)
    out = sv.copy()
    for _ in range(iterations):
        avg = (a @ out) / np.maximum(deg, 1)[:, None]
        out[free] = 0.5 * out[free] + 0.5 * avg[free]
    return out


def _thickest_vertex(edges: np.ndarray, radius: np.ndarray) -> int:
    n = len(radius)
    a = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    a = a + a.T + sp.identity(n, format="csr")
    a2 = a @ a
    r = np.nan_to_num(radius)
    return int(np.argmax((a2 @ r) / np.maximum(a2 @ np.ones(n), 1)))


def _root_and_cut_ends(v: np.ndarray, f: np.ndarray, link_edges: np.ndarray | None, graph: sp.csr_matrix,
                       centers: np.ndarray, p: SkeletonParams) -> tuple[np.ndarray, int | None, list]:
    """(V,) bool: vertices on a face; the traced root, the vertex of the largest connected piece nearest soma 0 (nm;
    None without a soma); without a soma, the open cut ends of that piece (``p.cut_ends``; else [])."""
    used = np.zeros(len(v), dtype=bool)
    used[f.reshape(-1)] = True
    _, comp = csgraph.connected_components(graph, directed=False)
    biggest = np.bincount(comp[used]).argmax()
    cand = np.flatnonzero(used & (comp == biggest))
    root_vertex = None
    ends = []
    if len(centers):
        root_vertex = int(cand[np.argmin(np.linalg.norm(v[cand] - centers[0], axis=1))])
    elif p.cut_ends:
        ends = [e for e in find_cut_ends(v, f, link_edges, p.cut_end_min_perimeter_nm)
                if comp[e.vertices[0]] == biggest]
    return used, root_vertex, ends


def _soma_surface(v: np.ndarray, centers: np.ndarray, radii: np.ndarray, masks: Sequence[np.ndarray | None],
                  factor: float) -> np.ndarray:
    """(V,) bool: mesh vertices within ``factor`` radii of a soma centre or on a soma's vertex mask."""
    out = np.zeros(len(v), dtype=bool)
    for k, (c, r) in enumerate(zip(centers, radii)):
        out |= within_soma(v, c, r, factor)
        if k < len(masks) and masks[k] is not None:
            out |= masks[k]
    return out


def _trace(v: np.ndarray, f: np.ndarray, link_edges: np.ndarray | None, graph: sp.csr_matrix,
           root_vertex: int | None, p: SkeletonParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backend's skeleton: vertices (S, 3) nm, edges (E, 2) and its own (V,) vertex map; InputError when it
    finds no path."""
    sv, se, v2s = BACKENDS[p.backend](v, f, link_edges, graph, root_vertex, p.invalidation_d_nm,
                                      p.cc_vertex_thresh)
    if len(sv) == 0:
        span = float(np.ptp(v, axis=0).max()) if len(v) else 0.0
        raise InputError(f"the {p.backend} skeleton backend found no skeleton path on the kept surface ({len(v)} "
                         f"vertices, span {span / 1000:.3g} µm, pieces under {p.cc_vertex_thresh} vertices are not "
                         f"traced)", hint="the mesh is too small or falls apart into tiny pieces (separate "
                         "triangles, a non-manifold bowtie, zero-area faces); check the file and its units")
    return sv, se, v2s


def _vertex_map(v: np.ndarray, graph: sp.csr_matrix, used: np.ndarray, sv: np.ndarray, fallback: np.ndarray,
                max_orphan_nm: float, stable_ties: bool = False) -> tuple[np.ndarray, int]:
    """(V,) skeleton vertex of each mesh vertex: nearest along the surface (:func:`surface_nearest`), else the
    nearest within ``max_orphan_nm`` in space (-1: none, or not on a face); and the number left unmapped."""
    v2s = np.where(used, surface_nearest(v, graph, used, sv, fallback, stable_ties), -1)
    orphans = np.flatnonzero(used & (v2s < 0))
    if len(orphans):
        d, i = cKDTree(sv).query(v[orphans], distance_upper_bound=max_orphan_nm)
        ok = np.isfinite(d)
        v2s[orphans[ok]] = i[ok]
    return v2s, int((used & (v2s < 0)).sum())


def _centre_and_radius(v: np.ndarray, sv: np.ndarray, se: np.ndarray, v2s: np.ndarray, fixed: np.ndarray,
                       soma_vertices: list[int], soma_radii_nm: np.ndarray, smooth_iterations: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton vertices (S, 3) nm moved to the per-axis median of their mesh vertices and smoothed (soma vertices
    and the ``fixed`` indices stay), and (S,) radius nm: median distance to those vertices (a soma vertex: its
    soma's radius; no vertex: from the neighbours)."""
    ok = v2s >= 0
    centre = np.column_stack([_group_median(v2s[ok], v[ok, k], len(sv)) for k in range(3)])
    move = np.isfinite(centre).all(axis=1)
    move[soma_vertices] = False
    move[fixed] = False
    sv = sv.copy()
    sv[move] = centre[move]
    sv = smooth_path_vertices(sv, se, move, smooth_iterations)
    radius = _group_median(v2s[ok], np.linalg.norm(v[ok] - sv[v2s[ok]], axis=1), len(sv))
    for k, sidx in enumerate(soma_vertices):
        radius[sidx] = soma_radii_nm[k]
    return sv, _fill_nan_from_neighbours(radius, se)


def _centre_keeping_cable(v: np.ndarray, sv: np.ndarray, se: np.ndarray, v2s: np.ndarray, old_v2s: np.ndarray,
                          old: np.ndarray, fixed: np.ndarray, soma_vertices: list[int], soma_radii_nm: np.ndarray,
                          smooth_iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_centre_and_radius` of a skeleton with untraced branches (``untraced.py``) that leaves the traced
    cable (``old``, (S,) bool) where the trace alone puts it: old vertices are centred, smoothed and measured on
    the old edges with the vertex map before the new branches (``old_v2s``), as without them; the new vertices
    then on all edges with ``v2s``, the old ones fixed. The option adds cable and never moves or re-measures the
    cable it did not add (a junction vertex re-centred once a branch takes its surface shortens the path, and
    every root distance past it shifts: the spine stage's chunk grid is laid along root distance)."""
    keep_old = old[se[:, 0]] & old[se[:, 1]]
    sv1, r1 = _centre_and_radius(v, sv, se[keep_old], old_v2s, fixed, soma_vertices, soma_radii_nm,
                                 smooth_iterations)
    sv2, r2 = _centre_and_radius(v, sv1, se, v2s, np.union1d(fixed, np.flatnonzero(old)), soma_vertices,
                                 soma_radii_nm, smooth_iterations)
    return sv2, np.where(old, r1, r2)


def skeletonize(mesh: Any, soma_centers_nm: np.ndarray | Sequence | None = None,
                link_edges: np.ndarray | None = None, params: SkeletonParams | None = None,
                soma_radii_nm: Sequence[float] | None = None,
                soma_vertex_masks: Sequence[np.ndarray | None] | None = None,
                soma_extent: SomaExtentParams | None = None) -> SkeletonResult:
    """Skeletonize a mesh (nm) rooted at the first soma centre.

    mesh: trimesh or (vertices, faces); link_edges: (K, 2) extra vertex pairs from healing;
    soma_centers_nm: (S, 3) centres; soma_radii_nm: (S,) radii (default 5000 nm); soma_vertex_masks: per soma
    an optional (V,) bool of mesh vertices on that soma; soma_extent: skeleton vertices within ``core_factor``
    radii collapse into the soma vertex, mesh vertices beyond ``reach_factor`` radii never map to it (0: off).
    Radius per skeleton vertex is in nm.

    Steps: root and cut ends (:func:`_root_and_cut_ends`), the backend's trace (:func:`_trace`), a fragment's
    trunk between its cut ends, the vertex map (:func:`_vertex_map`), soma collapse, a spanning tree
    (:func:`as_tree`), centring and radius (:func:`_centre_and_radius`), the face map.
    """
    t0 = time.perf_counter()
    p = params or SkeletonParams()
    extent = soma_extent or SomaExtentParams()
    if p.backend not in BACKENDS:
        raise InputError(f"unknown skeleton backend {p.backend!r}", hint=f"use one of {sorted(BACKENDS)}")
    v, f = _mesh_arrays(mesh)
    centers = np.zeros((0, 3)) if soma_centers_nm is None else np.asarray(soma_centers_nm, float).reshape(-1, 3)
    radii = np.full(len(centers), 5000.0) if soma_radii_nm is None else np.asarray(soma_radii_nm, float)
    masks = list(soma_vertex_masks) if soma_vertex_masks is not None else []
    graph = mesh_csgraph(v, f, link_edges)
    used, root_vertex, ends = _root_and_cut_ends(v, f, link_edges, graph, centers, p)
    sv, se, v2s = _trace(v, f, link_edges, graph, root_vertex, p)
    is_cut = np.zeros(len(sv), dtype=bool)
    trunk = fragment_trunk(v, graph, used, ends, sv, se, p.fragment_branch_min_nm, p.fragment_max_trunk_nm
                           ) if len(ends) >= 2 else None
    if trunk is not None:
        sv, se, is_cut = trunk
        v2s = np.full(len(v), -1, dtype=np.int64)
    v2s, n_unmapped_vertices = _vertex_map(v, graph, used, sv, v2s, p.max_orphan_distance_nm, p.stable_ties)
    n_untraced, n_old, old_v2s = 0, len(sv), None
    if p.untraced_reach_nm > 0 and trunk is None:
        sv, se, n_untraced = trace_untraced(v, graph, used, sv, se, _soma_surface(v, centers, radii, masks,
                                                                                   extent.reach_factor),
                                            p.untraced_reach_nm)
        if n_untraced:  # the map before the new branches centres the traced cable (_centre_keeping_cable)
            old_v2s = v2s
            v2s, n_unmapped_vertices = _vertex_map(v, graph, used, sv, v2s, p.max_orphan_distance_nm,
                                                   p.stable_ties)

    new_index = np.arange(len(sv))
    if len(centers):
        sv, se, v2s, soma_vertices, new_index = _collapse_somas(sv, se, v2s, centers, radii, masks,
                                                                extent.core_factor, old_v2s)
        n_released = _release_far_soma_vertices(v, v2s, sv, soma_vertices, centers, radii, extent.reach_factor,
                                                masks)
    else:
        soma_vertices, n_released = [], 0
    if old_v2s is not None:
        old_v2s = np.where(old_v2s >= 0, new_index[np.maximum(old_v2s, 0)], -1)
        if len(centers):
            _release_far_soma_vertices(v, old_v2s, sv, soma_vertices, centers, radii, extent.reach_factor, masks)
        old = np.zeros(len(sv), dtype=bool)
        old[new_index[:n_old]] = True
    cut_vertices = np.flatnonzero(is_cut)
    if soma_vertices:
        tmp_root = soma_vertices[0]
    elif len(cut_vertices):
        tmp_root = int(cut_vertices[0])  # the trunk's piece; kept pieces are bridged to it
    else:
        tmp_root = int(np.argmax(np.bincount(v2s[v2s >= 0], minlength=len(sv))))
    se, n_bridges = as_tree(sv, se, tmp_root)
    if old_v2s is None:
        sv, radius = _centre_and_radius(v, sv, se, v2s, cut_vertices, soma_vertices, radii, p.smooth_iterations)
    else:
        sv, radius = _centre_keeping_cable(v, sv, se, v2s, old_v2s, old, cut_vertices, soma_vertices, radii,
                                           p.smooth_iterations)
    root = soma_vertices[0] if soma_vertices else _thickest_vertex(se, radius)

    corner = v2s[f]
    first = np.argmax(corner >= 0, axis=1)
    f2s = corner[np.arange(len(f)), first]
    props = {"cut_end": is_cut} if len(cut_vertices) else {}
    if old_v2s is not None:
        props["untraced"] = ~old
    skel = Skeleton(sv, se, radius, root, props)
    root_kind = "soma_0" if soma_vertices else "thickest_point"
    stats = {"backend": p.backend, "n_vertices": skel.n_vertices, "n_bridges": n_bridges,
             "n_unmapped_vertices": n_unmapped_vertices, "n_unmapped_faces": int((f2s < 0).sum()),
             "n_released_soma_vertices": n_released, "root": root_kind, "n_cut_ends": len(ends),
             "cut_end_trunk": trunk is not None, **({"n_untraced_branches": n_untraced} if n_untraced else {}),
             "seconds": round(time.perf_counter() - t0, 4)}
    return SkeletonResult(skel, v2s, f2s, soma_vertices, stats)

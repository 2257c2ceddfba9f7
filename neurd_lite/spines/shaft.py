"""The dendritic shaft model used by spine detection and synapse-target features (nm throughout).

The skeleton is pruned of short terminal twigs (spines that a skeletonizer followed), resampled densely,
and every mesh vertex gets its distance to the nearest shaft sample and the local shaft radius in its direction
(see :func:`shaft_field`). ``protrusion = distance - shaft radius``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..skeleton.model import Skeleton


@dataclass(frozen=True)
class ShaftParams:
    """Shaft-model parameters (nm).

    prune_twig_nm: terminal skeleton twigs shorter than this are treated as protrusions, not shaft.
    sample_spacing_nm: resampling step along skeleton edges.
    chunk_nm: length of skeleton over which the shaft radius is pooled.
    thin_end_fraction: skeleton ends thinner than this fraction of the median radius are spines, not shaft.
    radius_quantile: the area-weighted quantile of face distances per chunk taken as the shaft radius.
   
    """

    prune_twig_nm: float = 2500.0
    sample_spacing_nm: float = 80.0
    chunk_nm: float = 2000.0
    radius_quantile: float = 0.45
    thin_end_fraction: float = 0.4


@dataclass
class ShaftField:
    """Per-vertex shaft geometry (nm) for a mesh.

    distance_nm: (V,) distance of each vertex to the pruned skeleton. radius_nm: (V,) local shaft radius at the
    vertex's nearest sample. sample_vertex: (V,) nearest skeleton vertex (-1 where not computed).
    sample_points_nm / sample_radius_nm / sample_skel_vertex: the resampled skeleton.
    """

    distance_nm: np.ndarray
    radius_nm: np.ndarray
    sample_vertex: np.ndarray
    sample_index: np.ndarray
    sample_points_nm: np.ndarray
    sample_radius_nm: np.ndarray
    sample_skel_vertex: np.ndarray
    beyond_end: np.ndarray

    @property
    def protrusion_nm(self) -> np.ndarray:
        """(V,) distance beyond the local shaft surface, nm (NaN where unknown)."""
        return self.distance_nm - self.radius_nm


def pruned_skeleton_mask(skel: Skeleton, twig_nm: float, thin_fraction: float = 0.0) -> np.ndarray:
    """(N,) bool, True for skeleton vertices kept after removing terminal twigs shorter than ``twig_nm``.

    A twig runs from an end point (not the root) to the first branch point; the branch point is kept.
    Components without any branch point are kept whole (a lone dendrite fragment is all shaft), except that
    path ends running into spines (thinner than ``thin_fraction`` x the median radius) are cut back.
    """
    n = skel.n_vertices
    keep = np.ones(n, dtype=bool)
    if n == 0 or twig_nm <= 0:
        return keep
    deg = skel.degree
    nbrs = [[] for _ in range(n)]
    for (a, b), w in zip(skel.edges, skel.edge_lengths_nm):
        nbrs[a].append((b, w))
        nbrs[b].append((a, w))
    for end in np.flatnonzero(deg == 1):
        if end == skel.root:
            continue
        path, length, prev, cur, junction = [end], 0.0, -1, end, -1
        while True:
            nxt = [(v, w) for v, w in nbrs[cur] if v != prev]
            if not nxt:
                break
            v, w = nxt[0]
            length += w
            if length >= twig_nm or v == skel.root or deg[v] == 1:
                break
            if deg[v] > 2:
                junction = v
                break
            prev, cur = cur, v
            path.append(v)
        if junction >= 0:
            keep[path] = False
    return keep & ~_thin_ends(skel, keep, twig_nm, thin_fraction)


def _thin_ends(skel: Skeleton, keep: np.ndarray, reach_nm: float, thin_fraction: float) -> np.ndarray:
    """(N,) True for vertices at path ends that run into a spine: walking in from each end point of the kept
    skeleton (not the root) for up to ``reach_nm``, everything up to the last vertex thinner than
    ``thin_fraction`` x the median kept radius is a protrusion the skeletonizer followed."""
    out = np.zeros(skel.n_vertices, dtype=bool)
    rad = skel.radius
    if thin_fraction <= 0 or not np.isfinite(rad[keep]).any():
        return out
    ref = float(np.nanmedian(rad[keep]))
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    nbrs: list[list[tuple[int, float]]] = [[] for _ in range(skel.n_vertices)]
    for a, b in e:
        w = float(np.linalg.norm(skel.vertices[a] - skel.vertices[b]))
        nbrs[a].append((b, w))
        nbrs[b].append((a, w))
    for end in np.flatnonzero(keep & (deg == 1)):
        if end == skel.root:
            continue
        path, length, prev, cur, last_thin = [end], 0.0, -1, end, -1
        while length < reach_nm:
            if rad[cur] < thin_fraction * ref:
                last_thin = len(path)
            nxt = [(v, w) for v, w in nbrs[cur] if v != prev]
            if len(nxt) != 1 or deg[nxt[0][0]] > 2 or nxt[0][0] == skel.root:
                break
            prev, cur = cur, nxt[0][0]
            length += nxt[0][1]
            path.append(cur)
        if last_thin > 0 and last_thin < len(path):
            out[path[:last_thin]] = True
    return out


def resample_skeleton(skel: Skeleton, keep: np.ndarray, spacing_nm: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing_nm`` along kept skeleton edges.

    Returns points (M, 3) nm, nearest skeleton vertex (M,) and unit tangent (M, 3) of each point.
    """
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    tang_v = np.zeros_like(skel.vertices)
    if len(e):
        a, b = skel.vertices[e[:, 0]], skel.vertices[e[:, 1]]
        length = np.linalg.norm(b - a, axis=1)
        dirs = (b - a) / np.maximum(length, 1e-9)[:, None]
        np.add.at(tang_v, e[:, 0], dirs)
        np.add.at(tang_v, e[:, 1], dirs)
    pts, owner, tang = [skel.vertices[keep]], [np.flatnonzero(keep)], [tang_v[keep]]
    if len(e):
        k = np.maximum(np.ceil(length / spacing_nm).astype(np.int64) - 1, 0)
        rep = np.repeat(np.arange(len(e)), k)
        if len(rep):
            step = np.concatenate([np.arange(1, kk + 1) for kk in k[k > 0]]) / np.repeat(k + 1, k)
            pts.append(a[rep] + (b[rep] - a[rep]) * step[:, None])
            owner.append(np.where(step < 0.5, e[rep, 0], e[rep, 1]))
            tang.append(dirs[rep])
    t = np.concatenate(tang)
    norm = np.linalg.norm(t, axis=1)
    t = np.where(norm[:, None] > 1e-9, t / np.maximum(norm, 1e-9)[:, None], np.array([0.0, 0.0, 1.0]))
    return np.concatenate(pts), np.concatenate(owner), t


def _segments(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(N,) id of the unbranched skeleton segment of each kept vertex (branch points are their own segment)."""
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    n = skel.n_vertices
    deg = np.bincount(e.reshape(-1), minlength=n)
    ok = (deg[e[:, 0]] <= 2) & (deg[e[:, 1]] <= 2)
    g = sp.coo_matrix((np.ones(ok.sum()), (e[ok, 0], e[ok, 1])), shape=(n, n))
    return csgraph.connected_components(g, directed=False)[1]


def weighted_group_quantile(group: np.ndarray, values: np.ndarray, weights: np.ndarray, q: float,
                            n_groups: int) -> np.ndarray:
    """(n_groups,) weighted ``q``-quantile of ``values`` per group (NaN for empty groups)."""
    out = np.full(n_groups, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, group))
    g, v, w = group[order], values[order], weights[order]
    cw = np.cumsum(w)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    before = np.r_[0.0, cw[:-1]][starts]
    total = np.add.reduceat(w, starts)
    frac = (cw - np.repeat(before, np.diff(np.r_[starts, len(g)]))) / np.repeat(np.maximum(total, 1e-12),
                                                                               np.diff(np.r_[starts, len(g)]))
    hit = frac >= q
    # first index per group where the cumulative fraction reaches q
    idx = np.flatnonzero(hit)
    first = pd.Series(idx).groupby(g[idx]).min()
    out[first.index.to_numpy()] = v[first.to_numpy()]
    return out


def centred_skeleton(skel: Skeleton, vertices_nm: np.ndarray, faces: np.ndarray, face_to_skeleton: np.ndarray | None,
                     eligible_faces: np.ndarray, iterations: int = 3, smooth_rounds: int = 2) -> Skeleton:
    """A copy of ``skel`` with every vertex moved to the centre of the mesh cross-section it owns (nm).

    Skeletonizers that walk mesh vertices (TEASAR) run along the surface, so distances from them are not radii.
    Each skeleton vertex owns the faces mapped to it (``face_to_skeleton``; nearest vertex when absent); its new
    position is the area-weighted centroid of those face centroids, trimmed ``iterations`` times to faces within
    1.25 x the median distance + 60 nm (spines drop out), then smoothed along the tree. Vertices owning no
    faces keep their position. Edges, root and radius are unchanged.
    """
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]
    c = tri.mean(1)
    a = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    owner = np.full(len(f), -1, dtype=np.int64) if face_to_skeleton is None else np.asarray(face_to_skeleton).copy()
    miss = (owner < 0) | (owner >= skel.n_vertices)
    if miss.any():
        owner[miss] = cKDTree(skel.vertices).query(c[miss])[1]
    use = np.asarray(eligible_faces, dtype=bool).copy()
    ns = skel.n_vertices
    pos = skel.vertices.copy()
    for it in range(iterations + 1):
        w = a * use
        cnt = np.bincount(owner, weights=w, minlength=ns)
        cen = np.stack([np.bincount(owner, weights=c[:, k] * w, minlength=ns) for k in range(3)], 1)
        has = cnt > 0
        pos[has] = cen[has] / cnt[has, None]
        if it == iterations:
            break
        dist = np.linalg.norm(c - pos[owner], axis=1)
        med = weighted_group_quantile(owner[eligible_faces], dist[eligible_faces], a[eligible_faces], 0.5, ns)
        use = eligible_faces & (dist <= 1.25 * np.nan_to_num(med[owner], nan=np.inf) + 60.0)
    e = skel.edges
    for _ in range(smooth_rounds):
        acc = pos.copy()
        deg = np.ones(ns)
        np.add.at(acc, e[:, 0], pos[e[:, 1]])
        np.add.at(acc, e[:, 1], pos[e[:, 0]])
        np.add.at(deg, e.reshape(-1), 1.0)
        pos = acc / deg[:, None]
    return Skeleton(pos, e.copy(), skel.radius.copy(), skel.root)


def shaft_field(vertices_nm: np.ndarray, faces: np.ndarray, skel: Skeleton, eligible_faces: np.ndarray | None = None,
                params: ShaftParams | None = None) -> ShaftField:
    """Distance of each mesh vertex to the pruned skeleton and the local shaft radius there (nm).

    The skeleton is cut into chunks of ``chunk_nm`` along each unbranched segment. A chunk's shaft radius is the
    ``radius_quantile`` of the distances of its vertices weighted by vertex area (a third of the incident face
    areas): weighting by area, not by vertex count, keeps finely tessellated spines from outvoting a coarsely
    tessellated shaft, and the low quantile ignores spines while the shaft holds more than that fraction of the
    chunk's surface.

    vertices_nm: (V, 3) nm; faces: (F, 3); eligible_faces: (F,) bool, faces that may inform the radius.
    """
    p = params or ShaftParams()
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    eligible_faces = np.ones(len(f), bool) if eligible_faces is None else np.asarray(eligible_faces, bool)
    keep = pruned_skeleton_mask(skel, p.prune_twig_nm, p.thin_end_fraction)
    pts, owner, tang = resample_skeleton(skel, keep, p.sample_spacing_nm)
    seg = _segments(skel, keep)[owner]
    droot = skel.distance_to_root_nm[owner]
    droot = np.where(np.isfinite(droot), droot, 0.0)
    key = seg.astype(np.int64) * (int(droot.max() // p.chunk_nm) + 2) + (droot // p.chunk_nm).astype(np.int64)
    _, chunk_of_sample = np.unique(key, return_inverse=True)
    n_chunks = int(chunk_of_sample.max()) + 1
    tri = v[f[eligible_faces]]
    a_face = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    a = np.bincount(f[eligible_faces].reshape(-1), weights=np.repeat(a_face / 3.0, 3), minlength=len(v))
    used = a > 0
    tree = cKDTree(pts)
    d, s = tree.query(v)
    r_chunk = weighted_group_quantile(chunk_of_sample[s[used]], d[used], a[used], p.radius_quantile, n_chunks)
    r_v = r_chunk[chunk_of_sample[s]]
    # vertices past a terminal end of the kept skeleton (dendrite tips) are end caps, not protrusions
    kept_deg = np.bincount(skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]].reshape(-1),
                           minlength=skel.n_vertices)
    at_end = (kept_deg[owner[s]] <= 1) & (np.linalg.norm(pts[s] - skel.vertices[owner[s]], axis=1) < 1e-6)
    outward = _outward_tangent(skel, keep)[owner[s]]
    beyond = at_end & (((v - pts[s]) * outward).sum(1) > 0)
    return ShaftField(distance_nm=d, radius_nm=r_v, sample_vertex=owner[s], sample_index=s,
                      sample_points_nm=pts, sample_radius_nm=r_chunk[chunk_of_sample], sample_skel_vertex=owner,
                      beyond_end=beyond)


def _outward_tangent(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(N, 3) unit vector pointing out of the skeleton at kept end points (zeros elsewhere)."""
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    out = np.zeros_like(skel.vertices)
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    for a, b in ((0, 1), (1, 0)):
        m = deg[e[:, a]] == 1
        vec = skel.vertices[e[m, a]] - skel.vertices[e[m, b]]
        out[e[m, a]] = vec / np.maximum(np.linalg.norm(vec, axis=1), 1e-9)[:, None]
    return out

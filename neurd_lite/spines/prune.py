"""Pruning the skeleton before the shaft model (nm): terminal twigs the skeletonizer ran into spines, and path
ends that run into a spine (thinner than the cell's or their own dendrite's radius)."""
from __future__ import annotations

import numpy as np

from ..skeleton.model import Skeleton


def pruned_skeleton_mask(skel: Skeleton, twig_nm: float, thin_fraction: float = 0.0,
                         local_fraction: float = 0.0) -> np.ndarray:
    """(N,) bool, True for skeleton vertices kept after removing terminal twigs shorter than ``twig_nm``.

    A twig runs from an end point (not the root, not a cut end of a cropped fragment:
    ``vertex_properties["cut_end"]``) to the first branch point; the branch point is kept. Components without
    any branch point are kept whole (a lone dendrite fragment is all shaft), except that path ends running into
    spines (thinner than ``thin_fraction`` x the median radius, or than ``local_fraction`` x the median radius of
    the same path 1-3 ``twig_nm`` in from the end) are cut back.
    """
    n = skel.n_vertices
    keep = np.ones(n, dtype=bool)
    if n == 0 or twig_nm <= 0:
        return keep
    deg = skel.degree
    nbrs = _neighbours(skel, np.ones(n, dtype=bool))
    fixed = _fixed_ends(skel)
    for end in np.flatnonzero(deg == 1):
        if fixed[end]:
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
    return keep & ~_thin_ends(skel, keep, twig_nm, thin_fraction, local_fraction)


def _fixed_ends(skel: Skeleton) -> np.ndarray:
    """(N,) True for the root and for cut ends of a cropped fragment: ends that are never spines."""
    fixed = skel.cut_ends
    if skel.root is not None:
        fixed[skel.root] = True
    return fixed


def _neighbours(skel: Skeleton, keep: np.ndarray) -> list[list[tuple[int, float]]]:
    """Adjacency lists (neighbour, edge length nm) of the skeleton restricted to kept vertices."""
    nbrs: list[list[tuple[int, float]]] = [[] for _ in range(skel.n_vertices)]
    both = keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]
    # Python ints / floats first: iterating the numpy rows makes a scalar object per element (~4x slower)
    for (a, b), w in zip(skel.edges[both].tolist(), skel.edge_lengths_nm[both].astype(float).tolist()):
        nbrs[a].append((b, w))
        nbrs[b].append((a, w))
    return nbrs


def _thin_ends(skel: Skeleton, keep: np.ndarray, reach_nm: float, thin_fraction: float,
               local_fraction: float = 0.0) -> np.ndarray:
    """(N,) True for vertices at path ends that run into a spine: walking in from each end point of the kept
    skeleton (not the root) for up to ``reach_nm``, everything up to the last vertex thinner than
    ``thin_fraction`` x the median kept radius, or than ``local_fraction`` x the median radius of the same path
    between ``reach_nm`` and 3 x ``reach_nm`` in (the dendrite the end belongs to), is a protrusion the
    skeletonizer followed."""
    out = np.zeros(skel.n_vertices, dtype=bool)
    rad = skel.radius
    if (thin_fraction <= 0 and local_fraction <= 0) or not np.isfinite(rad[keep]).any():
        return out
    scale = keep & skel.traced  # the option's added branches do not rescale the cell (Skeleton.traced)
    ref = float(np.nanmedian(rad[scale] if np.isfinite(rad[scale]).any() else rad[keep]))
    nbrs = _neighbours(skel, keep)
    deg = np.array([len(x) for x in nbrs])
    fixed = _fixed_ends(skel)
    for end in np.flatnonzero(keep & (deg == 1)):
        if fixed[end]:
            continue
        path, dist, prev, cur = [end], [0.0], -1, end
        while dist[-1] < 3.0 * reach_nm:
            nxt = [(v, w) for v, w in nbrs[cur] if v != prev]
            if len(nxt) != 1 or deg[nxt[0][0]] > 2 or nxt[0][0] == skel.root:
                break
            prev, cur = cur, nxt[0][0]
            dist.append(dist[-1] + nxt[0][1])
            path.append(cur)
        d = np.asarray(dist)
        r = rad[path]
        near = d < reach_nm
        thin = near & (r < thin_fraction * ref)
        if local_fraction > 0:
            far = ~near & np.isfinite(r)
            if far.sum() >= 3:
                thin |= near & (r < local_fraction * float(np.median(r[far])))
        last_thin = int(np.flatnonzero(thin).max()) + 1 if thin.any() else 0
        if 0 < last_thin < len(path):
            out[path[:last_thin]] = True
    return out

"""The junction ring of a spine given back to it (nm; ``SpineParams.rim_nm``, opt-in since session 20).

A spine grows through vertices that protrude more than the growth threshold (25 nm or 0.05 x the shaft radius)
above the shaft model, so its found boundary lies above the place where its surface meets the shaft: the
junction is a crease (the head or neck surface turns into the shaft's), which sits at or below the surrounding
shaft level, not above it. Measured on tune members of the sparsely spiny classes (session 20): of the
unlabelled vertices within 150 nm of a found spine, 64-79 % belong to a true spine, and most of those stand
*below* the level of the surrounding shaft (so no height test can give them back; the vertex model leaves them
too). This step gives each spine the unlabelled eligible vertices within ``rim_nm`` of it along mesh edges
(each joins the spine it is nearest to, so two spines never merge; a vertex no spine reaches stays shaft).
It changes where a spine ends and never merges two spines (a spine it widens can still fail detect_spines'
length / head-width checks).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def grow_rims(verts: np.ndarray, edges: np.ndarray, label: np.ndarray, eligible: np.ndarray,
              rim_nm: float) -> np.ndarray:
    """``label`` (V,) spine id per vertex (-1 none) with every unlabelled ``eligible`` vertex within ``rim_nm``
    (nm, path length along ``edges`` through unlabelled eligible vertices) of a spine given to the nearest one."""
    if rim_nm <= 0 or not (label >= 0).any():
        return label
    nv = len(label)
    free = eligible & (label < 0)
    # edges inside the free surface, and from a spine vertex into it (never through another spine)
    use = (free[edges[:, 0]] | free[edges[:, 1]]) & (eligible[edges[:, 0]] & eligible[edges[:, 1]])
    use &= ~((label[edges[:, 0]] >= 0) & (label[edges[:, 1]] >= 0))
    e = edges[use]
    if len(e) == 0:
        return label
    w = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1) + 1e-6
    g = sp.coo_matrix((w, (e[:, 0], e[:, 1])), shape=(nv, nv)).tocsr()
    src = np.unique(e[label[e] >= 0])  # spine vertices at the edge of the free surface
    if len(src) == 0:
        return label
    dist, _, origin = csgraph.dijkstra(g, directed=False, indices=src, min_only=True, limit=rim_nm,
                                       return_predecessors=True)
    take = free & np.isfinite(dist) & (origin >= 0)
    out = label.copy()
    out[take] = label[origin[take]]
    return out

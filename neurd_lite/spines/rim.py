"""The junction ring of a spine given back to it (nm; ``SpineParams.rim_nm``, opt-in since session 20).

A spine grows through vertices that protrude more than the growth threshold (25 nm or 0.05 x the shaft radius)
above the shaft model, so its found boundary lies above the place where its surface meets the shaft: the
junction is a crease (the head or neck surface turns into the shaft's), which sits at or below the surrounding
shaft level, not above it. Measured on tune members of the sparsely spiny classes (session 20): of the
unlabelled vertices within 150 nm of a found spine, 64-79 % belong to a true spine, and most of those stand
*below* the level of the surrounding shaft (so no height test can give them back; the vertex model leaves them
too). This step gives each spine the unlabelled eligible vertices within ``rim_nm`` of it along mesh edges
(each joins the spine it is nearest to, so two spines never merge; a vertex no spine reaches stays shaft).
With ``SpineParams.rim_max_density_per_um`` > 0 only spines on sparsely spiny dendrite take a rim
(:func:`sparse_spines`): on held-out cells the rim helped the sparsely spiny classes and cost the pyramidal ones.
It changes where a spine ends and never merges two spines (a spine it widens can still fail detect_spines'
length / head-width checks).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from .relief import attachment, found_spine_density, spine_anchor_samples
from .turned_rim import turned_vertices


def grow_rims(verts: np.ndarray, edges: np.ndarray, label: np.ndarray, eligible: np.ndarray,
              rim_nm: float, spines: np.ndarray | None = None) -> np.ndarray:
    """``label`` (V,) spine id per vertex (-1 none) with every unlabelled ``eligible`` vertex within ``rim_nm``
    (nm, path length along ``edges`` through unlabelled eligible vertices) of a spine given to the nearest one.
    ``spines``: (n_spines,) bool, the spines that take a rim (None: all); the others block the rim as before."""
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
    if spines is not None:
        src = src[spines[label[src]]]
    if len(src) == 0:
        return label
    dist, _, origin = csgraph.dijkstra(g, directed=False, indices=src, min_only=True, limit=rim_nm,
                                       return_predecessors=True)
    take = free & np.isfinite(dist) & (origin >= 0)
    out = label.copy()
    out[take] = label[origin[take]]
    return out


def sparse_spines(label: np.ndarray, fld, max_density_per_um: float, radius_nm: float) -> np.ndarray | None:
    """(n_spines,) bool: spines of ``label`` (per vertex, dense ids, -1 none) around whose anchor sample fewer than
    ``max_density_per_um`` spines per µm of ``label`` lie within ``radius_nm`` (nm; ``relief.found_spine_density``);
    a spine without an anchor sample counts as sparse. None (every spine) when ``max_density_per_um`` <= 0."""
    if max_density_per_um <= 0 or not (label >= 0).any():
        return None
    anchor = spine_anchor_samples(label, fld)
    dens = np.zeros(len(anchor))
    has = anchor >= 0
    dens[has] = found_spine_density(anchor, fld, anchor[has], radius_nm)
    return dens < max_density_per_um


def with_rims(verts: np.ndarray, edges: np.ndarray, fld, eligible_v: np.ndarray, label: np.ndarray, ring, p,
              faces: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, object]:
    """(label, base, ring) after the vertex model with each spine's rim (``p.rim_nm``, gate
    ``p.rim_max_density_per_um``) added; base / ring: the attachment (``relief.attachment``) of the new label.
    With ``p.rim_turned_max_cos`` set (and ``faces`` given) the spines the gate leaves out then take the part of
    their rim whose surface is turned away from the shaft's radial direction (``turned_rim.py``)."""
    h = np.asarray(fld.protrusion_nm, dtype=float)
    ok = eligible_v & np.isfinite(h)
    sparse = sparse_spines(label, fld, p.rim_max_density_per_um, p.relief_density_radius_nm)
    new = grow_rims(verts, edges, label, ok, p.rim_nm, sparse)
    if p.rim_turned_max_cos is not None and faces is not None and sparse is not None and (~sparse).any():
        reach = grow_rims(verts, edges, new, ok, p.rim_nm, ~sparse)  # the dense spines' whole rim
        cand = np.flatnonzero((reach >= 0) & (new < 0))
        turned = turned_vertices(verts, faces, fld, cand, p.rim_turned_radius_nm, p.rim_turned_max_cos)
        new = grow_rims(verts, edges, new, ok & (turned | (new >= 0)), p.rim_nm, ~sparse)
    base, ring2 = attachment(edges, new, eligible_v, ring.iloc[:0])
    return new, base, ring2

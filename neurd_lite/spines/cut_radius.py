"""The shaft radius at a cut end of a dendrite fragment, read from the cut itself (``SpineParams.cut_end_radius``; nm).

A chunk's shaft radius (``shaft.shaft_field``) is a low area quantile of the distances of its surface from the axis:
right while the shaft holds more of the chunk's surface than that quantile. On a short fragment whose spines are
most of its surface (the 3.2 µm Harris stub: 67 %) the quantile lands on spine bases and the radius reads wide
(stub: 629 nm for a 390 nm tube); the whole tube then sits 250-350 nm under the modelled shaft surface, and the
vertex model, the relief pass and the neck extension take shaft beside the spine bases. Where the fragment was cut
out of its volume the mesh shows the shaft's cross-section itself: the open loop the crop left (the skeleton stage
marks it, ``skeleton.cut_ends``); the mean distance of the loop from its centre is the quantity the chunk radius
estimates. Spines cannot widen it unless the cut passes through a spine base, which only makes the loop wider. So
a skeleton sample within ``reach_nm`` along the skeleton of a cut end takes at most that cut's radius (between two
cut ends in reach: interpolated by path distance); a radius already below it is kept. Only skeletons that carry
cut ends (somaless fragments, ``skeleton.vertex_properties["cut_end"]``) with an open loop there change.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.sparse.csgraph import dijkstra

from ..geometry.meshgraph import boundary_loops
from ..skeleton.model import Skeleton


def cut_end_radii(skel: Skeleton, verts: np.ndarray, faces: np.ndarray) -> dict[int, float]:
    """{skeleton vertex: radius nm} for the skeleton's cut ends (``skel.cut_ends``, found by the skeleton stage)
    matched to the longest open loop of the mesh that holds the vertex within its own radius of its centre; cut
    ends without such a loop are left out. Flat caps are not used: a capping tool smooths the cap's rim into the
    wall, so the flat patch is narrower than the section (dendrite_19321: caps 361 / 337 nm, the sections beside
    them 434 / 417 nm)."""
    cut = np.flatnonzero(skel.cut_ends)
    if not len(cut):
        return {}
    loops = boundary_loops(verts, faces)  # centre and radius as skeleton.cut_ends.find_cut_ends measures a cut
    out = {}
    for i in cut:
        near = [(lp.perimeter_nm, lp.radius_nm) for lp in loops
                if np.linalg.norm(lp.centre_nm - skel.vertices[i]) <= lp.radius_nm]
        if near:
            out[int(i)] = max(near)[1]
    return out


def cap_at_cut_ends(fld, skel: Skeleton, verts: np.ndarray, faces: np.ndarray, reach_nm: float):
    """``fld`` (ShaftField) with the radius of every sample within ``reach_nm`` (path length along ``skel``) of a
    cut end capped by that cut's radius (:func:`cut_end_radii`; two cut ends in reach: linear in path distance);
    spread clipped to the new radius. ``fld`` itself when nothing changes."""
    radii = cut_end_radii(skel, verts, faces)
    if not radii or reach_nm <= 0:
        return fld
    ids = np.array(sorted(radii))
    rc = np.array([radii[i] for i in ids])
    dist = np.atleast_2d(dijkstra(skel.csgraph, directed=False, indices=ids, limit=reach_nm))  # (C, N) nm
    owner = np.asarray(fld.sample_skel_vertex)
    ok = owner >= 0
    d = np.full((len(ids), len(owner)), np.inf)
    d[:, ok] = dist[:, owner[ok]]
    dd = np.where(np.isfinite(d), d, np.inf)
    order = np.argsort(dd, axis=0)[: min(2, len(ids))]  # the two nearest cut ends in reach
    two = np.take_along_axis(dd, order, axis=0)
    w = np.where(np.isfinite(two), 1.0 / np.maximum(two, 1.0), 0.0)  # 1 / a, 1 / b: linear in path distance
    near = w.sum(0) > 0
    if not near.any():
        return fld
    cap_s = np.full(len(owner), np.inf)
    cap_s[near] = ((w * rc[order]).sum(0) / np.maximum(w.sum(0), 1e-12))[near]
    r_s = np.asarray(fld.sample_radius_nm, dtype=float)
    new_s = np.where(np.isfinite(r_s) & (r_s > cap_s), cap_s, r_s)
    if np.array_equal(new_s, r_s, equal_nan=True):
        return fld
    si = np.asarray(fld.sample_index)
    r_v = np.asarray(fld.radius_nm, dtype=float)
    lowered = np.zeros(len(r_v), dtype=bool)
    lowered[si >= 0] = (new_s < r_s)[si[si >= 0]]
    new_v = np.where(lowered, new_s[np.maximum(si, 0)], r_v)
    spread = fld.spread_nm
    if spread is not None:
        spread = np.where(lowered, np.clip(spread - (r_v - new_v), 0.0, None), spread)
    return replace(fld, radius_nm=new_v, sample_radius_nm=new_s, spread_nm=spread)

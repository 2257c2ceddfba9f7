"""The shaft field of a normalised view, fitted on the mesh it was refined from and carried to its new vertices.

With ``SpineParams.normalise_edge_nm`` > 0 the detector runs on a view whose dendritic edges were split at their
midpoints (``normalise.py``). The split does not move the surface, so the shaft model (axis samples, chunk radii,
spread) fitted on the source mesh describes the view's surface as well; fitting it again on the 2-3x denser view
cost most of the extra shaft time (session 13). :func:`field_for` fits on the source and reads each new vertex
against the fitted axis as the fit reads a source vertex (nearest sample, distance, that sample's radius, spread
and skeleton vertex); the beyond-the-tip flag comes from the end of the edge the vertex halves.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from ..neuron import Neuron
from ..skeleton.model import Skeleton
from .normalise import SOURCE_KEY, NormalisedSource
from .shaft import ShaftField, ShaftParams, shaft_field


def carry_field(fld: ShaftField, vertices_nm: np.ndarray, ends: np.ndarray) -> ShaftField:
    """``fld`` (on the first V vertices) extended to all of ``vertices_nm`` (V'', 3) nm; ``ends`` (V'' - V, 2):
    the edge ends of each new vertex (indices below it). Per new vertex, as ``shaft_field`` reads a vertex: the
    nearest axis sample, the distance to it (nm), its radius and skeleton vertex, and the spread of its chunk (read
    off a source vertex of that sample; the nearer edge end's where none has it); ``beyond_end`` from the edge end
    whose sample lies nearer (the flag needs the end sample's outward tangent, which the field does not keep)."""
    v = np.asarray(vertices_nm, dtype=np.float64)
    n0, ends = len(fld.distance_nm), np.asarray(ends, dtype=np.int64)
    if len(v) != n0 + len(ends):
        raise ValueError(f"{len(v)} vertices, but the field has {n0} and {len(ends)} new vertices have ends")
    pts = fld.sample_points_nm
    s = np.concatenate([np.asarray(fld.sample_index), np.zeros(len(ends), dtype=np.int64)])
    d = np.concatenate([np.asarray(fld.distance_nm, dtype=np.float64), np.zeros(len(ends))])
    if len(ends) and len(pts):
        d[n0:], s[n0:] = cKDTree(pts).query(v[n0:])
    src = np.full(len(v), -1, dtype=np.int64)  # the source vertex whose flags a new vertex takes
    src[:n0] = np.arange(n0)
    todo = np.arange(n0, len(v))
    while len(todo):  # an end may itself be a new vertex (later rounds of the split): go by rounds
        e = ends[todo - n0]
        ready = (src[e[:, 0]] >= 0) & (src[e[:, 1]] >= 0)
        if not ready.any():
            raise ValueError("edge ends do not resolve to source vertices")
        m, e = todo[ready], e[ready]
        da = np.linalg.norm(v[m] - pts[np.maximum(s[e[:, 0]], 0)], axis=1)
        db = np.linalg.norm(v[m] - pts[np.maximum(s[e[:, 1]], 0)], axis=1)
        src[m] = src[np.where(db < da, e[:, 1], e[:, 0])]
        todo = todo[~ready]
    spread = None
    if fld.spread_nm is not None:
        per_sample = np.full(len(pts), np.nan)
        per_sample[np.asarray(fld.sample_index)] = fld.spread_nm  # a function of the sample (its chunk)
        spread = per_sample[s]
        spread[:n0] = fld.spread_nm
        lost = np.isnan(spread) & (np.arange(len(v)) >= n0)
        spread[lost] = np.asarray(fld.spread_nm)[src[lost]]
    return dataclasses.replace(fld, distance_nm=d, sample_index=s, radius_nm=fld.sample_radius_nm[s],
                               sample_vertex=fld.sample_skel_vertex[s], spread_nm=spread,
                               beyond_end=np.asarray(fld.beyond_end)[src])


def field_for(n: Neuron, vertices_nm: np.ndarray, faces: np.ndarray, skel: Skeleton, eligible_faces: np.ndarray,
              params: ShaftParams) -> ShaftField:
    """The shaft field of ``n``'s mesh (``vertices_nm``, ``faces``; ``eligible_faces`` (F,) bool): fitted on the
    source mesh and carried (:func:`carry_field`) when ``n`` is a normalised view, else ``shaft.shaft_field``.
    A source face is eligible when any of its children is."""
    src = n.cache.get(SOURCE_KEY)
    if not isinstance(src, NormalisedSource) or len(vertices_nm) != len(src.vertices_nm) + len(src.ends):
        return shaft_field(vertices_nm, faces, skel, eligible_faces, params)
    ok = np.zeros(len(src.faces), dtype=bool)
    ok[src.parent[np.asarray(eligible_faces, dtype=bool)]] = True
    fld = shaft_field(src.vertices_nm, src.faces, skel, ok, params)
    return carry_field(fld, vertices_nm, src.ends)

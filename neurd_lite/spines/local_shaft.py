"""A local shaft for dendrite surface that no skeleton reached (opt-in; nm throughout).

Where a dendrite section has no skeleton of its own, every vertex on it is measured against the nearest axis of
another branch, microns away: its protrusion reads microns everywhere, spines on it grow into candidates longer
than ``max_length_nm`` and are dropped, and its shaft is never searched. Here such surface is found (connected
patches of eligible surface farther than ``far_factor`` x the local radius + ``far_floor_nm`` from the axis,
covering at least ``min_area_nm2``: a spine's tip is small, an unskeletonised section is not) and each
``cell_nm`` cube of it gets its own straight shaft: the axis direction is the patch's principal direction (a
tube section longer than wide), its centre a circle fit (Kasa) of the patch around that direction, its radius the
area-weighted ``radius_quantile`` of the distances to that line. The vertex's distance and radius in the
returned field are then measured against that local shaft.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshgraph import edge_components
from ..geometry.stats import weighted_quantile
from .shaft import ShaftField


def far_patches(edges: np.ndarray, protrusion_nm: np.ndarray, eligible_v: np.ndarray, vertex_area_nm2: np.ndarray,
                far_nm: float, min_area_nm2: float) -> np.ndarray:
    """(V,) patch id (-1 elsewhere) of connected eligible surface protruding more than far_nm (nm) whose area
    (nm²) reaches min_area_nm2 and that borders eligible surface protruding less (it grows out of measured
    dendrite)."""
    far = eligible_v & np.nan_to_num(protrusion_nm > far_nm, nan=False)
    nv = len(protrusion_nm)
    _, comp = edge_components(nv, edges[far[edges[:, 0]] & far[edges[:, 1]]])
    comp = np.where(far, comp, -1)
    area = np.bincount(comp[far], weights=vertex_area_nm2[far], minlength=nv)
    near = eligible_v & np.nan_to_num(protrusion_nm <= far_nm, nan=False)
    border = np.zeros(nv, dtype=bool)  # patches joined to skeleton-measured shaft (a detached piece is no section)
    for a, b in ((0, 1), (1, 0)):
        border[comp[edges[far[edges[:, a]] & near[edges[:, b]], a]]] = True
    keep = far & (area[np.maximum(comp, 0)] >= min_area_nm2) & border[np.maximum(comp, 0)]
    out = np.full(nv, -1, dtype=np.int64)
    out[keep] = np.unique(comp[keep], return_inverse=True)[1].ravel()
    return out


def _circle_line(pts: np.ndarray, w: np.ndarray, t: np.ndarray, c0: np.ndarray) -> np.ndarray:
    """Centre (nm) of a weighted algebraic (Kasa) circle fit of ``pts`` projected across direction ``t``."""
    u = np.cross(t, [1.0, 0.0, 0.0] if abs(t[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(t, u)
    a, b = (pts - c0) @ u, (pts - c0) @ v
    sw = np.sqrt(w)
    A = np.column_stack([2 * a, 2 * b, np.ones_like(a)]) * sw[:, None]
    sol = np.linalg.lstsq(A, (a * a + b * b) * sw, rcond=None)[0]
    return c0 + sol[0] * u + sol[1] * v


def fit_line_shaft(pts: np.ndarray, w: np.ndarray, quantile: float, trim: float = 1.25, rounds: int = 2
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """Straight shaft through surface points ``pts`` (nm, weights ``w``): (centre, unit direction, radius nm).
    Direction: the weighted principal axis; centre: a circle fit across it, refitted ``rounds`` times without
    the points farther than ``trim`` x the radius (spines stand outside the shaft); radius: the weighted
    ``quantile`` of the distances to the line."""
    c0 = np.average(pts, axis=0, weights=w)
    x = pts - c0
    t = np.linalg.eigh((x * w[:, None]).T @ x)[1][:, -1]
    keep = np.ones(len(pts), dtype=bool)
    for _ in range(rounds + 1):
        centre = _circle_line(pts[keep], w[keep], t, c0)
        d = np.linalg.norm(np.cross(pts - centre, t), axis=1)
        r = float(weighted_quantile(d[keep], w[keep], quantile))
        nxt = d <= trim * r
        if nxt.sum() < 12 or np.array_equal(nxt, keep):
            break
        keep = nxt
    return centre, t, r


def local_shaft_field(fld: ShaftField, verts: np.ndarray, edges: np.ndarray, eligible_v: np.ndarray,
                      vertex_area_nm2: np.ndarray, far_nm: float, min_area_nm2: float, cell_nm: float,
                      radius_quantile: float) -> tuple[ShaftField, np.ndarray]:
    """``fld`` with unskeletonised surface measured against local shafts: a straight shaft is fitted to each
    ``cell_nm`` cube of every ``far_patches`` patch (its surface within cell_nm of the cube's centre), and each
    eligible vertex within cell_nm of a fitted centre is measured against the nearest such shaft when that shaft's
    line is nearer than its axis in ``fld`` (as the skeleton's samples: the nearest axis owns a vertex). Shafts
    whose centre lies within their radius + the skeleton's radius of the skeleton's axis are not used. Also
    returns the (V,) mask of vertices so measured."""
    patch = far_patches(edges, fld.protrusion_nm, eligible_v, vertex_area_nm2, far_nm, min_area_nm2)
    on = np.flatnonzero(patch >= 0)
    done = np.zeros(len(verts), dtype=bool)
    if len(on) == 0:
        return fld, done
    key = np.column_stack([patch[on], np.floor(verts[on] / cell_nm).astype(np.int64)])
    cell = np.unique(key, axis=0, return_inverse=True)[1].ravel()
    fits = []
    for p_id in np.unique(patch[on]):
        in_p = patch[on] == p_id
        sel, cs = on[in_p], cell[in_p]
        tree = cKDTree(verts[sel])
        for c in np.unique(cs):
            centre0 = verts[sel[cs == c]].mean(0)
            near = sel[tree.query_ball_point(centre0, cell_nm)]
            if len(near) >= 12:
                fits.append(fit_line_shaft(verts[near], np.maximum(vertex_area_nm2[near], 1e-9), radius_quantile))
    if fits:
        # a local shaft is another tube only when it does not overlap the skeleton's: a varicosity or a
        # swelling around the axis fits a line through the axis itself and keeps the skeleton's measure
        d_ax, i_ax = cKDTree(fld.sample_points_nm).query(np.array([f[0] for f in fits]))
        fits = [f for f, d, i in zip(fits, d_ax, i_ax) if d > f[2] + fld.sample_radius_nm[i]]
    if not fits:
        return fld, done
    centres = np.array([f[0] for f in fits])
    dirs = np.array([f[1] for f in fits])
    radii = np.array([f[2] for f in fits])
    cand = np.flatnonzero(eligible_v)
    dc, k = cKDTree(centres).query(verts[cand], distance_upper_bound=cell_nm)
    hit = np.isfinite(dc)
    cand, k = cand[hit], k[hit]
    d_loc = np.linalg.norm(np.cross(verts[cand] - centres[k], dirs[k]), axis=1)
    better = d_loc < np.nan_to_num(fld.distance_nm[cand], nan=np.inf)
    cand, k, d_loc = cand[better], k[better], d_loc[better]
    dist, rad = fld.distance_nm.copy(), fld.radius_nm.copy()
    dist[cand], rad[cand] = d_loc, radii[k]
    done[cand] = True
    return replace(fld, distance_nm=dist, radius_nm=rad, beyond_end=fld.beyond_end & ~done), done

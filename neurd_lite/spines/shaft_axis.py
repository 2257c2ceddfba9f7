"""Fitting the shaft axis to the surface (``ShaftParams.fit_axis`` / ``fit_local_nm``; moved from ``shaft.py``,
which re-exports the names): one straight-axis circle fit per window along each unbranched segment
(:func:`fit_axis_offsets`), a circle per axis sample from its own surface (:func:`refine_axis_local`), and the
roundest of the candidate axes per sample (:func:`best_axis`). Positions and lengths in nm.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.nearest import query_sets
from ..geometry.sampling import area_points
from ..geometry.ties import outside_nearest
from ..geometry.stats import group_normal_equations, group_quantiles, weighted_group_quantile
from .axial import _window_ids

if TYPE_CHECKING:
    from .shaft import ShaftParams


def _kasa_offsets(o: np.ndarray, t: np.ndarray, w: np.ndarray, grp: np.ndarray, n_grp: int, min_points: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted algebraic (Kasa) fit of a cylinder with a straight axis per group of points.

    ``o`` (K, 3) nm: offsets of the points from their own axis sample, in that sample's cross-section plane;
    ``t`` (K,): the sample's position along the group (about -1..1). The axis centre at position t is
    delta0 + t delta1 and |o - centre(t)|^2 = r^2 is linear in (delta0, delta1, k0, k1, k2) once expanded
    (|o|^2 = 2 o.delta0 + 2 t o.delta1 + k0 + k1 t + k2 t^2). Returns delta0 (n_grp, 3), delta1 (n_grp, 3)
    and the radius at t = 0 (n_grp,); zeros / NaN for groups with fewer than ``min_points`` weighted points.
    A small ridge keeps the offsets in the cross-section planes (o has no component along the axis).
    """
    q = (o * o).sum(1)
    o2 = [2.0 * o[:, c] for c in range(3)]
    t2 = 2.0 * t
    feats = [*o2, *(t2 * o[:, c] for c in range(3)), np.ones(len(o)), t, t * t]  # 9 columns of (K,)
    A, b = group_normal_equations(grp, w, feats, q, n_grp)
    cnt = np.bincount(grp, weights=(w > 0).astype(float), minlength=n_grp)
    ridge = 1e-3 * np.trace(A[:, :3, :3], axis1=1, axis2=2) / 3.0 + 1e-9
    A[:, :6, :6] += ridge[:, None, None] * np.eye(6)[None]
    A[:, 6:, 6:] += 1e-9 * np.eye(3)[None] * np.maximum(A[:, 6, 6], 1.0)[:, None, None]
    ok = (cnt >= min_points) & (A[:, 6, 6] > 0)
    d0 = np.zeros((n_grp, 3))
    d1 = np.zeros((n_grp, 3))
    rad = np.full(n_grp, np.nan)
    if ok.any():
        x = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        d0[ok], d1[ok] = x[:, :3], x[:, 3:6]
        rad[ok] = np.sqrt(np.maximum(x[:, 6] + (x[:, :3] ** 2).sum(1), 0.0))
    return d0, d1, rad


def surface_samples(tri: np.ndarray, area: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """(<= count, 3) points spread uniformly over the triangles ``tri`` (K, 3, 3) by area, so that a fit sees a
    coarsely tessellated shaft and a finely tessellated spine in proportion to their surface. Each face's
    samples follow from its own coordinates (:func:`neurd_lite.geometry.sampling.area_points`), so the same
    surface listed in another order, or cut out of a larger mesh, gets the same points."""
    return area_points(tri, area, count, seed)


def fit_axis_offsets(v: np.ndarray, area: np.ndarray, pts: np.ndarray, tang: np.ndarray, seg: np.ndarray,
                     droot: np.ndarray, p: "ShaftParams", rng_seed: int = 0, nearest: np.ndarray | None = None
                     ) -> np.ndarray:
    """Resampled axis points (M, 3) nm moved onto the centres of their shaft cross-sections.

    A skeleton that runs off the shaft centre (surface-walking skeletonizers; a skeleton re-centred on a
    spiny or partly missing surface) biases every distance-to-axis. Each mesh vertex (``v`` with areas ``area``; a
    random subset of at most ``fit_max_points``) is assigned to its nearest axis point and projected onto that
    point's cross-section plane. One circle is fitted per window of ``fit_window_nm`` along each unbranched
    segment (two grids shifted by half a window, averaged, so offsets change smoothly), with the axis offset
    shared by the window. Vertices farther out than the fitted circle by max(60 nm, 0.25 r) (spines) or
    farther in than max(150 nm, 0.5 r) (other neurites) are dropped and the fit repeated. nearest: the index
    of each point of ``v``'s nearest row of ``pts`` when the caller has it (used only when ``v`` is not subsampled).
    """
    if len(v) > p.fit_max_points:
        nearest = None
        pick = np.random.default_rng(rng_seed).choice(len(v), p.fit_max_points, replace=False)
        v, area = v[pick], area[pick]
    grids = [_window_ids(seg, droot, p.fit_window_nm, s) for s in (0.0, 0.5)]
    base = pts.copy()
    offset = np.zeros_like(pts)
    s_idx = cKDTree(base).query(v)[1] if nearest is None else nearest
    g0 = grids[0]
    # total move of a sample: at most its plain radius estimate
    q0 = weighted_group_quantile(g0[s_idx], np.linalg.norm(v - base[s_idx], axis=1), area, 0.45, int(g0.max()) + 1)
    r_cap = np.nan_to_num(q0[g0], nan=0.0)
    t_grid = []
    for g in grids:
        n_g = int(g.max()) + 1
        mid = np.bincount(g, weights=droot, minlength=n_g) / np.maximum(np.bincount(g, minlength=n_g), 1)
        t_grid.append((droot - mid[g]) / (0.5 * p.fit_window_nm))
    ts = tang[s_idx]  # each point's sample tangent, gathered again only when s_idx changes
    for it in range(p.fit_iterations + 1):
        cur = base + offset
        o = v - cur[s_idx]
        o -= (o * ts).sum(1)[:, None] * ts
        if it == 0:
            # start from the nearer part of each window: far points are spines or other neurites
            dist0 = np.linalg.norm(o, axis=1)
            med = weighted_group_quantile(g0[s_idx], dist0, area, 0.5, int(g0.max()) + 1)
            inlier = dist0 <= 1.6 * med[g0[s_idx]]
        new = np.zeros_like(pts)
        rads = []
        if it == 0:
            q_grid = [weighted_group_quantile(g[s_idx], dist0, area, 0.45, int(g.max()) + 1) for g in grids]
        for k, (g, tg) in enumerate(zip(grids, t_grid)):
            n_g = int(g.max()) + 1
            d0, d1, rad = _kasa_offsets(o, tg[s_idx], area * inlier, g[s_idx], n_g, 30)
            # a window whose circle disagrees with the plain radius estimate is not trusted (another neurite
            # near a branch point, a mostly missing surface): it keeps its axis
            q = q_grid[k]
            bad = ~((rad > 0.5 * q) & (rad < 1.5 * q + 100.0))
            d0[bad], d1[bad], rad[bad] = 0.0, 0.0, np.nan
            delta = d0[g] + tg[:, None] * d1[g]
            lim = np.nan_to_num(np.minimum(rad, q)[g], nan=0.0)
            norm = np.linalg.norm(delta, axis=1)
            delta *= np.minimum(1.0, lim / np.maximum(norm, 1e-9))[:, None]  # never beyond the fitted radius
            new += 0.5 * delta
            rads.append(rad[g])
        offset = offset + new
        offset -= (offset * tang).sum(1)[:, None] * tang
        norm = np.linalg.norm(offset, axis=1)
        offset *= np.minimum(1.0, r_cap / np.maximum(norm, 1e-9))[:, None]
        if it == p.fit_iterations:
            break
        r_all = np.column_stack(rads)
        n_ok = np.isfinite(r_all).sum(1)
        r_s = np.where(n_ok > 0, np.nansum(r_all, axis=1) / np.maximum(n_ok, 1), np.nan)
        r_v = r_s[s_idx]
        o = v - (base + offset)[s_idx]
        o -= (o * ts).sum(1)[:, None] * ts
        res = np.linalg.norm(o, axis=1) - r_v
        inlier = np.isfinite(res) & (res < np.maximum(60.0, 0.25 * r_v)) & (res > -np.maximum(150.0, 0.5 * r_v))
        if it == p.fit_iterations // 2:  # points follow the moved axis once (the first assignment is a slab)
            s_idx = cKDTree(base + offset).query(v)[1]
            ts = tang[s_idx]
    return base + offset


def _window_pairs(cloud: np.ndarray, pts: np.ndarray, seg: np.ndarray, droot: np.ndarray, half_window_nm: float,
                  nearest: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(point, sample) index pairs: each cloud point with the axis samples of its nearest sample's unbranched
    segment that lie within about ``half_window_nm`` of it along the segment (by sample rank). nearest: that
    nearest sample of each point when the caller has it."""
    m = len(pts)
    order = np.lexsort((droot, seg))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    s_idx = cKDTree(pts).query(cloud)[1] if nearest is None else nearest
    step = np.median(np.linalg.norm(np.diff(pts[order], axis=0), axis=1)) if m > 1 else 1.0
    k = int(np.clip(np.ceil(half_window_nm / max(step, 1.0)), 2, 16))
    pos = rank[s_idx][:, None] + np.arange(-k, k + 1)[None, :]
    valid = (pos >= 0) & (pos < m)
    j = order[np.clip(pos, 0, m - 1)]
    valid &= seg[j] == seg[s_idx][:, None]
    return np.nonzero(valid)[0], j[valid]


def _cdot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products of the columns of two (3, K) column stacks: ``(a.T * b.T).sum(1)`` bit for bit (the same
    left-to-right sum of the three products) on contiguous rows, without the strided reduction."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _paired(cloud: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cloud point (3, K) nm, its sample's unit tangent (3, K), sample index (K,)) of each pair, coordinates as
    contiguous columns: gathered once for every centre tried on the same pairs."""
    pi, j = pairs
    return np.ascontiguousarray(cloud.T).take(pi, axis=1), np.ascontiguousarray(tang.T).take(j, axis=1), j


def _plane_offsets(paired: tuple[np.ndarray, np.ndarray, np.ndarray], centre: np.ndarray, half_window_nm: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (3, K) of paired points (:func:`_paired`) from their sample's centre in its cross-section plane,
    and a mask of pairs within ``half_window_nm`` along the axis. Column for column the same arithmetic as on
    (K, 3) rows (bit for bit), without strided access."""
    cp, tj, j = paired
    ct, o = np.ascontiguousarray(centre.T), np.empty_like(cp)
    for c in range(3):  # one contiguous take per coordinate: ~3x faster than the (3, K) gather ct[:, j]
        np.subtract(cp[c], ct[c].take(j), out=o[c])
    along = _cdot3(o, tj)
    o -= along * tj
    return o, np.abs(along) <= half_window_nm


def refine_axis_local(cloud: np.ndarray, pts: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                      half_window_nm: float = 500.0, iterations: int = 4, min_points: int = 20) -> np.ndarray:
    """Axis samples (M, 3) nm moved onto the centre of a circle fitted to the surface around each sample alone.

    The window fit of :func:`fit_axis_offsets` shares one straight axis per window, so an axis that kinks or
    bends stays off centre. Each sample gets its own algebraic circle fit in its cross-section plane from the
    paired cloud points (``pairs`` from :func:`_window_pairs`) within ``half_window_nm`` along the axis; points
    beyond the circle by max(60 nm, 0.25 r) or inside by max(150 nm, 0.5 r) are trimmed (``iterations`` rounds).
    Samples with fewer than ``min_points`` points keep their position; a move never exceeds the fitted radius.
    """
    paired = _paired(cloud, tang, pairs)
    j = paired[2]
    m = len(pts)
    centre = pts.copy()
    rad = np.full(m, np.nan)
    for it in range(iterations):
        o, near = _plane_offsets(paired, centre, half_window_nm)
        q = _cdot3(o, o)
        dist = np.sqrt(q)  # np.linalg.norm(o, axis=1), bit for bit
        if it == 0:
            med = group_quantiles(j[near], dist[near], (0.5,), m)[:, 0]
            w = near & (dist <= 1.6 * med[j])
        else:
            rj = rad[j]  # gathered once
            res = dist - rj
            w = near & np.isfinite(res) & (res < np.maximum(60.0, 0.25 * rj)) & (res > -np.maximum(150.0, 0.5 * rj))
        A, b = group_normal_equations(j, w, [2.0 * o[0], 2.0 * o[1], 2.0 * o[2], np.ones(len(q))], q, m)
        cnt = np.bincount(j[w], minlength=m)  # the weights 0 / 1 summed: exact counts
        ridge = 1e-3 * np.trace(A[:, :3, :3], axis1=1, axis2=2) / 3.0 + 1e-9
        A[:, :3, :3] += ridge[:, None, None] * np.eye(3)[None]
        ok = (cnt >= min_points) & (A[:, 3, 3] > 0)
        if not ok.any():
            break
        x = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        delta = x[:, :3] - (x[:, :3] * tang[ok]).sum(1)[:, None] * tang[ok]
        r_new = np.sqrt(np.maximum(x[:, 3] + (x[:, :3] ** 2).sum(1), 0.0))
        step = np.linalg.norm(delta, axis=1)
        delta *= np.minimum(1.0, r_new / np.maximum(step, 1e-9))[:, None]
        centre[ok] += delta
        rad[ok] = r_new
    return centre


def roundness_cost(cloud: np.ndarray, centre: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                   half_window_nm: float, low: float = 0.1, high: float = 0.55, with_radius: bool = False,
                   paired: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """(M,) spread of the shaft surface around each axis sample, nm: the ``high`` minus the ``low`` quantile of
    the paired points' distances from the axis. Spines only lift the upper tail; an off-centre axis widens the
    lower part of the distribution by about its offset. NaN for samples without points. ``with_radius``: also
    return the ``high`` quantile (a radius estimate around the sample). ``paired``: :func:`_paired` of
    (cloud, tang, pairs) when the caller already has it."""
    paired = _paired(cloud, tang, pairs) if paired is None else paired
    j = paired[2]
    o, near = _plane_offsets(paired, centre, half_window_nm)
    q = group_quantiles(j[near], np.sqrt(_cdot3(o, o))[near], (low, high), len(centre))
    return (q[:, 1] - q[:, 0], q[:, 1]) if with_radius else q[:, 1] - q[:, 0]


def best_axis(cloud: np.ndarray, candidates: list[np.ndarray], tang: np.ndarray, seg: np.ndarray,
              droot: np.ndarray, half_window_nm: float, surface: np.ndarray | None = None,
              min_clearance: float = 0.0, surface_normals: np.ndarray | None = None, stable_ties: bool = False
              ) -> np.ndarray:
    """Per axis sample, the candidate position (each (M, 3) nm) with the roundest cross-section around it
    (smallest :func:`roundness_cost`; the first candidate where no cost is known).

    With ``surface`` (mesh vertices, nm) and ``min_clearance`` > 0, a candidate closer to the surface than
    ``min_clearance`` x its cross-section radius is not an axis (it sits in a spine neck or against the wall)
    and is chosen only when every candidate is that close (then the one farthest from the surface, relative to
    its radius). With ``surface_normals`` (outward unit normals of ``surface``), a candidate on the outer side
    of its nearest surface vertex (of all of them when several are equally near and ``stable_ties``:
    :func:`outside_nearest`) lies outside the mesh and is refused unless every candidate does (where spines
    cover most of the window, a point out in the extracellular space can read rounder than the axis)."""
    pairs = _window_pairs(cloud, candidates[0], seg, droot, half_window_nm)
    paired = _paired(cloud, tang, pairs)
    cr = [roundness_cost(cloud, c, tang, pairs, half_window_nm, with_radius=True, paired=paired) for c in candidates]
    cost = np.column_stack([c for c, _ in cr])
    known = np.isfinite(cost).all(1)
    guarded = surface is not None and min_clearance > 0 and len(surface) > 0
    if guarded:
        tree = cKDTree(surface)
        rad = np.column_stack([r for _, r in cr])
        near = query_sets(tree, candidates)  # = [tree.query(c) for c in candidates], repeated rows once
        ratio = np.column_stack([d for d, _ in near]) / np.maximum(rad, 1.0)
        close = ratio < min_clearance
        if surface_normals is not None:
            outside = np.column_stack([outside_nearest(tree, c, d, i, surface, surface_normals, stable_ties)
                                       for c, (d, i) in zip(candidates, near)])
            outside &= ~outside.all(1)[:, None]
            close |= outside
            ratio = np.where(outside, -np.inf, ratio)  # the all-close fallback never goes outside either
        all_close = close.all(1)
        cost = np.where(close & ~all_close[:, None], np.inf, cost)
        pick_close = np.argmax(np.nan_to_num(ratio, nan=-np.inf), axis=1)
    pick = np.where(known, np.argmin(np.nan_to_num(cost, nan=np.inf), axis=1), 0)
    if guarded:
        pick = np.where(known & all_close, pick_close, pick)
    stack = np.stack(candidates, 1)
    return stack[np.arange(len(pick)), pick]

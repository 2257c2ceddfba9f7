"""Spines that are the end of their own process (nm; ``SpineParams.process_end_max_share``, default 0.1).

A spine leaves its shaft sideways: its base is a patch on the shaft's wall, so the shaft surface around the base
runs on well past the base's own width, along the shaft's axis. The end of a thin process (a dendrite tip, or
the last µm before it) can read as a protrusion where the shaft model is wrong there (an axis fitted onto
surface past the end, a skeleton that stops short of the tip: docs/spines.md sessions 24 and 27), but its base
ring is a whole cross-section of the process: all the surface behind it lies inside the cylinder of the ring,
continuing the candidate instead of surrounding it. This step measures, per spine, the area share of the
surface near its base that lies laterally (perpendicular to the base -> spine direction) farther from the base
centre than ``lateral_factor`` x the base's own radius, and drops the spine when that share is below
``process_end_max_share``. Only the mesh is read (not the shaft model's axis, which is the thing that is off
at such ends), so the test does not inherit the error it guards against. It runs after the vertex model
(``process_end_max_share``) and, opt-in, again on the final labels after the junction rim
(``process_end_rim_max_share``: the rim completes ragged bases into sections). Tune diagnosis and numbers:
docs/spines.md, "Session 27".
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

LATERAL_FACTOR = 1.5  # surface farther than this x the base radius from the base's axis surrounds the base
PLANAR_MAX = 1.0  # a base spread along the base -> spine direction by more than this x its radius is no section
REACH_FACTOR = 3.0  # the surface within this x max(base radius, shaft radius) of the base centre is read


def _surface_pieces(edges: np.ndarray, surface: np.ndarray, vert_area: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(V,) connected piece of each ``surface`` vertex along ``edges`` inside the surface (-1 off it) and (n,)
    each piece's area (nm²)."""
    e = edges[surface[edges[:, 0]] & surface[edges[:, 1]]]
    nv = len(surface)
    g = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(nv, nv))
    _, comp = csgraph.connected_components(g, directed=False)
    comp = np.where(surface, comp, -1)
    return comp, np.bincount(comp[surface], vert_area[surface], int(comp.max()) + 1 if surface.any() else 0)


def spine_bases(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                surface: np.ndarray, edges: np.ndarray
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, float, float, float]]:
    """Per spine of ``label`` with a base (ascending ids): (id, base vertices, base centre (3,), unit base -> spine
    direction (3,), standoff = distance base centre -> area-weighted spine centroid, base radius rho = rms distance
    of the base vertices across that direction, rms spread of the base along it); nm. The base is the part of the
    ``ring`` (``spine, v``) on the largest piece of unlabelled ``surface`` (along ``edges``) the spine touches, so
    unlabelled holes inside a spine are not its base; spines with fewer than 3 base vertices are skipped."""
    n_lab = int(label.max()) + 1 if (label >= 0).any() else 0
    if n_lab == 0 or ring.empty:
        return
    on = np.flatnonzero(label >= 0)
    w_sp = np.bincount(label[on], vert_area[on], n_lab)
    tip = np.column_stack([np.bincount(label[on], vert_area[on] * verts[on, k], n_lab) for k in range(3)])
    tip /= np.maximum(w_sp, 1e-12)[:, None]
    free = surface & (label < 0)
    piece, piece_area = _surface_pieces(edges, free, vert_area)
    ring_v = ring["v"].to_numpy()
    ring_s = ring["spine"].to_numpy()
    order = np.argsort(ring_s, kind="stable")  # the groups of ``ring.groupby("spine", sort=True)``, in its order
    keys, starts = np.unique(ring_s[order], return_index=True)
    for s, rows in zip(keys.tolist(), np.split(order, starts[1:])):
        rv = np.unique(ring_v[rows])
        rv = rv[free[rv]]
        if len(rv):  # the base: where the spine meets the largest piece of surface it touches (not a hole in it)
            pr = piece[rv]
            rv = rv[pr == pr[np.argmax(piece_area[pr])]]
        if s < 0 or s >= n_lab or len(rv) < 3 or w_sp[s] <= 0:
            continue
        wr = np.maximum(vert_area[rv], 1e-12)
        c = (verts[rv] * wr[:, None]).sum(0) / wr.sum()
        d = tip[s] - c
        nd = float(np.linalg.norm(d))
        if nd <= 0:
            continue
        d = d / nd
        rel = verts[rv] - c
        lat = rel - np.outer(rel @ d, d)
        rho = float(np.sqrt((wr * (lat ** 2).sum(1)).sum() / wr.sum()))
        h = rel @ d
        yield int(s), rv, c, d, nd, rho, float(np.sqrt((wr * h ** 2).sum() / wr.sum()))


def lateral_share(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                  surface: np.ndarray, shaft_radius: np.ndarray, edges: np.ndarray, reach_floor_nm: float = 0.0,
                  planar_max: float = PLANAR_MAX) -> np.ndarray:
    """(n_spines,) per spine of ``label`` (V,) the area share of the ``surface`` vertices (bool (V,): the eligible
    surface; other spines count, this spine's own vertices do not) within max(``REACH_FACTOR`` x max(base radius,
    shaft radius at the base), ``reach_floor_nm``) of its base centre that lie farther than ``LATERAL_FACTOR`` x
    the base radius from the line through the base centre along the base -> spine direction (NaN where the spine
    has fewer than 3 ring vertices, no such surface, or a base spread along that direction by more than
    ``planar_max`` x its radius: a cross-section is flat; ``planar_max`` 0: not checked).

    ring: the attachment table (``spine, v``: unlabelled vertices adjacent to each spine); the base is the part of
    the ring on the largest piece of unlabelled ``surface`` (along ``edges``, (E, 2) mesh edges) it touches, so
    unlabelled holes inside a spine are not its base; base centre and radius are the area-weighted centroid and rms
    distance of the base vertices in the plane across the base -> spine direction.
    shaft_radius: (V,) the shaft field's radius (nm). All lengths nm, areas nm²."""
    n_lab = int(label.max()) + 1 if (label >= 0).any() else 0
    out = np.full(n_lab, np.nan)
    if n_lab == 0 or ring.empty:
        return out
    tree = cKDTree(verts[surface])
    surf_idx = np.flatnonzero(surface)
    for s, rv, c, d, _, rho, h_rms in spine_bases(verts, vert_area, label, ring, surface, edges):
        if planar_max > 0 and h_rms > planar_max * rho:
            continue  # not a cross-section (a ring along the spine's side: the model took one side of it)
        r = np.nanmedian(shaft_radius[rv]) if np.isfinite(shaft_radius[rv]).any() else 0.0
        idx = surf_idx[tree.query_ball_point(c, max(REACH_FACTOR * max(rho, float(r)), reach_floor_nm))]
        idx = idx[label[idx] != s]
        if len(idx) == 0:
            continue
        q = verts[idx] - c
        far = np.linalg.norm(q - np.outer(q @ d, d), axis=1) > LATERAL_FACTOR * rho
        a = vert_area[idx]
        out[s] = float(a[far].sum() / max(a.sum(), 1e-12))
    return out


def process_end_ids(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                    eligible_v: np.ndarray, shaft_radius: np.ndarray, edges: np.ndarray, max_share: float,
                    reach_nm: float, planar_max: float = PLANAR_MAX) -> np.ndarray:
    """(n_spines,) bool: the spines of ``label`` whose base is a cross-section of their process (less than
    ``max_share`` of the eligible surface near the base outside the base's cylinder, :func:`lateral_share`
    reading at least ``reach_nm`` around the base; ``planar_max``: its flatness check)."""
    if max_share <= 0 or not (label >= 0).any():
        return np.zeros(int(max(label.max(), -1)) + 1, dtype=bool)
    share = lateral_share(verts, vert_area, label, ring, eligible_v, shaft_radius, edges, reach_nm, planar_max)
    return np.isfinite(share) & (share < max_share)


def without_ids(label: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """(V,) ``label`` with the spines flagged in ``drop`` (bool per id) unlabelled; ids are kept (gaps)."""
    on = (label >= 0) & (label < len(drop))
    if not drop.any() or not on.any():
        return label
    return np.where(on & drop[np.clip(label, 0, max(len(drop) - 1, 0))], -1, label)


def drop_process_ends(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                      eligible_v: np.ndarray, shaft_radius: np.ndarray, edges: np.ndarray, max_share: float,
                      reach_nm: float, pass_counts: dict, key: str = "process_end_dropped",
                      also: np.ndarray | None = None, planar_max: float = PLANAR_MAX
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """(V,) spine labels without the spines whose base is a cross-section of their process
    (:func:`process_end_ids`), and ``also`` (another (V,) labelling with the same ids, e.g. the rimless one; None:
    none) without the same spines. Ids are kept (dropped spines leave gaps, as ``drop_past_new_ends``); the count
    goes to ``pass_counts[key]``."""
    drop = process_end_ids(verts, vert_area, label, ring, eligible_v, shaft_radius, edges, max_share, reach_nm,
                           planar_max)
    pass_counts[key] = int(drop.sum())
    return without_ids(label, drop), (None if also is None else without_ids(also, drop))

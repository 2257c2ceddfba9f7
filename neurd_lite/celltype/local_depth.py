"""Depth of a soma relative to the cells around it: a label-free local correction of ``cortical_depth_um``.

``cortical_depth_um`` comes from one global rotation plus a pia offset (``geometry/depth.py``); the pia position,
the layer thicknesses and the bottom of the grey matter vary across the volume by tens of µm (over the v83 table,
the 5th percentile of soma depth per 100 µm lateral bin ranges 61-132 µm, the 95th 594-689 µm). The features
below read the local cell distribution instead: for every query soma, the **reference** somata within a lateral
radius ``radius_um`` (a vertical cylinder in the rotated x / z plane) give a local depth profile, and the soma is
placed within it. Only positions, depths and soma volumes of the reference cells are used: no label and no other
model's output (``cell_type_pred``, ``umap*``, ``predict`` are never read).

Features (``LOCAL_DEPTH_FEATURES``; NaN when the position or depth is missing or fewer than ``min_cells``
reference somata lie in the cylinder):

- ``local_depth_percentile`` (1): fraction of the cylinder's somata above the soma (0 = top, 1 = bottom);
- ``depth_below_local_top_um`` (µm): depth minus the cylinder's 2nd-percentile soma depth (pia proxy);
- ``depth_above_local_bottom_um`` (µm): the cylinder's 98th-percentile soma depth minus depth (white-matter proxy);
- ``local_depth_fraction`` (1): (depth - top) / (bottom - top);
- ``depth_below_local_l4l5_um`` (µm): depth minus the depth of the steepest fall of the cylinder's soma density
  between 250 and 450 µm (the L4 -> L5 drop: over the whole table soma density is highest at 250-330 µm and
  falls by ~45% to 380-400 µm, L5 being sparse; the window is read off the unlabelled table's global profile;
  the step is found by ``_step_depth``, somata in the 50 µm above minus the 50 µm below);
- ``local_density_rel`` (1): the cylinder's soma density at the soma's depth (Gaussian-smoothed, sigma
  ``SMOOTH_UM``) over its median density between top and bottom (L4 > 1, L5 < 1);
- ``local_soma_volume_percentile`` (1): fraction of the cylinder's somata within ``SLAB_UM`` of the soma's depth
  whose soma volume is smaller than the soma's (NaN below ``min_cells // 10`` such cells).

A query row that is itself in the reference (same ``nucleus_id`` when both have one, else the same 3-D position)
is left out of its own cylinder.

Experimental: used by ``classifiers/perisomatic/experiments.py`` (``S_local_depth``) only; no shipped model takes
these inputs, so ``nl.classify_perisomatic`` never computes them. Session 8 (EXPERIMENTS.md): added to the stacked
subclass model's inputs they scored 0.830 / 0.841 / 0.834 on outer seeds 0 / 1 / 2 against 0.849 / 0.817 / 0.830,
within seed noise: the labelled cells lie in one ~130 x 220 µm patch where the five depth features follow the
global depth (|correlation| >= 0.996).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd

from ..geometry.depth import LINEAR

LOCAL_DEPTH_FEATURES: tuple[str, ...] = (
    "local_depth_percentile", "depth_below_local_top_um", "depth_above_local_bottom_um", "local_depth_fraction",
    "depth_below_local_l4l5_um", "local_density_rel", "local_soma_volume_percentile")
#: Lateral radius (µm) of the reference cylinder: ~3,000 somata at v83 density, while pia and layer boundaries
#: move by tens of µm per 100-300 µm laterally (fixed a priori, not tuned).
RADIUS_UM = 100.0
MIN_CELLS = 200
TOP_BOTTOM_QUANTILES = (0.02, 0.98)
L4L5_WINDOW_UM = (250.0, 450.0)
BIN_UM = 5.0
SMOOTH_UM = 10.0
#: Half-width (µm) of the step detector for the L4 -> L5 landmark: somata counted in the W µm above minus the W µm
#: below a candidate depth (a ~3,000-cell column has only ~15-35 somata per 5 µm bin, so the steepest fall of a
#: smoothed profile often lands on a noise dip inside L4; 50 µm windows hold ~150-350 somata).
STEP_WINDOW_UM = 50.0
SLAB_UM = 20.0
_NEEDS = ("soma_x_nm", "soma_y_nm", "soma_z_nm", "cortical_depth_um")


def lateral_um(feats: pd.DataFrame) -> np.ndarray:
    """(n, 2) lateral position in µm: the rotated x (the table's ``xr``, same 5° rotation as the depth) and z,
    from ``soma_x_nm`` / ``soma_y_nm`` / ``soma_z_nm`` (nm)."""
    a = np.radians(LINEAR.rotation_deg)
    x, y, z = (feats[c].to_numpy(float) for c in ("soma_x_nm", "soma_y_nm", "soma_z_nm"))
    return np.c_[np.cos(a) * x - np.sin(a) * y, z] / 1000.0


def _density(depths: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Soma counts per ``BIN_UM`` depth bin, Gaussian-smoothed with sigma ``SMOOTH_UM``."""
    from scipy.ndimage import gaussian_filter1d

    h = np.histogram(depths, bins=edges)[0].astype(float)
    return gaussian_filter1d(h, SMOOTH_UM / BIN_UM, mode="constant")


def _step_depth(d_sorted: np.ndarray, window_um: tuple[float, float] = L4L5_WINDOW_UM, rise: bool = False,
                half_width_um: float = STEP_WINDOW_UM) -> float:
    """Depth (µm, on a ``BIN_UM`` grid within ``window_um``) where the count of somata in the ``half_width_um``
    above most exceeds the count in the ``half_width_um`` below (``rise``: most falls short of it, i.e. density
    rises with depth); ties: the shallowest."""
    s = np.arange(window_um[0], window_um[1] + BIN_UM / 2, BIN_UM)
    n = lambda v: np.searchsorted(d_sorted, v)  # noqa: E731 - somata above depth v
    drop = (n(s) - n(s - half_width_um)) - (n(s + half_width_um) - n(s))
    return float(s[int(np.argmax(-drop if rise else drop))])


def _one(depth: float, vol: float, d: np.ndarray, v: np.ndarray, min_cells: int) -> list[float]:
    """The seven features of one soma from its cylinder's depths ``d`` (µm) and soma volumes ``v`` (µm³)."""
    top, bottom = np.quantile(d, TOP_BOTTOM_QUANTILES)
    pad = 5 * SMOOTH_UM
    edges = np.arange(np.floor(d.min() / BIN_UM) * BIN_UM - pad, d.max() + pad + BIN_UM, BIN_UM)
    dens = _density(d, edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    inside = (mid >= top) & (mid <= bottom)
    ref = float(np.median(dens[inside])) if inside.any() else np.nan
    at = dens[int(np.clip(np.searchsorted(edges, depth) - 1, 0, len(dens) - 1))]
    l4l5 = _step_depth(np.sort(d))
    slab = np.abs(d - depth) <= SLAB_UM
    vol_pct = float((v[slab] < vol).mean()) if slab.sum() >= max(min_cells // 10, 1) and np.isfinite(vol) else np.nan
    return [float((d < depth).mean()), depth - top, bottom - depth,
            (depth - top) / (bottom - top) if bottom > top else np.nan, depth - l4l5,
            at / ref if ref > 0 else np.nan, vol_pct]


def local_depth_features(query: pd.DataFrame, reference: pd.DataFrame | None = None,
                         radius_um: float = RADIUS_UM, min_cells: int = MIN_CELLS) -> pd.DataFrame:
    """``LOCAL_DEPTH_FEATURES`` of every ``query`` row against ``reference`` (default: ``query`` itself).

    Both frames are engine-named (``to_engine``): ``soma_x_nm``/``soma_y_nm``/``soma_z_nm`` (nm),
    ``cortical_depth_um`` (µm), optionally ``soma_volume_um3`` (µm³) and ``nucleus_id``. radius_um: lateral
    cylinder radius (µm); min_cells: fewest reference somata for a row to get values. Returns a frame with the
    query's index; rows without enough neighbours (a table of a few cells, a position outside the reference
    volume) or without position / depth are NaN.
    """
    rows = np.full((len(query), len(LOCAL_DEPTH_FEATURES)), np.nan)
    q_vol = query.get("soma_volume_um3", pd.Series(np.nan, index=query.index)).to_numpy(float)
    for i, depth, d, v in cylinders(query, reference, radius_um, min_cells):
        rows[i] = _one(depth, q_vol[i], d, v, min_cells)
    return pd.DataFrame(rows, index=query.index, columns=list(LOCAL_DEPTH_FEATURES))


def cylinders(query: pd.DataFrame, reference: pd.DataFrame | None = None, radius_um: float = RADIUS_UM,
              min_cells: int = MIN_CELLS) -> Iterator[tuple[int, float, np.ndarray, np.ndarray]]:
    """For every ``query`` row (engine names, see :func:`local_depth_features`) with at least ``min_cells``
    reference somata within ``radius_um`` laterally (itself left out): (row position, its depth in µm, the
    cylinder's soma depths in µm, their soma volumes in µm³ (NaN when the reference has none))."""
    from scipy.spatial import cKDTree

    reference = query if reference is None else reference
    if not (set(_NEEDS) <= set(query.columns) and set(_NEEDS) <= set(reference.columns)):
        return
    r_lat, r_dep = lateral_um(reference), reference["cortical_depth_um"].to_numpy(float)
    r_vol = reference.get("soma_volume_um3", pd.Series(np.nan, index=reference.index)).to_numpy(float)
    r_ok = np.isfinite(r_lat).all(axis=1) & np.isfinite(r_dep)
    r_lat, r_dep, r_vol = r_lat[r_ok], r_dep[r_ok], r_vol[r_ok]
    r_id = reference["nucleus_id"].to_numpy()[r_ok] if "nucleus_id" in reference.columns else None
    q_lat, q_dep = lateral_um(query), query["cortical_depth_um"].to_numpy(float)
    q_id = query["nucleus_id"].to_numpy() if "nucleus_id" in query.columns and r_id is not None else None
    q_ok = np.flatnonzero(np.isfinite(q_lat).all(axis=1) & np.isfinite(q_dep))
    if not len(q_ok) or len(r_dep) < min_cells:
        return
    tree = cKDTree(r_lat)
    for i, nb in zip(q_ok, tree.query_ball_point(q_lat[q_ok], radius_um)):
        nb = np.asarray(nb, dtype=int)
        if q_id is not None:
            self_hit = r_id[nb] == q_id[i]
        else:
            self_hit = (np.abs(r_dep[nb] - q_dep[i]) < 1e-6) & (np.abs(r_lat[nb] - q_lat[i]).max(axis=1) < 1e-6)
        nb = nb[~self_hit]
        if len(nb) >= min_cells:
            yield int(i), float(q_dep[i]), r_dep[nb], r_vol[nb]


def load_local_reference() -> pd.DataFrame:
    """The 69,461 v83 somata as an engine-named reference (positions, depth, soma volume, ``nucleus_id``), resolved
    and sha256-checked by ``neurd_lite.data``; label and prediction columns are not read."""
    from .columns import to_engine
    from .training import read_v83

    raw = read_v83(["nucleus_id", "soma_x", "soma_y", "soma_z", "yr_um_translated", "soma_volume"])
    return to_engine(raw)[list(_NEEDS) + ["soma_volume_um3"]].assign(nucleus_id=raw["nucleus_id"].to_numpy())

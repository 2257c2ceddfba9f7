"""Layer-relative soma position in minnie65 from the cortical-layer boundary predictions.

Source: ``labels/cortical_layers_smooth_minnie65_sub6_full_prediction.json`` (cortical-layers sdist, found
through ``neurd_lite.data``; never copied into the repository). It holds, for a 32 x 16 grid of columns (centres
``col_center_xs`` x ``col_center_zs`` in µm, x-major order: column ``ix * 16 + iz``), six boundary depths in mm of
**raw** minnie65 y (L1|L23, L23|L4, L4|L5, L5|L6a, L6a|L6b, L6b|WM). Boundaries vary across x and z by tens of µm,
which a single depth below pia ignores.

Features (both dimensionless; NaN when the layer file is not available or the position is missing):

- ``layer_position``: piecewise-linear layer coordinate of the soma's raw y between its column's boundaries:
  1.0 at L1|L23, 2.0 at L23|L4, ... 6.0 at L6b|WM; linear extrapolation with the nearest layer's thickness outside.
- ``cortical_fraction``: (y - b(L1|L23)) / (b(L6b|WM) - b(L1|L23)), the fraction of the L2-L6 thickness above the soma.

Boundaries at the soma are bilinearly interpolated between column centres (clamped at the grid edge).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

LAYER_FILE = "labels/cortical_layers_smooth_minnie65_sub6_full_prediction.json"
LAYER_FEATURES: tuple[str, ...] = ("layer_position", "cortical_fraction")


@lru_cache(maxsize=1)
def _grid() -> dict[str, Any] | None:
    """Boundary grid (xs, zs in µm; bounds (nx, nz, 6) in µm of raw y), or None when the file is absent."""
    try:
        from ..data import available, data_path

        if not available(LAYER_FILE):
            return None
        with open(data_path(LAYER_FILE)) as fh:
            raw = json.load(fh)
    except Exception:  # noqa: BLE001 - no data directory / manifest: the features are simply NaN
        return None
    xs, zs = np.asarray(raw["col_center_xs"], float), np.asarray(raw["col_center_zs"], float)
    bounds = np.asarray(raw["bounds"], float).reshape(len(xs), len(zs), -1) * 1000.0  # mm -> µm
    return {"xs": xs, "zs": zs, "bounds": bounds}


def boundaries_um(x_um: np.ndarray, z_um: np.ndarray, grid: dict[str, Any]) -> np.ndarray:
    """(n, 6) boundary raw-y depths (µm) at soma positions (µm), bilinear between column centres."""
    xs, zs, b = grid["xs"], grid["zs"], grid["bounds"]

    def cell(v: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.clip(v, centres[0], centres[-1])
        i = np.clip(np.searchsorted(centres, v) - 1, 0, len(centres) - 2)
        return i, (v - centres[i]) / (centres[i + 1] - centres[i])

    ix, tx = cell(np.asarray(x_um, float), xs)
    iz, tz = cell(np.asarray(z_um, float), zs)
    tx, tz = tx[:, None], tz[:, None]
    return ((1 - tx) * (1 - tz) * b[ix, iz] + tx * (1 - tz) * b[ix + 1, iz]
            + (1 - tx) * tz * b[ix, iz + 1] + tx * tz * b[ix + 1, iz + 1])


def layer_position(y_um: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Piecewise-linear layer coordinate (1.0 at the first boundary, 6.0 at the last) of raw y (µm)."""
    y = np.asarray(y_um, float)
    out = np.empty(len(y))
    for r in range(len(y)):
        bb = bounds[r]
        k = int(np.clip(np.searchsorted(bb, y[r]) - 1, 0, len(bb) - 2))
        out[r] = k + 1 + (y[r] - bb[k]) / (bb[k + 1] - bb[k])
    return out


def layer_features(feats: pd.DataFrame) -> pd.DataFrame:
    """``layer_position`` and ``cortical_fraction`` per row from ``soma_x_nm``/``soma_y_nm``/``soma_z_nm`` (nm)."""
    out = pd.DataFrame(np.nan, index=feats.index, columns=list(LAYER_FEATURES))
    grid = _grid()
    cols = ["soma_x_nm", "soma_y_nm", "soma_z_nm"]
    if grid is None or not set(cols) <= set(feats.columns):
        return out
    pos = feats[cols].to_numpy(dtype=float) / 1000.0
    ok = np.isfinite(pos).all(axis=1)
    if not ok.any():
        return out
    b = boundaries_um(pos[ok, 0], pos[ok, 2], grid)
    y = pos[ok, 1]
    out.loc[ok, "layer_position"] = layer_position(y, b)
    out.loc[ok, "cortical_fraction"] = (y - b[:, 0]) / (b[:, -1] - b[:, 0])
    return out

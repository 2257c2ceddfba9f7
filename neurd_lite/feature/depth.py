"""Cortical depth of points in minnie65 (nm in, µm out).

With the optional ``standard_transform`` package (``pip install neurd-lite[depth]``) the depth is its
``minnie_transform_nm`` projection. Without it, a linear fallback reproduces the perisomatic table's
``yr_um_translated``: rotate the (x, y) plane by 5° about z (``yr = sin5°·x + cos5°·y``, the rotation the table's
``xr/yr`` columns use, recovered from the data to 1e-9 nm) and subtract the pia offset. The offset, 419.99 µm, is
the median of ``yr_um_translated - yr/1000`` over the table's 69,461 rows (residual s.d. 0.57 µm: the table's own
depth has a small non-linear correction the fallback ignores).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class LinearDepthParams:
    """Linear minnie65 depth: rotation angle about z (degrees) and pia offset (µm)."""

    rotation_deg: float = 5.0
    pia_offset_um: float = 419.99


LINEAR = LinearDepthParams()


def _points(points_nm: np.ndarray) -> np.ndarray:
    p = np.asarray(points_nm, dtype=np.float64)
    if p.ndim == 1:
        p = p.reshape(1, -1)
    if p.ndim != 2 or p.shape[1] != 3 or not np.all(np.isfinite(p)):
        raise InputError(f"cortical depth needs finite (N, 3) points in nm, got shape {p.shape}")
    return p


def linear_depth_um(points_nm: np.ndarray, params: LinearDepthParams = LINEAR) -> np.ndarray:
    """Depth below pia in µm of minnie65 points given in nm (rotation + offset, see module docstring)."""
    p = _points(points_nm)
    a = np.radians(params.rotation_deg)
    yr_nm = np.sin(a) * p[:, 0] + np.cos(a) * p[:, 1]
    return yr_nm / 1000.0 - params.pia_offset_um


def cortical_depth_um(points_nm: np.ndarray, method: str = "auto") -> tuple[np.ndarray, str]:
    """Depth below pia (µm) of minnie65 points (nm) and the method used (``standard_transform`` or
    ``linear``). ``method="auto"`` uses standard_transform when it is installed."""
    p = _points(points_nm)
    if method in ("auto", "standard_transform"):
        try:
            from standard_transform import minnie_transform_nm  # optional extra "depth"
        except ImportError:
            if method == "standard_transform":
                raise InputError("standard_transform is not installed", hint="pip install neurd-lite[depth]")
        else:
            return np.asarray(minnie_transform_nm().apply_project("y", p), dtype=float), "standard_transform"
    if method not in ("auto", "linear", "standard_transform"):
        raise InputError(f"unknown depth method {method!r}: use 'auto', 'linear' or 'standard_transform'")
    return linear_depth_um(p), "linear"

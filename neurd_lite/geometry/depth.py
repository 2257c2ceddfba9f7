"""Cortical depth of points in minnie65 (nm in, µm out), in the frame of the v83 perisomatic table.

Default (``method="table"``): rotate the (x, y) plane by 5° about z (``yr = sin5°·x + cos5°·y``, the rotation
of the table's ``xr/yr`` columns, recovered from the data to 1e-9 nm) and subtract the pia offset 419.99 µm,
the median of ``yr_um_translated - yr/1000`` over the table's 69,461 rows. Against ``yr_um_translated`` this
gives a median absolute error of 0.36 µm (99th percentile 1.6 µm, max 9.9 µm).

``method="standard_transform"`` uses the optional package (``pip install neurd-lite[depth]``,
``minnie_transform(resolution="nm").apply_project("y", ...)``). Measured with standard-transform 2.0.0 on the
same rows: the same rotation and residuals, but its pia point puts every depth 23.3 µm deeper than the table's,
so models trained on the table should use the default.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_params
from ..errors import InputError
from ..units import as_points_nm

METHODS = ("table", "standard_transform")
MINNIE65_DEPTH_RANGE_UM = (-100.0, 1200.0)  # plausible soma depths below pia in minnie65, µm (the v83 table's span)


@dataclass(frozen=True)
class LinearDepthParams:
    """Linear minnie65 depth (``FeatureParams.depth``): the y coordinate after a rotation about z, minus the pia
    offset (module docstring). Each entry: what it does (unit; default); why.

    rotation_deg (degrees; 5.0): rotation of the (x, y) plane about z. Why: the rotation of the v83 perisomatic
        table's ``xr/yr`` columns, recovered from the data.
    pia_offset_um (µm, signed; 419.99): subtracted from the rotated y (µm). Why: the median offset of the table's
        ``yr_um_translated``, so depths match the table (median absolute error 0.36 µm).
    """

    rotation_deg: float = 5.0
    pia_offset_um: float = 419.99

    def __post_init__(self) -> None:
        check_params(self, ranges={"pia_offset_um": None})  # a signed offset


LINEAR = LinearDepthParams()


def _points(points_nm: np.ndarray) -> np.ndarray:
    return as_points_nm(points_nm, "cortical depth input")


def linear_depth_um(points_nm: np.ndarray, params: LinearDepthParams = LINEAR) -> np.ndarray:
    """Depth below pia in µm of minnie65 points given in nm (rotation + offset, see module docstring)."""
    p = _points(points_nm)
    a = np.radians(params.rotation_deg)
    yr_nm = np.sin(a) * p[:, 0] + np.cos(a) * p[:, 1]
    return yr_nm / 1000.0 - params.pia_offset_um


def cortical_depth_um(points_nm: np.ndarray, method: str = "table", params: LinearDepthParams = LINEAR
                      ) -> tuple[np.ndarray, str]:
    """Depth below pia (µm) of minnie65 points (nm) and the method used (see module docstring)."""
    p = _points(points_nm)
    if method == "table":
        return linear_depth_um(p, params), "table (linear, v83 frame)"
    if method == "standard_transform":
        try:
            from standard_transform import minnie_transform  # optional extra "depth"
        except ImportError as e:
            raise InputError("standard_transform is not installed", hint="pip install neurd-lite[depth]") from e
        return np.asarray(minnie_transform(resolution="nm").apply_project("y", p), dtype=float), method
    raise InputError(f"unknown depth method {method!r}: use one of {METHODS}")


def depth_range_problem(depth_um: float, depth_range_um: tuple[float, float]) -> str:
    """"" when a depth below pia (µm) lies in ``depth_range_um`` (inclusive; the frame's range,
    ``model.frame.FrameParams.depth_range_um``), else what is wrong with it. The one cortex test behind the
    ``cortical_depth_um`` feature and the compartment labeller's frame check."""
    lo, hi = depth_range_um
    if lo <= depth_um <= hi:
        return ""
    return f"soma depth {depth_um:.0f} µm is outside the minnie65 cortex range ({lo:g}, {hi:g}) µm"

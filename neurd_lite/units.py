"""Length units. The engine works in nanometres; features are reported in micrometres.

``units`` arguments accept ``"nm"``, ``"um"`` (or ``"µm"``), ``"mm"``, a number (nm per input unit, e.g.
``8`` for 8 nm isotropic voxels) or a 3-sequence of nm per voxel along x, y, z (e.g. ``(4, 4, 40)`` for MICrONS
synapse coordinates).
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

UnitsLike = Union[str, float, int, Sequence[float]]

NM_PER_UM = 1000.0
_NAMED = {"nm": 1.0, "nanometer": 1.0, "nanometre": 1.0, "um": 1000.0, "µm": 1000.0, "micron": 1000.0,
          "micrometer": 1000.0, "micrometre": 1000.0, "mm": 1e6}


def parse_units(text: str) -> UnitsLike:
    """Units written as text (command line, rules): ``nm`` / ``um`` stay names, ``8`` is 8 nm per unit, ``4,4,40``
    a per-axis voxel size (nm). ValueError when a per-axis size holds something that is not a number."""
    values = [v.strip() for v in text.split(",")]
    try:
        nums = [float(v) for v in values]
    except ValueError:
        if len(values) > 1:
            raise ValueError(f"units {text!r}: a per-axis voxel size must be numbers") from None
        return values[0]
    return nums[0] if len(nums) == 1 else tuple(nums)


def units_to_json(units: UnitsLike) -> str | float | list[float]:
    """Units as they are recorded (metadata, provenance, manifests): text as is, one number as a float (8 ->
    8.0), a per-axis voxel size as a list of floats ((4, 4, 40) -> [4.0, 4.0, 40.0]). The one conversion."""
    if isinstance(units, str):
        return units
    values = np.atleast_1d(np.asarray(units, dtype=float)).tolist()
    return values[0] if len(values) == 1 else values


def scale_to_nm(units: UnitsLike) -> np.ndarray:
    """Return the (3,) factor that turns coordinates in ``units`` into nm."""
    if isinstance(units, str):
        key = units.strip().lower()
        if key.endswith("nm") and key[:-2].replace(".", "", 1).isdigit():
            return np.full(3, float(key[:-2]))  # e.g. "8nm" voxels
        if key not in _NAMED:
            try:  # a voxel size written as text ("8", "4,4,40"): say how to give it
                as_number = parse_units(units)
            except ValueError:
                as_number = units
            hint = "" if isinstance(as_number, str) else f" (a voxel size is a number, not text: units={as_number!r})"
            raise ValueError(f"unknown units {units!r}: use 'nm', 'um', 'mm', a voxel size in nm or (x, y, z) nm"
                             + hint)
        return np.full(3, _NAMED[key])
    arr = np.asarray(units, dtype=float).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"units {units!r} must be a positive number or three positive numbers (nm per unit)")
    return arr


def to_nm(coords: np.ndarray, units: UnitsLike) -> np.ndarray:
    """Convert an (N, 3) array of coordinates in ``units`` to nm (float64)."""
    return np.asarray(coords, dtype=np.float64) * scale_to_nm(units)


def nm_to_um(values: np.ndarray | float, power: int = 1) -> np.ndarray | float:
    """Convert lengths (power 1), areas (2) or volumes (3) from nm to µm."""
    return values / NM_PER_UM**power


def as_points_nm(values: object, what: str) -> np.ndarray:
    """``values`` as a float64 (N, 3) array of finite points in nm (one (3,) point becomes (1, 3)).

    Raises ``InputError`` naming ``what`` when the shape is wrong or a coordinate is NaN/inf.
    """
    from .errors import InputError

    p = np.asarray(values, dtype=np.float64)
    if p.ndim == 1:
        p = p.reshape(1, -1)
    if p.ndim != 2 or p.shape[1] != 3 or not np.all(np.isfinite(p)):
        raise InputError(f"{what} must be finite points in nm, a (3,) or (N, 3) array; got shape {p.shape}")
    return p

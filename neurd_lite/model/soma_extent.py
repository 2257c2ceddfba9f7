"""One definition of how far a soma reaches (nm in): multiples of each soma's equivalent radius.

``core_factor``: points within this many radii of a soma centre belong to the soma body (the skeletonizer's soma
collapse; the soma faces of a soma given without faces, where spines are not searched and synapses target the
soma). ``reach_factor``: beyond this many radii nothing is soma (mesh vertices never map to the soma vertex; faces
labelled soma only through the skeleton are relabelled as neurite).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..checks import check_params


@dataclass(frozen=True)
class SomaExtentParams:
    """core_factor / reach_factor: soma radii (see module docstring)."""

    core_factor: float = 1.2
    reach_factor: float = 1.5

    def __post_init__(self) -> None:
        check_params(self)


BLOCK = 100_000  # points per block in within_soma


def within_soma(points_nm: np.ndarray, center_nm: np.ndarray, radius_nm: float, factor: float) -> np.ndarray:
    """(N,) bool: points (nm) within ``factor`` x ``radius_nm`` of ``center_nm``."""
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    c, lim = np.asarray(center_nm, dtype=np.float64), factor * float(radius_nm)
    out = np.empty(len(pts), dtype=bool)
    for lo in range(0, len(pts), BLOCK):  # blocks: the (N, 3) temporaries stay in cache (3.1M points 0.25 -> 0.08 s)
        out[lo:lo + BLOCK] = np.linalg.norm(pts[lo:lo + BLOCK] - c, axis=1) <= lim
    return out


def within_any_soma(points_nm: np.ndarray, somas: Sequence[Any], factor: float) -> np.ndarray:
    """(N,) bool: points within ``factor`` radii of any soma (objects with ``center_nm`` and ``radius_nm``)."""
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    out = np.zeros(len(pts), dtype=bool)
    for s in somas:
        out |= within_soma(pts, s.center_nm, s.radius_nm, factor)
    return out

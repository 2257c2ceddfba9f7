"""Small-vector arithmetic that gives the same bits on every CPU (nm or unitless, as the inputs).

numpy hands ``a.dot(b)``, ``a @ b`` and ``np.linalg.norm(v)`` (no ``axis``) to BLAS, and OpenBLAS picks its kernel by
CPU: the AVX-512 (SkylakeX) kernel rounds a 3-vector dot product differently from the AVX2 (Haswell) one in about
a third of random cases. The synthetic generator walks thousands of such steps, so a cell generated on an AVX-512
host differed in the last bits from the same seed on an AVX2 host, and the engine's outputs on it could differ
(docs/benchmarks.md, "Session 23: version drift"). These helpers use element-wise multiplies and a fixed order of
additions only (IEEE, no BLAS, no fused multiply-add), so the generator's cells no longer depend on the host.
"""
from __future__ import annotations

import numpy as np


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product over the last axis (a scalar for two (3,) vectors), summed in index order."""
    p = np.asarray(a, float) * np.asarray(b, float)
    out = p[..., 0]
    for k in range(1, p.shape[-1]):
        out = out + p[..., k]
    return out


def norm(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis."""
    return np.sqrt(dot(v, v))


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` divided by its length (last axis)."""
    v = np.asarray(v, float)
    return v / (norm(v)[..., None] if v.ndim > 1 else norm(v))


"""Points spread over a triangle mesh by area, decided by each face's own geometry (nm).

A seeded ``rng.choice(faces, p=area)`` is reproducible for one input but not for the same surface listed in
another order, or with one face more elsewhere: the inverse-CDF draw moves every sample when any face before it
changes. A cell cut out of a merged mesh (``proofread.split``) is such a surface: its faces are the merged mesh's,
in the merged mesh's order, with a seam where the other cell was. Here each face draws its own samples from a
hash of its corner coordinates, so identical faces get identical samples wherever they are listed and whatever
surrounds them; only the expected count per face (``count`` x face area / total area) is global.
"""
from __future__ import annotations

import numpy as np


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wraps modulo 2**64)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def face_keys(tri: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(K,) uint64 key of each triangle (K, 3, 3) nm from its corner coordinates (to 1/16 nm), independent of the
    order of its corners and of its position in the list, and (K, 3) the corners' order by their own keys."""
    q = np.round(np.asarray(tri, dtype=np.float64) * 16.0).astype(np.int64).view(np.uint64)
    corner = _mix(_mix(_mix(q[:, :, 0] ^ np.uint64(seed)) ^ q[:, :, 1]) ^ q[:, :, 2])  # (K, 3)
    order = np.argsort(corner, axis=1, kind="stable")
    c = np.take_along_axis(corner, order, axis=1)
    return _mix(_mix(_mix(c[:, 0]) ^ c[:, 1]) ^ c[:, 2]), order


def unit_interval(key: np.ndarray) -> np.ndarray:
    """(K,) numbers in [0, 1) from uint64 keys (their top 53 bits), e.g. a face's own random draw."""
    return (key >> np.uint64(11)).astype(np.float64) / float(1 << 53)


_unit = unit_interval


def area_samples(tri: np.ndarray, area: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """About ``count`` (at most ``count``) samples spread over triangles ``tri`` (K, 3, 3) nm in proportion to
    ``area`` (K,): face f gets floor(l_f) or floor(l_f) + 1 samples, l_f = count x area_f / total area, at
    uniform positions, all from its :func:`face_keys`. Returns (face index (n,), barycentric weights (n, 3) of
    the face's corners as listed); samples come ordered by their own key (a geometric order), and when rounding
    gives more than ``count`` the lowest keys are kept."""
    area = np.asarray(area, dtype=np.float64)
    if count <= 0 or len(tri) == 0 or area.sum() <= 0:
        return np.zeros(0, np.int64), np.zeros((0, 3))
    key, corner_order = face_keys(tri, seed)
    lam = count * area / area.sum()
    n = np.floor(lam).astype(np.int64) + (_unit(key) < lam - np.floor(lam))
    f = np.repeat(np.arange(len(tri)), n)
    k = (np.arange(len(f)) - np.repeat(np.cumsum(n) - n, n)).astype(np.uint64)  # sample number on its face
    sk = _mix(key[f] ^ _mix(k + np.uint64(1)))
    u = _unit(_mix(sk ^ np.uint64(0x9E3779B97F4A7C15)))
    w = _unit(_mix(sk ^ np.uint64(0xD1B54A32D192ED03)))
    flip = u + w > 1
    u[flip], w[flip] = 1 - u[flip], 1 - w[flip]
    bary = np.zeros((len(f), 3))
    rows = np.arange(len(f))
    o = corner_order[f]  # weights go to the corners in key order, so listing order does not matter
    bary[rows, o[:, 0]] = 1 - u - w
    bary[rows, o[:, 1]] = u
    bary[rows, o[:, 2]] = w
    keep = np.argsort(sk, kind="stable")[:count]
    return f[keep], bary[keep]


def area_points(tri: np.ndarray, area: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """(n, 3) nm points of :func:`area_samples` (n <= ``count``)."""
    f, bary = area_samples(tri, area, count, seed)
    return np.einsum("nk,nkd->nd", bary, np.asarray(tri, dtype=np.float64)[f])

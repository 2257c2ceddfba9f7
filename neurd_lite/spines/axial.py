"""Per-sample quantities along the shaft axis (nm): windows along unbranched segments, a local shaft radius,
and axis extensions past skeleton ends that stop short of a dendrite tip (used by ``shaft.shaft_field``)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.stats import group_quantiles, weighted_group_quantile


def _window_ids(seg: np.ndarray, droot: np.ndarray, window_nm: float, shift: float) -> np.ndarray:
    """Dense id of the window (``window_nm`` along each unbranched segment, grid shifted by ``shift`` windows)."""
    pos = np.floor(droot / window_nm + shift).astype(np.int64)
    key = seg.astype(np.int64) * (int(pos.max()) + 2) + pos
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def local_radius(sample_of: np.ndarray, dist: np.ndarray, area: np.ndarray, seg: np.ndarray, droot: np.ndarray,
                 half_window_nm: float, quantile: float, n_shifts: int = 4) -> np.ndarray:
    """(M,) shaft radius per axis sample (nm): the area-weighted ``quantile`` of the distances ``dist`` of the
    surface vertices (nearest sample ``sample_of``, areas ``area`` nm²) in a window of 2 x ``half_window_nm``
    along the sample's unbranched segment. Windows lie on ``n_shifts`` shifted grids; each sample takes the
    window it is most central in. NaN for samples without surface."""
    m = len(seg)
    width = 2.0 * half_window_nm
    best = np.full(m, np.inf)
    out = np.full(m, np.nan)
    for k in range(n_shifts):
        shift = k / n_shifts
        g = _window_ids(seg, droot, width, shift)
        n_g = int(g.max()) + 1
        q = weighted_group_quantile(g[sample_of], dist, area, quantile, n_g)
        frac = droot / width + shift
        off = np.abs(frac - np.floor(frac) - 0.5)
        take = (off < best) & np.isfinite(q[g])
        out[take] = q[g][take]
        best[take] = off[take]
    return out


def tip_extensions(v: np.ndarray, s: np.ndarray, used: np.ndarray, pts: np.ndarray, end_sample: np.ndarray,
                    out_s: np.ndarray, owner: np.ndarray, root: int | None, radius: np.ndarray,
                    spacing_nm: float, quantile: float = 0.9) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the dendrite runs on past a terminal end of the skeleton (a skeleton that stops short of the tip):
    (end samples, number of ``spacing_nm`` steps to add along each end's outward tangent), or None. The surface
    past an end (eligible vertices ``used`` nearest to it, ``along`` > 0) reaches ``quantile`` of its vertices
    to ``along_q``; a bare end cap reaches about the shaft radius there (``radius``, per sample, nm), so the
    axis is extended by ``along_q`` - radius. A spine past the end holds too few vertices to
    move the quantile."""
    ends = np.flatnonzero(end_sample & (owner != (-1 if root is None else root)))
    if len(ends) == 0:
        return None
    pos = np.full(len(pts), -1, dtype=np.int64)
    pos[ends] = np.arange(len(ends))
    m = used & (pos[s] >= 0)
    idx = np.flatnonzero(m)
    e_of = pos[s[idx]]
    along = ((v[idx] - pts[s[idx]]) * out_s[s[idx]]).sum(1)
    ahead = along > 0
    q = group_quantiles(e_of[ahead], along[ahead], (quantile,), len(ends))[:, 0]
    k = np.floor(np.nan_to_num(q - radius[ends], nan=0.0) / spacing_nm).astype(np.int64)
    ok = k >= 1
    return (ends[ok], k[ok]) if ok.any() else None


def on_surface_samples(pts: np.ndarray, seg: np.ndarray, surface: np.ndarray, factor: float, floor_nm: float
                       ) -> np.ndarray:
    """(M,) bool: axis samples (nm) inside the neurite. A sample's distance to the nearest ``surface`` vertex is
    about the shaft radius on a centred axis; samples farther than ``factor`` x the median of that distance over
    their unbranched segment (``seg``) plus ``floor_nm`` lie out in the extracellular space (a skeleton edge that
    bridges a gap between mesh pieces, an axis fit that ran off) and would hand the surface near them a shaft
    radius measured from far away."""
    d = cKDTree(surface).query(pts)[0]
    n_seg = int(seg.max()) + 1
    med = group_quantiles(seg, d, (0.5,), n_seg)[:, 0]
    return ~(d > factor * np.nan_to_num(med[seg], nan=np.inf) + floor_nm)

"""Head/neck split measured on a spine's own axis profile, independent of the tessellation (nm inside).

The face-label split (``headneck.spine_geometry``) works on face centroids and yes/no tests (a shell narrower
than a threshold, a neck longer than wide), so a spine cut into a few large triangles on one mesh and many small
ones on another can flip between "neck" and "all head", and a synapse with it (on the real cell the neck-set
Jaccard between 81k / 324k / 1.3M faces was .05-.35, docs/spines.md). Here the spine's surface is sampled
uniformly by area (a barycentric grid per triangle, about one point per ``sample_nm`` of edge), so a triangle
that spans several shells spreads its area over them; the profile is the median distance of those samples from
the spine axis (base to the area-weighted centroid of the distal half) in fixed ``bin_nm`` shells, smoothed by a
running median of three.

On that profile the neck is the narrowest shell proximal of the head, the head the widest shell in the distal
part (``head_from`` of the axial extent), and a spine has a neck only where its head radius is at least
``head_to_neck`` times its neck radius. 1.5: stubby spines have no constriction (head / neck width ~1, Peters &
Kaiserman-Abramof 1970; Harris, Jensen & Tsao 1992 measured stubby spines as about as wide as long), while thin
and mushroom spines of rat CA1 and mouse cortex have heads of ~0.3-0.6 µm (mushroom > 0.6 µm) on necks of
~0.1-0.2 µm, a ratio of 2-4 (Harris et al. 1992; Arellano et al. 2007); 1.5 sits between the flat profile of a
stubby spine (whose noise and base flare give ~1-1.3) and those populations (not in shared/REFERENCES.md). The
split is where the profile first rises past the geometric mean of the neck and head radii, interpolated between
shell centres. Each synapse site gets continuous features (where it sits along the axis against the split, and
how wide the profile is there between neck and head), not only a yes/no.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..geometry.meshes import cross_rows, row_norms
from ..geometry.stats import group_weighted_median


@dataclass(frozen=True)
class AxisProfileParams:
    """sample_nm: surface sample spacing (a triangle with longest edge L gets ceil(L / sample_nm)² samples, at
    most max_split²); bin_nm: shell length along the axis (3 to max_bins shells); head_from: the head is the
    widest shell whose centre lies beyond this fraction of the axial extent; head_to_neck: minimum head / neck
    radius ratio for a spine to have a neck (module docstring)."""

    sample_nm: float = 20.0
    max_split: int = 24
    bin_nm: float = 40.0
    max_bins: int = 60
    head_from: float = 0.5
    head_to_neck: float = 1.5


@dataclass
class AxisProfile:
    """One spine's profile: axis (unit), shell centres (nm from the base along it), smoothed radii (nm), the
    neck / head radii, the split (nm along the axis; 0 without a neck) and the axial extent t_max_nm."""

    base_nm: np.ndarray
    axis: np.ndarray
    t_nm: np.ndarray
    radius_nm: np.ndarray
    neck_radius_nm: float
    head_radius_nm: float
    t_split_nm: float
    t_max_nm: float

    @property
    def has_neck(self) -> bool:
        return self.t_split_nm > 0


def surface_samples(tri: np.ndarray, sample_nm: float, max_split: int = 24
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points spread uniformly over triangles ``tri`` (K, 3, 3) nm, their areas (nm²) and triangle index: each
    triangle is cut into k² equal sub-triangles (k = ceil(longest edge / sample_nm), 1..max_split) and gives
    their centroids (the points a column-major (N, 3) view)."""
    tri = np.asarray(tri, dtype=np.float64)
    if not len(tri):
        return np.zeros((0, 3)), np.zeros(0), np.zeros(0, dtype=np.int64)
    k_of = _splits(tri, sample_nm, max_split)
    area = 0.5 * row_norms(cross_rows(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
    size = k_of * k_of
    first = np.r_[0, np.cumsum(size)[:-1]]  # samples in triangle order: each triangle's block starts here
    pts, wts = np.empty((3, int(size.sum()))), np.empty(int(size.sum()))  # coordinate-major: long inner loops
    for k in np.unique(k_of):
        sel = np.flatnonzero(k_of == k)
        bary = _sub_centroids(int(k))
        t = tri[sel]
        e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
        at = (first[sel][:, None] + np.arange(k * k)).reshape(-1)
        for c in range(3):  # corner 0 + u e1 + v e2
            p = np.multiply(bary[None, :, 0], e1[:, c, None])
            np.add(t[:, 0, c, None], p, out=p)
            p += bary[None, :, 1] * e2[:, c, None]
            pts[c, at] = p.reshape(-1)
        wts[at] = np.repeat(area[sel] / (k * k), k * k)
    return pts.T, wts, np.repeat(np.arange(len(tri)), size)


def _splits(tri: np.ndarray, sample_nm: float, max_split: int) -> np.ndarray:
    """(K,) int: each triangle's split k = ceil(longest edge / sample_nm) clipped to 1..max_split (nm)."""
    e = np.stack([row_norms(tri[:, 1] - tri[:, 0]), row_norms(tri[:, 2] - tri[:, 1]),
                  row_norms(tri[:, 0] - tri[:, 2])], axis=1).max(1)
    return np.clip(np.ceil(e / max(sample_nm, 1e-9)), 1, max_split).astype(np.int64)


@lru_cache(maxsize=64)
def _sub_centroids(k: int) -> np.ndarray:
    """(k², 2) barycentric (u, v) of the centroids of a triangle's k² equal sub-triangles (up ones first)."""
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    up = i + j <= k - 1
    dn = i + j <= k - 2
    bary = np.concatenate([np.stack([(i[up] + 1 / 3) / k, (j[up] + 1 / 3) / k], 1),
                           np.stack([(i[dn] + 2 / 3) / k, (j[dn] + 2 / 3) / k], 1)])
    bary.flags.writeable = False
    return bary


SAMPLE_BATCH = 250_000  # surface samples generated per call for several small spines (~20 MB with temporaries)


def axis_profiles(tri: np.ndarray, spine_of_tri: np.ndarray, bases_nm: np.ndarray,
                  params: AxisProfileParams | None = None) -> list[AxisProfile]:
    """Axis profile and head/neck split of every spine (module docstring): ``tri`` (K, 3, 3) nm triangles,
    ``spine_of_tri`` (K,) their spine 0..S-1, ``bases_nm`` (S, 3) each spine's base point on the shaft. One
    spine at a time: its samples stay small (a spine of the 81k real cell has ~10^4, a 1.4M-face cell's ~10^5),
    where one pass over every spine's samples at once runs out of cache (2x slower on 400 spines). The samples
    themselves are generated for consecutive spines together, up to :data:`SAMPLE_BATCH` at a time (each
    sample's value depends on its own triangle only, so a spine's slice equals its own call's samples; ~10 numpy
    calls per distinct split per call instead of per spine)."""
    p = params or AxisProfileParams()
    bases = np.asarray(bases_nm, dtype=np.float64).reshape(-1, 3)
    spine = np.asarray(spine_of_tri, dtype=np.int64)
    order = np.argsort(spine, kind="stable")
    bounds = np.searchsorted(spine[order], np.arange(len(bases) + 1))
    tri = np.asarray(tri, dtype=np.float64)[order]
    size = np.square(_splits(tri, p.sample_nm, p.max_split))
    at = np.r_[0, np.cumsum(size)][bounds]  # each spine's first sample (in the sorted triangles' samples)
    out: list[AxisProfile] = []
    s = 0
    while s < len(bases):
        e = max(int(np.searchsorted(at, at[s] + SAMPLE_BATCH, side="right")) - 1, s + 1)
        pts, w, _ = surface_samples(tri[bounds[s]:bounds[e]], p.sample_nm, p.max_split)
        for k in range(s, e):
            a, b = at[k] - at[s], at[k + 1] - at[s]
            out.append(_profile_one(pts[a:b], w[a:b], bases[k], p))
        s = e
    return out


def _profile_one(pts: np.ndarray, w: np.ndarray, base: np.ndarray, p: AxisProfileParams) -> AxisProfile:
    """:func:`axis_profiles` of one spine from its surface samples ``pts`` (N, 3) nm and their areas ``w`` (nm²;
    ``base`` (3,) nm): the samples' distances from the base, the axis to the area-weighted centroid of the
    samples at least half the farthest distance out (sums taken in sample order), the samples' axial positions
    and distances from the axis, and the weighted median distance in each shell, smoothed."""
    empty = AxisProfile(base, np.zeros(3), np.zeros(0), np.zeros(0), np.nan, np.nan, 0.0, 0.0)
    if not len(pts):
        return empty
    rel = np.subtract(pts, base, order="C")  # row-major, as einsum's sums below were taken on
    d = row_norms(rel)
    far = np.flatnonzero(d >= 0.5 * d.max())
    wfar = w[far]
    wf = np.cumsum(wfar)[-1]
    rel_far = rel[far]
    axis = np.array([np.cumsum(rel_far[:, c] * wfar)[-1] for c in range(3)]) / max(wf, 1e-12)
    norm = float(row_norms(axis[None])[0])
    if norm < 1e-6:
        return empty
    unit = axis / max(norm, 1e-12)
    t = np.einsum("ij,ij->i", rel, np.broadcast_to(unit, rel.shape))
    off = np.multiply(t[:, None], unit)
    rho = row_norms(np.subtract(rel, off, out=off))
    t_max = max(float(t.max()), 1e-6)
    nb = int(np.clip(np.round(t_max / p.bin_nm), 3, p.max_bins))
    width = t_max * (1 + 1e-9) / nb
    b = np.clip(np.floor(np.maximum(t, 0.0) / width).astype(np.int64), 0, nb - 1)
    edges = np.linspace(0.0, t_max * (1 + 1e-9), nb + 1)
    r = _running_median3(group_weighted_median(b, rho, w, nb))
    return _split(AxisProfile(base, unit, 0.5 * (edges[:-1] + edges[1:]), r, np.nan, np.nan, 0.0, t_max), p)


def axis_profile(tri: np.ndarray, base_nm: np.ndarray, params: AxisProfileParams | None = None) -> AxisProfile:
    """The axis profile and head/neck split of one spine from its triangles ``tri`` (K, 3, 3) nm and its base
    point on the shaft ``base_nm`` (module docstring)."""
    return axis_profiles(tri, np.zeros(len(tri), dtype=np.int64), np.asarray(base_nm)[None], params)[0]


def _split(prof: AxisProfile, p: AxisProfileParams) -> AxisProfile:
    """``prof`` with its head / neck radii and split set from its radius profile (module docstring)."""
    r, centres, t_max = prof.radius_nm, prof.t_nm, prof.t_max_nm
    ok = np.isfinite(r)
    distal = ok & (centres >= p.head_from * t_max)
    if not distal.any():
        return prof
    h = int(np.flatnonzero(distal)[np.argmax(r[distal])])
    prof.head_radius_nm = float(r[h])
    prox = np.flatnonzero(ok[:h])
    if not len(prox):
        prof.neck_radius_nm = float(r[h])
        return prof
    k = int(prox[np.argmin(r[prox])])
    prof.neck_radius_nm = float(r[k])
    if r[h] < p.head_to_neck * max(r[k], 1e-6):
        return prof
    level = float(np.sqrt(r[k] * r[h]))
    j = k + int(np.argmax(np.nan_to_num(r[k:h + 1], nan=-np.inf) >= level))  # first shell past the level
    a = int(np.flatnonzero(ok[:j])[-1]) if ok[:j].any() else k
    frac = (level - r[a]) / max(float(r[j] - r[a]), 1e-9)
    prof.t_split_nm = float(centres[a] + np.clip(frac, 0.0, 1.0) * (centres[j] - centres[a]))
    return prof


def _running_median3(r: np.ndarray) -> np.ndarray:
    """Running median of three of ``r`` (NaN ignored; the ends keep the median of their two)."""
    if len(r) < 3:
        return r.copy()
    pad = np.concatenate([[np.nan], r, [np.nan]])
    win = np.stack([pad[:-2], pad[1:-1], pad[2:]], axis=1)
    n_ok = np.isfinite(win).sum(1)
    srt = np.sort(np.where(np.isfinite(win), win, np.inf), axis=1)  # finite values first, in order
    lo = srt[np.arange(len(r)), np.maximum((n_ok - 1) // 2, 0)]
    hi = srt[np.arange(len(r)), np.maximum(n_ok // 2, 0)]
    return np.where(np.isfinite(r), 0.5 * (lo + hi), np.nan)


PROFILE_FEATURES = ("profile_has_neck", "profile_head_neck_ratio", "profile_neck_radius_nm",
                    "profile_head_radius_nm", "profile_split_offset_nm", "profile_split_offset_rel",
                    "profile_t_rel", "profile_headness", "profile_rho_rel")


def site_profile_features(tri: np.ndarray, spine_of_tri: np.ndarray, bases_nm: np.ndarray,
                          spine_of_site: np.ndarray, cp: np.ndarray, params: AxisProfileParams | None = None
                          ) -> pd.DataFrame:
    """Per site, where it sits on its spine's axis profile (NaN without a spine, ``spine_of_site`` < 0):
    ``profile_has_neck`` (0/1), head / neck radius ratio and radii (nm), axial offset past the split (nm and over
    the axial extent; NaN without a neck), axial position over the extent, ``profile_headness`` (the profile
    radius at the site's axial position, 0 at the neck radius and 1 at the head radius) and the site's distance
    from the axis over that radius. Spines 0..S-1: ``tri`` (K, 3, 3) nm with ``spine_of_tri`` (K,) and
    ``bases_nm`` (S, 3) as :func:`axis_profiles`; ``cp`` (N, 3) nm site points."""
    out = {c: np.full(len(cp), np.nan) for c in PROFILE_FEATURES}
    profiles = axis_profiles(tri, spine_of_tri, bases_nm, params)
    on = np.flatnonzero(spine_of_site >= 0)
    order = on[np.argsort(spine_of_site[on], kind="stable")]
    ids, starts = np.unique(spine_of_site[order], return_index=True)
    for sid, rows in zip(ids, np.split(order, starts[1:])):
        pr = profiles[int(sid)]
        if not len(pr.t_nm) or not np.isfinite(pr.radius_nm).any():
            continue
        rel = cp[rows] - pr.base_nm
        t = rel @ pr.axis
        rho = row_norms(rel - t[:, None] * pr.axis)
        ok = np.isfinite(pr.radius_nm)
        r_at = np.interp(t, pr.t_nm[ok], pr.radius_nm[ok])
        span = pr.head_radius_nm - pr.neck_radius_nm
        out["profile_has_neck"][rows] = float(pr.has_neck)
        out["profile_head_neck_ratio"][rows] = pr.head_radius_nm / max(pr.neck_radius_nm, 1.0)
        out["profile_neck_radius_nm"][rows] = pr.neck_radius_nm
        out["profile_head_radius_nm"][rows] = pr.head_radius_nm
        if pr.has_neck:
            out["profile_split_offset_nm"][rows] = t - pr.t_split_nm
            out["profile_split_offset_rel"][rows] = (t - pr.t_split_nm) / pr.t_max_nm
        out["profile_t_rel"][rows] = t / pr.t_max_nm
        out["profile_headness"][rows] = (r_at - pr.neck_radius_nm) / span if span > 1.0 else np.nan
        out["profile_rho_rel"][rows] = rho / np.maximum(r_at, 1.0)
    return pd.DataFrame(out)


def profile_is_neck(x: pd.DataFrame, max_rho_rel: float = 1.5) -> np.ndarray:
    """(S,) True for sites on the neck side of their spine's profile split (from :func:`site_profile_features`
    columns): the spine has a neck, the site lies between the base and the split and no farther from the axis
    than ``max_rho_rel`` x the profile radius there (on the spine's surface, not on the shaft beside it)."""
    off = x["profile_split_offset_nm"].to_numpy(dtype=float)
    t = x["profile_t_rel"].to_numpy(dtype=float)
    rho = x["profile_rho_rel"].to_numpy(dtype=float)
    return (x["profile_has_neck"].to_numpy(dtype=float) == 1) & (off < 0) & (t >= 0) & (rho <= max_rho_rel)

"""The shaft field fitted again without the spines found (nm; ``SpineParams.refit_shaft``, opt-in).

Where spines hold about half of a chunk's surface (densely spiny thin dendrite), the chunk's radius quantile lands
in the spines and the shaft model sits too far out; fitting again without the faces of the spines found reads the
shaft itself.

The refit moves the level protrusion is measured from; with ``refit_scale="max"`` the shape gates that scale with
the shaft radius (relative seed and growth thresholds, the base-width cut, the thinnest searched shaft) read the
larger of the first and the refitted radius, so a spine the first search measured against a wide, non-round real
shaft is not cut because the spine-free quantile sits inside that shaft.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.meshes import face_areas_nm2, vertex_areas_nm2
from ..skeleton.model import Skeleton
from .params import REFIT_SCALES  # moved to params.py
from .shaft import ShaftField, ShaftParams, shaft_field


@dataclass
class LevelledField(ShaftField):
    """A shaft field whose protrusion is measured from ``level_nm`` (V,) (nm; the refitted radius) while
    ``radius_nm`` is the radius the shape gates scale with; ``base_radius_nm`` (V,): the radius the base-width
    cut alone reads (None: ``radius_nm``)."""

    level_nm: np.ndarray | None = None
    base_radius_nm: np.ndarray | None = None

    @property
    def protrusion_nm(self) -> np.ndarray:
        """(V,) distance beyond the refitted shaft surface, nm (NaN where unknown)."""
        level = self.radius_nm if self.level_nm is None else self.level_nm
        return self.distance_nm - level


def spine_share(fld: ShaftField, verts: np.ndarray, faces: np.ndarray, surface: np.ndarray, spine_faces: np.ndarray,
                radius_nm: float) -> np.ndarray:
    """(V,) share of the surface (area of ``surface`` faces) within ``radius_nm`` (nm) of each vertex's axis sample
    that lies on ``spine_faces`` (NaN where the neighbourhood holds no surface)."""
    from scipy.sparse import csr_matrix

    a = face_areas_nm2(verts, faces)
    ns = len(fld.sample_points_nm)
    s_face = fld.sample_index[faces[:, 0]]
    tot = np.bincount(s_face[surface], weights=a[surface], minlength=ns)
    sp = np.bincount(s_face[surface & spine_faces], weights=a[surface & spine_faces], minlength=ns)
    i, j = _sample_neighbours(fld, radius_nm)
    near = csr_matrix((np.ones(len(i)), (i, j)), shape=(ns, ns))
    tot_n, sp_n = near @ tot, near @ sp
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot_n > 0, sp_n / tot_n, np.nan)
    return share[fld.sample_index]


def _sample_neighbours(fld: ShaftField, radius_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of axis samples within ``radius_nm`` (nm) of each other, each sample with itself included."""
    from scipy.spatial import cKDTree

    ns = len(fld.sample_points_nm)
    pairs = cKDTree(fld.sample_points_nm).query_pairs(radius_nm, output_type="ndarray")
    return (np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(ns)]),
            np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(ns)]))


def surface_quantile(fld: ShaftField, use_v: np.ndarray, weight: np.ndarray, q: float, radius_nm: float
                     ) -> np.ndarray:
    """(V,) area-weighted ``q``-quantile (nm) of the axis distances of the ``use_v`` vertices (weights
    ``weight``, nm²) whose axis sample lies within ``radius_nm`` of the vertex's own (NaN: no such surface)."""
    from ..geometry.stats import weighted_group_quantile

    ns = len(fld.sample_points_nm)
    i, j = _sample_neighbours(fld, radius_nm)
    vid = np.flatnonzero(use_v & np.isfinite(fld.distance_nm))
    vid = vid[np.argsort(fld.sample_index[vid], kind="stable")]
    cnt = np.bincount(fld.sample_index[vid], minlength=ns)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    k = cnt[j]
    offs = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    src = vid[np.repeat(start[j], k) + offs]
    per_sample = weighted_group_quantile(np.repeat(i, k), fld.distance_nm[src], weight[src], q, ns)
    return per_sample[fld.sample_index]


def refit_args(p) -> tuple:
    """``refit_field``'s settings from a ``SpineParams``: the shaft parameters, ``refit_scale`` ("refit": the
    radius-relative gates read the refitted radius; "max": they read max(first, refitted); "base": the base-width
    cut alone does), no share gate, and ``refit_above_quantile`` (q > 0: replace the radius only where the first
    one lies above the q-quantile of the spine-free wall; 0: everywhere)."""
    return p.shaft, p.refit_scale, 0.0, p.refit_above_quantile


def refit_field(first: ShaftField, verts: np.ndarray, faces: np.ndarray, skel: Skeleton, bad_faces: np.ndarray,
                spine_faces: np.ndarray, params: ShaftParams, scale: str = "refit", min_share: float = 0.0,
                above_quantile: float = 0.0, share_radius_nm: float = 1000.0) -> ShaftField:
    """The first shaft field (axis, samples, distances; nm) with its radius read again without ``bad_faces``
    (ineligible) and ``spine_faces`` (the spines found): each axis sample takes the radius and spread of the
    nearest sample of a field fitted to the remaining surface (that fit's own axis is not used: fitting without
    the spines moves the axis). Vertices whose chunk lost all its surface (or had none) keep the first radius,
    and so do those
    where the spines found hold at most ``min_share`` of the surface within ``share_radius_nm`` of their axis
    sample (0: refit everywhere), and with ``above_quantile`` q > 0 those whose first radius does not exceed the
    area-weighted q-quantile of the spine-free surface's distances to the first axis within ``share_radius_nm``
    (the first radius lies on the shaft's own wall: a wide or non-round shaft, not spines lifting the quantile).
    ``scale``: "refit" (the gates read the refitted radius), "max" (protrusion from the refitted radius, gates
    from max(first, refitted)) or "base" (everything from the refitted radius but the base-width cut, which
    reads max(first, refitted))."""
    from scipy.spatial import cKDTree

    if scale not in REFIT_SCALES:
        raise ValueError(f"SpineParams.refit_scale must be one of {REFIT_SCALES}, got {scale!r}")
    free = shaft_field(verts, faces, skel, ~(bad_faces | spine_faces), params)
    near = cKDTree(free.sample_points_nm).query(first.sample_points_nm)[1][first.sample_index]
    radius = free.sample_radius_nm[near]
    spread = None
    if free.spread_nm is not None and first.spread_nm is not None:
        per_sample = np.full(len(free.sample_points_nm), np.nan)
        per_sample[free.sample_index] = free.spread_nm
        spread = np.where(np.isfinite(per_sample[near]), per_sample[near], first.spread_nm)
    keep_first = ~np.isfinite(radius) | ~np.isfinite(first.radius_nm)
    if min_share > 0:
        share = spine_share(first, verts, faces, ~bad_faces, spine_faces, share_radius_nm)
        keep_first |= ~(np.nan_to_num(share, nan=0.0) > min_share)
    if above_quantile > 0:
        free_v = np.ones(len(verts), dtype=bool)
        free_v[faces[bad_faces | spine_faces].ravel()] = False
        wall = surface_quantile(first, free_v, vertex_areas_nm2(faces, face_areas_nm2(verts, faces), len(verts)),
                                above_quantile, share_radius_nm)
        keep_first |= ~(first.radius_nm > np.nan_to_num(wall, nan=np.inf))
    radius = np.where(keep_first, first.radius_nm, radius)
    if spread is not None:
        spread = np.where(keep_first, first.spread_nm, spread)
    fields = {**first.__dict__, "spread_nm": spread}
    if scale == "refit":
        return ShaftField(**{**fields, "radius_nm": radius})
    if scale == "base":
        return LevelledField(**{**fields, "radius_nm": radius, "base_radius_nm": np.fmax(radius, first.radius_nm)})
    return LevelledField(**{**fields, "radius_nm": np.fmax(radius, first.radius_nm), "level_nm": radius})

"""Synapse-site features that do not rest only on the spine detector's yes/no (nm unless the name says).

``synapse_target_model`` (``target_model.py``) reads these. Beyond the site's own face labels they describe:
- how far the nearest detected spine, head and neck surface is (exact point-to-triangle distance, nm and in
  local shaft radii; 0 on it), so a head synapse beside a partly detected spine still sees the spine;
- the nearest spine within ``NEAR_SPINE_NM`` (its length, head / neck widths, whether it has a neck) and where the
  site sits along its axis (0 at the base, 1 at the tip);
- how high the site stands above the fitted shaft surface compared with the highest surface around it
  (``below_top_*``), at 250 / 500 / 1000 nm: a site at the top of a bump is a head, one at its foot a neck or shaft;
Not used: the mesh thickness through the site along its face normal separates neck / head / shaft well on the
family (medians 104 / 426 / 795 nm, 4 % without a hit) but not on the real cell's chunked 81k mesh (59 % of the
rules' head sites without a hit either way), so it would not transfer.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..neuron import Neuron, is_label

NEAR_SPINE_NM = 2000.0  # spine features of the nearest spine face's spine within this distance of the site


def _nearest(centres: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (nm; inf without centres) and index (-1) of each point's nearest centre."""
    if len(centres) == 0:
        return np.full(len(pts), np.inf), np.full(len(pts), -1, dtype=np.int64)
    d, i = cKDTree(centres).query(pts)
    return d, i.astype(np.int64)


def distance_to_faces(n: Neuron, sel: np.ndarray, face: np.ndarray, cp: np.ndarray) -> np.ndarray:
    """Exact distance (nm) from each site ``cp`` (on face ``face``) to the surface of faces ``sel``: 0 on one of
    them, NaN without any (point-to-triangle, so the value does not depend on how finely the surface is cut)."""
    if len(sel) == 0:
        return np.full(len(cp), np.nan)
    import trimesh

    from ..geometry.nearest import closest_faces

    sub = trimesh.Trimesh(np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)[sel], process=False)
    _, d, _ = closest_faces(sub, cp)
    on = np.zeros(n.n_faces, dtype=bool)
    on[sel] = True
    return np.where(on[face], 0.0, d)


def spine_tips(n: Neuron) -> np.ndarray:
    """(S, 3) per spine (row order of ``n.spines``): the centroid of its face farthest from its base (nm)."""
    sp = n.spines
    out = np.full((len(sp), 3), np.nan)
    on = np.flatnonzero(n.face_spine >= 0)
    if len(sp) == 0 or len(on) == 0:
        return out
    cen = np.asarray(n.mesh.triangles_center)[on]
    sid = n.face_spine[on]
    pos = pd.Index(sp["spine_id"].to_numpy()).get_indexer(sid)
    ok = pos >= 0
    base = sp[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=float)
    d = np.linalg.norm(cen[ok] - base[pos[ok]], axis=1)
    order = np.lexsort((-d, pos[ok]))  # per spine, farthest first
    first = np.r_[True, np.diff(pos[ok][order]) != 0]
    out[pos[ok][order][first]] = cen[ok][order][first]
    return out


def axis_position(cp: np.ndarray, base: np.ndarray, axis: np.ndarray, head_width_nm: np.ndarray,
                  neck_length_nm: np.ndarray) -> dict[str, np.ndarray]:
    """Where each site sits on its nearest spine, measured along that spine's own base-to-tip axis (nm): its
    distance from the axis (``near_spine_axis_radius_nm``; a neck is narrow, a head wide) and that over half the
    spine's head width, and its axial position past the head/neck split (``near_spine_split_offset_nm``: < 0 on
    the neck side; NaN for a spine without a neck). Not face labels: the same on any tessellation."""
    unit = axis / np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1.0)
    rel = cp - base
    t = np.einsum("ij,ij->i", rel, unit)
    rho = np.linalg.norm(rel - t[:, None] * unit, axis=1)
    neck = np.where(neck_length_nm > 0, neck_length_nm, np.nan)
    return {"near_spine_axis_radius_nm": rho,
            "near_spine_axis_radius_rel": rho / np.maximum(0.5 * head_width_nm, 1.0),
            "near_spine_split_offset_nm": t - neck}


def spine_context_features(n: Neuron, face: np.ndarray, cp: np.ndarray, shaft_radius_nm: np.ndarray,
                           site_protrusion_nm: np.ndarray, hmax: dict[int, np.ndarray],
                           profile: bool = False, profile_sample_nm: float | None = None) -> dict[str, Any]:
    """Features of each site's detected-spine neighbourhood (see the module docstring); ``face``: the site's face
    on ``n.mesh``, ``cp``: its closest surface point (nm), ``hmax``: max protrusion (nm) within each radius.
    profile: also where the site sits on its nearest spine's axis profile (``axis_profile.PROFILE_FEATURES``;
    surface samples ``profile_sample_nm`` apart; None: ``AxisProfileParams.sample_nm``, the captured spacing)."""
    r = np.maximum(np.nan_to_num(shaft_radius_nm, nan=1.0), 1.0)
    lab = np.asarray(n.face_labels)  # compared element-wise: no (F,) string copy
    cen = np.asarray(n.mesh.triangles_center)
    spine_f = np.flatnonzero(n.face_spine >= 0)
    out: dict[str, Any] = {"face_is_neck": is_label(lab[face], ("spine_neck",)).astype(float)}
    d_sp, i_sp = _nearest(cen[spine_f], cp)  # by centroid: only picks the nearest spine
    for name, sel in (("spine", spine_f), ("head", np.flatnonzero(is_label(lab, ("spine_head",)))),
                      ("neck", np.flatnonzero(is_label(lab, ("spine_neck",))))):
        d = distance_to_faces(n, sel, face, cp)
        out[f"distance_to_{name}_face_nm"] = d
        out[f"distance_to_{name}_face_rel"] = d / r
    near = np.isfinite(d_sp) & (d_sp <= NEAR_SPINE_NM)
    sid = np.where(near, n.face_spine[spine_f[np.maximum(i_sp, 0)]] if len(spine_f) else -1, -1)
    sp = n.spines
    pos = pd.Index(sp["spine_id"].to_numpy()).get_indexer(sid) if len(sp) else np.full(len(cp), -1)
    pos = np.where(sid >= 0, pos, -1)
    has = pos >= 0
    for col in ("length_um", "head_width_um", "neck_width_um", "neck_length_um"):
        vals = np.full(len(cp), np.nan)
        vals[has] = sp[col].to_numpy(dtype=float)[pos[has]] * 1000.0
        out["near_spine_" + col.replace("_um", "_nm")] = vals
    out["near_spine_has_neck"] = np.where(has, sp["has_neck"].to_numpy(dtype=float)[np.maximum(pos, 0)]
                                          if len(sp) else np.nan, np.nan)
    base = np.full((len(cp), 3), np.nan)
    tip = np.full((len(cp), 3), np.nan)
    if has.any():
        base[has] = sp[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=float)[pos[has]]
        tip[has] = spine_tips(n)[pos[has]]
    axis = tip - base
    alen2 = np.maximum(np.einsum("ij,ij->i", axis, axis), 1.0)
    out["near_spine_axis_fraction"] = np.einsum("ij,ij->i", cp - base, axis) / alen2
    out.update(axis_position(cp, base, axis, out["near_spine_head_width_nm"], out["near_spine_neck_length_nm"]))
    out["near_spine_base_distance_nm"] = np.linalg.norm(cp - base, axis=1)
    out["near_spine_neck_fraction"] = out["near_spine_base_distance_nm"] / np.maximum(
        out["near_spine_neck_length_nm"], 1.0)
    for rad, hm in hmax.items():
        out[f"below_top_{rad}nm"] = hm - site_protrusion_nm
        out[f"relative_height_{rad}nm"] = site_protrusion_nm / np.maximum(hm, 1.0)
    out["height_over_radius"] = site_protrusion_nm / r
    if profile:
        out.update(nearest_spine_profiles(n, np.where(has, sid, -1), cp, profile_sample_nm))
    return out


def nearest_spine_profiles(n: Neuron, sid: np.ndarray, cp: np.ndarray, sample_nm: float | None = None
                           ) -> dict[str, np.ndarray]:
    """``axis_profile.site_profile_features`` of each site ``cp`` (nm) on spine ``sid`` (an ``n.spines``
    spine_id; -1: none) from that spine's faces and base point (surface samples ``sample_nm`` apart; None:
    ``AxisProfileParams.sample_nm``)."""
    from .axis_profile import AxisProfileParams, site_profile_features

    want = np.unique(sid[sid >= 0])
    on = np.flatnonzero(np.isin(n.face_spine, want))
    ids, tri_spine = np.unique(n.face_spine[on], return_inverse=True)  # spines with faces, 0..S-1
    sp = n.spines.set_index("spine_id")
    bases = sp.loc[ids, ["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=float).reshape(-1, 3)
    pos = np.searchsorted(ids, sid)
    site = np.where((sid >= 0) & (pos < len(ids)) & (ids[np.minimum(pos, max(len(ids) - 1, 0))] == sid)
                    if len(ids) else False, pos, -1)
    ap = AxisProfileParams() if sample_nm is None else AxisProfileParams(sample_nm=float(sample_nm))
    x = site_profile_features(np.asarray(n.mesh.triangles)[on], tri_spine.reshape(-1), bases, site, cp, ap)
    return {c: x[c].to_numpy() for c in x.columns}

"""Local relief of the dendrite surface above its own neighbourhood (nm).

The protrusion ``h`` (distance to the axis minus a chunk radius, ``shaft.py``) carries the errors of the shaft
model: an axis off centre by d tilts it by -d cos(angle) around the circumference, a taper or an elliptic
cross-section shifts it along and around the shaft. Those errors vary over the scale of the shaft itself; a spine
is a small, compact rise. The relief of a point is its protrusion minus a low quantile of the protrusion of the
surface within ``radius_nm`` of it (the local shaft level, which smooth shaft-model errors move with it while a
spine covering a small part of that neighbourhood does not). A stubby spine standing 100-200 nm out of its shaft
is then measured against the shaft around it, not against a radius pooled over 2 µm of spiny dendrite.

The level is computed on points spread uniformly over the surface by area (so mesh resolution does not change
it) and interpolated to the mesh vertices.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geometry.sampling import area_samples
from ..geometry.stats import group_mode, group_quantiles, weighted_group_quantile


def surface_level(verts: np.ndarray, faces: np.ndarray, area_f: np.ndarray, h: np.ndarray, ok: np.ndarray,
                  sample_index: np.ndarray, sample_points: np.ndarray, radius_nm: float = 1000.0,
                  quantile: float = 0.5, density_per_um2: float = 12.0, max_points: int = 200_000,
                  seed: int = 0, query: np.ndarray | None = None) -> np.ndarray:
    """(V,) local shaft level of the protrusion ``h`` (nm) at each vertex; NaN where it is not defined.

    ``ok`` (V,) bool: vertices whose protrusion is the shaft's (eligible dendrite with a shaft model, not a
    spine found so far); the level is returned at ``query`` vertices (default ``ok``). Points are
    drawn on faces whose three corners are ok, ``density_per_um2`` per µm² (at most ``max_points``), each
    carrying ``h`` interpolated linearly over its face. A point's level is the ``quantile`` of the points within
    ``radius_nm`` whose axis samples (``sample_index`` of the face's first corner into ``sample_points``) lie
    within 1.5 x ``radius_nm`` of its own (the same neurite, not one passing by). A vertex takes the
    inverse-distance mean of the levels of its 4 nearest points.
    """
    nv = len(verts)
    out = np.full(nv, np.nan)
    hf = h[faces]
    fok = ok[faces].all(1) & np.isfinite(hf).all(1)
    idx = np.flatnonzero(fok)
    if len(idx) < 8:
        return out
    a = area_f[idx]
    count = int(min(max_points, max(8, density_per_um2 * a.sum() / 1e6)))
    sel, bary = area_samples(verts[faces[idx]], a, count, seed)  # decided by each face's geometry, not its index
    pick, count = idx[sel], len(sel)
    if count < 8:
        return out
    pts = np.einsum("nk,nkd->nd", bary, verts[faces[pick]])
    hp = (bary * hf[pick]).sum(1)
    tree = cKDTree(pts)
    pairs = tree.query_pairs(radius_nm, output_type="ndarray")
    s = sample_index[faces[pick, 0]]
    if len(pairs):
        same = np.linalg.norm(sample_points[s[pairs[:, 0]]] - sample_points[s[pairs[:, 1]]], axis=1) \
            <= 1.5 * radius_nm
        pairs = pairs[same]
    own = np.arange(count)
    gi = np.concatenate([pairs[:, 0], pairs[:, 1], own])
    gj = np.concatenate([pairs[:, 1], pairs[:, 0], own])
    level = group_quantiles(gi, hp[gj], (quantile,), count)[:, 0]
    need = np.flatnonzero(ok if query is None else query)
    if len(need) == 0:
        return out
    k = min(4, count)
    d, j = tree.query(verts[need], k=k)
    d, j = d.reshape(len(need), k), j.reshape(len(need), k)
    wts = 1.0 / np.maximum(d, 1.0)
    out[need] = (level[j] * wts).sum(1) / wts.sum(1)
    return out


def spine_anchor_samples(label: np.ndarray, fld) -> np.ndarray:
    """(n_spines,) anchor sample of each spine of ``label`` (per vertex, -1 none): the axis sample
    (index into ``fld.sample_points_nm``) most of its vertices belong to; -1 for a spine without one."""
    on = np.flatnonzero(label >= 0)
    if len(on) == 0:
        return np.zeros(0, dtype=np.int64)
    return group_mode(label[on], fld.sample_index[on], int(label.max()) + 1, -1)


def found_spine_density(anchors: np.ndarray, fld, query_samples: np.ndarray, radius_nm: float) -> np.ndarray:
    """(len(query_samples),) spines per µm of dendrite around axis samples ``query_samples`` (indices into
    ``fld.sample_points_nm``): the spines whose anchor sample (``anchors``, :func:`spine_anchor_samples`) lies
    within ``radius_nm`` of the sample, over 2 x ``radius_nm`` of cable (an unbranched neurite through the ball;
    near tips and branch points the cable differs, by at most a factor of about 2)."""
    out = np.zeros(len(query_samples))
    anchors = anchors[anchors >= 0]
    if len(anchors) == 0 or len(query_samples) == 0:
        return out
    tree = cKDTree(fld.sample_points_nm[anchors])
    cnt = tree.query_ball_point(fld.sample_points_nm[query_samples], radius_nm, return_length=True)
    return np.asarray(cnt, dtype=np.float64) / (2.0 * radius_nm / 1000.0)


def keep_dense(mask: np.ndarray, label: np.ndarray, fld, p) -> None:
    """Clear, in place, the vertices of ``mask`` whose shaft sample has fewer than ``p.relief_min_density_per_um``
    spines per µm found so far (``label``) within ``p.relief_density_radius_nm`` (:func:`found_spine_density`)."""
    cand = np.flatnonzero(mask)
    uniq, inv = np.unique(fld.sample_index[cand], return_inverse=True)
    dens = found_spine_density(spine_anchor_samples(label, fld), fld, uniq, p.relief_density_radius_nm)
    mask[cand[dens[inv] < p.relief_min_density_per_um]] = False


def relief_pass(grow_pass: Callable, verts: np.ndarray, r: np.ndarray, hn: np.ndarray, ok: np.ndarray, fld,
                eligible_v: np.ndarray, e_mesh: np.ndarray, links: np.ndarray, piece: np.ndarray, va: np.ndarray,
                mesh_faces: tuple[np.ndarray, np.ndarray], p, label: np.ndarray, base: np.ndarray,
                ring: pd.DataFrame, counts: dict) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Search the surface no spine took once more, with protrusion measured from the local shaft level: the
    ``relief_quantile`` of the protrusion of the surrounding surface that is not a spine found so far
    (``relief.surface_level``, ``relief_radius_nm``), seeds above ``relief_seed_nm``. Spines already found keep
    their labels; new ones are appended. ``grow_pass``: ``grow._grow_pass`` (one hysteresis pass); ``fld``:
    the ShaftField; ``p``: SpineParams; ``label`` / ``base`` / ``ring``: the spines so far (per vertex, base mask,
    attachment table)."""
    spine_v = label >= 0
    near_spine = spine_v.copy()
    e_sp = e_mesh[spine_v[e_mesh[:, 0]] | spine_v[e_mesh[:, 1]]]
    near_spine[e_sp.reshape(-1)] = True  # the first ring of shaft around a spine holds its flare
    free = ok & ~spine_v & np.isfinite(hn)
    # only mesh pieces that are mostly shaft (area-weighted median protrusion below the seed threshold): a crumb
    # of debris beside a dendrite stands out as a whole, and measured against itself half of it would be "shaft"
    n_piece = int(piece.max()) + 1
    med = weighted_group_quantile(piece[free], hn[free], va[free], 0.5, n_piece)
    free &= np.nan_to_num(med, nan=np.inf)[piece] < p.seed_protrusion_nm
    search = free.copy()
    if p.relief_near_spine_nm > 0:
        # spiny dendrite only: a spine missed by the first passes stands among spines that were found; on a
        # sparsely spiny or aspiny process the relief of a varicosity or a bump is not worth the risk
        cand = np.flatnonzero(search)
        if spine_v.any() and len(cand):
            d, _ = cKDTree(verts[spine_v]).query(verts[cand], distance_upper_bound=p.relief_near_spine_nm)
            search[cand[~np.isfinite(d)]] = False
        else:
            search[:] = False
    if p.relief_min_density_per_um > 0 and search.any():
        # dense spiny dendrite only: where the first passes found fewer spines per µm, a low dome is as likely a
        # varicosity or a bump of a sparsely spiny process as a spine they missed
        keep_dense(search, label, fld, p)
    if not search.any():
        counts["relief_pass"] = 0
        return label, base, ring
    # end caps (past a terminal end of the axis) read below the shaft and would sink the level near tips
    level = surface_level(verts, mesh_faces[0], mesh_faces[1], hn, free & ~near_spine & ~fld.beyond_end,
                          fld.sample_index, fld.sample_points_nm, p.relief_radius_nm, p.relief_quantile,
                          query=search)
    h3 = np.where(search & np.isfinite(level), hn - np.nan_to_num(level), -np.inf)
    # around the local median level half the shaft rises above 0: the growth threshold sits above that spread
    p3 = replace(p, seed_protrusion_nm=p.relief_seed_nm, grow_protrusion_nm=max(p.grow_protrusion_nm,
                                                                                p.relief_grow_nm))
    lab3, base3, ring3, _ = grow_pass(verts, r, h3, search, fld.beyond_end, eligible_v & ~spine_v, e_mesh, links,
                                      piece, va, mesh_faces, p3, fld, counts.get("candidate_sink"))
    # a piece that touches a spine found before is the rest of that spine (its lower neck or flank), not a
    # spine of its own
    n3 = int(lab3.max()) + 1
    if n3 == 0:
        counts["relief_pass"] = 0
        return label, base, ring
    in3 = lab3 >= 0
    touch = e_mesh[(in3[e_mesh[:, 0]] & spine_v[e_mesh[:, 1]]) | (in3[e_mesh[:, 1]] & spine_v[e_mesh[:, 0]])]
    new_of = np.arange(n3) + int(label.max()) + 1
    if len(touch):
        a = np.where(lab3[touch[:, 0]] >= 0, touch[:, 0], touch[:, 1])
        b = np.where(lab3[touch[:, 0]] >= 0, touch[:, 1], touch[:, 0])
        owner = group_mode(lab3[a], label[b], n3, -1)
        new_of = np.where(owner >= 0, owner, new_of)
    fresh = np.unique(new_of[new_of > label.max()])
    counts["relief_pass"] = len(fresh)
    counts["relief_joined"] = int(n3 - len(fresh))
    # dense ids for the new spines
    remap = np.searchsorted(fresh, new_of)
    new_of = np.where(new_of > label.max(), int(label.max()) + 1 + remap, new_of)
    label = np.where(lab3 >= 0, new_of[np.maximum(lab3, 0)], label)
    ring3 = ring3.assign(spine=new_of[ring3.spine.to_numpy()])
    ring = pd.concat([ring, ring3[ring3.spine > ring.spine.max()] if len(ring) else ring3], ignore_index=True)
    return label, base | base3, ring


def drop_low_on_sparse(label: np.ndarray, base: np.ndarray, ring: pd.DataFrame, fld, ratio: np.ndarray, p,
                       counts: dict) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Drop spines lower than ``p.sparse_min_height_to_extent`` x their axial extent (``ratio``: height / extent
    per spine label) where the spines found so far number fewer than ``p.relief_min_density_per_um`` per µm
    within ``p.relief_density_radius_nm`` of the spine's anchor sample: on sparsely spiny dendrite a low wide
    bump is more often a varicosity than a stubby spine. Labels stay dense; ``base`` / ``ring`` follow."""
    n_sp = int(label.max()) + 1
    low = np.flatnonzero(ratio[:n_sp] < p.sparse_min_height_to_extent)
    counts["sparse_low_dropped"] = 0
    if len(low) == 0:
        return label, base, ring
    on = label >= 0
    anchor = spine_anchor_samples(label, fld)
    low = low[anchor[low] >= 0]
    dens = found_spine_density(anchor, fld, anchor[low], p.relief_density_radius_nm)
    drop = low[dens < p.relief_min_density_per_um]
    counts["sparse_low_dropped"] = len(drop)
    if len(drop) == 0:
        return label, base, ring
    new_id = np.full(n_sp, -1, dtype=np.int64)
    keep = np.setdiff1d(np.arange(n_sp), drop)
    new_id[keep] = np.arange(len(keep))
    gone = on & np.isin(label, drop)
    label = np.where(on, new_id[np.maximum(label, 0)], -1)
    ring = ring.assign(spine=new_id[ring.spine.to_numpy()])
    return label, base & ~gone, ring[ring.spine >= 0].reset_index(drop=True)


def attachment(e_mesh: np.ndarray, label: np.ndarray, eligible_v: np.ndarray, old_ring: pd.DataFrame
               ) -> tuple[np.ndarray, pd.DataFrame]:
    """Base mask (spine vertices with an unlabelled eligible mesh neighbour) and attachment ring (table
    ``spine, v``) of the labelled spines; spines without a mesh ring keep their ``old_ring`` rows (links)."""
    la, lb = label[e_mesh[:, 0]], label[e_mesh[:, 1]]
    a_in = (la >= 0) & (lb < 0) & eligible_v[e_mesh[:, 1]]
    b_in = (lb >= 0) & (la < 0) & eligible_v[e_mesh[:, 0]]
    base = np.zeros(len(label), dtype=bool)
    base[e_mesh[a_in, 0]] = True
    base[e_mesh[b_in, 1]] = True
    ring = pd.DataFrame({"spine": np.concatenate([la[a_in], lb[b_in]]),
                         "v": np.concatenate([e_mesh[a_in, 1], e_mesh[b_in, 0]])})
    keep_old = old_ring[~old_ring.spine.isin(ring.spine)]
    return base, pd.concat([ring, keep_old], ignore_index=True)


def touching_old(e_mesh: np.ndarray, new_label: np.ndarray, old_spine_v: np.ndarray) -> np.ndarray:
    """Labels of a later pass's candidates (``new_label`` per vertex, -1 none) that share a mesh edge with a spine
    vertex found before (``old_spine_v``): that spine's flank, which the extension step takes, not a new spine."""
    on = new_label >= 0
    touch = e_mesh[(on[e_mesh[:, 0]] & old_spine_v[e_mesh[:, 1]]) | (on[e_mesh[:, 1]] & old_spine_v[e_mesh[:, 0]])]
    return np.unique(new_label[np.where(on[touch[:, 0]], touch[:, 0], touch[:, 1])])


def append_spines(label: np.ndarray, base: np.ndarray, ring: pd.DataFrame, new_label: np.ndarray,
                  new_base: np.ndarray, new_ring: pd.DataFrame, keep: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``label`` / ``base`` / ``ring`` with the spines ``keep`` (ids into ``new_label``) of a later pass appended
    under the next free ids; its other candidates are dropped."""
    new_of = np.full(int(new_label.max()) + 1, -1, dtype=np.int64)
    new_of[keep] = int(label.max()) + 1 + np.arange(len(keep))
    lab = np.where(new_label >= 0, new_of[np.maximum(new_label, 0)], -1)
    new_ring = new_ring.assign(spine=new_of[new_ring.spine.to_numpy()])
    return (np.where(lab >= 0, lab, label), base | (new_base & (lab >= 0)),
            pd.concat([ring, new_ring[new_ring.spine >= 0]], ignore_index=True))

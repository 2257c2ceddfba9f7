"""One hysteresis pass (``_grow_pass``): seeds, growth over the mesh graph, the acceptance tests of a spine, its
base and attachment ring; and the superlevel area and seed level it reads."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..geometry.meshgraph import edge_components
from .params import SpineParams
from .pieces import shaft_surface
from .seed_cores import split_by_seed_cores
from .shape import angular_coverage, axial_extent
from .shaft import ShaftField


def superlevel_vertex_area(faces: np.ndarray, area_faces: np.ndarray, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(V,) nm²: the surface where ``h`` (linear over each face) exceeds the threshold ``t`` (per vertex; a face
    uses the mean of its corners), shared among each face's corners above it (0 for the others).

    Summed over a grown region this is the region's area above the growth threshold whatever the
    tessellation: a vertex-area sum would credit a one-vertex bump of a coarse mesh with a third of its whole fan.
    """
    hf = h[faces]
    tf = np.broadcast_to(t[faces].mean(1, keepdims=True), hf.shape)
    above = hf > tf
    k = above.sum(1)
    srt = np.sort(hf, axis=1)
    lo, mid, hi = srt[:, 0], srt[:, 1], srt[:, 2]
    tt = tf[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        one = (hi - tt) ** 2 / ((hi - mid) * (hi - lo))
        two = 1.0 - (tt - lo) ** 2 / ((hi - lo) * (mid - lo))
    frac = np.select([k == 3, k == 2, k == 1], [np.ones(len(k)), two, one], 0.0)
    frac = np.clip(np.nan_to_num(frac, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    share = np.where(above, (frac * area_faces / np.maximum(k, 1))[:, None], 0.0)
    return np.bincount(faces.reshape(-1), weights=share.reshape(-1), minlength=len(h))


def seed_level(p: SpineParams, fld: ShaftField | None, nv: int) -> np.ndarray | float:
    """Absolute seed threshold (nm), scalar or per vertex: ``p.seed_protrusion_nm``, or with ``p.seed_floor_nm``
    > 0 the spread-scaled level clipped to [seed_floor_nm, seed_protrusion_nm] (no spread known: the ceiling)."""
    if not 0 < p.seed_floor_nm < p.seed_protrusion_nm or fld is None or fld.spread_nm is None:
        return p.seed_protrusion_nm
    spread = np.nan_to_num(np.asarray(fld.spread_nm, dtype=float)[:nv], nan=np.inf)
    return np.clip(p.seed_spread_factor * spread, p.seed_floor_nm, p.seed_protrusion_nm)


def _grow_pass(verts: np.ndarray, r: np.ndarray, hn: np.ndarray, ok: np.ndarray, beyond_end: np.ndarray,
               eligible_v: np.ndarray, e_mesh: np.ndarray, links: np.ndarray, piece: np.ndarray, va: np.ndarray,
               mesh_faces: tuple[np.ndarray, np.ndarray], p: SpineParams, fld: ShaftField | None = None,
               stats_sink: list | None = None, ratio_out: list | None = None
               ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """One hysteresis pass on protrusion ``hn`` (nm): per-vertex spine label (-1 none), base mask, attachment
    ring (``spine, v``) and the grown-but-rejected region id per vertex (-1 elsewhere). ``va``: vertex areas
    (nm², a third of the incident faces); ``mesh_faces``: (faces, face areas nm²); ``ratio_out``: a list that
    receives the spines' height / axial extent."""
    nv = len(r)
    seed = ok & ~beyond_end & (hn > np.maximum(seed_level(p, fld, nv), p.seed_protrusion_rel * r))
    t_grow = p.grow_threshold_nm(r)
    grow = ok & (hn > t_grow)
    e = np.vstack([e_mesh, links])
    both = grow[e[:, 0]] & grow[e[:, 1]]
    _, comp = edge_components(nv, e[both])
    comp = np.where(grow, comp, -1)
    region = comp.copy()
    if p.split_by_seeds:
        comp = split_by_seed_cores(verts, e[both], seed, comp, hn, p.core_persistence_nm)
    # base: grown vertices with a mesh neighbour on the eligible shaft; a spine cut off its shaft by a chunk
    # boundary attaches through a proximity link instead (then the link ends are its base)
    shaft_v = shaft_surface(eligible_v, grow, r, piece, va, p.min_shaft_piece_area_nm2)

    def crossing(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ce = edges[(grow[edges[:, 0]] & shaft_v[edges[:, 1]]) | (grow[edges[:, 1]] & shaft_v[edges[:, 0]])]
        g_end = np.where(grow[ce[:, 0]], ce[:, 0], ce[:, 1])
        return g_end, np.where(grow[ce[:, 0]], ce[:, 1], ce[:, 0])

    grown_end, ring_v = crossing(e_mesh)
    link_end, link_ring = crossing(links)
    meshed = np.isin(comp[link_end], comp[grown_end])
    grown_end = np.concatenate([grown_end, link_end[~meshed]])
    ring_v = np.concatenate([ring_v, link_ring[~meshed]])
    base = np.zeros(nv, dtype=bool)
    base[grown_end] = True
    ring_c = comp[grown_end]
    in_c = comp >= 0
    df = pd.DataFrame({"c": comp[in_c], "seed": seed[in_c], "base": base[in_c], "h": hn[in_c], "r": r[in_c],
                       "a": superlevel_vertex_area(*mesh_faces, np.where(ok & np.isfinite(hn), hn, 0.0), t_grow)[in_c]})
    df["rb"] = (r if getattr(fld, "base_radius_nm", None) is None else fld.base_radius_nm)[in_c]  # refit.py
    stats = df.groupby("c").agg(area=("a", "sum"), seeds=("seed", "sum"), bases=("base", "sum"),
                                hmax=("h", "max"), r=("r", "median"), rb=("rb", "median"))
    good = stats[(stats.seeds > 0) & (stats.bases > 0) & (stats.area >= p.min_area_nm2)
                 & (stats.hmax <= p.max_length_nm)].index.to_numpy()
    if fld is not None and p.max_angular_coverage < 1.0 and len(good):
        cov = angular_coverage(verts, np.where(np.isin(comp, good), comp, -1), fld, p.angular_bins)
        good = good[cov.reindex(good).fillna(0.0).to_numpy() <= p.max_angular_coverage]
    ratio_of = pd.Series(np.inf, index=good)
    if fld is not None and len(good) and (p.min_height_to_extent > 0 or stats_sink is not None
                                          or ratio_out is not None):
        ext = axial_extent(verts, np.where(np.isin(comp, good), comp, -1), hn, fld).reindex(good)
        ratio = stats.loc[good, "hmax"].to_numpy() / np.maximum(ext.to_numpy(), 1.0)
        if stats_sink is not None:
            iv = np.flatnonzero(np.isin(comp, good))
            top_v = pd.Series(iv).groupby(comp[iv]).apply(lambda x: x.to_numpy()[np.argmax(hn[x.to_numpy()])])
            stats_sink.append(pd.DataFrame({"c": good, "top_v": top_v.reindex(good).to_numpy(),
                                            "hmax": stats.loc[good, "hmax"].to_numpy(),
                                            "extent": ext.to_numpy(), "area": stats.loc[good, "area"].to_numpy(),
                                            "r": stats.loc[good, "r"].to_numpy()}))
        ratio_of[:] = ratio
        good = good[ratio >= p.min_height_to_extent]
    label = np.full(nv, -1, dtype=np.int64)
    keep = np.isin(comp, good)
    # base width check (vectorised): rms distance of base vertices to their centroid vs the shaft radius
    bsel = keep & base
    if bsel.any():
        bdf = pd.DataFrame(verts[bsel], columns=["x", "y", "z"])
        bdf["c"] = comp[bsel]
        cen = bdf.groupby("c")[["x", "y", "z"]].transform("mean").to_numpy()
        bdf["d2"] = ((bdf[["x", "y", "z"]].to_numpy() - cen) ** 2).sum(1)
        rad = np.sqrt(bdf.groupby("c")["d2"].mean())
        too_wide = rad.index[rad.to_numpy() > p.max_base_radius_rel * stats.loc[rad.index, "rb"].to_numpy()]
        keep &= ~np.isin(comp, too_wide.to_numpy())
    good_ids, dense = np.unique(comp[keep], return_inverse=True)
    label[keep] = dense
    if ratio_out is not None:
        ratio_out.append(ratio_of.reindex(good_ids).to_numpy())
    in_good = np.isin(ring_c, good_ids)
    ring = pd.DataFrame({"spine": np.searchsorted(good_ids, ring_c[in_good]), "v": ring_v[in_good]})
    # regions re-searched later: not spines, but touching the shaft (a raised shaft patch; not a loose crumb)
    touches = np.zeros(nv + 1, dtype=bool)
    touches[region[base & (region >= 0)]] = True
    rejected = np.where((region >= 0) & ~keep & touches[region], region, -1)
    return label, base, ring, rejected

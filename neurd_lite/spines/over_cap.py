"""Spines over the length / head-width caps, searched again from their own level
(``SpineParams.over_cap_level_quantile``).

A labelled region longer than ``max_length_nm`` or with a head wider than ``max_head_width_nm`` is not one spine:
on densely spiny dendrite where the shaft model reads a patch of shaft as raised (an axis off centre, a radius read
low), the hysteresis grows one region over that patch and every spine standing on it; with one seed core in it the
whole region is one label, and ``table.spine_rows`` then drops it as "a branch stub or a swelling", losing every
spine on the patch. This pass measures such a region's protrusion from its own level (the area-weighted quantile of
its vertices' protrusion, as ``passes.spine_components`` re-searches rejected regions) and runs the seed / growth
hysteresis and the seed-core split inside it; each part above the area floor is a spine. The caps are read with
the same ``headneck.spine_geometry`` on the region's own faces (all three corners in it), so a region the caps
accept is never touched.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import coordinate_order
from ..geometry.meshgraph import edge_components
from ..geometry.stats import weighted_group_quantile
from .grow import seed_level
from .headneck import spine_geometry
from .params import SpineParams
from .relief import attachment
from .seed_cores import split_by_seed_cores
from .shaft import ShaftField


def over_cap_labels(verts: np.ndarray, faces: np.ndarray, e_mesh: np.ndarray, label: np.ndarray,
                    eligible_v: np.ndarray, p: SpineParams) -> np.ndarray:
    """Ids of the labels (``label`` (V,), -1 none) whose geometry exceeds ``p.max_length_nm`` or
    ``p.max_head_width_nm`` (nm). Only labels whose vertex bounding box is wider than the smaller cap are measured
    (a label inside both caps fits in a box of that size along at least its narrow axes; the test is exact)."""
    on = label >= 0
    if not on.any():
        return np.zeros(0, dtype=np.int64)
    n_lab = int(label.max()) + 1
    lo = np.full((n_lab, 3), np.inf)
    hi = np.full((n_lab, 3), -np.inf)
    np.minimum.at(lo, label[on], verts[on])
    np.maximum.at(hi, label[on], verts[on])
    diag = np.linalg.norm(hi - lo, axis=1)
    cand = np.flatnonzero(np.isfinite(diag) & (diag > min(p.max_length_nm, p.max_head_width_nm)))
    if len(cand) == 0:
        return cand
    la, lb = label[e_mesh[:, 0]], label[e_mesh[:, 1]]
    base = np.zeros(len(label), dtype=bool)  # spine vertices with an unlabelled eligible neighbour
    base[e_mesh[(la >= 0) & (lb < 0) & eligible_v[e_mesh[:, 1]], 0]] = True
    base[e_mesh[(lb >= 0) & (la < 0) & eligible_v[e_mesh[:, 0]], 1]] = True
    fl = label[faces]
    whole = (fl[:, 0] >= 0) & (fl[:, 0] == fl[:, 1]) & (fl[:, 1] == fl[:, 2])
    v_of = _members(np.where(np.isin(label, cand), label, -1))
    f_of = _members(np.where(whole & np.isin(fl[:, 0], cand), fl[:, 0], -1))
    out = []
    for lab in cand:
        vidx, fidx = v_of.get(lab), f_of.get(lab)
        if fidx is None or vidx is None:
            continue
        geo = spine_geometry(verts[vidx], base[vidx], verts[faces[fidx]], p.headneck)
        if geo.length_nm > p.max_length_nm or geo.head_width_nm > p.max_head_width_nm:
            out.append(lab)
    return np.asarray(out, dtype=np.int64)


def _members(key: np.ndarray) -> dict:
    """{key: ascending indices holding it} for the keys >= 0 of ``key``."""
    idx = np.flatnonzero(key >= 0)
    if len(idx) == 0:
        return {}
    o = idx[np.argsort(key[idx], kind="stable")]
    ks, starts = np.unique(key[o], return_index=True)
    return dict(zip(ks.tolist(), np.split(o, starts[1:])))


def split_over_caps(verts: np.ndarray, faces: np.ndarray, e_mesh: np.ndarray, va: np.ndarray, fld: ShaftField,
                    eligible_v: np.ndarray, label: np.ndarray, p: SpineParams) -> tuple[np.ndarray, int]:
    """((V,) labels with each over-cap label replaced by the spines found inside it from its own level, number of
    labels split). ``va``: vertex areas (nm²); levels: the ``p.over_cap_level_quantile`` of the label's protrusion
    (area-weighted); seeds / growth / split as in ``grow._grow_pass`` (``seed_protrusion_*``,
    ``grow_threshold_nm``, ``core_persistence_nm``); parts under ``p.min_area_nm2`` of vertex area are dropped.
    Labels renumbered 0..k-1 in order (a split label's parts take its place, in coordinate order)."""
    q = p.over_cap_level_quantile
    big = over_cap_labels(verts, faces, e_mesh, label, eligible_v, p) if q is not None else np.zeros(0, int)
    if len(big) == 0:
        return label, 0
    nv = len(label)
    in_big = np.isin(label, big)
    hn = np.nan_to_num(np.asarray(fld.protrusion_nm, dtype=float), nan=-np.inf)
    r = np.asarray(fld.radius_nm, dtype=float)
    grp = np.searchsorted(big, label[in_big])
    lvl = weighted_group_quantile(grp, hn[in_big], va[in_big], q, len(big))
    h2 = np.full(nv, -np.inf)
    h2[in_big] = hn[in_big] - lvl[grp]
    seed = in_big & (h2 > np.maximum(seed_level(p, fld, nv), p.seed_protrusion_rel * r))
    grow = in_big & (h2 > p.grow_threshold_nm(r))
    same = label[e_mesh[:, 0]] == label[e_mesh[:, 1]]  # never across two labels
    e_in = e_mesh[same & grow[e_mesh[:, 0]] & grow[e_mesh[:, 1]]]
    comp = np.where(grow, edge_components(nv, e_in)[1], -1)
    part = split_by_seed_cores(verts, e_in, seed, comp, h2, p.core_persistence_nm) if p.split_by_seeds else \
        np.where(np.isin(comp, comp[seed]), comp, -1)
    ok = part >= 0
    if ok.any():
        ids, inv = np.unique(part[ok], return_inverse=True)
        keep = np.bincount(inv, va[ok]) >= p.min_area_nm2
        part[ok] = np.where(keep[inv], ids[inv], -1)
    # order: unsplit labels keep theirs; a split label's parts take its place, ordered by coordinates (the
    # place of each part's first vertex in coordinate order, so the listing order of the mesh does not matter)
    slot = np.where(in_big & (part < 0), -1, label).astype(np.int64)
    sub = np.zeros(nv, dtype=np.int64)
    has = in_big & (part >= 0)
    if has.any():
        place = coordinate_order(verts)[1]
        pid, pinv = np.unique(part[has], return_inverse=True)
        low = np.full(len(pid), np.iinfo(np.int64).max)
        np.minimum.at(low, pinv, place[has])
        sub[has] = 1 + low[pinv]
    on = slot >= 0
    keys, inv = np.unique(np.column_stack([slot[on], sub[on]]), axis=0, return_inverse=True)
    out = np.full(nv, -1, dtype=np.int64)
    out[on] = inv.ravel()
    return out, len(big)


def split_spines_over_caps(mesh, va: np.ndarray, fld: ShaftField, eligible_v: np.ndarray, label: np.ndarray,
                           base: np.ndarray, ring, p: SpineParams, counts: dict
                           ) -> tuple[np.ndarray, np.ndarray, object]:
    """(label, base, ring) of ``mesh`` after :func:`split_over_caps` (the inputs themselves when no label is over
    the caps; else base and ring from ``relief.attachment`` of the new labels); ``va``: (V,) vertex areas (nm²);
    ``counts["over_cap_split"]``."""
    faces = np.asarray(mesh.faces)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    e_mesh = np.asarray(mesh.edges_unique)
    new, n_split = split_over_caps(verts, faces, e_mesh, va, fld, eligible_v, label, p)
    counts["over_cap_split"] = n_split
    if n_split == 0:
        return label, base, ring
    base, ring2 = attachment(e_mesh, new, eligible_v, ring.iloc[:0])
    return new, base, ring2

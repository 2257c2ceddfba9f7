"""Head / neck truth of spine faces from the spine table's geometry, for smoothed and refined unions (nm).

The union labels each output face by the source triangle it came from. When the union is smoothed and refined
(``refine`` > 1, members above ``REFINE_ABOVE_FACES``), the curved patches of a spine's first head band are
stretched across the neck-head junction and keep their head provenance: in a 2.1M-face l5_et about 3 % of the
spine area is labelled head below the junction (docs/spines.md, session 24 round 3). :func:`junction_labels`
relabels them by the generator's own rule: a spine face is head when its centroid lies past the plane of the
junction ring of its head, i.e. ``(c - head_centre) . dir + sqrt(head_r² - neck_r²) > 0``; faces of branched
spines go to their nearest head; stubby spines are all head. On an unrefined union this reproduces the
provenance labels.

The same smoothing stretches shaft faces up a neck (in the 2.1M-face l5_et 15 ~4,000 µm² of shaft-labelled faces
with edges > 0.7 µm stand above the shaft surface beside spines, 39 % of the true spine area; docs/spines.md,
session 25). :func:`shaft_spine_faces` gives a dendrite face to the spine nearest to it when its centroid stands
more than ``min_height_nm`` above the shaft surface at that spine's base while one of its corners stays on it
(within ``min_height_nm``: a shaft face reaching up, not another branch passing by) and within the cone
``rho < neck_r + h`` around the spine's axis (h: height above the shaft surface, rho: distance from the axis);
:func:`junction_labels` then labels it head or neck.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import exactvec as ev

HEAD_NECK = ("spine_head", "spine_neck")
NOT_SHAFT = ("soma", "axon") + HEAD_NECK
SHAFT_REACH_NM = 1000.0  # a dendrite face is tested against the spine of its nearest spine face within this
MIN_HEIGHT_NM = 50.0  # above the shaft surface at the spine's base (a tube face's centroid lies at or below it)


def _heads(spines: pd.DataFrame, offset: int, out: dict[str, np.ndarray]) -> None:
    """Write each spine's head centre, direction, junction depth (nm) and stubby flag (both heads) into ``out``."""
    ids = spines["spine_id"].to_numpy(np.int64) + offset
    branched = spines["n_heads"].to_numpy() == 2 if "n_heads" in spines else np.zeros(len(spines), bool)
    for k, sfx in ((0, ""), (1, "2")):
        rows = np.arange(len(spines)) if k == 0 else np.flatnonzero(branched)
        if not len(rows):
            continue
        sub = spines.iloc[rows]
        c = sub[[f"head{sfx}_x_nm", f"head{sfx}_y_nm", f"head{sfx}_z_nm"]].to_numpy(float)
        u = sub[[f"dir{sfx}_x", f"dir{sfx}_y", f"dir{sfx}_z"]].to_numpy(float)
        hr, nr = sub[f"head{sfx}_radius_nm"].to_numpy(float), sub[f"neck{sfx}_radius_nm"].to_numpy(float)
        out["centre"][k, ids[rows]] = c
        out["dir"][k, ids[rows]] = u
        out["depth"][k, ids[rows]] = np.sqrt(np.maximum(hr * hr - nr * nr, 0.0))
        if k == 0:
            out["stubby"][ids[rows]] = spines["is_stubby"].to_numpy(bool)


def junction_labels(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray, face_spine: np.ndarray,
                    tables: list[tuple[pd.DataFrame, int]]) -> np.ndarray:
    """Face labels with every ``spine_head`` / ``spine_neck`` face of a known spine relabelled by the junction-plane
    rule (module doc). tables: (spine table, id offset) per cell; a face's spine is ``spine_id + offset``.
    Other faces keep their label. Vertices nm."""
    labels = np.asarray(labels, dtype=object).copy()
    n_ids = max([off + int(t["spine_id"].max()) + 1 for t, off in tables if len(t)], default=0)
    on = np.flatnonzero(np.isin(labels, HEAD_NECK) & (face_spine >= 0) & (face_spine < n_ids))
    if not len(on):
        return labels
    h = {"centre": np.full((2, n_ids, 3), np.nan), "dir": np.zeros((2, n_ids, 3)), "depth": np.zeros((2, n_ids)),
         "stubby": np.zeros(n_ids, bool)}
    for t, off in tables:
        if len(t):
            _heads(t, off, h)
    s = face_spine[on]
    cen = (verts[faces[on, 0]] + verts[faces[on, 1]] + verts[faces[on, 2]]) / 3.0
    d = ev.norm(cen[None] - h["centre"][:, s])  # (2, n): distance to each head (NaN: no second head)
    k = np.where(np.isnan(d[1]) | (d[0] <= d[1]), 0, 1)
    past = ev.dot(cen - h["centre"][k, s], h["dir"][k, s]) + h["depth"][k, s]
    known = ~np.isnan(past)
    head = np.where(k == 0, h["stubby"][s], False) | (past > 0)
    labels[on[known]] = np.where(head[known], "spine_head", "spine_neck")
    return labels


def shaft_spine_faces(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray, face_spine: np.ndarray,
                      face_cell: np.ndarray, tables: list[tuple[pd.DataFrame, int]],
                      min_height_nm: float = MIN_HEIGHT_NM) -> tuple[np.ndarray, np.ndarray]:
    """(labels, face_spine) with every dendrite face (not soma, axon or spine; no spine) whose centroid stands more
    than ``min_height_nm`` above the shaft surface at the base of the spine of its nearest spine face (same cell,
    within ``SHAFT_REACH_NM``), with its lowest corner at most ``min_height_nm`` above it, and within the cone
    ``rho < neck_radius + height`` around that spine's axis given to that spine, labelled ``spine_neck``
    (:func:`junction_labels` then decides head / neck). Vertices nm."""
    from scipy.spatial import cKDTree

    labels = np.asarray(labels, dtype=object).copy()
    face_spine = np.asarray(face_spine).copy()
    tab = pd.concat([t.assign(spine_id=t["spine_id"].to_numpy(np.int64) + off) for t, off in tables if len(t)],
                    ignore_index=True) if any(len(t) for t, _ in tables) else None
    sp_f = np.flatnonzero(face_spine >= 0)
    cand = np.flatnonzero((face_spine < 0) & ~np.isin(labels, NOT_SHAFT))
    if tab is None or not len(sp_f) or not len(cand):
        return labels, face_spine
    cen = (verts[faces[:, 0]] + verts[faces[:, 1]] + verts[faces[:, 2]]) / 3.0
    d, k = cKDTree(cen[sp_f]).query(cen[cand], distance_upper_bound=SHAFT_REACH_NM)
    ok = np.isfinite(d)
    cand, near = cand[ok], sp_f[k[ok]]
    cand, near = cand[face_cell[cand] == face_cell[near]], near[face_cell[cand] == face_cell[near]]
    row = pd.Index(tab["spine_id"].to_numpy()).get_indexer(face_spine[near])
    cand, near, row = cand[row >= 0], near[row >= 0], row[row >= 0]
    base = tab[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy(float)[row]
    u = tab[["dir_x", "dir_y", "dir_z"]].to_numpy(float)[row]
    rel = cen[cand] - base
    t = ev.dot(rel, u)
    rho = ev.norm(rel - t[:, None] * u)
    r = tab["shaft_radius_nm"].to_numpy(float)[row]
    height = t - r
    low = np.min([ev.dot(verts[faces[cand, j]] - base, u) for j in range(3)], axis=0) - r  # its lowest corner
    up = (height > min_height_nm) & (low <= min_height_nm) & (rho < tab["neck_radius_nm"].to_numpy(float)[row] + height)
    face_spine[cand[up]] = face_spine[near[up]]
    labels[cand[up]] = "spine_neck"
    return labels, face_spine


def refined_truth(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray, face_spine: np.ndarray,
                  face_cell: np.ndarray, tables: list[tuple[pd.DataFrame, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(labels, face_spine) of a smoothed and refined union: :func:`shaft_spine_faces`, then
    :func:`junction_labels` (the generator's truth since ``FAMILY_VERSION`` 8). Vertices nm."""
    labels, face_spine = shaft_spine_faces(verts, faces, labels, face_spine, face_cell, tables)
    return junction_labels(verts, faces, labels, face_spine, tables), face_spine

"""Learned spine-candidate filter (``SpineParams.candidate_filter="model"``; nm inside).

The rule path accepts a grown region when it passes fixed cuts (height / axial extent >= 0.3, a relief pass only
where the spines found so far are dense). The learned path loosens those cuts to make a larger **candidate pool**
(the ``pool`` overrides in the model's sidecar), measures every candidate (height, axial extent, shape from the
head/neck profile, local shaft radius and the shaft level around it, density of the other candidates around it,
which pass produced it; not the distance to a soma, which inputs without one lack), and a small LightGBM
classifier (trained on the synthetic family's tune members, ``classifiers/spine_candidate/train.py``) keeps those
whose probability of being a true spine reaches the sidecar's threshold. Every feature is a length, area, volume,
ratio or density: none counts vertices or faces, so the filter does not depend on the tessellation.

``candidate_filter="pool"`` keeps every candidate and writes their features to ``n.cache["spine_candidate_table"]``
(a list) when that key holds a list: the training capture.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..model.shipped import read_booster
from .captures import CANDIDATE_TABLE
from .relief import found_spine_density, spine_anchor_samples
from .shape import angular_coverage, axial_extent

MODEL_NAME = "spine_candidate"
# cuts loosened for the candidate pool (SpineParams fields); the sidecar records the ones the model was trained on
POOL: dict[str, float] = {"min_height_to_extent": 0.15, "relief_min_density_per_um": 0.0}
FEATURES = ("height_nm", "axial_extent_nm", "height_to_extent", "height_to_radius", "length_nm", "head_width_nm",
            "neck_width_nm", "neck_length_nm", "has_neck", "head_to_neck", "area_nm2", "volume_nm3",
            "shaft_radius_nm", "shaft_level_nm", "shaft_level_rel", "base_radius_rel", "angular_coverage",
            "density_per_um", "pass")
# +1: more of it never makes a candidate less likely a spine
MONOTONE = {"height_to_extent": 1, "height_to_radius": 1, "density_per_um": 1}


@lru_cache(maxsize=2)
def load_model(folder: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The shipped spine-candidate booster and its JSON sidecar (features, pool overrides, threshold, metrics)."""
    return read_booster(MODEL_NAME, folder, what="spine-candidate",
                        hint="run classifiers/spine_candidate/train.py or use SpineParams(candidate_filter='rules')")


def pool_params(p: Any) -> Any:
    """SpineParams with the candidate-pool cuts: the sidecar's ``pool`` for ``"model"``, :data:`POOL` for
    ``"pool"``; ``p`` unchanged for ``"rules"``."""
    if p.candidate_filter == "rules":
        return p
    if p.candidate_filter == "pool":
        return replace(p, **POOL)
    # "model": SpineParams checked the choice when it was built
    return replace(p, **load_model(p.candidate_model_dir)[1]["pool"])


def label_pass(n_labels: int, counts: dict) -> np.ndarray:
    """(n_labels,) pass that produced each spine label: 0 first, 1 second (own level), 2 relief (labels are
    appended pass by pass, ``spine_components``)."""
    n1 = counts.get("first_pass", n_labels)
    n2 = counts.get("second_pass", 0)
    ids = np.arange(n_labels)
    return np.where(ids < n1, 0, np.where(ids < n1 + n2, 1, 2))


def candidate_features(rows: pd.DataFrame, label_ids: np.ndarray, vlabel: np.ndarray, base: np.ndarray,
                       ring: pd.DataFrame, verts: np.ndarray, fld: Any, counts: dict,
                       density_radius_nm: float) -> pd.DataFrame:
    """One row of :data:`FEATURES` per candidate spine (``rows``: the spine table being built, µm columns;
    ``label_ids``: the vertex label each row came from; ``vlabel``: per-vertex label; ``base``: base vertices;
    ``ring``: attachment table ``spine, v``; ``fld``: the ShaftField; ``counts``: pass counts)."""
    n_lab = int(vlabel.max()) + 1 if len(vlabel) else 0
    hn = np.nan_to_num(fld.protrusion_nm, nan=-np.inf)
    on = np.flatnonzero(vlabel >= 0)
    height = np.full(n_lab, -np.inf)
    np.maximum.at(height, vlabel[on], hn[on])
    ext = axial_extent(verts, vlabel, hn, fld).reindex(range(n_lab)).to_numpy(dtype=float)
    cov = angular_coverage(verts, vlabel, fld, 16).reindex(range(n_lab)).fillna(0.0).to_numpy()
    rv = ring[(ring.spine >= 0) & (ring.spine < n_lab)]
    h_ring = pd.Series(np.nan_to_num(fld.protrusion_nm[rv.v.to_numpy()], nan=0.0)).groupby(rv.spine.to_numpy())
    level = h_ring.median().reindex(range(n_lab)).to_numpy(dtype=float)
    bsel = base & (vlabel >= 0)
    bdf = pd.DataFrame(verts[bsel], columns=["x", "y", "z"]).assign(c=vlabel[bsel])
    cen = bdf.groupby("c")[["x", "y", "z"]].transform("mean").to_numpy()
    brad = np.sqrt(pd.Series(((bdf[["x", "y", "z"]].to_numpy() - cen) ** 2).sum(1)).groupby(bdf.c.to_numpy())
                   .mean()).reindex(range(n_lab)).to_numpy(dtype=float)
    anchor = spine_anchor_samples(vlabel, fld)
    self_density = 1.0 / (2.0 * density_radius_nm / 1000.0)
    dens = np.zeros(n_lab)
    ok = anchor >= 0
    dens[ok] = found_spine_density(anchor, fld, anchor[ok], density_radius_nm) - self_density
    li = np.asarray(label_ids, dtype=np.int64)
    r_nm = rows["shaft_radius_um"].to_numpy(dtype=float) * 1000.0
    h = height[li]
    out = pd.DataFrame({
        "height_nm": h, "axial_extent_nm": ext[li], "height_to_extent": h / np.maximum(ext[li], 1.0),
        "height_to_radius": h / np.maximum(r_nm, 1.0),
        "length_nm": rows["length_um"].to_numpy(dtype=float) * 1000.0,
        "head_width_nm": rows["head_width_um"].to_numpy(dtype=float) * 1000.0,
        "neck_width_nm": rows["neck_width_um"].to_numpy(dtype=float) * 1000.0,
        "neck_length_nm": rows["neck_length_um"].to_numpy(dtype=float) * 1000.0,
        "has_neck": rows["has_neck"].to_numpy(dtype=float),
        "area_nm2": rows["area_um2"].to_numpy(dtype=float) * 1e6,
        "volume_nm3": rows["volume_um3"].to_numpy(dtype=float) * 1e9,
        "shaft_radius_nm": r_nm, "shaft_level_nm": level[li], "shaft_level_rel": level[li] / np.maximum(r_nm, 1.0),
        "base_radius_rel": brad[li] / np.maximum(r_nm, 1.0), "angular_coverage": cov[li],
        "density_per_um": np.maximum(dens[li], 0.0),
        "pass": label_pass(n_lab, counts)[li].astype(float),
    })
    out["head_to_neck"] = out.head_width_nm / np.maximum(out.neck_width_nm, 1.0)
    return out[list(FEATURES)].replace([np.inf, -np.inf], np.nan)


def keep_candidates(feats: pd.DataFrame, threshold: float | None = None, folder: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(keep mask, probability) per candidate with the shipped model; ``threshold`` None: the sidecar's."""
    booster, meta = load_model(folder)
    if len(feats) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    prob = booster.predict(feats[meta["features"]].to_numpy(dtype=np.float64), num_threads=1)
    thr = float(meta["threshold"]) if threshold is None else float(threshold)
    return prob >= thr, prob


def filter_candidates(n: Any, p: Any, rows: list[dict], new_id: np.ndarray, row_label: list[int],
                      vlabel: np.ndarray, base: np.ndarray, ring: pd.DataFrame, verts: np.ndarray,
                      fld: Any, pass_counts: dict) -> tuple[list[dict], np.ndarray]:
    """Candidate rows kept by the learned filter (``detect_spines``' rows; all of them for ``"pool"``, whose features
    go to ``n.cache["spine_candidate_table"]`` when that is a list) and the label -> row map renumbered."""
    feats = candidate_features(pd.DataFrame(rows), np.asarray(row_label), vlabel, base, ring, verts, fld,
                               pass_counts, p.relief_density_radius_nm)
    sink = n.cache.get(CANDIDATE_TABLE)
    if isinstance(sink, list):
        sink.append(feats.assign(spine_id=np.arange(len(rows))))
    if p.candidate_filter == "pool":
        return rows, new_id
    keep, _ = keep_candidates(feats, p.candidate_threshold, p.candidate_model_dir)
    pass_counts["candidates"], pass_counts["kept"] = len(rows), int(keep.sum())
    rank = np.where(keep, np.cumsum(keep) - 1, -1)
    new_id = np.where(new_id >= 0, rank[np.maximum(new_id, 0)], -1)
    rows = [dict(r, spine_id=int(rank[i])) for i, r in enumerate(rows) if keep[i]]
    return rows, new_id

"""Spatial-context features of a soma relative to its neighbours in the MICrONS v83 table (no labels used).

Every feature compares a cell with the 69,461 v83 somata around it (``labels/microns_perisomatic_features_v83``
resolved through ``neurd_lite.data``); none uses a label or another model's output:

- ``ctx_n_30um`` / ``ctx_n_60um``: number of other v83 somata within 30 / 60 µm of the soma centre (counts);
- ``ctx_nn_dist_um``: distance to the nearest other v83 soma (µm);
- ``ctx_soma_vol_rel`` / ``ctx_nuc_vol_rel`` / ``ctx_soma_syn_rel``: log(soma volume), log(nucleus volume),
  log(1 + soma synapses) minus the median of the same quantity over the ``k`` nearest other somata (natural log
  ratio, dimensionless);
- ``ctx_soma_vol_depthz`` / ``ctx_nuc_vol_depthz``: z-score of log volume within the cell's 25 µm cortical-depth
  bin over all v83 rows (dimensionless).

Positions are ``soma_x/y/z`` in nm (converted to µm here). A query row that is itself in the reference table is
excluded from its own neighbourhood (matched by ``nucleus_id`` when both have one, else by zero distance).
Experimental: used by ``classifiers/perisomatic/experiments.py`` only (see EXPERIMENTS.md for why it does not ship).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

CONTEXT_FEATURES: tuple[str, ...] = (
    "ctx_n_30um", "ctx_n_60um", "ctx_nn_dist_um", "ctx_soma_vol_rel", "ctx_nuc_vol_rel", "ctx_soma_syn_rel",
    "ctx_soma_vol_depthz", "ctx_nuc_vol_depthz")
DEPTH_BIN_UM = 25.0
_NEEDS = ("soma_x", "soma_y", "soma_z", "soma_volume", "nucleus_volume", "n_soma_syn", "yr_um_translated")


def load_reference() -> pd.DataFrame:
    """The v83 table's columns needed for context (resolved and sha256-checked by ``neurd_lite.data``)."""
    from .training import read_v83

    return read_v83(["nucleus_id", *_NEEDS])


def context_features(query: pd.DataFrame, reference: pd.DataFrame, k: int = 30) -> pd.DataFrame:
    """Context features (``CONTEXT_FEATURES``) of every ``query`` row (v83 column names) against ``reference``.

    query, reference: frames with ``soma_x/y/z`` (nm), ``soma_volume`` (nm³), ``nucleus_volume`` (µm³),
    ``n_soma_syn`` and ``yr_um_translated`` (µm); ``nucleus_id`` optional. k: neighbours for the medians.
    Returns a frame with the query's index; rows with missing inputs give NaN.
    """
    from scipy.spatial import cKDTree

    ref_xyz = reference[["soma_x", "soma_y", "soma_z"]].to_numpy(float) / 1000.0
    q_xyz = query[["soma_x", "soma_y", "soma_z"]].to_numpy(float) / 1000.0
    ok = np.isfinite(q_xyz).all(axis=1)
    tree = cKDTree(ref_xyz)
    out = pd.DataFrame(np.nan, index=query.index, columns=list(CONTEXT_FEATURES))
    if not ok.any():
        return out
    qx = q_xyz[ok]
    d, idx = tree.query(qx, k=k + 1)
    if "nucleus_id" in query.columns and "nucleus_id" in reference.columns:
        ref_ids = reference["nucleus_id"].to_numpy()
        self_hit = ref_ids[idx] == query["nucleus_id"].to_numpy()[ok][:, None]
    else:
        self_hit = d <= 1e-6
    is_self = self_hit.any(axis=1)
    # drop the self column where present, else the farthest neighbour, so every row keeps k neighbours
    drop = np.where(is_self, self_hit.argmax(axis=1), k)
    keep = np.ones_like(d, dtype=bool)
    keep[np.arange(len(d)), drop] = False
    d, idx = d[keep].reshape(len(d), k), idx[keep].reshape(len(d), k)
    cols: dict[str, np.ndarray] = {}
    for r in (30, 60):
        cols[f"ctx_n_{r}um"] = tree.query_ball_point(qx, r, return_length=True) - is_self.astype(int)
    cols["ctx_nn_dist_um"] = d[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_logs = {"soma": np.log(reference["soma_volume"].to_numpy(float)),
                    "nuc": np.log(reference["nucleus_volume"].to_numpy(float)),
                    "syn": np.log1p(reference["n_soma_syn"].to_numpy(float))}
        q_logs = {"soma": np.log(query["soma_volume"].to_numpy(float)[ok]),
                  "nuc": np.log(query["nucleus_volume"].to_numpy(float)[ok]),
                  "syn": np.log1p(query["n_soma_syn"].to_numpy(float)[ok])}
    cols["ctx_soma_vol_rel"] = q_logs["soma"] - np.nanmedian(ref_logs["soma"][idx], axis=1)
    cols["ctx_nuc_vol_rel"] = q_logs["nuc"] - np.nanmedian(ref_logs["nuc"][idx], axis=1)
    cols["ctx_soma_syn_rel"] = q_logs["syn"] - np.nanmedian(ref_logs["syn"][idx], axis=1)
    ref_bin = np.floor(reference["yr_um_translated"].to_numpy(float) / DEPTH_BIN_UM)
    q_bin = np.floor(query["yr_um_translated"].to_numpy(float)[ok] / DEPTH_BIN_UM)
    for name, key in (("ctx_soma_vol_depthz", "soma"), ("ctx_nuc_vol_depthz", "nuc")):
        g = pd.Series(ref_logs[key]).groupby(ref_bin)
        med, sd = g.median(), g.std()
        cols[name] = (q_logs[key] - med.reindex(q_bin).to_numpy()) / sd.reindex(q_bin).to_numpy()
    for name, v in cols.items():
        out.loc[ok, name] = np.asarray(v, dtype=float)
    return out.replace([np.inf, -np.inf], np.nan)

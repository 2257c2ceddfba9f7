"""Nested-CV comparison of candidate feature sets / options for the perisomatic models (not part of train_all).

Usage: ``python classifiers/perisomatic/experiments.py [VARIANT ...] [--out results.jsonl]`` (``S_*``: stacked
subclass variants, ``run_stack``). Every number is out-of-fold from the same nested CV as the shipped models
(``neurd_lite.celltype.training.nested_cv``: stratified 5-fold, hyper-parameters by inner 3-fold CV). Results
are summarised in ``classifiers/perisomatic/EXPERIMENTS.md``. Self-training is measured by ``train.py`` itself
(``supervised_only`` vs ``model_calibrated`` in the cards). ``--seed`` changes the outer (and inner) fold split,
to check that a difference is not one split's noise.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neurd_lite.celltype.columns import DEPTH_HINGES, PROCESS_FEATURES, depth_hinges
from neurd_lite.celltype.context import CONTEXT_FEATURES, context_features, load_reference
from neurd_lite.celltype.combine import hierarchical
from neurd_lite.celltype.layers import layer_features
from neurd_lite.celltype.local_depth import LOCAL_DEPTH_FEATURES, load_local_reference, local_depth_features
from neurd_lite.celltype.training import (
    GRID, INHIBITORY, SUBCLASSES, balanced_accuracy, crossfit_temperature, load_perisomatic_labelled, nested_cv,
    nested_cv_stack)

E1 = ["soma_volume_um3", "soma_n_processes", "soma_n_synapses", "nucleus_volume_um3", "cortical_depth_um",
      "nucleus_to_soma_volume_ratio"]
S1 = ["soma_volume_um3", "soma_n_processes", "soma_n_synapses", "cortical_depth_um"]
XZ = ["soma_x_nm", "soma_z_nm"]
LAY = ["layer_position", "cortical_fraction"]
DENS = ["soma_synapses_per_volume23_per_um2"]
BASE = ["soma_volume_um3", "soma_area_um2", "soma_area_to_volume_per_um", "soma_n_processes", "soma_n_synapses",
        "soma_synapse_density_per_um2", "nucleus_volume_um3", "nucleus_area_um2", "nucleus_area_to_volume_per_um",
        "nucleus_fold_area_um2", "nucleus_fraction_folded", "cortical_depth_um"]
T0 = BASE + ["nucleus_to_soma_volume_ratio", "soma_sphericity", "nucleus_sphericity"] + list(PROCESS_FEATURES)
VARIANTS: dict[str, tuple[list[str], dict]] = {
    "E_noarea": (E1, {}), "E_noarea_xz": (E1 + XZ, {}), "E_noarea_layer": (E1 + LAY, {}),
    "E_noarea_dens": (E1 + DENS, {}), "E_noarea_dens_layer": (E1 + DENS + LAY, {}),
    "S_noarea": (S1, {}), "S_noarea_xz": (S1 + XZ, {}), "S_noarea_layer": (S1 + LAY, {}),
    "S_noarea_dens": (S1 + DENS, {}),
    "T0": (T0, {}), "T0_xz": (T0 + XZ, {}), "T0_layer": (T0 + LAY, {}), "T0_xz_layer": (T0 + XZ + LAY, {}),
    "T0_sqrtw": (T0, {"class_weight": "sqrt"}), "T0_now": (T0, {"class_weight": "none"}),
    # session 2: spatial context over the 69k v83 rows (neurd_lite/celltype/context.py), zero-synapse rows as
    # missing, and a regularisation set chosen by the inner CV (REG_SETS)
    "T0_ctx": (T0 + list(CONTEXT_FEATURES), {}),
    "T0_ctxrel": (T0 + [f for f in CONTEXT_FEATURES if "_rel" in f or "depthz" in f], {}),
    "T0_syn0nan": (T0, {"syn0_missing": True}),
    "T0_reg": (T0, {"param_sets": "REG_SETS"}),
}
# Candidate regularisation settings (set a priori), each with its own (leaves, rounds) grid; the inner CV of every
# outer fold picks one set, its grid entry and the logistic blend weight together.
REG_SETS: tuple[tuple[dict, tuple[dict[str, int], ...]], ...] = (
    ({}, GRID),
    ({"learning_rate": 0.02, "min_child_samples": 10, "feature_fraction": 0.5, "lambda_l2": 5.0},
     ({"num_leaves": 7, "num_boost_round": 375}, {"num_leaves": 7, "num_boost_round": 1000},
      {"num_leaves": 15, "num_boost_round": 375}, {"num_leaves": 15, "num_boost_round": 1000})),
    ({"min_child_samples": 20, "feature_fraction": 0.5, "lambda_l2": 5.0}, GRID),
)


def run(name: str, data: pd.DataFrame, seed: int = 0, save: Path | None = None) -> dict:
    """E/I and subclass balanced accuracy (flat and hierarchical) of one variant, out-of-fold."""
    feats, params = VARIANTS[name]
    params = dict(params)
    t = time.time()
    if params.pop("syn0_missing", False):
        data = data.copy()
        zero = data["soma_n_synapses"] == 0
        data.loc[zero, ["soma_n_synapses", "soma_synapse_density_per_um2"]] = np.nan
    y_ei = (data["ei"] == "inhibitory").to_numpy().astype(int)
    rows = data["subclass"].notna().to_numpy()
    sub = data[rows]
    y_sub = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    if params.pop("param_sets", None):
        ei = nested_cv(data[feats], y_ei, 2, seed=seed, param_sets=REG_SETS)
        sc = nested_cv(sub[feats], y_sub, len(SUBCLASSES), seed=seed, param_sets=REG_SETS)
    else:
        ei = nested_cv(data[feats], y_ei, 2, params=params, seed=seed)
        sc = nested_cv(sub[feats], y_sub, len(SUBCLASSES), params=params, seed=seed)
    if save is not None:
        np.savez(save / f"oof_{name}_seed{seed}.npz", ei=ei.oof, sub=sc.oof, nucleus_id=data["nucleus_id"].to_numpy(),
                 rows=rows)
    hier = hierarchical(ei.oof[rows, 1], sc.oof, SUBCLASSES, INHIBITORY)
    return {"variant": name, "ei_bal": balanced_accuracy(y_ei, ei.oof.argmax(1)),
            "ei_acc": float((y_ei == ei.oof.argmax(1)).mean()),
            "sub_bal": balanced_accuracy(y_sub, sc.oof.argmax(1)),
            "sub_acc": float((y_sub == sc.oof.argmax(1)).mean()),
            "sub_hier_bal": balanced_accuracy(y_sub, hier.argmax(1)), "seed": seed,
            "inh_wrong": int(((ei.oof.argmax(1) == 0) & (y_ei == 1)).sum()),
            "ei_configs": ei.configs, "sub_configs": sc.configs, "secs": round(time.time() - t)}


def run_sides(data: pd.DataFrame, seed: int = 0) -> dict:
    """Two-stage subclass (session 4): an E/I model, then one subclass model per side trained on that side's cells
    only (7 excitatory / 4 inhibitory classes): P(s) = P_EI(side of s) x P_side(s). Each side model is scored
    out-of-fold on its own side's cells (nested CV) and, on the other side's cells, by a fit on all of its side
    (which never saw those cells). Supervised only, T0 features."""
    feats = T0
    y_ei = (data["ei"] == "inhibitory").to_numpy().astype(int)
    rows = data["subclass"].notna().to_numpy()
    sub = data[rows].reset_index(drop=True)
    y_sub = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    t = time.time()
    ei = nested_cv(data[feats], y_ei, 2, seed=seed)
    from neurd_lite.celltype.training import blend_proba, fit_blend, select_config

    p = np.zeros((len(sub), len(SUBCLASSES)))
    for side_classes in ([c for c in SUBCLASSES if c not in INHIBITORY], [c for c in SUBCLASSES if c in INHIBITORY]):
        on = sub["subclass"].isin(side_classes).to_numpy()
        ys = np.array([side_classes.index(c) for c in sub.loc[on, "subclass"]])
        cv = nested_cv(sub.loc[on, feats], ys, len(side_classes), seed=seed)
        cfg, _ = select_config(sub.loc[on, feats], ys, len(side_classes), seed=seed + 1)
        booster, lin = fit_blend(sub.loc[on, feats], ys, len(side_classes), cfg)
        cols = [SUBCLASSES.index(c) for c in side_classes]
        p[np.ix_(on, cols)] = cv.oof
        p[np.ix_(~on, cols)] = blend_proba(booster, lin, sub.loc[~on, feats], len(side_classes))
    is_i = np.array([c in INHIBITORY for c in SUBCLASSES])
    p_i = ei.oof[rows, 1][:, None]
    two_stage = np.where(is_i[None, :], p_i * p, (1 - p_i) * p)
    return {"variant": "T0_sides", "seed": seed, "ei_bal": balanced_accuracy(y_ei, ei.oof.argmax(1)),
            "sub_bal": balanced_accuracy(y_sub, two_stage.argmax(1)),
            "sub_acc": float((y_sub == two_stage.argmax(1)).mean()), "secs": round(time.time() - t)}


#: The shipped stacked subclass procedure with (extra inputs of both components, candidate logistic-only input
#: sets chosen by the inner folds). Session 7: the depth basis (``columns.depth_hinges``: knots at the layer file's
#: boundaries and mid-layers) as logistic-only inputs, always or chosen by the inner folds. Session 8: the
#: label-free local depth features (``local_depth.py``: the soma placed in the depth profile of the v83 somata
#: within 100 µm laterally) as inputs of both components.
STACK_VARIANTS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "S_stack": ((), ((),)), "S_depth_logistic": ((), (DEPTH_HINGES,)), "S_depth_chosen": ((), ((), DEPTH_HINGES)),
    "S_local_depth": (LOCAL_DEPTH_FEATURES, ((),))}


def run_stack(name: str, data: pd.DataFrame, seed: int = 0) -> dict:
    """Nested-CV subclass balanced accuracy and per-class recall of a stacked variant (``STACK_VARIANTS``)."""
    extra, linear_sets = STACK_VARIANTS[name]
    sub = data[data["subclass"].notna()].reset_index(drop=True)
    sub = pd.concat([sub, depth_hinges(sub["cortical_depth_um"])], axis=1)
    y = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    cols = T0 + list(extra) + [c for s in linear_sets for c in s]  # T0 = the shipped table model's inputs
    t = time.time()
    cv = nested_cv_stack(sub[cols], y, len(SUBCLASSES), seed=seed, linear_sets=linear_sets)
    pred = crossfit_temperature(cv.oof, y, cv.fold).argmax(1)
    return {"variant": name, "seed": seed, "sub_bal": balanced_accuracy(y, pred),
            "recall": {c: round(float((pred[y == i] == i).mean()), 3) for i, c in enumerate(SUBCLASSES)},
            "sub_configs": cv.configs, "secs": round(time.time() - t)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-oof", type=Path, default=None, help="folder for out-of-fold probability .npz files")
    args = ap.parse_args(argv)
    data = load_perisomatic_labelled()
    data = pd.concat([data, layer_features(data)], axis=1)
    data["soma_synapses_per_volume23_per_um2"] = data["soma_n_synapses"] / data["soma_volume_um3"] ** (2 / 3)
    if any(STACK_VARIANTS.get(n, ((),))[0] for n in args.variants):  # local depth against all 69,461 v83 somata
        data = pd.concat([data, local_depth_features(data, load_local_reference())], axis=1)
    if any(n.startswith("T0_ctx") for n in args.variants):
        ref = load_reference()
        ctx = context_features(ref, ref).assign(nucleus_id=ref["nucleus_id"].to_numpy())
        data = data.merge(ctx, on="nucleus_id", how="left")
    for name in args.variants:
        r = (run_sides(data, args.seed) if name == "T0_sides" else run_stack(name, data, args.seed)
             if name in STACK_VARIANTS else run(name, data, args.seed, args.save_oof))
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the perisomatic E/I and subclass models (table variant and engine-feature variant).

Usage: ``python classifiers/perisomatic/train.py [--out classifiers/models] [--variants perisomatic ...]``.
Data come from ``labels/`` through ``neurd_lite.data.data_path``. Writes ``<variant>_ei`` and
``<variant>_subclass`` (.txt model, .json sidecar, .md card, .png figures) into ``--out``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from perisomatic_card import write_cards  # noqa: E402
from neurd_lite.celltype import report  # noqa: E402
from neurd_lite.celltype.calibration import fit_temperature  # noqa: E402
from neurd_lite.celltype.columns import DEPTH_HINGES, ENGINE_PERISOMATIC, PROCESS_FEATURES, depth_hinges  # noqa: E402
from neurd_lite.celltype.combine import hierarchical, restrict_to_side  # noqa: E402
from neurd_lite.celltype.training import (  # noqa: E402
    EI_CLASSES, GRID, GT_FILE, INHIBITORY, SUBCLASSES, V83_FILE, V83_PRED_EI, V83_PRED_NAMES, CVResult,
    check_features, crossfit_temperature, feature_extent, feature_ranges, fit_blend, library_versions, load_perisomatic_labelled, load_perisomatic_unlabelled, nested_cv,
    nested_cv_self_training, fit_self_trained, SelfTraining, STACK_FLOOR, fit_stack, nested_cv_stack,
    select_config, sha256_of)

DEFAULT_OUT = HERE.parent / "models"
# Table scalars minus absolute positions (soma_x/y/z_nm are volume coordinates, not cell properties; the labelled
# cells span only ~150 µm in x, so a position feature would not transfer across the volume).
BASE = [f for f in ENGINE_PERISOMATIC if not f.endswith("_nm")]
DERIVED = ["nucleus_to_soma_volume_ratio", "soma_sphericity", "nucleus_sphericity"]
# Engine-facing inputs: no area-derived feature (soma/nucleus area, area/volume, sphericity, synapses per area,
# nucleus fold area / fraction folded). The engine's decimated-mesh soma area is ~2.7x smaller than the table's
# soma_area for the same cell while its volume agrees within ~10-20%, so area features do not transfer.
ENGINE_NO_AREA = ["soma_volume_um3", "soma_n_processes", "soma_n_synapses", "nucleus_volume_um3", "cortical_depth_um"]
SOMA_NO_AREA = [f for f in ENGINE_NO_AREA if not f.startswith("nucleus_")]
VARIANTS: dict[str, dict[str, Any]] = {
    "perisomatic": {"features": BASE + DERIVED + list(PROCESS_FEATURES), "required": BASE + list(PROCESS_FEATURES),
                    "subclass_stack": True, "second_seed": 1,
                    "input": "v83 table columns (incl. per-process list columns avg_sdf/orients/vectors) or "
                             "engine names plus process_* features"},
    "perisomatic_engine": {"features": ENGINE_NO_AREA + ["nucleus_to_soma_volume_ratio"], "required": ENGINE_NO_AREA,
                           "input": "engine feature names (nl.features(n)) or v83 table columns; no area-derived "
                                    "inputs"},
    "perisomatic_soma": {"features": SOMA_NO_AREA, "required": SOMA_NO_AREA,
                         "input": "engine soma volume, processes, soma synapses and depth only (fallback when no "
                                  "nucleus was measured); no area-derived inputs"},
}


def evaluate(data: pd.DataFrame, features: list[str], grid: tuple[dict[str, int], ...] = GRID,
             n_splits: int = 5, self_training: SelfTraining | None = None,
             unlabelled: pd.DataFrame | None = None, stack: bool = False, seed: int = 0,
             linear_sets: tuple[tuple[str, ...], ...] = ((),)) -> dict[str, Any]:
    """Nested-CV E/I and subclass evaluation, baselines and the v83 column on the same cells (outer folds seeded
    ``seed``).

    With ``stack`` the subclass model is the stacked one (``training.fit_stack``: a logistic meta-model on the
    LightGBM and logistic components' inner out-of-fold log-probabilities). With ``self_training`` the subclass
    model is self-trained on ``unlabelled`` inside every outer fold (pseudo-labels from that fold's own supervised
    model); ``supervised_only`` is the same folds without it. ``linear_sets``: candidate inputs of the stacked
    model's logistic component alone (``fit_stack``), chosen in the inner folds."""
    check_features(features)
    x_all = data[features]
    y_ei = (data["ei"] == "inhibitory").to_numpy().astype(int)
    ei_cv = nested_cv(x_all, y_ei, 2, grid, n_splits=n_splits, seed=seed)
    ei_cal = crossfit_temperature(ei_cv.oof, y_ei, ei_cv.fold)
    sub_rows = data["subclass"].notna().to_numpy()
    sub = data[sub_rows]
    y_sub = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    supervised_sub = None
    if stack:
        sub_cv = nested_cv_stack(sub[_with_linear(features, linear_sets)], y_sub, len(SUBCLASSES),
                                 n_splits=n_splits, seed=seed, linear_sets=linear_sets)
    elif self_training is not None:
        sub_cv, supervised_sub, n_pseudo = nested_cv_self_training(
            sub[features], y_sub, len(SUBCLASSES), unlabelled[features], self_training, grid, n_splits=n_splits,
            seed=seed)
    else:
        sub_cv = nested_cv(sub[features], y_sub, len(SUBCLASSES), grid, n_splits=n_splits, seed=seed)
    sub_cal = crossfit_temperature(sub_cv.oof, y_sub, sub_cv.fold)
    hier = hierarchical(ei_cal[sub_rows, 1], sub_cal, SUBCLASSES, INHIBITORY)
    is_i = np.array([c in INHIBITORY for c in SUBCLASSES])
    restricted = restrict_to_side(sub_cal, ei_cal[sub_rows, 1] >= 0.5, is_i)
    ei_names, sub_names = list(EI_CLASSES), list(SUBCLASSES)
    res: dict[str, Any] = {
        "ei": {
            "model_raw": report.proba_metrics(y_ei, ei_cv.oof, ei_names),
            "model_calibrated": report.proba_metrics(y_ei, ei_cal, ei_names),
            "lightgbm_only": report.proba_metrics(y_ei, ei_cv.oof_lgbm, ei_names),
            "logistic_baseline": report.proba_metrics(y_ei, ei_cv.oof_linear, ei_names),
            "ei_from_subclass_model": report.label_metrics(
                sub["ei"], np.where(sub_cal[:, is_i].sum(1) >= 0.5, "inhibitory", "excitatory"), ei_names),
            "v83_cell_type_pred": report.label_metrics(data["ei"], data["v83_pred"].map(V83_PRED_EI), ei_names),
        },
        "subclass": {
            "model_raw": report.proba_metrics(y_sub, sub_cv.oof, sub_names),
            "model_calibrated": report.proba_metrics(y_sub, sub_cal, sub_names),
            "restricted_to_ei_side": report.proba_metrics(y_sub, restricted, sub_names),
            "hierarchical": report.proba_metrics(y_sub, hier, sub_names),
            "lightgbm_only": report.proba_metrics(y_sub, sub_cv.oof_lgbm, sub_names),
            **({"supervised_only": report.proba_metrics(y_sub, supervised_sub.oof, sub_names)}
               if supervised_sub is not None else {}),
            "logistic_baseline": report.proba_metrics(y_sub, sub_cv.oof_linear, sub_names),
            "v83_cell_type_pred": report.label_metrics(sub["subclass"], sub["v83_pred"].map(V83_PRED_NAMES),
                                                       sub_names),
        },
        "ei_fold_configs": ei_cv.configs, "subclass_fold_configs": sub_cv.configs,
        "subclass_pseudo_rows_per_fold": n_pseudo if self_training is not None else None,
        "_oof": {"ei": ei_cv, "ei_cal": ei_cal, "sub": sub_cv, "sub_cal": sub_cal, "hier": hier,
                 "y_ei": y_ei, "y_sub": y_sub, "nucleus_id": data["nucleus_id"].to_numpy()},
    }
    return res


def _with_linear(features: list[str], linear_sets: tuple[tuple[str, ...], ...]) -> list[str]:
    """The model's features followed by the logistic-only candidates (``fit_stack`` keeps them from the trees)."""
    return list(features) + [c for cols in linear_sets for c in cols if c not in features]


def _fit_final(x: pd.DataFrame, y: np.ndarray, n_classes: int, cv: CVResult,
               grid: tuple[dict[str, int], ...], self_training: SelfTraining | None = None,
               unlabelled: pd.DataFrame | None = None, stack: bool = False,
               linear_sets: tuple[tuple[str, ...], ...] = ((),)) -> tuple[Any, dict[str, Any], dict[str, Any],
                                                                       dict[str, Any]]:
    if stack:  # the meta-model rides in the linear dict until train_variant moves it to the sidecar's "stack"
        booster, linear, meta = fit_stack(x, y, n_classes, linear_sets=linear_sets)
        cfg = dict(meta["config"], meta_C=meta["C"],
                   inner_cv_balanced_accuracy_best=max(meta["inner_cv_balanced_accuracy"]))
        if linear.get("features"):  # the inner folds gave the logistic component inputs of its own
            cfg["logistic_only_inputs"] = [c for c in linear["features"] if c not in booster.feature_name()]
        return booster, cfg, fit_temperature(cv.oof, y), dict(linear, _stack=dict(meta, floor=STACK_FLOOR))
    cfg, scores = select_config(x, y, n_classes, grid)
    if self_training is not None:
        booster, linear, n_pseudo = fit_self_trained(x, y, n_classes, cfg, unlabelled, self_training)
        cfg = dict(cfg, n_pseudo_labelled_rows=n_pseudo)
    else:
        booster, linear = fit_blend(x, y, n_classes, cfg)
    cal = fit_temperature(cv.oof, y)
    return booster, dict(cfg, inner_cv_balanced_accuracy_best=round(max(scores), 4)), cal, linear


def _common_meta(variant: str, features: list[str], spec: dict[str, Any], n_cells: int) -> dict[str, Any]:
    return {
        "family": "perisomatic", "variant": variant, "input": spec["input"], "features": features,
        "required_features": spec["required"], "n_training_cells": n_cells,
        "training_data": {GT_FILE: sha256_of(GT_FILE), V83_FILE: sha256_of(V83_FILE)},
        "label_mapping": {"5P-PT": "5P-ET", "6P-U": "excitatory (E/I only)", "WM-P": "excitatory (E/I only)",
                          "Unsure E": "excitatory (E/I only)", "Unsure I": "inhibitory (E/I only)",
                          "Unsure": "excluded", "unmatched nucleus_id": "excluded"},
        "cv": "stratified 5-fold (shuffle, seed 0); hyper-parameters by inner stratified 3-fold CV per outer fold",
        "semi_supervised": False, "versions": library_versions(),
    }


def train_variant(variant: str, data: pd.DataFrame, out: Path, grid: tuple[dict[str, int], ...] = GRID,
                  n_splits: int = 5) -> dict[str, Any]:
    """Evaluate, fit the final E/I and subclass models of one variant and write files + cards."""
    spec = VARIANTS[variant]
    features = spec["features"]
    st = spec.get("self_training")
    stack = bool(spec.get("subclass_stack"))
    linear_sets = spec.get("linear_sets", ((),))
    data = pd.concat([data, depth_hinges(data["cortical_depth_um"])], axis=1) if linear_sets != ((),) else data
    unlabelled = load_perisomatic_unlabelled().dropna(subset=features) if st is not None else None
    ev = evaluate(data, features, grid, n_splits, self_training=st, unlabelled=unlabelled, stack=stack,
                  linear_sets=linear_sets)
    second = None
    if spec.get("second_seed") is not None:
        ev2 = evaluate(data, features, grid, n_splits, self_training=st, unlabelled=unlabelled, stack=stack,
                       seed=spec["second_seed"], linear_sets=linear_sets)
        second = {"seed": spec["second_seed"], "ei": ev2["ei"]["model_calibrated"],
                  "subclass": ev2["subclass"]["model_calibrated"],
                  "subclass_lightgbm_only": ev2["subclass"]["lightgbm_only"]}
    oof = ev["_oof"]
    sub = data[data["subclass"].notna()]
    ei_booster, ei_cfg, ei_calib, ei_lin = _fit_final(data[features], oof["y_ei"], 2, oof["ei"], grid)
    sub_booster, sub_cfg, sub_calib, sub_lin = _fit_final(sub[_with_linear(features, linear_sets)], oof["y_sub"],
                                                          len(SUBCLASSES), oof["sub"], grid, st,
                                                          None if unlabelled is None else unlabelled[features],
                                                          stack=stack, linear_sets=linear_sets)
    sub_stack = sub_lin.pop("_stack", None)
    m = ev["subclass"]
    restricted_wins = m["restricted_to_ei_side"]["balanced_accuracy"] >= m["model_calibrated"]["balanced_accuracy"]
    public = {k: v for k, v in ev.items() if not k.startswith("_")}
    ei_meta = dict(_common_meta(variant, features, spec, len(data)), task="ei", classes=list(EI_CLASSES),
                   positive_class="inhibitory", calibration=ei_calib, hyperparameters=ei_cfg, linear=ei_lin,
                   feature_ranges=feature_ranges(data[features]), feature_extent=feature_extent(data[features]),
                   metrics=public["ei"], fold_configs=ev["ei_fold_configs"],
                   **({"second_outer_seed": {"seed": second["seed"], "metrics": second["ei"]}} if second else {}))
    sub_meta = dict(_common_meta(variant, features, spec, len(sub)), task="subclass", classes=list(SUBCLASSES),
                    inhibitory_classes=sorted(INHIBITORY & set(SUBCLASSES)), calibration=sub_calib,
                    hyperparameters=sub_cfg, linear=sub_lin, metrics=public["subclass"],
                    feature_ranges=feature_ranges(sub[features]), feature_extent=feature_extent(sub[features]),
                    fold_configs=ev["subclass_fold_configs"],
                    **({"stack": sub_stack} if sub_stack else {}),
                    **({"second_outer_seed": {"seed": second["seed"], "metrics": second["subclass"],
                                              "lightgbm_only": second["subclass_lightgbm_only"]}} if second else {}),
                    table_decision_rule="restricted" if restricted_wins else "flat",
                    decision_rule=("nl.classify: arg-max among the decided E/I side's classes (renormalised). "
                                   "nl.classify_perisomatic: " + (
                                       "the same (restricted_to_ei_side scored at least as high out-of-fold)"
                                       if restricted_wins else "flat arg-max of the 11 calibrated probabilities "
                                       "(it scored higher out-of-fold than restricted_to_ei_side); "
                                       "ei_subclass_agree flags rows where the two disagree")),
                    semi_supervised=False if st is None else {
                        "method": "self-training", "tau": st.tau, "pseudo_weight": st.pseudo_weight,
                        "cap_per_class": st.cap_per_class, "n_unlabelled_rows": int(len(unlabelled)),
                        "pseudo_rows_per_outer_fold": ev["subclass_pseudo_rows_per_fold"],
                        "description": (
                            f"the subclass model's LightGBM part is refitted on the labelled cells plus up to "
                            f"{st.cap_per_class} rows per class of the {len(unlabelled):,} unlabelled v83 rows (nucleus "
                            f"ids in no label file) that this model's own supervised fit labels with probability >= "
                            f"{st.tau}; pseudo rows weigh {st.pseudo_weight} of the labelled rows in total. Inside "
                            f"the CV each outer fold pseudo-labels with its own fold model. The unlabelled rows may "
                            f"include the project's held-back cells (features only, never labels).")})
    report.save_model(ei_booster, ei_meta, out, f"{variant}_ei")
    report.save_model(sub_booster, sub_meta, out, f"{variant}_subclass")
    write_cards(variant, ev, ei_meta, sub_meta, out)
    return ev


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args(argv)
    data = load_perisomatic_labelled()
    for v in args.variants:
        t0 = time.time()
        ev = train_variant(v, data, args.out)
        print(f"{v}: E/I balanced {ev['ei']['model_calibrated']['balanced_accuracy']:.3f}, subclass "
              f"balanced {ev['subclass']['model_calibrated']['balanced_accuracy']:.3f} ({time.time() - t0:.0f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

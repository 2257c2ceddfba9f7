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
from neurd_lite.celltype.columns import ENGINE_PERISOMATIC, PROCESS_FEATURES  # noqa: E402
from neurd_lite.celltype.combine import hierarchical  # noqa: E402
from neurd_lite.celltype.training import (  # noqa: E402
    EI_CLASSES, GRID, GT_FILE, INHIBITORY, SUBCLASSES, V83_FILE, V83_PRED_EI, V83_PRED_NAMES, CVResult,
    check_features, crossfit_temperature, feature_ranges, fit_blend, library_versions, load_perisomatic_labelled, nested_cv,
    select_config, sha256_of)

DEFAULT_OUT = HERE.parent / "models"
# Engine features minus absolute positions (soma_x/y/z_nm are volume coordinates, not cell properties).
BASE = [f for f in ENGINE_PERISOMATIC if not f.endswith("_nm")]
DERIVED = ["nucleus_to_soma_volume_ratio", "soma_sphericity", "nucleus_sphericity"]
SOMA_ONLY = [f for f in BASE if not f.startswith("nucleus_")]
VARIANTS: dict[str, dict[str, Any]] = {
    "perisomatic": {"features": BASE + DERIVED + list(PROCESS_FEATURES), "required": BASE + list(PROCESS_FEATURES),
                    "input": "v83 table columns (incl. per-process list columns avg_sdf/orients/vectors) or "
                             "engine names plus process_* features"},
    "perisomatic_engine": {"features": BASE + DERIVED, "required": BASE,
                           "input": "engine feature names (nl.features(n)) or v83 table columns"},
    "perisomatic_soma": {"features": SOMA_ONLY + ["soma_sphericity"], "required": SOMA_ONLY,
                         "input": "engine soma features and depth only (fallback when no nucleus was measured)"},
}


def _group(labels: pd.Series) -> np.ndarray:
    return np.array([c in INHIBITORY for c in labels])


def evaluate(data: pd.DataFrame, features: list[str], grid: tuple[dict[str, int], ...] = GRID,
             n_splits: int = 5) -> dict[str, Any]:
    """Nested-CV E/I and subclass evaluation, baselines and the v83 column on the same cells."""
    check_features(features)
    x_all = data[features]
    y_ei = (data["ei"] == "inhibitory").to_numpy().astype(int)
    ei_cv = nested_cv(x_all, y_ei, 2, grid, n_splits=n_splits)
    ei_cal = crossfit_temperature(ei_cv.oof, y_ei, ei_cv.fold)
    sub_rows = data["subclass"].notna().to_numpy()
    sub = data[sub_rows]
    y_sub = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    sub_cv = nested_cv(sub[features], y_sub, len(SUBCLASSES), grid, n_splits=n_splits)
    sub_cal = crossfit_temperature(sub_cv.oof, y_sub, sub_cv.fold)
    hier = hierarchical(ei_cal[sub_rows, 1], sub_cal, SUBCLASSES, INHIBITORY)
    is_i = np.array([c in INHIBITORY for c in SUBCLASSES])
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
            "hierarchical": report.proba_metrics(y_sub, hier, sub_names),
            "lightgbm_only": report.proba_metrics(y_sub, sub_cv.oof_lgbm, sub_names),
            "logistic_baseline": report.proba_metrics(y_sub, sub_cv.oof_linear, sub_names),
            "v83_cell_type_pred": report.label_metrics(sub["subclass"], sub["v83_pred"].map(V83_PRED_NAMES),
                                                       sub_names),
        },
        "ei_fold_configs": ei_cv.configs, "subclass_fold_configs": sub_cv.configs,
        "_oof": {"ei": ei_cv, "ei_cal": ei_cal, "sub": sub_cv, "sub_cal": sub_cal, "hier": hier,
                 "y_ei": y_ei, "y_sub": y_sub, "nucleus_id": data["nucleus_id"].to_numpy()},
    }
    return res


def _fit_final(x: pd.DataFrame, y: np.ndarray, n_classes: int, cv: CVResult,
               grid: tuple[dict[str, int], ...]) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, Any]]:
    cfg, scores = select_config(x, y, n_classes, grid)
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
    ev = evaluate(data, features, grid, n_splits)
    oof = ev["_oof"]
    sub = data[data["subclass"].notna()]
    ei_booster, ei_cfg, ei_calib, ei_lin = _fit_final(data[features], oof["y_ei"], 2, oof["ei"], grid)
    sub_booster, sub_cfg, sub_calib, sub_lin = _fit_final(sub[features], oof["y_sub"], len(SUBCLASSES), oof["sub"],
                                                          grid)
    public = {k: v for k, v in ev.items() if not k.startswith("_")}
    ei_meta = dict(_common_meta(variant, features, spec, len(data)), task="ei", classes=list(EI_CLASSES),
                   positive_class="inhibitory", calibration=ei_calib, hyperparameters=ei_cfg, linear=ei_lin,
                   feature_ranges=feature_ranges(data[features]),
                   metrics=public["ei"], fold_configs=ev["ei_fold_configs"])
    sub_meta = dict(_common_meta(variant, features, spec, len(sub)), task="subclass", classes=list(SUBCLASSES),
                    inhibitory_classes=sorted(INHIBITORY & set(SUBCLASSES)), calibration=sub_calib,
                    hyperparameters=sub_cfg, linear=sub_lin, metrics=public["subclass"],
                    feature_ranges=feature_ranges(sub[features]),
                    fold_configs=ev["subclass_fold_configs"],
                    decision_rule="flat: arg-max of the calibrated 11-class probabilities (the hierarchical "
                                  "rescaling by the E/I model is reported for comparison, not used)")
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

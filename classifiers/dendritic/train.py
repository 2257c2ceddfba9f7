"""Train the dendritic E/I model on NEURD's 210 proofread cells and evaluate the combined E/I decision.

Usage: ``python classifiers/dendritic/train.py [--out classifiers/models]``. Writes ``dendritic_ei`` (.txt, .json,
.md, .png). The combined rule (perisomatic x dendritic) is evaluated on the cells that also have perisomatic
features, with perisomatic probabilities that never saw the cell (out-of-fold for cells in the perisomatic
training set, the shipped model otherwise).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurd_lite.celltype import report
from neurd_lite.celltype.calibration import apply_temperature, fit_temperature
from neurd_lite.celltype.columns import ENGINE_DENDRITIC, to_engine
from neurd_lite.celltype.combine import combine_ei
from neurd_lite.celltype.training import (
    EI_CLASSES, EI_FILE, GT_FILE, V83_FILE, check_features, crossfit_temperature, feature_extent, feature_ranges,
    fit_blend, library_versions, load_dendritic_labelled, nested_cv, select_config, sha256_of)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models"
FEATURES = list(ENGINE_DENDRITIC)
GRID = ({"num_leaves": 4, "num_boost_round": 50}, {"num_leaves": 4, "num_boost_round": 200},
        {"num_leaves": 8, "num_boost_round": 50}, {"num_leaves": 8, "num_boost_round": 200})
PARAMS = {"min_child_samples": 10}
# NEURD's shipped, hand-set E/I logistic regression (coefficients from its repository; see REFERENCES.md).
NEURD_COEF = {"neurd_syn_density_shaft_per_um": 3.2245, "neurd_spine_density_per_um": -4.7}
NEURD_INTERCEPT = -1.2


def neurd_rule_p_inhibitory(feats: pd.DataFrame) -> np.ndarray:
    """P(inhibitory) of NEURD's hand-set logistic regression."""
    z = NEURD_INTERCEPT + sum(c * feats[f].to_numpy(dtype=float) for f, c in NEURD_COEF.items())
    return 1.0 / (1.0 + np.exp(-z))


def perisomatic_p_inhibitory(nucleus_ids: np.ndarray, peri_oof: dict[int, float] | None,
                             models_dir: Path) -> np.ndarray:
    """Out-of-sample perisomatic P(inhibitory) per nucleus (NaN when the cell is not in the v83 table)."""
    from neurd_lite.celltype.models import load_model
    from neurd_lite.data import data_path

    table = pd.read_csv(data_path(V83_FILE))
    rows = table.set_index("nucleus_id").reindex(nucleus_ids)
    present = rows["soma_volume"].notna().to_numpy()
    model = load_model("perisomatic_ei", models_dir)
    out = np.full(len(nucleus_ids), np.nan)
    if present.any():
        feats = to_engine(rows[present].reset_index())
        out[present] = model.predict_proba(feats)[:, 1]
    if peri_oof is None:  # standalone run: no out-of-fold values, so drop the perisomatic training cells
        gt = set(pd.read_csv(data_path(GT_FILE))["nucleus_id"].astype(int))
        out[[int(n) in gt for n in nucleus_ids]] = np.nan
    for i, nid in enumerate(nucleus_ids):
        if peri_oof and int(nid) in peri_oof:
            out[i] = peri_oof[int(nid)]
    return out


def train(out: Path = DEFAULT_OUT, peri_oof: dict[int, float] | None = None, n_splits: int = 5,
          grid: tuple[dict[str, int], ...] = GRID, data: pd.DataFrame | None = None) -> dict[str, Any]:
    """Evaluate (nested CV), fit, calibrate and write the dendritic E/I model; returns the metrics."""
    check_features(FEATURES)
    data = load_dendritic_labelled() if data is None else data
    x = data[FEATURES]
    y = (data["ei"] == "inhibitory").to_numpy().astype(int)
    cv = nested_cv(x, y, 2, grid, n_splits=n_splits, params=PARAMS)
    cal = crossfit_temperature(cv.oof, y, cv.fold)
    rule = neurd_rule_p_inhibitory(data)
    names = list(EI_CLASSES)
    metrics: dict[str, Any] = {
        "model_raw": report.proba_metrics(y, cv.oof, names),
        "model_calibrated": report.proba_metrics(y, cal, names),
        "lightgbm_only": report.proba_metrics(y, cv.oof_lgbm, names),
        "logistic_baseline": report.proba_metrics(y, cv.oof_linear, names),
        "neurd_handset_rule_in_sample": report.proba_metrics(y, np.c_[1 - rule, rule], names),
        "neurd_handset_rule_vs_allen_e_i": report.label_metrics(
            data["allen_ei"], np.where(rule >= 0.5, "inhibitory", "excitatory"), names),
    }
    cfg, scores = select_config(x, y, 2, grid, params=PARAMS)
    booster, linear = fit_blend(x, y, 2, cfg, PARAMS)
    calib = fit_temperature(cv.oof, y)
    combined: dict[str, Any] = {}
    peri = None
    if (out / "perisomatic_ei.json").is_file():
        peri = perisomatic_p_inhibitory(data["nucleus_id"].to_numpy(), peri_oof, out)
        both = ~np.isnan(peri)
        yb = y[both]
        comb = combine_ei(peri[both], cal[both, 1])
        combined = {
            "n_cells_with_both": int(both.sum()),
            "perisomatic_alone": report.proba_metrics(yb, np.c_[1 - peri[both], peri[both]], names),
            "dendritic_alone": report.proba_metrics(yb, cal[both], names),
            "combined_product": report.proba_metrics(yb, np.c_[1 - comb, comb], names),
            "perisomatic_from_oof": int(sum(1 for n in data["nucleus_id"][both] if peri_oof and int(n) in peri_oof)),
        }
    meta = {
        "family": "dendritic", "task": "ei", "classes": names, "positive_class": "inhibitory",
        "features": FEATURES, "required_features": FEATURES,
        "input": "NEURD dendritic densities (per µm of postsynaptic dendrite within 110 µm of the soma, width "
                 "140-520 nm); engine names neurd_*",
        "n_training_cells": int(len(y)), "training_data": {EI_FILE: sha256_of(EI_FILE)},
        "label_mapping": {"cell_type": "NEURD's excitatory/inhibitory label (column cell_type)"},
        "cv": "stratified 5-fold (shuffle, seed 0); hyper-parameters by inner stratified 3-fold CV per outer fold",
        "calibration": calib, "hyperparameters": dict(cfg, inner_cv_balanced_accuracy_best=round(max(scores), 4)),
        "linear": linear, "feature_ranges": feature_ranges(x), "feature_extent": feature_extent(x),
        "fold_configs": cv.configs, "metrics": metrics, "combined_with_perisomatic": combined,
        "combined_rule": "P(I) = pI_peri*pI_dend / (pI_peri*pI_dend + (1-pI_peri)*(1-pI_dend)); in classify(n) a "
                         "view whose inputs are outside its training 0.5-99.5% range is left out when the other "
                         "view is in range",
        "versions": library_versions(),
    }
    report.save_model(booster, meta, out, "dendritic_ei")
    _write_card(out, dict(meta, name="dendritic_ei"), metrics, combined, cv.oof, cal, y)
    return {"metrics": metrics, "combined": combined}


def _write_card(out: Path, meta: dict[str, Any], metrics: dict[str, Any], combined: dict[str, Any],
                raw: np.ndarray, cal: np.ndarray, y: np.ndarray) -> None:
    report.plot_confusion(metrics["model_calibrated"], out / "dendritic_ei_confusion.png",
                          "dendritic_ei (out-of-fold)")
    report.plot_reliability({"raw": (raw, y), "calibrated": (cal, y)}, out / "dendritic_ei_reliability.png",
                            "dendritic_ei: reliability (out-of-fold)")
    m = metrics["model_calibrated"]
    comb_text = "Not evaluated (no perisomatic model found)."
    if combined:
        comb_text = (f"On the {combined['n_cells_with_both']} cells that also have perisomatic features "
                     f"({combined['perisomatic_from_oof']} scored out-of-fold by the perisomatic CV, the rest by the "
                     "shipped perisomatic model, which never saw them), labels = NEURD's:\n\n" + report.metrics_table(
                         {k: v for k, v in combined.items() if isinstance(v, dict)}))
        comb, dend = combined["combined_product"], combined["dendritic_alone"]
        comb_text += (f"\n\nOn these cells the product rule scores {comb['balanced_accuracy']:.3f} balanced accuracy "
                      f"against {dend['balanced_accuracy']:.3f} for the dendritic model alone: "
                      + ("it improves on it." if comb["balanced_accuracy"] > dend["balanced_accuracy"] else
                         "it does not improve on the dendritic view here (the perisomatic view is the weaker one "
                         "on these cells); it is kept for cells whose dendritic features are noisy or partial."))
    text = f"""# Model card: `dendritic_ei` (excitatory / inhibitory from dendritic synapse and spine densities)

Files: `dendritic_ei.txt` (LightGBM text), `dendritic_ei.json` (sidecar). Loaded without pickle.

## Data
`labels/neurd_e_i_manual_proofread.csv` (sha256 {meta['training_data'][EI_FILE][:12]}…): NEURD's 210 proofread
cells ({int(y.sum())} inhibitory), label = its manual `cell_type` column (the `allen_e_i` column it was corrected
from differs on 12 cells; NEURD's published 95.2% for its rule is against `allen_e_i`, reproduced below). Features (NEURD definitions, per µm of
postsynaptic dendrite within 110 µm path length of the soma and width 140-520 nm):
{report.feature_table(FEATURES)}

## Evaluation scheme
Stratified 5-fold CV (shuffled, seed 0); per outer fold an inner 3-fold CV picks the configuration from
num_leaves 4/8 x 50/200 rounds (min_child_samples 10, class-balanced, `num_threads=1`) and the weight w in
{{0, 0.25, 0.5}} of a blended logistic regression (P = (1 - w) P_lightgbm + w P_logistic; `logistic_baseline` is
that component alone, `lightgbm_only` the trees alone). Temperature calibration
is evaluated cross-fitted. Shipped: {meta['hyperparameters']}, T = {meta['calibration']['temperature']:.3f}.

## Results (out-of-fold unless stated)
{report.metrics_table(metrics)}

NEURD's hand-set rule (3.2245 x syn_density_shaft - 4.7 x spine_density - 1.2, inhibitory when > 0) is scored
in-sample: its coefficients were set on these same cells. Against `allen_e_i` it scores the published 95.2%.

### Per class (shipped model, out-of-fold)
{report.per_class_table(m)}

## Combined decision (perisomatic x dendritic)
Rule: {meta['combined_rule']} (product of calibrated probabilities; assumes the two views err independently).
{comb_text}

## Figures
![confusion](dendritic_ei_confusion.png)
![reliability](dendritic_ei_reliability.png)

## Limitations
- 210 cells, mostly proximal dendrite of proofread cells; the features need NEURD-like spine and synapse labels.
- The engine's spine / synapse-target detection differs from NEURD's; densities from it may be shifted.
"""
    (out / "dendritic_ei.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    res = train(args.out)
    m = res["metrics"]
    print(f"dendritic_ei: CV balanced {m['model_calibrated']['balanced_accuracy']:.3f} "
          f"(NEURD rule in-sample accuracy {m['neurd_handset_rule_in_sample']['accuracy']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

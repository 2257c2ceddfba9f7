"""Model cards (markdown + PNG figures) for the perisomatic E/I and subclass models."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from neurd_lite.celltype import report
from neurd_lite.celltype.training import EI_CLASSES, SUBCLASSES

_DATA = """## Data
- Labels: `labels/microns_celltypes_ground_truth.csv` (1,046 hand-labelled MICrONS minnie65 cells), joined on
  `nucleus_id` to `labels/microns_perisomatic_features_v83.csv.gz` (1,023 cells match; the 23 unmatched are
  excluded). A part of the original label table is held back by the project for independent evaluation; it was
  not used here.
- Label mapping: `5P-PT` -> `5P-ET`. `6P-U`, `WM-P`, `Unsure E` count as excitatory and `Unsure I` as inhibitory
  for E/I only; `Unsure` is excluded. The subclass model uses the 11 subclasses only.
- Features are mapped onto engine names in `neurd_lite/celltype/columns.py` (the one documented place).
  `cell_type_pred`, `cell_type_pred_num`, `predict`, `umapx`, `umapy` (other models' outputs) are never inputs;
  the unlabelled rows of the 69k table are not used (no semi-supervision).
- SHA-256 of the training files: {shas}
"""

_CV = """## Evaluation scheme
Stratified 5-fold cross-validation (shuffled, seed 0). In each outer fold an inner stratified 3-fold CV on the
training rows picks the LightGBM configuration from {{num_leaves 7/15}} x {{150/400 rounds}} (learning rate 0.05,
class-balanced weights, `num_threads=1`, seed 0). No cell is scored by a model that saw it, and no
hyper-parameter was chosen on a test fold. Calibration (temperature scaling) is evaluated cross-fitted: each
fold's temperature is fitted on the other folds' out-of-fold predictions. The shipped model is refitted on all
cells with the configuration chosen by 3-fold CV on all cells; its temperature is fitted on all out-of-fold
predictions. Chosen per fold: {configs}. Shipped: {final}.
"""


def _variant_text(variant: str) -> str:
    if variant == "perisomatic":
        return ("Table model: 12 scalar soma/nucleus/depth features, 3 ratios derived from them and 11 per-process "
                "summaries of the v83 list columns (`avg_sdf`, `orients`, `vectors`). Used by "
                "`nl.classify_perisomatic(df)` when the list columns (or `process_*` columns) are present.")
    return ("Engine model: only features that `nl.features(n)` computes from a mesh (12 scalar soma/nucleus/depth "
            "features and 3 ratios derived from them). Used by `nl.classify(n)` and by "
            "`nl.classify_perisomatic(df)` for rows without per-process columns.")


def _card(variant: str, task: str, meta: dict[str, Any], ev: dict[str, Any], figs: list[str]) -> str:
    m = ev[task]
    shipped = "lightgbm_calibrated" if task == "ei" else "lightgbm_hierarchical"
    classes = EI_CLASSES if task == "ei" else SUBCLASSES
    title = "excitatory / inhibitory" if task == "ei" else "11-class subclass"
    target = 0.99 if task == "ei" else 0.88
    ba = m[shipped]["balanced_accuracy"]
    verdict = (f"**Target {target:.2f} reached.**" if ba >= target else
               f"**Target {target:.2f} not reached: {ba:.3f}.**")
    lines = [
        f"# Model card: `{meta['name']}` ({title}, perisomatic)", "",
        _variant_text(variant), "",
        f"Files: `{meta['name']}.txt` (LightGBM text), `{meta['name']}.json` (sidecar: features, classes, "
        "calibration, metrics, checksums, versions). Loaded without pickle by `neurd_lite.celltype.load_model`.", "",
        "## Intended use",
        "Cell-type calls for MICrONS-like mouse visual cortex neurons from soma and nucleus measurements. "
        "Not validated on other volumes, species or segmentations; depth is µm below pia in the MICrONS frame.", "",
        _DATA.format(shas=", ".join(f"`{k}` {v[:12]}…" for k, v in meta["training_data"].items())),
        _CV.format(configs=meta["fold_configs"], final={k: v for k, v in meta["hyperparameters"].items()}),
        "## Results (out-of-fold, same cells for every row)", "",
        report.metrics_table(m), "",
        f"{verdict} Shipped decision: `{shipped}`.",
        ("E/I for a cell comes from this dedicated binary model; the subclass model's probabilities are "
         "rescaled to agree with it (`neurd_lite.celltype.combine.hierarchical`)." if task == "ei" else
         "Subclass probabilities: the flat 11-class model rescaled within E and within I by the E/I model "
         "(`lightgbm_hierarchical`). `v83_cell_type_pred` is the published model's `cell_type_pred` column "
         "scored on the same cells (its `6P` and `Unsure` answers count as wrong at subclass level)."),
        "", "### Per class (shipped decision)", "", report.per_class_table(m[shipped]), "",
        "## Calibration",
        f"Temperature T = {meta['calibration']['temperature']:.3f} (stored in the sidecar). Cross-fitted: Brier "
        f"{m[shipped.replace('hierarchical', 'flat_calibrated')]['brier']:.3f} / ECE "
        f"{m[shipped.replace('hierarchical', 'flat_calibrated')]['ece']:.3f} after, raw Brier "
        f"{m[('lightgbm_raw' if task == 'ei' else 'lightgbm_flat_raw')]['brier']:.3f} / ECE "
        f"{m[('lightgbm_raw' if task == 'ei' else 'lightgbm_flat_raw')]['ece']:.3f}.", "",
        "## Features", report.feature_table(meta["features"][i]["name"] for i in range(len(meta["features"]))), "",
        "## Figures", *[f"![{f}]({f})" for f in figs], "",
        "## Limitations",
        "- Rare classes are few (5P-NP 5 cells, NGC 14, BPC 26, MC 32): their recalls move by 7-20 points per cell.",
        "- 6P-IT vs 6P-CT and 4P vs 5P-IT are the main confusions; perisomatic features alone separate them weakly.",
        "- Depth (`cortical_depth_um`) is in the MICrONS rotated frame; other volumes need their own depth.",
        f"- Classes: {', '.join(classes)}.", "",
    ]
    return "\n".join(lines)


def write_cards(variant: str, ev: dict[str, Any], ei_meta: dict[str, Any], sub_meta: dict[str, Any],
                out: Path) -> list[Path]:
    """Write both cards and their figures into ``out``."""
    oof = ev["_oof"]
    written = []
    for task, meta in (("ei", ei_meta), ("subclass", sub_meta)):
        name = f"{variant}_{task}"
        meta = dict(meta, name=name)
        shipped = "lightgbm_calibrated" if task == "ei" else "lightgbm_hierarchical"
        cm_png = f"{name}_confusion.png"
        report.plot_confusion(ev[task][shipped], out / cm_png, f"{name} ({shipped}, out-of-fold)")
        rel_png = f"{name}_reliability.png"
        if task == "ei":
            curves = {"raw": (oof["ei"].oof, oof["y_ei"]), "calibrated": (oof["ei_cal"], oof["y_ei"])}
        else:
            curves = {"flat raw": (oof["sub"].oof, oof["y_sub"]), "flat calibrated": (oof["sub_cal"], oof["y_sub"]),
                      "hierarchical": (oof["hier"], oof["y_sub"])}
        report.plot_reliability(curves, out / rel_png, f"{name}: reliability (out-of-fold)")
        card = out / f"{name}.md"
        meta["features"] = [{"name": f} for f in meta["features"]]
        card.write_text(_card(variant, task, meta, ev, [cm_png, rel_png]))
        written.append(card)
    return written

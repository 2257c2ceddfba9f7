"""Train the dendritic E/I model on NEURD's 210 proofread cells: the candidate that holds under shift ships.

Usage: ``python classifiers/dendritic/train.py [--out classifiers/models]``. Runs the shift tests of ``shift.py``
(every candidate refitted per split on its training cells only), ships the candidate with the best mean shift
accuracy among those at least as accurate as NEURD's two-feature rule on every shift split (not the best
in-distribution CV), fits it on all 210 cells, calibrates it (temperature fitted on its 5-fold out-of-fold
probabilities) and writes ``dendritic_ei`` (.json [+ .txt for a tree model], .md, .png). The combined rule
(perisomatic x dendritic) is evaluated on the cells that also have perisomatic features, with perisomatic
probabilities that never saw the cell.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurd_lite.celltype import report
from neurd_lite.celltype.calibration import fit_temperature
from neurd_lite.celltype.columns import ENGINE_DENDRITIC, SPINE_SHAFT_RATIO, to_engine
from neurd_lite.celltype.combine import combine_ei
from neurd_lite.celltype.linear import raw_coefficients
from neurd_lite.celltype.training import (
    EI_CLASSES, EI_FILE, GT_FILE, check_features, crossfit_temperature, feature_extent, feature_ranges, library_versions,
    read_v83, sha256_of)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models"


def _load(stem: str) -> Any:
    name = f"_neurd_lite_dendritic_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


shift = _load("shift")
engine_truncation = _load("engine_truncation")
tune = _load("tune")
ENGINE_SPLIT = "engine_truncated_family"
#: Densities beyond this multiple of the training maximum (or below 0) are refused as out of range: the ratio
#: model extrapolates safely in the direction of its sign constraint, but such values point to a units or
#: detection problem rather than to a cell.
PLAUSIBLE_FACTOR = 3.0


def neurd_rule_p_inhibitory(feats: pd.DataFrame) -> np.ndarray:
    """P(inhibitory) of NEURD's hand-set logistic regression."""
    return 1.0 / (1.0 + np.exp(-shift.neurd_logit(feats)))


def _fit_final(cand: Any, data: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(booster or None, linear parameters or None, hyper-parameters) of ``cand`` fitted on all cells."""
    if cand.kind == "rule":
        return None, {"medians": [0.0, 0.0], "means": [0.0, 0.0], "scales": [1.0, 1.0],
                      "coef": [[0.0, 0.0], [shift.NEURD_COEF[f] for f in cand.features]],
                      "intercept": [0.0, shift.NEURD_INTERCEPT], "classes": [0, 1], "weight": 1.0}, {"fixed": True}
    if cand.kind == "logistic":
        prm = cand.params(data, y)
        return None, dict(prm, weight=1.0), {"C": prm["C"], "signs": prm["signs"]}
    cfg = shift.choose_lgbm(data, y, cand.features)
    return shift.fit_monotone_lgbm(data, y, cand.features, cfg), None, dict(cfg)


def perisomatic_p_inhibitory(nucleus_ids: np.ndarray, peri_oof: dict[int, float] | None,
                             models_dir: Path) -> np.ndarray:
    """Out-of-sample perisomatic P(inhibitory) per nucleus (NaN when the cell is not in the v83 table)."""
    from neurd_lite.celltype.models import load_model
    from neurd_lite.data import data_path

    table = read_v83()
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


def train(out: Path = DEFAULT_OUT, peri_oof: dict[int, float] | None = None,
          data: pd.DataFrame | None = None, n_replicates: int = 20) -> dict[str, Any]:
    """Shift tests, choice, final fit, calibration and files of the dendritic E/I model; returns the metrics."""
    data = shift.load_cells() if data is None else data
    y = data["y"].to_numpy().astype(int)
    reps, full = tune.tune_rows()
    cands = tune.candidates(reps)
    oofs: dict[str, np.ndarray] = {}
    selection = tune.tune_scores(cands, data, reps, full, oof=oofs)
    name, reason = tune.pick(selection, cands, shippable=tuple(c.name for c in cands if tune.shippable(c)))
    print(f"dendritic_ei: chosen on tune data: {name} ({reason})", file=sys.stderr, flush=True)
    # held out: reported, never used for the choice
    res = shift.run(data, n_replicates=n_replicates, cands=cands)
    engine = engine_truncation.engine_split(cands, data)
    if engine:
        res[ENGINE_SPLIT] = engine
    tune_choice = {"name": name, "reason": reason}
    failed = held_out_failures(res, name)
    if failed:  # the targets on the held-out splits veto a tuned model; the rule is the fallback
        name, reason = "neurd_rule", (f"the tune-data choice {name} failed the held-out targets ({'; '.join(failed)}), "
                                      "so NEURD's rule itself ships, calibrated (fallback of the adoption rule)")
    cand = next(c for c in cands if c.name == name)
    check_features(cand.features)
    booster, linear, hyper = _fit_final(cand, data, y)
    oof = np.c_[1 - oofs[name], oofs[name]]
    fold = _cv_fold(y)
    cal = crossfit_temperature(oof, y, fold)
    calib = fit_temperature(oof, y)
    names = list(EI_CLASSES)
    rule = neurd_rule_p_inhibitory(data)
    metrics: dict[str, Any] = {
        "model_raw": report.proba_metrics(y, oof, names),
        "model_calibrated": report.proba_metrics(y, cal, names),
        "neurd_handset_rule_in_sample": report.proba_metrics(y, np.c_[1 - rule, rule], names),
        "neurd_handset_rule_vs_allen_e_i": report.label_metrics(
            data["allen_ei"], np.where(rule >= 0.5, "inhibitory", "excitatory"), names),
    }
    combined = _combined(out, data, y, cal, peri_oof)
    required = [f for f in ENGINE_DENDRITIC if f in cand.features
                or (SPINE_SHAFT_RATIO in cand.features and f in (shift.SHAFT, shift.SPINE))]
    x_req = data[required]
    plausible = {f: [0.0, float(PLAUSIBLE_FACTOR * data[f].max())] for f in required}
    design = pd.concat([x_req, shift.with_derived(data)[[f for f in cand.features if f not in required]]], axis=1)
    meta = {
        "family": "dendritic", "task": "ei", "kind": "logistic" if booster is None else "lightgbm",
        "classes": names, "positive_class": "inhibitory",
        "features": list(cand.features), "required_features": required,
        "candidate": name, "candidate_description": cand.description, "selection": reason,
        "tune_choice": tune_choice,
        "input": "NEURD dendritic densities (per µm of postsynaptic dendrite near the soma); engine names neurd_*; "
                 f"{SPINE_SHAFT_RATIO} = ln((spine density + 0.01) / (shaft synapse density + 0.01))",
        "n_training_cells": int(len(y)), "training_data": {EI_FILE: sha256_of(EI_FILE)},
        "label_mapping": {"cell_type": "NEURD's excitatory/inhibitory label (column cell_type)"},
        "cv": "choice on tune data (tune-seed engine cells, 210-cell stratified 5-fold CV, seed 0); C chosen per "
              "training set by inner 3-fold CV; shift tests held out",
        "selection_rule": tune.__doc__.split("Adoption rule")[1].split("Pooled candidates")[0].strip(),
        "tune_scores": selection,
        "calibration": calib, "hyperparameters": hyper,
        "linear": linear,
        "raw_coefficients": _raw(linear, cand.features) if linear else None,
        "training_ranges": feature_ranges(design), "training_extent": feature_extent(design),
        "feature_ranges": plausible, "feature_extent": plausible,
        "feature_ranges_label": "plausible range", "feature_extent_label": "plausible range",
        "feature_extent_meaning": f"feature_ranges and feature_extent are a plausible range, not the training "
                                  f"range: densities below 0 or above {PLAUSIBLE_FACTOR:g} x the training maximum "
                                  "are refused (units or detection problem); inside it the sign-constrained model "
                                  "extrapolates monotonically, so no 0.5-99.5% range check is made "
                                  "(training_ranges / training_extent record the training cells)",
        "shift_tests": res, "metrics": metrics, "combined_with_perisomatic": combined,
        "combined_rule": "P(I) = pI_peri*pI_dend / (pI_peri*pI_dend + (1-pI_peri)*(1-pI_dend)); in classify(n) a "
                         "view whose inputs are outside its training 0.5-99.5% range is left out when the other "
                         "view is in range",
        "versions": library_versions(),
    }
    txt = out / "dendritic_ei.txt"
    if booster is not None:
        report.save_model(booster, meta, out, "dendritic_ei")
    else:
        report.save_sidecar(meta, out, "dendritic_ei")
        if txt.is_file():
            txt.unlink()  # a stale tree model would contradict the sidecar
    _write_card(out, dict(meta, name="dendritic_ei"), metrics, combined, oof, cal, y)
    return {"metrics": metrics, "combined": combined, "shift": res, "shipped": name}


#: Issue 19's target on the near-boundary split.
NEAR_TARGET = 0.93


def held_out_failures(res: dict[str, Any], name: str, baseline: str = "neurd_rule") -> list[str]:
    """Issue 19's targets for ``name`` on the held-out splits: at least ``baseline``'s accuracy on every shift split
    and ``NEAR_TARGET`` near the boundary. Returns the failures (empty: met)."""
    out = [f"{s} {res[s][name]['accuracy']:.3f} < rule {res[s][baseline]['accuracy']:.3f}"
           for s in shift.shift_splits(res) if name in res[s] and res[s][name]["accuracy"] < res[s][baseline]["accuracy"]]
    out += [f"{s}: not scored" for s in shift.shift_splits(res) if name not in res[s]]
    near = res["near_neurd_margin"][name]["accuracy"]
    if near < NEAR_TARGET:
        out.append(f"near-boundary {near:.3f} < {NEAR_TARGET}")
    return out


def _raw(linear: dict[str, Any], features: list[str]) -> dict[str, float]:
    coef, b0 = raw_coefficients(linear)
    return dict({f: round(float(c), 6) for f, c in zip(features, coef)}, intercept=round(float(b0), 6))


def _cv_fold(y: np.ndarray) -> np.ndarray:
    fold = np.full(len(y), -1)
    for k, (_, te) in enumerate(shift._folds(y, 5, 0)):
        fold[te] = k
    return fold


def _combined(out: Path, data: pd.DataFrame, y: np.ndarray, cal: np.ndarray,
              peri_oof: dict[int, float] | None) -> dict[str, Any]:
    if not (out / "perisomatic_ei.json").is_file():
        return {}
    names = list(EI_CLASSES)
    peri = perisomatic_p_inhibitory(data["nucleus_id"].to_numpy(), peri_oof, out)
    both = ~np.isnan(peri)
    yb = y[both]
    comb = combine_ei(peri[both], cal[both, 1])
    return {
        "n_cells_with_both": int(both.sum()),
        "perisomatic_alone": report.proba_metrics(yb, np.c_[1 - peri[both], peri[both]], names),
        "dendritic_alone": report.proba_metrics(yb, cal[both], names),
        "combined_product": report.proba_metrics(yb, np.c_[1 - comb, comb], names),
        "perisomatic_from_oof": int(sum(1 for n in data["nucleus_id"][both] if peri_oof and int(n) in peri_oof)),
    }


SPLIT_TEXT = {
    "truncated_50_150um": "train on full-length cells (5-fold), test on held-out cells truncated to 50-150 µm of "
                          "dendrite (counts binomially thinned, 20 replicates)",
    "near_neurd_margin": "train on the 75% of cells far from NEURD's boundary, test on the 25% nearest (|NEURD "
                         "log-odds|, no labels)",
    "near_crossfit_score": "the same with our cross-fitted logistic score as the margin",
    "tail_label_selected": "test = excitatory cells with the 20% lowest spine densities + inhibitory cells with "
                           "the 20% highest (selected with the labels; mimics issue 19's border cells)",
    "layers_upper_to_deep": "train on somas above the L4|L5 boundary, test on deeper ones",
    "layers_deep_to_upper": "train on somas below the L4|L5 boundary, test on upper ones",
    ENGINE_SPLIT: "fit on all 210 cells (pooled candidates: plus the tune-seed engine cells), test on 32 "
                  "engine-decomposed synthetic-family cells (held-out seeds 1000-1003, 8 classes, session-9 engine "
                  "with hybrid synapse targets) truncated to random branch subsets of 50-150 µm (50 per cell; "
                  "`engine_truncation.engine_split`, branch tables in `dendritic/engine_branches/`); two-density "
                  "candidates only (the tables hold no head / neck counts)",
    "cv5": "in-distribution stratified 5-fold CV (reference only)",
}


def _why(meta: dict[str, Any]) -> str:
    """Why the shipped model ships: the tune choice, and what the held-out splits said about it."""
    tc = meta.get("tune_choice") or {}
    if meta["candidate"] != "neurd_rule" or not tc:
        return ("It is the tune-data choice and met issue 19's held-out targets (at least NEURD's rule on every "
                "shift split, near-boundary >= 0.93). It is sign-constrained, so monotone in every input (more spines "
                "-> excitatory; more shaft synapses -> inhibitory).")
    res = meta["shift_tests"]
    row = " / ".join(f"{s} {res[s][tc['name']]['accuracy']:.3f} (rule {res[s]['neurd_rule']['accuracy']:.3f})"
                     for s in shift.shift_splits(res) if tc["name"] in res[s])
    return (f"The tune data chose `{tc['name']}` ({tc['reason']}). On the held-out splits it scored {row}: it wins on "
            "the engine split but loses near the boundary and on the other 210-cell splits. Every pooled candidate "
            "shows the same pattern: the synthetic Martinotti members (0.25-0.4 spines and ~0.9 shaft synapses per "
            "µm) pull the boundary towards more spines, which costs real excitatory cells with few spines. No "
            "candidate is at least as accurate as the rule on every held-out split (the table above), so NEURD's "
            "two-feature rule itself ships, with a temperature fitted on its probabilities on the 210 cells (calls "
            "unchanged). It is monotone (more spines -> excitatory; more shaft synapses -> inhibitory), has no "
            "fitted boundary, and its 210-cell numbers are in-sample (NEURD set it on these cells).")


def _n_tune(meta: dict[str, Any]) -> str:
    sel = meta.get("tune_scores") or {}
    return str(sel.get(tune.TUNE_SPLIT, {}).get("neurd_rule", {}).get("n_cells", "-"))


def _tune_table(meta: dict[str, Any]) -> str:
    """Candidates x tune scores (the choice's only inputs)."""
    sel = meta.get("tune_scores")
    if not sel:
        return "Not recorded."
    names = list(sel[tune.CV_SPLIT])
    lines = ["| model | tune-seed engine cells, truncated (wrong) | full length right | 210-cell cv5 (wrong) |",
             "|---|---|---|---|"]
    for c in names:
        e, cv = sel[tune.TUNE_SPLIT].get(c), sel[tune.CV_SPLIT][c]
        eng = f"{e['accuracy']:.4f} ({round((1 - e['accuracy']) * e['n'])})" if e else "-"
        fl = f"{e['full_length_correct']}/{e['n_cells']}" if e else "-"
        label = f"**{c}** (shipped)" if c == meta["candidate"] else c
        lines.append(f"| {label} | {eng} | {fl} | {cv['accuracy']:.4f} ({round((1 - cv['accuracy']) * cv['n'])}) |")
    return "\n".join(lines)


def _shift_table(res: dict[str, Any], shipped: str) -> str:
    splits = shift.shift_splits(res) + ["cv5"]
    names = list(res["cv5"])
    lines = ["| model | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for c in names:
        cells = [f"{res[s][c]['accuracy']:.3f} ({round((1 - res[s][c]['accuracy']) * res[s][c]['n'])})"
                 if c in res[s] else "-" for s in splits]
        label = f"**{c}** (shipped)" if c == shipped else c
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| n test cells | " + " | ".join(
        str(res[s][names[0]]['n']) + (" (cell-replicates)" if "trunc" in s else "") for s in splits) + " |")
    return "\n".join(lines)


ENGINE_RESULTS = Path(__file__).resolve().parent / "engine_truncation_results.json"


def _engine_text() -> str:
    """Section on engine-decomposed cells (``engine_truncation.py`` output), if that file is present."""
    import json

    if not ENGINE_RESULTS.is_file():
        return "Not run (`engine_truncation.py` writes `engine_truncation_results.json`)."
    rows = [r for r in json.loads(ENGINE_RESULTS.read_text()) if "error" not in r]
    lines = ["| cell | truth | dendrite µm | shaft /µm | spines /µm | full-length call (P(I)) | truncated: answered, "
             "accuracy (NEURD rule) | `nl.classify` status, E/I, subclass |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['truth']} | {r['full_length_um']:.0f} | {r['full_shaft_per_um']:.3f} | "
                     f"{r['full_spine_per_um']:.3f} | {r['full_ei']} ({r['full_p_inhibitory']:.3f}, "
                     f"{r['full_status']}) | {r['truncated_answered']}/{r['n_replicates']}, "
                     f"{r['truncated_accuracy']:.3f} ({r.get('neurd_rule_truncated_accuracy', float('nan')):.3f}) | "
                     f"{r.get('classify_status', '-')}, {r.get('classify_ei', '-')}, {r.get('classify_subclass') or '-'} |")
    full = np.mean([r["full_correct"] for r in rows])
    n_ans = sum(r["truncated_answered"] for r in rows)
    acc = sum(r["truncated_accuracy"] * r["truncated_answered"] for r in rows) / max(n_ans, 1)
    rule = ""
    if all("neurd_rule_truncated_accuracy" in r for r in rows):
        r_full = np.mean([r["neurd_rule_full_correct"] for r in rows])
        r_acc = sum(r["neurd_rule_truncated_accuracy"] * r["truncated_answered"] for r in rows) / max(n_ans, 1)
        rule = (f" NEURD's rule on the same densities: full length {r_full:.3f}, truncated {r_acc:.3f} on the same "
                "replicates.")
    return (f"The shared real cell (`{rows[0]['cell']}`, decomposed by the engine; published call 4P, excitatory) "
            f"and synthetic-family members at held-out seeds, decomposed by the engine from mesh and synapse "
            f"positions only. Densities from the engine's NEURD E/I branches; truncated = 50 random branch subsets "
            f"reaching 50-150 µm. Full length: {full:.3f} correct ({len(rows)} cells); truncated: accuracy "
            f"{acc:.3f} on {n_ans} answered replicates (a subset without any qualifying spine or synapse branch "
            "is `insufficient_features`, not answered)." + rule + " `nl.classify` statuses: every non-ok status "
            "names its reasons in `status_detail` (multi_soma flags on merged or over-split cells, synthetic somata "
            "outside the perisomatic models' depth / volume / process ranges, views that disagree); the synthetic "
            "subclasses are not MICrONS-calibrated (soma sizes and depths are drawn, not measured), so only E/I is "
            "scored here. Synthetic interneurons get one shaft-synapse density (1.0 per µm; NEURD's 23 MCs: median 1.56) "
            "and Martinotti somata 60-120 synapses (every labelled MICrONS MC has at least 92, median 244): where "
            "a Martinotti member's soma view says excitatory and its dendrite sits near the boundary, the views "
            "split and the status says so; a generator artefact, not a model fault (docs/celltype.md, session 6)."
            "\n\n" + "\n".join(lines))


def _headline(res: dict[str, Any], shipped: str) -> str:
    def acc(split: str, c: str = shipped) -> str:
        return f"{res[split][c]['accuracy']:.3f}" if c in res.get(split, {}) else "-"
    near = res["near_neurd_margin"][shipped]
    splits = shift.shift_splits(res)
    worse = [s for s in splits if shipped not in res[s] or res[s][shipped]["accuracy"] < res[s]["neurd_rule"]["accuracy"]]
    verdict = ("at least as accurate as NEURD's rule on every one of the " + str(len(splits)) + " shift splits"
               if not worse else "below NEURD's rule on " + ", ".join(worse))
    if shipped == "neurd_rule":
        verdict = ("the shipped model is NEURD's rule itself (calibrated): no candidate, the tune-data choice "
                   "included, was at least as accurate as the rule on every held-out split (see 'Why this model')")
    return (f"**Headline (held-out shift tests, run once after the choice on tune data; every model refitted per "
            f"split on its training cells only): "
            f"near-boundary accuracy {acc('near_neurd_margin')} ({near['n']} cells; NEURD's rule "
            f"{acc('near_neurd_margin', 'neurd_rule')}, the session-3 5-input blend "
            f"{acc('near_neurd_margin', 'session3_blend_5')}); truncated to 50-150 µm of dendrite "
            f"{acc('truncated_50_150um')} (rule {acc('truncated_50_150um', 'neurd_rule')}); engine-decomposed "
            f"synthetic-family cells truncated to 50-150 µm {acc(ENGINE_SPLIT)} (rule "
            f"{acc(ENGINE_SPLIT, 'neurd_rule')}); other layers {acc('layers_upper_to_deep')} / "
            f"{acc('layers_deep_to_upper')}: {verdict}.** Not checked on NEURD's 175-cell border set (not in shared "
            "data), where the session-3 model fell below 0.4 on excitatory cells.")


def _write_card(out: Path, meta: dict[str, Any], metrics: dict[str, Any], combined: dict[str, Any],
                raw: np.ndarray, cal: np.ndarray, y: np.ndarray) -> None:
    report.plot_confusion(metrics["model_calibrated"], out / "dendritic_ei_confusion.png",
                          "dendritic_ei (out-of-fold)")
    report.plot_reliability({"raw": (raw, y), "calibrated": (cal, y)}, out / "dendritic_ei_reliability.png",
                            "dendritic_ei: reliability (out-of-fold)")
    (out / "dendritic_ei.md").write_text(_card_text(meta, metrics, combined))


def rerender_card(out: Path = DEFAULT_OUT) -> Path:
    """Rewrite ``dendritic_ei.md`` from its sidecar and ``engine_truncation_results.json`` without retraining
    (figures kept), e.g. after ``engine_truncation.py`` re-scored the engine cells with the shipped model."""
    import json

    meta = json.loads((out / "dendritic_ei.json").read_text())
    meta["required_features"] = list(meta["required_features"])
    card = out / "dendritic_ei.md"
    card.write_text(_card_text(meta, meta["metrics"], meta.get("combined_with_perisomatic") or {}))
    return card


def _card_text(meta: dict[str, Any], metrics: dict[str, Any], combined: dict[str, Any]) -> str:
    res, shipped = meta["shift_tests"], meta["candidate"]
    near = res["near_neurd_margin"][shipped]
    m = metrics["model_calibrated"]
    comb_text = "Not evaluated (no perisomatic model found)."
    if combined:
        comb_text = (f"On the {combined['n_cells_with_both']} cells that also have perisomatic features "
                     f"({combined['perisomatic_from_oof']} scored out-of-fold by the perisomatic CV, the rest by the "
                     "shipped perisomatic model, which never saw them):\n\n" + report.metrics_table(
                         {k: v for k, v in combined.items() if isinstance(v, dict)}))
    coef = meta.get("raw_coefficients") or {}
    formula = " ".join(f"{v:+.4g} x {k}" for k, v in coef.items() if k != "intercept")
    formula += f" {coef.get('intercept', float('nan')):+.4g}"
    text = f"""# Model card: `dendritic_ei` (excitatory / inhibitory from dendritic spine and synapse densities)

{_headline(res, shipped)}

Shipped: `{shipped}` — {meta['candidate_description']}. Files: `dendritic_ei.json` only (kind
`{meta['kind']}`: coefficients in JSON, no LightGBM file, nothing pickled). In plain units the log-odds of
inhibitory are {formula}, divided by the temperature T =
{meta['calibration']['temperature']:.3f}. Selection: {meta['selection']}.

## Choice on tune data (session 9)
Adoption rule (`tune.py`): {meta.get('selection_rule', '-')}

Tune data: NEURD's 210 cells (5-fold out-of-fold) and {_n_tune(meta)} synthetic-family cells at tune seeds 0-5
decomposed by the engine (hybrid synapse targets), truncated to 50-150 µm of branches (50 replicates per cell; branch
tables in `dendritic/engine_branches_tune/`); pooled candidates cross-fitted over 3 folds of 2 seeds there.

{_tune_table(meta)}

## Shift tests (accuracy, wrong calls in brackets; `shift.py`)
{_shift_table(res, shipped)}

Splits:
""" + "\n".join(f"- `{k}`: {v}" for k, v in SPLIT_TEXT.items()) + f"""

Caveats: the choice used tune data only (adoption rule above, written and committed before the held-out run);
the held-out splits were computed once, after it. NEURD's rule was hand-set on these same 210 cells, so it is
in-sample on every 210-cell split (a favourable baseline). Those splits are not fresh for the older candidates: the
ratio input and the rule / ratio blends were added in sessions 4-5 after looking at them, and the session-5 choice
used them. The engine cells at seeds 1002-1003 were first decomposed in session 8 (scores seen for the rule and the
session-5 blend only), 1000-1001 were in the session-5 choice. Near-boundary cells are few (1/53 = 0.019 per cell);
on the engine split one replicate is about 1/1500. `rule_anchored` (the rule plus a penalised sign-constrained
correction on the 210 cells, penalty by inner-CV log-loss) and `pooled_anchored_3` (the same on the pooled rows) are
the inner-fold-regularised routes.

## Engine cells: the real cell and the synthetic family, full length and truncated
{_engine_text()}

## Why this model
{_why(meta)}

## Data
`labels/neurd_e_i_manual_proofread.csv` (sha256 {meta['training_data'][EI_FILE][:12]}…): NEURD's 210 proofread
cells ({m['per_class']['inhibitory']['support']} inhibitory), label = its manual `cell_type` column. Inputs (per µm):
{report.feature_table(meta['required_features'])}

## In-distribution (5-fold out-of-fold, reference only)
{report.metrics_table(metrics)}

### Per class (shipped model, out-of-fold)
{report.per_class_table(m)}

## Combined decision (perisomatic x dendritic)
Rule: {meta['combined_rule']}.
{comb_text}

## Range checks
{meta['feature_extent_meaning']}; `out_of_range` notes use the training 0.5-99.5% range of each input.

## Figures
![confusion](dendritic_ei_confusion.png)
![reliability](dendritic_ei_reliability.png)

## Limitations
- 210 cells, mostly proximal dendrite of proofread cells; the features need NEURD-like spine and synapse labels.
- The engine's spine / synapse-target detection differs from NEURD's; a ratio cancels a shared detection
  efficiency but not a bias that hits spines and shaft synapses differently.
"""
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--card-only", action="store_true", help="rewrite the card from the sidecar, no training")
    args = ap.parse_args(argv)
    if args.card_only:
        print(rerender_card(args.out))
        return 0
    res = train(args.out)
    m = res["metrics"]
    near = res["shift"]["near_neurd_margin"]
    print(f"dendritic_ei: shipped {res['shipped']}; near-boundary accuracy {near[res['shipped']]['accuracy']:.3f} "
          f"(NEURD rule {near['neurd_rule']['accuracy']:.3f}); CV balanced {m['model_calibrated']['balanced_accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

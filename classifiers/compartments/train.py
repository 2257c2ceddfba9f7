"""Train and validate the learned compartment models (axon vs dendrite, apical vs basal per skeleton vertex).

    python classifiers/compartments/train.py [--cache /tmp/compart/cases.pkl] [--out classifiers/models]
                                             [--cv-only] [--rebuild]

Data: ``cells.py`` (53 MICrONS labelled skeletons, 56 external_labelled SWC, 48 synthetic skeletons). Rows:
non-soma vertices of the soma's tree, at most ``MAX_ROWS`` per prepared case (random, seeded), every case
weighted equally. Axon model: cases with axon truth. Apical model: vertices that are not axon (true axon;
the rule axon on the 7 MICrONS cells whose axon labels are unusable), interneurons included as all-negative.

Validation (the headline numbers are these held-out ones; the shipped models are refit on everything):
- leave-cell-out: 5 folds grouped by cell over all sources;
- leave-source-out: each external repository, all of external_labelled, MICrONS and synthetic held out in turn.
Each held-out cell goes through the same decision as the package (one axon subtree, apical segments,
has-apical vote: ``neurd_lite.compartments.label.learned_decision``). LightGBM: ``num_threads=1``,
deterministic. Writes ``compartment_axon.{txt,json}``, ``compartment_apical.{txt,json}`` and the model card
``compartment_models.md``; the CV tables go to ``--report`` (JSON).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cells import APICAL_NAMES, Case, load_cases  # noqa: E402

from neurd_lite.compartments.axon_l2 import L2_FEATURES, with_l2  # noqa: E402
from neurd_lite.compartments.axon_shape import SHAPE_FEATURES, with_shape  # noqa: E402
from neurd_lite.compartments.features import FEATURES  # noqa: E402
from neurd_lite.compartments.frame import angle_deg  # noqa: E402
from neurd_lite.compartments.label import CompartmentParams, learned_decision  # noqa: E402
from neurd_lite.testing.scores import mask_f1  # noqa: E402
from gate_fit import (AXON_NESTED, FIXED_GATE, FIXED_SETS, GATE_SIZES, NESTED, case_key, choose_and_fit,  # noqa: E402
                      SOURCE_OF, VETO_EVIDENCE, VETO_PURE, choose_veto, fit_booster, fit_mean, gate_inputs, inner_folds,
                      oof_axon, group_cells, source_group_of, source_groups)
from limb_fit import apical_frame, fit_limb, oof_limb_extra, wrap  # noqa: E402
from axon_fit import LEVELS, choose_threshold  # noqa: E402
from label_audit import audited_axon_f1, distrusted_cells, relabel_distrusted  # noqa: E402

MAX_ROWS = 1000
SEED = 0
LGB_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40,
              "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
              "num_threads": 1, "deterministic": True, "force_row_wise": True, "seed": SEED, "verbose": -1}
N_ROUNDS = 160
TRAIN_MODES = {"given+syn", "given", "inferred", "given_norad"}
DISTRUSTED: set[str] = set()  # MICrONS cells whose axon mask label_audit.py distrusts (filled by main)
CELL_PARAMS = {**LGB_PARAMS, "num_leaves": 7, "min_data_in_leaf": 8, "bagging_fraction": 1.0, "bagging_freq": 0}
# (monotone constraints per feature set: gate.GATE_MONOTONE, set in gate_fit.fit_booster)
CELL_ROUNDS = 200  # "given_eval" (external, up from the labels) never trains
GATE_MODE = ["fixed"]  # the cell model's training (--gate): fixed / nested / mean, see gate_fit
AXON_THRESHOLD: list[float | None] = [0.05]  # --axon-threshold: None = chosen in inner folds (axon_fit)
AXON_VETO = [False]  # --axon-veto inner: the has-apical gate's axon veto box chosen in inner folds (session 10)
FALLBACK_KEEPS_APICAL = [True]  # --fallback-guard off: the fallback axon may hold the apical candidate's end
POLARITY_BF = [CompartmentParams().polarity_bayes_factor]  # --polarity-bf: of the held-out decisions (session 15)
ALT_PARAMS: dict = {}  # --alt-params: each held-out cell is also scored with these CompartmentParams fields (alt_*)
AXON_FEATURES = list(FEATURES)  # --axon-shape / --axon-l2: + axon_shape.SHAPE_FEATURES (session 18) / axon_l2.L2_FEATURES (19)
SIDECAR = {None: "compartment_axon.json", "shape": "compartment_axon_shape.json", "l2": "compartment_axon_l2.json"}
APICAL_FRAME: dict[int, object] = {}  # id(case) -> its preparation in the apical frame (limb_fit.apical_frame)


def parse_params(text: str) -> dict:
    """``"field=value,..."`` -> CompartmentParams fields: booleans as true / false / 1 / 0, the rest as numbers."""
    out: dict = {}
    for kv in filter(None, text.split(",")):
        k, v = (x.strip() for x in kv.split("="))
        out[k] = v.lower() in ("true", "1", "1.0") if isinstance(getattr(CompartmentParams(), k), bool) else float(v)
    return out


def model_features(target: str) -> list[str]:
    """The input columns of a vertex model: the axon model's (with ``--axon-shape`` the branch-shape inputs too,
    with ``--axon-l2`` the level-2 side-node inputs instead) or the shared ``FEATURES``."""
    return AXON_FEATURES if target == "axon" else FEATURES


def frame_of(c: Case):
    """The preparation the apical model and the gate see for a training case (its apical frame when set)."""
    return APICAL_FRAME.get(id(c), c.prep)


def _rows(case: Case, target: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(vertex indices, labels) of one case for the axon or apical model (subsampled)."""
    t = case.prep.tree
    body = t.in_root_tree & ~t.soma
    if target == "axon":
        if case.axon is None:
            return np.zeros(0, int), np.zeros(0)
        idx = np.flatnonzero(body)
        y = case.axon[idx]
    else:  # apical vs basal on cells that have an apical (the cell model decides whether one exists)
        if case.apical is None or not case.apical.any():
            return np.zeros(0, int), np.zeros(0)
        not_axon = ~case.axon if case.axon is not None else case.prep.rule_labels.astype(str) != "axon"
        idx = np.flatnonzero(body & not_axon)
        y = case.apical[idx]
    if len(idx) > MAX_ROWS:
        keep = np.sort(rng.choice(len(idx), MAX_ROWS, replace=False))
        idx, y = idx[keep], y[keep]
    return idx, y.astype(float)


def design(cases: list[Case], target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, weight) over the training cases; each case weighs 1 in total."""
    rng = np.random.default_rng(SEED)
    xs, ys, ws = [], [], []
    for c in cases:
        if c.mode not in TRAIN_MODES:
            continue
        idx, y = _rows(c, target, rng)
        if not len(idx):
            continue
        feats = frame_of(c).features if target == "apical" else c.prep.features
        xs.append(feats.iloc[idx][model_features(target)].to_numpy(dtype=float))
        ys.append(y)
        ws.append(np.full(len(idx), 1.0 / len(idx)))
    w = np.concatenate(ws)
    return np.vstack(xs), np.concatenate(ys), w * len(w) / w.sum()


def true_axon(c: Case) -> np.ndarray:
    """The labelled axon (the rule's axon on cells without axon truth)."""
    return c.axon if c.axon is not None else c.prep.rule_labels.astype(str) == "axon"


def fit(cases: list[Case], target: str, axon_store: dict | None = None):
    """LightGBM booster for ``target`` ("axon", "apical" per vertex; "cell": has an apical) and its row count.
    The cell model follows ``GATE_MODE[0]`` (``gate_fit``: "fixed" = session 5's configuration, "nested" =
    chosen in inner folds, "mean" = every configuration averaged); it carries ``gate_set`` / ``gate_scores``.
    ``axon_store`` caches the out-of-fold axon masks that "nested" and "mean" need (key: the training cells)."""
    import lightgbm as lgb

    if target == "limb":
        use = [c for c in cases if c.mode in TRAIN_MODES]
        return fit_limb(use, true_axon)
    if target == "cell":  # one row per (cell, mode); each cell weighs 1, both classes the same in total
        use = [c for c in cases if c.mode in TRAIN_MODES and c.apical is not None]
        y = np.array([float(c.apical.any()) for c in use])
        cells = [c.cell for c in use]
        extra = oof_limb_extra(use, inner_folds(use), true_axon)
        rows = {"true_axon": pd.concat([gate_inputs(c, true_axon(c), frame_of(c), extra.get(id(c))) for c in use],
                                       ignore_index=True)}
        if GATE_MODE[0] == "fixed":
            feats, size, src = (GATE_MODE[1], *FIXED_GATE[1:]) if len(GATE_MODE) > 1 else FIXED_GATE
            booster = fit_booster(rows[src], y, cells, FIXED_SETS[feats], {**CELL_PARAMS, **GATE_SIZES[size]},
                                  CELL_ROUNDS)
            booster.gate_set, booster.gate_scores = "|".join((feats, size, src)), {}
            if AXON_VETO[0]:  # session 20: the fixed gate's axon veto box, chosen in inner folds (choose_veto)
                key = ("oof_axon", tuple(sorted(set(cells))))
                store = axon_store if axon_store is not None else {}
                if key not in store:
                    store[key] = oof_axon(use, fit, FEATURES)
                rows["learned_axon"] = pd.concat([gate_inputs(c, store[key][case_key(c)], frame_of(c),
                                                              extra.get(id(c))) for c in use], ignore_index=True)
                booster.axon_veto, booster.veto_scores = choose_veto(
                    rows, y, cells, [inner_folds(use), source_groups(use)], booster.gate_set, CELL_PARAMS, CELL_ROUNDS)
                booster.gate_set += f"|veto {booster.axon_veto}"
            return booster, len(y)
        key = ("oof_axon", tuple(sorted(set(cells))))
        store = axon_store if axon_store is not None else {}
        if key not in store:
            store[key] = oof_axon(use, fit, FEATURES)
        rows["learned_axon"] = pd.concat([gate_inputs(c, store[key][case_key(c)], frame_of(c), extra.get(id(c)))
                                          for c in use], ignore_index=True)
        if GATE_MODE[0] == "mean":
            booster = fit_mean(rows, y, cells, CELL_PARAMS, CELL_ROUNDS)
            booster.gate_set, booster.gate_scores = "mean", {}
            return booster, len(y)
        fold_sets = [inner_folds(use), source_groups(use)]
        booster, best, scores = choose_and_fit(rows, y, cells, fold_sets, CELL_PARAMS, CELL_ROUNDS)
        booster.gate_set, booster.gate_scores = best, scores
        if AXON_VETO[0]:  # session 10: the axon veto's box, chosen in the same inner folds
            booster.axon_veto, booster.veto_scores = choose_veto(rows, y, cells, fold_sets, best, CELL_PARAMS,
                                                                 CELL_ROUNDS)
            booster.gate_set += f"|veto {booster.axon_veto}"
        return booster, len(y)
    x, y, w = design(cases, target)
    ds = lgb.Dataset(x, y, weight=w, feature_name=list(model_features(target)), free_raw_data=True)
    return lgb.train(LGB_PARAMS, ds, num_boost_round=N_ROUNDS), len(y)


f1 = mask_f1  # per-vertex F1 of boolean masks, 1.0 when both are empty (neurd_lite.testing.scores)


def score_case(c: Case, ax_model, ap_model, cell_model, params: CompartmentParams | None = None,
               p_ax: np.ndarray | None = None, p_ap: np.ndarray | None = None, limb_model=None) -> dict:
    """Run the package decision with the given boosters (or the vertex probabilities ``p_ax`` / ``p_ap``;
    ``ap_model`` is still needed when the apical candidate's axis replaces ``up``) on one held-out case and
    score it."""
    t = c.prep.tree
    body = t.in_root_tree & ~t.soma
    x = c.prep.features[body][FEATURES].to_numpy(dtype=float)
    if p_ax is None:
        p_ax = np.zeros(t.n)
        p_ax[body] = ax_model.predict(x, num_threads=1)
    if p_ap is None:
        p_ap = np.zeros(t.n)
        p_ap[body] = ap_model.predict(x, num_threads=1)
    c.n.flags.clear()
    labels = learned_decision(c.n, c.prep, params or CompartmentParams(), p_ax, p_ap, wrap(cell_model),
                              wrap(limb_model) if limb_model is not None else None,
                              wrap(ap_model) if ap_model is not None else None).astype(str)
    rec = c.n.provenance["compartments"]
    cand = rec.pop("apical_candidate", None)
    p_cell = rec.pop("p_has_apical", np.nan)
    evidence = rec.pop("has_apical_evidence", None) or {}
    vetoed = rec.pop("axon_veto", None) is not None
    rule = c.prep.rule_labels.astype(str)
    s = c.scored
    row = {"cell": c.cell, "source": c.source, "mode": c.mode, "kind": c.kind,
           "has_apical": bool(np.isin(labels, APICAL_NAMES).any()), "p_has_apical": p_cell,
           "axis_used": bool(cand and cand["axis_used"]), "axon_vetoed": vetoed,
           **{f"ev_{k}": (np.nan if v is None else v) for k, v in evidence.items()}}
    if c.apical is not None:
        row["apical_f1"] = f1(np.isin(labels, APICAL_NAMES) & s, c.apical & s)
        row["apical_f1_rules"] = f1(np.isin(rule, APICAL_NAMES) & s, c.apical & s)
        dend = s & ~c.apical & ~(c.axon if c.axon is not None else False)
        row["dendrite_called_apical"] = float(np.isin(labels[dend], APICAL_NAMES).mean()) if dend.any() else np.nan
        row["dendrite_called_apical_rules"] = float(np.isin(rule[dend], APICAL_NAMES).mean()) if dend.any() \
            else np.nan
    if c.axon is not None:
        row["axon_f1"] = f1((labels == "axon") & s, c.axon & s)
        row["axon_f1_rules"] = f1((rule == "axon") & s, c.axon & s)
        row["axon_f1_root_tree"] = f1((labels == "axon") & s, c.axon & s & t.in_root_tree)
        row["axon_vertices"] = int((c.axon & s).sum())
    if c.true_up is not None:
        row["up_error_deg"] = angle_deg(c.prep.up, c.true_up)
    row["up_confidence"] = float(c.prep.frame.confidence)
    return row


def cross_validate(cases: list[Case], folds: dict[str, set[str]], label: str,
                   vertex_cache: dict | None = None) -> pd.DataFrame:
    """Train without each fold's cells, score them; ``folds``: fold name -> held-out cell names.
    ``vertex_cache``: {(label, fold, case index): (p_axon, p_apical)} of held-out cases, filled here and reused
    when present (the vertex models of a fold do not change when only the cell model does)."""
    import lightgbm as lgb

    rows = []
    cache = vertex_cache if vertex_cache is not None else {}
    for name, held in folds.items():
        train = [c for c in cases if c.cell not in held]
        t0 = time.time()
        idx = [i for i, c in enumerate(cases) if c.cell in held]
        if not all((label, name, i) in cache for i in idx) or (label, name, "apical") not in cache:
            ax, _ = fit(train, "axon")
            ap, _ = fit(train, "apical")
            cache[(label, name, "apical")] = ap.model_to_string()
            for i in idx:
                t = cases[i].prep.tree
                body = t.in_root_tree & ~t.soma
                feats = cases[i].prep.features[body]
                p_ax, p_ap = np.zeros(t.n), np.zeros(t.n)
                p_ax[body] = ax.predict(feats[AXON_FEATURES].to_numpy(dtype=float), num_threads=1)
                p_ap[body] = ap.predict(feats[FEATURES].to_numpy(dtype=float), num_threads=1)
                cache[(label, name, i)] = (p_ax, p_ap)
        ap = lgb.Booster(model_str=cache[(label, name, "apical")])
        if (label, name, "axon_threshold") not in cache and AXON_THRESHOLD[0] is None:  # chosen in inner folds
            cache[(label, name, "axon_threshold")] = choose_threshold(train, fit, TRAIN_MODES)  # on its training cells
        ax_th, ax_scores = cache[(label, name, "axon_threshold")] if AXON_THRESHOLD[0] is None \
            else (AXON_THRESHOLD[0], {})
        params = CompartmentParams(axon_threshold=ax_th, fallback_keeps_apical=FALLBACK_KEEPS_APICAL[0],
                                   polarity_bayes_factor=POLARITY_BF[0])
        cm, _ = fit(train, "cell", cache)
        lm, _ = fit(train, "limb")
        for i in idx:
            p_ax, p_ap = cache[(label, name, i)]
            alt = {}
            if ALT_PARAMS:  # same fold models, the option's labels beside the shipped ones (session 17)
                r = score_case(cases[i], None, ap, cm, replace(params, **ALT_PARAMS), p_ax=p_ax, p_ap=p_ap,
                               limb_model=lm)
                alt = {f"alt_{k}": r.get(k, np.nan) for k in ("apical_f1", "axon_f1", "has_apical")}
            rows.append({**score_case(cases[i], None, ap, cm, params, p_ax=p_ax, p_ap=p_ap, limb_model=lm),
                         **alt, "fold": name, "validation": label, "gate_set": cm.gate_set, "axon_threshold": ax_th})
        print(f"  {label} fold {name}: {len(held)} cells held out, gate {cm.gate_set} {cm.gate_scores}, "
              f"axon threshold {ax_th} {ax_scores}, "
              f"{time.time() - t0:.0f} s", file=sys.stderr)
    return pd.DataFrame(rows)


def cell_folds(cases: list[Case], k: int = 5) -> dict[str, set[str]]:
    cells = sorted({c.cell for c in cases})
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(cells))
    return {f"cell_fold_{i}": {cells[j] for j in perm[i::k]} for i in range(k)}


def source_folds(cases: list[Case]) -> dict[str, set[str]]:
    folds = group_cells(source_group_of(cases))
    folds["all_external"] = {c.cell for c in cases if c.source not in ("microns", "synthetic")}
    return {k: v for k, v in folds.items() if v}


def summarise(df: pd.DataFrame) -> dict:
    """Headline numbers of one validation table."""
    out: dict = {}
    mic = df[(df.source == "microns") & (df["mode"] == "given+syn")]
    if len(mic):
        out["microns_apical_f1_mean"] = mic.apical_f1.mean()
        out["microns_axon_f1_mean"] = mic.axon_f1.dropna().mean()
        out["microns_apical_f1_rules_mean"] = mic.apical_f1_rules.mean()
        out["microns_axon_f1_rules_mean"] = mic.axon_f1_rules.dropna().mean()
        nos = df[(df.source == "microns") & (df["mode"] == "given")]
        out["microns_no_synapses_apical_f1_mean"] = nos.apical_f1.mean()
        out["microns_no_synapses_axon_f1_mean"] = nos.axon_f1.dropna().mean()
    ext = df[~df.source.isin(["microns", "synthetic"])]
    if len(ext):
        for mode, tag in (("given_eval", "up_given"), ("inferred", "up_none")):
            pyr = ext[(ext["mode"] == mode) & (ext.kind == "pyramidal")]
            if len(pyr):
                out[f"external_apical_f1_{tag}_mean"] = pyr.apical_f1.mean()
                out[f"external_apical_f1_{tag}_rules_mean"] = pyr.apical_f1_rules.mean()
        inf = ext[ext["mode"] == "inferred"]
        traced = inf[inf.axon_vertices >= 500]
        out["external_axon_f1_traced_mean"] = traced.axon_f1.mean()
        out["external_axon_f1_traced_root_tree_mean"] = traced.axon_f1_root_tree.mean()
        out["external_axon_f1_traced_rules_mean"] = traced.axon_f1_rules.mean()
        out["external_traced_cells"] = len(traced)
        inter = inf[inf.kind == "interneuron"]
        out["external_interneuron_dendrite_called_apical"] = inter.dendrite_called_apical.mean()
        out["external_interneuron_dendrite_called_apical_rules"] = inter.dendrite_called_apical_rules.mean()
        out["external_interneurons_with_apical"] = int(inter.has_apical.sum())
        out["external_interneurons"] = len(inter)
        out["external_up_error_deg_median"] = inf[inf.kind == "pyramidal"].up_error_deg.median()
    syn = df[df.source == "synthetic"]
    if len(syn):
        for mode in ("given", "inferred", "given_norad"):
            s = syn[syn["mode"] == mode]
            out[f"synthetic_{mode}_apical_f1_pyramidal_mean"] = s[s.kind == "pyramidal"].apical_f1.mean()
            out[f"synthetic_{mode}_axon_f1_mean"] = s.axon_f1.mean()
            out[f"synthetic_{mode}_interneuron_called_apical"] = s[s.kind == "interneuron"].dendrite_called_apical.mean()
    if len(mic) and DISTRUSTED:  # the same means over the cells whose axon mask passes label_audit.py
        out.update({k: v for k, v in audited_axon_f1(df, DISTRUSTED).items() if "audited" in k})
    return {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


def report_of(rows: pd.DataFrame) -> dict:
    """The held-out report (summaries per validation and the rows) of one or both validation tables."""
    loco, loso = rows[rows.validation == "leave_cell_out"], rows[rows.validation == "leave_source_out"]
    out: dict = {}
    if len(loco):
        out["leave_cell_out"] = summarise(loco)
    if len(loso):
        out["leave_source_out"] = summarise(loso[loso.fold != "all_external"])
        out["leave_all_external_out"] = summarise(loso[loso.fold == "all_external"])
    return {**out, "rows": rows.to_dict(orient="records")}


def combine_reports(paths: list[Path]) -> dict:
    """One report from several ``--report`` files (e.g. a ``--validation cell`` and a ``--validation source`` run)."""
    rows = pd.concat([pd.DataFrame(json.loads(Path(p).read_text())["rows"]) for p in paths], ignore_index=True)
    return report_of(rows)


def per_fold_table(paths: list[Path]) -> pd.DataFrame:
    """Headline numbers (``summarise``) of every outer fold of one or more ``--report`` files, one row per fold
    (session 12: old vs new per fold; a fold's interneuron number is the mean over its own interneurons)."""
    rows = pd.concat([pd.DataFrame(json.loads(Path(p).read_text())["rows"]).assign(report=Path(p).stem)
                      for p in paths], ignore_index=True)
    keys = ["microns_apical_f1_mean", "microns_axon_f1_mean", "external_apical_f1_up_given_mean",
            "external_apical_f1_up_none_mean", "external_axon_f1_traced_mean",
            "external_interneuron_dendrite_called_apical", "external_interneurons_with_apical",
            "external_interneurons"]
    out = [{"report": rep, "validation": val, "fold": fold, **{k: summarise(d).get(k) for k in keys}}
           for (val, fold, rep), d in rows.groupby(["validation", "fold", "report"], sort=False)]
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/compart/cases.pkl"))
    ap.add_argument("--out", type=Path, default=HERE.parent / "models")
    ap.add_argument("--report", type=Path, default=Path("/tmp/compart/cv_report.json"))
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("--fit-only", action="store_true")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--gate-set", choices=sorted(FIXED_SETS), default="shape17+dominance+axon",
                    help="feature set of the fixed gate (default, shipped since session 14: with the axon inputs; "
                         "gate_fit.FIXED_GATE is session 6's, without them)")
    ap.add_argument("--gate", choices=("axon", "fixed", "nested", "mean"), default="fixed",
                    help="has-apical model: one fixed configuration (--gate-set; shipped since session 14); with or "
                         "without the axon inputs, chosen in inner folds (shipped sessions 9-13); chosen in inner "
                         "folds among --nested-*; or averaged")
    ap.add_argument("--nested-sets", default=None,
                    help="comma-separated feature sets (gate_fit.FIXED_SETS) --gate nested chooses among")
    ap.add_argument("--nested-sizes", default=None, help="comma-separated gate_fit.GATE_SIZES for --gate nested")
    ap.add_argument("--nested-rows", default=None, help="comma-separated gate_fit.GATE_ROWS for --gate nested")
    ap.add_argument("--apical-frame-training", action="store_true",
                    help="train the apical and gate models of inverted training cells in their apical frame "
                         "(session 7 experiment, not shipped: see the model card)")
    ap.add_argument("--axon-threshold", default="0.05",
                    help="axon level used when no subtree passes 0.5: a number (default 0.05, shipped: the level "
                         "the inner folds chose for the plain threshold, axon_fit.py) or 'nested' (chosen per fold)")
    ap.add_argument("--axon-levels", default=None,
                    help="comma-separated levels --axon-threshold nested chooses among (default axon_fit.THRESHOLDS)")
    ap.add_argument("--fallback-guard", choices=("on", "off"), default="on",
                    help="the fallback axon never holds the distal end of the apical candidate limb unless it is "
                         "thinner than the rest (on: shipped, session 8; off: session 7)")
    ap.add_argument("--axon-veto", choices=("inner", "off"), default="inner",
                    help="has-apical gate: veto an apical when the decided axon rises above the soma with many times "
                         "the dendrite's cable, the box chosen in inner folds (gate_fit.choose_veto; session 10; "
                         "shipped since session 20 with --veto-evidence and --veto-pure)")
    ap.add_argument("--veto-evidence", default="pvalb_arbor,sst_arbor,ndnf_arbor,pyr_local_axon:12",
                    help="with --axon-veto inner: testing/arbor.py classes (as --arbor-classes, tuning seeds) whose "
                         "gate rows join the veto's inner-fold choice only, never a model's training (session 20; "
                         "default, shipped: pvalb_arbor,sst_arbor,ndnf_arbor,pyr_local_axon:12; '' = none)")
    ap.add_argument("--veto-pure", action=argparse.BooleanOptionalAction, default=True,
                    help="with --axon-veto inner: only boxes holding no row of a cell with an apical are eligible "
                         "(gate_fit.VETO_PURE; session 20, shipped)")
    ap.add_argument("--gate-weights", choices=("cell", "source"), default="source",
                    help="has-apical gate rows: each source group weighs the same (session 13, gate_fit.SOURCE_OF; "
                         "shipped since session 14) or each cell 1 (shipped before)")
    ap.add_argument("--polarity-bf", type=float, default=CompartmentParams().polarity_bayes_factor,
                    help="score the held-out cells with CompartmentParams(polarity_bayes_factor=...) (session 15: "
                         "pieces moved between axon and dendrite by synapse polarity; default the package's, 1e4; "
                         "0 = off, as the session 14 numbers on the model card; the models do not depend on it)")
    ap.add_argument("--validation", choices=("both", "cell", "source"), default="both",
                    help="run leave-cell-out, leave-source-out or both (two processes can share the work; "
                         "combine their --report files with combine_reports)")
    ap.add_argument("--arbor-classes", default=None,
                    help="with --rebuild: add these testing/arbor.py classes (e.g. pvalb_arbor,sst_arbor,ndnf_arbor"
                         "[,pyr_arbor]; session 11, not in the shipped training set; name:n takes tuning seeds 0..n-1, "
                         "e.g. pyr_local_axon:12, session 12)")
    ap.add_argument("--folds", default=None,
                    help="comma-separated fold names to run (default all; e.g. cajal,small_external_repos)")
    ap.add_argument("--held-out-from", default=None,
                    help="with --fit-only: comma-separated --report files whose held-out numbers go to the card, or "
                         "one model sidecar (.json: its held_out_metrics and axon_label_audit as written); default "
                         "the sidecar in --out (a regeneration reproduces the card)")
    ap.add_argument("--audit-from", default=None,
                    help="comma-separated --report files (run with --polarity-bf as given here) whose rows give the "
                         "card's axon-label audit table (model_card.audit_block; default: the held-out report's rows, "
                         "else the sidecar's)")
    ap.add_argument("--vertex-cache", type=Path, default=None,
                    help="scratch pickle of the folds' held-out vertex-model probabilities (reused when present)")
    ap.add_argument("--per-fold", default=None,
                    help="only print the per-fold numbers of these comma-separated --report files")
    ap.add_argument("--axon-shape", action="store_true",
                    help="the axon model also reads the branch-shape inputs (axon_shape.SHAPE_FEATURES; opt-in "
                         "CompartmentParams.axon_shape_model, written as compartment_axon_shape; session 18)")
    ap.add_argument("--axon-l2", action="store_true",
                    help="the axon model also reads the level-2 side-node inputs (axon_l2.L2_FEATURES; opt-in "
                         "CompartmentParams.axon_l2_model, written as compartment_axon_l2; session 19)")
    ap.add_argument("--alt-params", default="",
                    help="comma-separated CompartmentParams field=value: also score every held-out cell with these "
                         "(columns alt_apical_f1, alt_axon_f1 in the report's rows; session 17)")
    ap.add_argument("--axon-audit", choices=("keep", "drop", "relabel"), default="keep",
                    help="MICrONS axon masks label_audit.py distrusts: keep (train on them; shipped), drop (unknown) "
                         "or relabel (label_audit.relabel_distrusted: the segregation axon when it passes the "
                         "audit, else unknown; session 19)")
    args = ap.parse_args(argv)
    ALT_PARAMS.update(parse_params(args.alt_params))
    if args.per_fold:
        print(per_fold_table([Path(p) for p in args.per_fold.split(",")]).round(3).to_string(index=False))
        return 0
    t0 = time.time()
    AXON_THRESHOLD[0] = None if args.axon_threshold == "nested" else float(args.axon_threshold)
    if args.axon_levels:
        LEVELS[:] = [float(x) for x in args.axon_levels.split(",")]
    FALLBACK_KEEPS_APICAL[0] = args.fallback_guard == "on"
    POLARITY_BF[0] = args.polarity_bf
    AXON_VETO[0] = args.axon_veto == "inner"
    VETO_PURE[0] = args.veto_pure
    if args.gate == "axon":
        NESTED.update(AXON_NESTED)
    GATE_MODE[:] = ["nested" if args.gate == "axon" else args.gate] + ([args.gate_set] if args.gate_set else [])
    for key in ("sets", "sizes", "rows"):
        if getattr(args, f"nested_{key}"):
            NESTED[key] = getattr(args, f"nested_{key}").split(",")
    cases = load_cases(args.cache, args.rebuild, tuple(args.arbor_classes.split(",")) if args.arbor_classes else ())
    DISTRUSTED.update(distrusted_cells(cases))
    if args.axon_audit == "drop":  # retraining without the distrusted masks (not how the shipped models were fit)
        for c in cases:
            c.axon = None if c.cell in DISTRUSTED else c.axon
    if args.axon_audit == "relabel":
        swap = relabel_distrusted(cases, DISTRUSTED)
        print(swap[["cell", "replaced", "reasons", "n_candidates", "segregation", "axon_um", "input_ratio",
                    "out_share_axon"]].round(3).to_string(index=False), file=sys.stderr)
    if args.axon_shape:
        AXON_FEATURES[:] = FEATURES + SHAPE_FEATURES
        for c in cases:
            c.prep.features = with_shape(c.prep.features, c.prep.tree)
    if args.axon_l2:
        AXON_FEATURES[:] = FEATURES + L2_FEATURES
        for c in cases:
            c.prep.features = with_l2(c.prep.features, c.prep.tree)
    if args.gate_weights == "source":
        SOURCE_OF.update(source_group_of(cases))
    if args.veto_evidence:  # evaluation rows of the veto's choice (their own source group), never training rows
        from cells import arbor_cases

        ev = [c for c in arbor_cases(tuple(args.veto_evidence.split(","))) if c.mode in TRAIN_MODES]
        VETO_EVIDENCE.append((pd.concat([gate_inputs(c, true_axon(c)) for c in ev], ignore_index=True),
                              np.array([float(c.apical.any()) for c in ev]), [f"veto_{c.cell}" for c in ev]))
        SOURCE_OF.update({f"veto_{c.cell}": "veto_evidence" for c in ev} if SOURCE_OF else {})
    if args.apical_frame_training:
        APICAL_FRAME.update({id(c): apical_frame(c, true_axon) for c in cases if c.mode in TRAIN_MODES})
        moved = [f"{c.cell}|{c.mode}" for c in cases if APICAL_FRAME.get(id(c), c.prep) is not c.prep]
        print(f"apical frame is not up on {len(moved)} training cases: {moved}", file=sys.stderr)
    report: dict = {}
    vc: dict = {}
    if args.vertex_cache is not None and args.vertex_cache.is_file():
        with open(args.vertex_cache, "rb") as fh:
            vc = pickle.load(fh)
    if not args.fit_only:
        tables = []
        keep = args.folds.split(",") if args.folds else None
        runs = ([("leave_cell_out", cell_folds(cases))] if args.validation in ("both", "cell") else []) + \
            ([("leave_source_out", source_folds(cases))] if args.validation in ("both", "source") else [])
        for label, folds in runs:
            for name in (keep or folds):  # one fold at a time (in --folds order); the report is rewritten after each
                if name in folds:
                    tables.append(cross_validate(cases, {name: folds[name]}, label, vc))
                    args.report.parent.mkdir(parents=True, exist_ok=True)
                    args.report.write_text(json.dumps(report_of(pd.concat(tables)), indent=1, default=str))
                    if args.vertex_cache is not None:  # after every fold, so a stopped run leaves its folds
                        with open(args.vertex_cache, "wb") as fh:
                            pickle.dump(vc, fh, protocol=pickle.HIGHEST_PROTOCOL)
        report = report_of(pd.concat(tables))
        print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=1))
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1, default=str))
    variant = "l2" if args.axon_l2 else "shape" if args.axon_shape else None
    audit, seconds = None, None
    if not args.cv_only:
        from model_card import audit_block, held_out_from, write_models

        if report:
            audit = audit_block(pd.DataFrame(report["rows"]), DISTRUSTED, POLARITY_BF[0], str(args.report))
        elif args.held_out_from or (args.out / SIDECAR[variant]).is_file():
            paths = [Path(p) for p in args.held_out_from.split(",")] if args.held_out_from \
                else [args.out / SIDECAR[variant]]
            report, audit, seconds = held_out_from(paths, DISTRUSTED, POLARITY_BF[0])
        if args.audit_from:
            paths = [Path(p) for p in args.audit_from.split(",")]
            audit = audit_block(pd.DataFrame(combine_reports(paths)["rows"]), DISTRUSTED, POLARITY_BF[0],
                                ", ".join(str(p) for p in paths))

        key = ("final", "all", "axon_threshold")  # nested: inner folds over every cell
        if AXON_THRESHOLD[0] is not None:
            choice: tuple = (AXON_THRESHOLD[0], {})
        else:
            choice = vc[key] = vc[key] if key in vc else choose_threshold(cases, fit, TRAIN_MODES)
        write_models(cases, args.out, report, fit, time.time() - t0 if not args.fit_only else seconds, choice,
                     variant, audit)
    print(f"total {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

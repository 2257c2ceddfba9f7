"""Choice of the dendritic E/I model on tune data only (session 9).

Tune data: NEURD's 210 proofread cells (in-distribution 5-fold CV) and synthetic-family cells at TUNE seeds 0-5
(8 classes, 48 cells), decomposed by the engine from mesh and synapse positions (default parameters: hybrid synapse
targets) and truncated to 50-150 µm of branches (``engine_truncation.replicate_rows``; tables in
``engine_branches_tune/``). Held out, never used for the choice: the 210-cell shift splits of ``shift.py``, the
engine cells at seeds 1000-1003 (``engine_branches/``) and the real cell.

Adoption rule (written before the held-out run):
1. ``tune_engine`` = accuracy on the truncated replicates of the tune-seed engine cells (a candidate that trains on
   tune engine cells is cross-fitted over 3 folds of 2 seeds: no cell is scored by a model that saw it);
   ``cv5`` = stratified 5-fold out-of-fold accuracy on the 210 cells.
2. A shippable candidate qualifies when its ``tune_engine`` and ``cv5`` accuracies are both at least NEURD's rule's.
3. Among qualifiers: best ``tune_engine``, then best ``cv5``, then fewer inputs, then list order.
4. No qualifier: NEURD's rule itself ships (calibrated by a temperature on its 210-cell probabilities).

Pooled candidates (``pooled_*``) train on the 210 cells plus the tune engine replicates, each engine cell counting
as one cell (replicate weight 1 / its replicates), with the penalty chosen by an inner 3-fold CV grouped by cell.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from neurd_lite.celltype.linear import (anchored_params, fit_signed_logistic, linear_proba, params_from_raw,
                                       raw_coefficients)

HERE = Path(__file__).resolve().parent
TUNE_BRANCHES = HERE / "engine_branches_tune"
TUNE_SEED_FOLDS = 3
TUNE_SPLIT, CV_SPLIT = "tune_engine", "cv5"


def _module(stem: str) -> Any:
    """``shift`` / ``engine_truncation`` under the names train.py registers them with."""
    import importlib.util

    name = f"_neurd_lite_dendritic_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{stem}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


shift = _module("shift")
engine_truncation = _module("engine_truncation")


def tune_rows(cache: Path = TUNE_BRANCHES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(truncated replicates, full-length cells) of the tune-seed engine cells (``replicate_rows``)."""
    return engine_truncation.replicate_rows(cache)


# --- pooled candidates ------------------------------------------------------------------------------------------

def _pooled_design(x: pd.DataFrame, y: np.ndarray, engine: pd.DataFrame, features: list[str]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, labels, weights, groups): the 210-cell rows (weight 1, one group each) then the engine replicates
    (weight 1 / replicates of their cell, one group per cell)."""
    xs = pd.concat([shift.with_derived(x)[features], shift.with_derived(engine)[features]]).to_numpy(dtype=float)
    cells = pd.factorize(engine["cell"])[0] if len(engine) else np.zeros(0, int)
    return (xs, np.r_[y, engine["y"].to_numpy(int)], np.r_[np.ones(len(x)), engine["weight"].to_numpy(float)],
            np.r_[np.arange(len(x)), len(x) + cells])


def _weighted_scores(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(weighted balanced accuracy, weighted class-balanced log-loss) of P(class 1) ``p``."""
    acc = [float(np.average((p[y == k] >= 0.5) == k, weights=w[y == k])) for k in (0, 1)]
    q = np.clip(np.where(y == 1, p, 1 - p), 1e-9, 1.0)
    loss = [float(np.average(-np.log(q[y == k]), weights=w[y == k])) for k in (0, 1)]
    return float(np.mean(acc)), float(np.mean(loss))


def choose_c_grouped(xs: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray, signs: list[int],
                     grid: tuple[float, ...], offset: np.ndarray | None = None, criterion: str = "balanced_accuracy",
                     seed: int = 1) -> float:
    """Inverse L2 strength by inner 3-fold CV grouped by cell (stratified), best weighted balanced accuracy or
    (``criterion="logloss"``) weighted balanced log-loss; ties to the stronger penalty (grid ascending)."""
    from sklearn.model_selection import StratifiedGroupKFold

    folds = list(StratifiedGroupKFold(3, shuffle=True, random_state=seed).split(xs, y, groups))
    off = np.zeros(len(y)) if offset is None else offset
    scores = []
    for c in grid:
        oof = np.zeros(len(y))
        for tr, te in folds:
            prm = fit_signed_logistic(xs[tr], y[tr], signs, c, None if offset is None else off[tr], w[tr])
            t = shift._logit(linear_proba(prm, xs[te], 2)[:, 1]) + off[te]
            oof[te] = 1.0 / (1.0 + np.exp(-t))
        acc, loss = _weighted_scores(oof, y, w)
        scores.append(-round(loss, 4) if criterion == "logloss" else round(acc, 4))
    return grid[int(np.argmax(scores))]


def pooled_params(x: pd.DataFrame, y: np.ndarray, engine: pd.DataFrame, features: list[str],
                  anchored: bool = False) -> dict[str, Any]:
    """Sign-constrained logistic on the pooled rows (``_pooled_design``); ``anchored``: NEURD's rule plus a
    penalised correction (penalty by grouped inner log-loss, towards the rule), folded into one plain model."""
    signs = [shift.SIGNS[f] for f in features]
    xs, yy, w, g = _pooled_design(x, y, engine, features)
    if not anchored:
        c = choose_c_grouped(xs, yy, w, g, signs, shift.C_GRID)
        return fit_signed_logistic(xs, yy, signs, c, sample_weight=w)
    both = pd.concat([x[[shift.SHAFT, shift.SPINE]], engine[[shift.SHAFT, shift.SPINE]]])
    off = shift.neurd_logit(both)
    c = choose_c_grouped(xs, yy, w, g, signs, shift.ANCHOR_C_GRID, offset=off, criterion="logloss")
    corr = fit_signed_logistic(xs, yy, signs, c, offset=off, sample_weight=w)
    return anchored_params(corr, [shift.NEURD_COEF.get(f, 0.0) for f in features], shift.NEURD_INTERCEPT)


def pooled_blend_params(x: pd.DataFrame, y: np.ndarray, engine: pd.DataFrame, w: float) -> dict[str, Any]:
    """log-odds = w x NEURD's rule + (1 - w) x the ratio logistic fitted on the pooled rows (``pooled_params`` on
    ln(spines per shaft synapse)): ``shift.rule_ratio_blend_params`` with the engine cells in the ratio part."""
    feats = [shift.SHAFT, shift.SPINE, shift.RATIO]
    ratio = pooled_params(x, y, engine, [shift.RATIO])
    (a,), b = raw_coefficients(ratio)
    coef = [w * shift.NEURD_COEF[shift.SHAFT], w * shift.NEURD_COEF[shift.SPINE], (1 - w) * float(a)]
    out = params_from_raw(coef, w * shift.NEURD_INTERCEPT + (1 - w) * b,
                          shift.with_derived(x)[feats].to_numpy(dtype=float))
    return dict(out, C=ratio["C"], rule_weight=w, ratio_part={"coef": float(a), "intercept": float(b),
                                                            "C": ratio["C"]})


#: name -> (features, anchored (bool) or the rule weight of a blend (float), description) of the pooled candidates.
POOLED = {
    "pooled_signed_2": ([shift.SHAFT, shift.SPINE], False,
                        "logistic, shaft (+) and spine (-) densities, sign-constrained, fitted on the 210 cells plus "
                        "tune-seed engine cells truncated to 50-150 µm (C by grouped inner CV)"),
    "pooled_signed_3": ([shift.SHAFT, shift.SPINE, shift.RATIO], False,
                        "logistic, shaft (+), spine (-) and ln(spines per shaft synapse) (-), sign-constrained, "
                        "fitted on the 210 cells plus tune-seed engine cells truncated to 50-150 µm (C by grouped "
                        "inner CV)"),
    "pooled_anchored_3": ([shift.SHAFT, shift.SPINE, shift.RATIO], True,
                          "NEURD's rule plus a sign-constrained correction on shaft (+), spine (-) and ln(spines per "
                          "shaft synapse) (-), fitted on the 210 cells plus tune-seed engine cells truncated to "
                          "50-150 µm (penalty towards the rule by grouped inner log-loss)"),
    **{f"pooled_blend_{w:g}": ([shift.SHAFT, shift.SPINE, shift.RATIO], w,
                               f"log-odds = {w:g} x NEURD's rule + {1 - w:g} x the ratio logistic fitted on the 210 "
                               "cells plus tune-seed engine cells truncated to 50-150 µm (C by grouped inner CV); "
                               "monotone in shaft (+), spine (-) and spines per shaft synapse (-)")
       for w in (0.5, 0.75)},
}


def pooled_candidate(name: str, engine: pd.DataFrame) -> Any:
    """The pooled candidate ``name`` whose fits add the engine rows ``engine`` to their training cells."""
    features, anchored, description = POOLED[name]

    def prm(x: pd.DataFrame, y: np.ndarray) -> dict[str, Any]:
        fitted = (pooled_params(x, y, engine, features, anchored) if isinstance(anchored, bool)
                  else pooled_blend_params(x, y, engine, anchored))
        return dict(fitted, signs=[shift.SIGNS[f] for f in features])

    def fit(x: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        p = prm(x, y)
        return lambda t: linear_proba(p, shift.with_derived(t)[features].to_numpy(dtype=float), 2)[:, 1]
    return shift.Candidate(name, features, fit, description, params=prm)


def candidates(engine: pd.DataFrame) -> list[Any]:
    """Every candidate of the choice: ``shift.candidates()`` then the pooled ones (trained with ``engine``)."""
    return shift.candidates() + [pooled_candidate(n, engine) for n in POOLED]


# --- tune scores and the adoption rule --------------------------------------------------------------------------

def tune_scores(cands: list[Any], d: pd.DataFrame, reps: pd.DataFrame, full: pd.DataFrame,
                oof: dict[str, np.ndarray] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """{``tune_engine`` | ``cv5``: {candidate: scores}}. Pooled candidates are cross-fitted on the tune engine
    cells (seed folds); others are fitted on all 210 cells. ``oof`` receives each candidate's cv5 out-of-fold
    P(inhibitory)."""
    y = d["y"].to_numpy()
    seeds = np.array(sorted(reps["seed"].unique()))
    seed_fold = {s: i % TUNE_SEED_FOLDS for i, s in enumerate(seeds)}
    folds = shift._folds(y, 5, 0)
    res: dict[str, dict[str, dict[str, Any]]] = {TUNE_SPLIT: {}, CV_SPLIT: {}}
    for cand in cands:
        if set(cand.features) <= engine_truncation.TWO_DENSITY:
            if cand.name in POOLED:
                p_rep, p_full = np.zeros(len(reps)), np.zeros(len(full))
                for k in range(TUNE_SEED_FOLDS):
                    out_r, out_f = (reps["seed"].map(seed_fold) == k).to_numpy(), (full["seed"].map(seed_fold) == k
                                                                                  ).to_numpy()
                    if not out_r.any():
                        continue
                    predict = pooled_candidate(cand.name, reps[~out_r]).fit(d, y)
                    p_rep[out_r], p_full[out_f] = predict(reps[out_r]), predict(full[out_f])
            else:
                predict = cand.fit(d, y)
                p_rep, p_full = predict(reps), predict(full)
            res[TUNE_SPLIT][cand.name] = engine_truncation.truncated_scores(p_rep, reps, p_full, full)
        oof_c = np.zeros(len(d))
        for tr, te in folds:
            oof_c[te] = cand.fit(d.iloc[tr], y[tr])(d.iloc[te])
        res[CV_SPLIT][cand.name] = shift._scores(y, oof_c)
        if oof is not None:
            oof[cand.name] = oof_c
        print(f"tune {cand.name}: engine {res[TUNE_SPLIT].get(cand.name, {}).get('accuracy')} cv5 "
              f"{res[CV_SPLIT][cand.name]['accuracy']}", file=sys.stderr, flush=True)
    return res


def shippable(cand: Any) -> bool:
    """A candidate that can ship: a JSON logistic model, a LightGBM model or the rule, on inputs
    ``classify_dendritic`` computes (engine dendritic densities and the spines-per-shaft-synapse ratio)."""
    from neurd_lite.celltype.columns import ENGINE_DENDRITIC, SPINE_SHAFT_RATIO

    return cand.kind in ("logistic", "lightgbm", "rule") and set(cand.features) <= set(ENGINE_DENDRITIC) | {
        SPINE_SHAFT_RATIO}


def pick(scores: dict[str, dict[str, dict[str, Any]]], cands: list[Any], shippable: tuple[str, ...],
         baseline: str = "neurd_rule") -> tuple[str, str]:
    """The adoption rule of the module docstring. Returns (name, reason)."""
    eng, cv = scores[TUNE_SPLIT], scores[CV_SPLIT]
    base = (eng[baseline]["accuracy"], cv[baseline]["accuracy"])
    order = [c.name for c in cands]
    n_in = {c.name: len(c.features) for c in cands}
    ok = [c for c in order if c != baseline and c in shippable and c in eng
          and eng[c]["accuracy"] >= base[0] and cv[c]["accuracy"] >= base[1]]
    if not ok:
        return baseline, (f"no shippable candidate was at least as accurate as {baseline} on both tune scores "
                          f"(tune-seed engine cells {base[0]:.4f}, 210-cell cv5 {base[1]:.4f}): the rule ships")
    best = sorted(ok, key=lambda c: (-eng[c]["accuracy"], -cv[c]["accuracy"], n_in[c], order.index(c)))[0]
    return best, (f"best tune-seed engine accuracy ({eng[best]['accuracy']:.4f}; cv5 {cv[best]['accuracy']:.4f}) "
                  f"among {len(ok)} candidates at least as accurate as {baseline} ({base[0]:.4f} / {base[1]:.4f}) "
                  f"on both tune scores: {', '.join(ok)}")


def main() -> int:
    """Tune scores and the choice only (no held-out split is computed): ``python classifiers/dendritic/tune.py``."""
    import json

    d = shift.load_cells()
    reps, full = tune_rows()
    cands = candidates(reps)
    scores = tune_scores(cands, d, reps, full)
    name, reason = pick(scores, cands, tuple(c.name for c in cands if shippable(c)))
    table = pd.DataFrame({s: {c: v["accuracy"] for c, v in scores[s].items()} for s in scores})
    print(table.to_string())
    print(f"choice: {name}: {reason}")
    out = Path("/tmp/dendritic/tune_choice.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"scores": scores, "choice": name, "reason": reason}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

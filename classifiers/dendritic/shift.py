"""Shift tests for dendritic E/I models on NEURD's 210 proofread cells (and truncated copies of them).

Every candidate is refitted inside every split on the training cells only (its regularisation chosen by an inner
3-fold CV on those cells); test cells are never seen. Splits:

- ``cv5``: in-distribution stratified 5-fold CV (reference, not the selection criterion).
- ``near_neurd_margin``: test = the 25% of cells with the smallest |NEURD rule log-odds| (computed from features
  only, no labels), train = the other 75% ("far" cells).
- ``near_crossfit_score``: the same with our own cross-fitted score (5-fold plain logistic on all five densities;
  a cell's score comes from a model that never saw its label).
- ``tail_label_selected``: a stress test that mimics the border set described in issue 19 (excitatory cells
  with few spines, inhibitory cells with many): test = the 20% of excitatory cells with the lowest spine density
  and the 20% of inhibitory cells with the highest. Selected WITH the labels, so it is reported separately.
- ``truncated_50_150um``: 5-fold; train on the full-length features of the training folds, test on the held-out
  cells truncated to L ~ U(50, 150) µm of dendrite: each count (spines; head, neck, shaft and other synapses) is
  binomially thinned with p = L / (measured length) and divided by L; 20 replicates per cell.
- ``layers_upper_to_deep`` / ``layers_deep_to_upper``: train on somas above / below the L4|L5 boundary
  (``layer_position`` < 3 from the v83 soma position), test on the others.

NEURD's rule is fixed (its hand-set coefficients were tuned on these same 210 cells, so it is in-sample on every
split here: a favourable baseline to beat).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from neurd_lite.celltype.columns import SPINE_SHAFT_RATIO, dendritic_derived
from neurd_lite.celltype.linear import (anchored_params, fit_linear, fit_signed_logistic, linear_proba,
                                       params_from_raw, raw_coefficients)
from neurd_lite.celltype.training import DEFAULT_PARAMS, EI_FILE, load_dendritic_labelled, read_v83

SHAFT, SPINE, HEAD = "neurd_syn_density_shaft_per_um", "neurd_spine_density_per_um", "neurd_syn_density_head_per_um"
POST, NECK = "neurd_syn_density_post_per_um", "neurd_syn_density_neck_per_um"
RATIO, LOG_SHAFT, LOG_SPINE = SPINE_SHAFT_RATIO, "log_shaft_density", "log_spine_density"
ALL5 = [POST, HEAD, NECK, SHAFT, SPINE]
#: Sign of each feature's effect on P(inhibitory) where biology gives one (0: no constraint).
SIGNS = {SHAFT: 1, SPINE: -1, HEAD: -1, POST: 0, NECK: 0, RATIO: -1, LOG_SHAFT: 1, LOG_SPINE: -1}


def with_derived(t: pd.DataFrame) -> pd.DataFrame:
    """``t`` plus the derived inputs some candidates use (the shipped ratio and two log densities)."""
    out = t.copy()
    out[RATIO] = dendritic_derived(t)[RATIO]
    out[LOG_SHAFT] = np.log(t[SHAFT] + 0.01)
    out[LOG_SPINE] = np.log(t[SPINE] + 0.01)
    return out
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
#: Inverse penalty of the correction to NEURD's rule (``rule_anchored``): the smallest gives back the rule itself.
ANCHOR_C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
LGB_GRID = ({"num_leaves": 3, "num_boost_round": 60}, {"num_leaves": 3, "num_boost_round": 200},
            {"num_leaves": 6, "num_boost_round": 60}, {"num_leaves": 6, "num_boost_round": 200})
NEURD_COEF = {SHAFT: 3.2245, SPINE: -4.7}
NEURD_INTERCEPT = -1.2


def neurd_logit(x: pd.DataFrame) -> np.ndarray:
    """NEURD's hand-set log-odds of inhibitory (> 0: inhibitory)."""
    return NEURD_INTERCEPT + sum(c * x[f].to_numpy(dtype=float) for f, c in NEURD_COEF.items())


def load_cells() -> pd.DataFrame:
    """The 210 cells: engine features, ``y`` (1 = inhibitory), lengths (µm), counts and ``layer_position``."""
    from neurd_lite.celltype.layers import layer_features
    from neurd_lite.celltype.columns import to_engine
    from neurd_lite.data import data_path

    d = load_dendritic_labelled()
    raw = pd.read_csv(data_path(EI_FILE))
    d["y"] = (d["ei"] == "inhibitory").astype(int).to_numpy()
    d["len_syn_um"] = raw["skeletal_length_processed_syn"].to_numpy() / 1000.0
    d["len_spine_um"] = raw["skeletal_length_processed_spine"].to_numpy() / 1000.0
    v83 = read_v83(["nucleus_id", "soma_x", "soma_y", "soma_z", "yr_um_translated"])
    pos = to_engine(v83.drop_duplicates("nucleus_id").set_index("nucleus_id").reindex(d["nucleus_id"])
                    .reset_index())
    d["layer_position"] = layer_features(pos)["layer_position"].to_numpy()
    return d


# --- candidates -----------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    """A named model family: ``fit(x, y) -> predict(x) -> P(inhibitory)``; ``params(x, y)`` for shipping."""

    name: str
    features: list[str]
    fit: Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], np.ndarray]]
    description: str
    kind: str = "logistic"  # how it ships: "logistic" (JSON coefficients), "lightgbm", "rule" or "" (not shippable)
    params: Callable[[pd.DataFrame, np.ndarray], dict[str, Any]] | None = None  # JSON parameters (logistic kind)


def _folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    k = int(min(k, np.bincount(y).min()))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _logloss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    w = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    return float(np.mean(-w * (y * np.log(p) + (1 - y) * np.log(1 - p))))


def choose_c(x: np.ndarray, y: np.ndarray, signs: list[int], seed: int = 1, offset: np.ndarray | None = None,
             grid: tuple[float, ...] = C_GRID, criterion: str = "balanced_accuracy") -> float:
    """Inverse L2 strength with the best inner 3-fold balanced accuracy, ties to the stronger penalty (on nearly
    separable cells many C tie; the strongest penalty keeps the boundary between the class means, or, with an
    ``offset``, gives back the offset model). ``criterion="logloss"``: the best class-balanced inner log-loss."""
    scores = []
    folds = _folds(y, 3, seed)
    off = np.zeros(len(y)) if offset is None else offset
    for c in grid:
        oof = np.zeros(len(y))
        for tr, te in folds:
            prm = fit_signed_logistic(x[tr], y[tr], signs, c, None if offset is None else off[tr])
            oof[te] = 1.0 / (1.0 + np.exp(-(_logit(linear_proba(prm, x[te], 2)[:, 1]) + off[te])))
        if criterion == "logloss":
            scores.append(-round(_logloss(oof, y), 4))
        else:
            scores.append(round(float(np.mean([np.mean((oof[y == k] >= 0.5) == k) for k in (0, 1)])), 4))
    return grid[int(np.argmax(scores))]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def anchored_logistic_params(x: pd.DataFrame, y: np.ndarray, features: list[str],
                             criterion: str = "logloss") -> dict[str, Any]:
    """NEURD's rule plus a sign-constrained, L2-penalised logistic correction on ``features`` (intercept penalised
    too), C by inner CV from ``ANCHOR_C_GRID`` (best class-balanced log-loss by default: accuracy ties on nearly
    separable cells; ties to the strongest penalty, i.e. towards the rule itself).
    Returned as one plain logistic model on ``features`` (the rule's coefficients folded in)."""
    if not set(NEURD_COEF) <= set(features):
        raise ValueError(f"the rule's inputs {sorted(NEURD_COEF)} must be among the features {features}")
    signs = [SIGNS[f] for f in features]
    xs = with_derived(x)[features].to_numpy(dtype=float)
    off = neurd_logit(x)
    c = choose_c(xs, y, signs, offset=off, grid=ANCHOR_C_GRID, criterion=criterion)
    corr = fit_signed_logistic(xs, y, signs, c, offset=off)
    return anchored_params(corr, [NEURD_COEF.get(f, 0.0) for f in features], NEURD_INTERCEPT)


def signed_logistic_params(x: pd.DataFrame, y: np.ndarray, features: list[str]) -> dict[str, Any]:
    """Sign-constrained logistic parameters with C chosen by inner CV on (x, y)."""
    signs = [SIGNS[f] for f in features]
    xs = with_derived(x)[features].to_numpy(dtype=float)
    return fit_signed_logistic(xs, y, signs, choose_c(xs, y, signs))


#: Weights of NEURD's rule in the rule / ratio blends (1 would be the rule, 0 the ratio logistic).
BLEND_RULE_WEIGHTS = (0.25, 0.5, 0.75)


def rule_ratio_blend_params(x: pd.DataFrame, y: np.ndarray, features: list[str], w: float) -> dict[str, Any]:
    """log-odds = w x NEURD's rule + (1 - w) x the ratio logistic (``signed_logistic_params`` on ln(spines per shaft
    synapse), C by inner CV on (x, y)): one plain logistic model on ``features`` = [shaft, spine, ratio]. Both parts
    are monotone with the right signs, so the blend is too; w = 1 is the rule, w = 0 the ratio model."""
    if list(features) != [SHAFT, SPINE, RATIO]:
        raise ValueError(f"the blend's features are {[SHAFT, SPINE, RATIO]}, got {features}")
    ratio = signed_logistic_params(x, y, [RATIO])
    (a,), b = raw_coefficients(ratio)
    coef = [w * NEURD_COEF[SHAFT], w * NEURD_COEF[SPINE], (1 - w) * float(a)]
    out = params_from_raw(coef, w * NEURD_INTERCEPT + (1 - w) * b, with_derived(x)[features].to_numpy(dtype=float))
    return dict(out, C=ratio["C"], signs=[SIGNS[f] for f in features], rule_weight=w,
                ratio_part={"coef": float(a), "intercept": float(b), "C": ratio["C"]})


def _logistic(params: Callable[[pd.DataFrame, np.ndarray, list[str]], dict[str, Any]],
              features: list[str]) -> tuple[Callable, Callable]:
    """(fit, params) of a JSON-logistic candidate on ``features``."""
    def prm_fn(x: pd.DataFrame, y: np.ndarray) -> dict[str, Any]:
        return params(x, y, features)

    def fit(x: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        prm = prm_fn(x, y)
        return lambda t: linear_proba(prm, with_derived(t)[features].to_numpy(dtype=float), 2)[:, 1]
    return fit, prm_fn


def _signed(name: str, features: list[str], description: str,
            params: Callable[[pd.DataFrame, np.ndarray, list[str]], dict[str, Any]] | None = None) -> Candidate:
    fit, prm = _logistic(params or signed_logistic_params, features)
    return Candidate(name, features, fit, description, params=prm)


def lgbm_params(features: list[str]) -> dict[str, Any]:
    """LightGBM parameters with monotone constraints from ``SIGNS``."""
    return dict(DEFAULT_PARAMS, objective="binary", min_child_samples=10, lambda_l2=1.0,
                monotone_constraints=[SIGNS[f] for f in features], monotone_constraints_method="intermediate")


def choose_lgbm(x: pd.DataFrame, y: np.ndarray, features: list[str], seed: int = 1) -> dict[str, int]:
    """Grid entry of ``LGB_GRID`` with the best inner 3-fold class-balanced log-loss."""
    import lightgbm as lgb

    from neurd_lite.celltype.training import balanced_weights

    oofs = [np.zeros(len(y)) for _ in LGB_GRID]
    for tr, te in _folds(y, 3, seed):
        for nl in sorted({g["num_leaves"] for g in LGB_GRID}):
            members = [i for i, g in enumerate(LGB_GRID) if g["num_leaves"] == nl]
            rounds = max(LGB_GRID[i]["num_boost_round"] for i in members)
            ds = lgb.Dataset(x.iloc[tr][features], label=y[tr], weight=balanced_weights(y[tr]))
            b = lgb.train(dict(lgbm_params(features), num_leaves=nl), ds, num_boost_round=rounds)
            for i in members:
                oofs[i][te] = b.predict(x.iloc[te][features], num_iteration=LGB_GRID[i]["num_boost_round"],
                                        num_threads=1)
    return LGB_GRID[int(np.argmin([round(_logloss(o, y), 4) for o in oofs]))]


def fit_monotone_lgbm(x: pd.DataFrame, y: np.ndarray, features: list[str], cfg: dict[str, int]) -> Any:
    """Monotone-constrained, class-balanced LightGBM booster for configuration ``cfg``."""
    import lightgbm as lgb

    from neurd_lite.celltype.training import balanced_weights

    ds = lgb.Dataset(x[features], label=y, weight=balanced_weights(y))
    return lgb.train(dict(lgbm_params(features), num_leaves=cfg["num_leaves"]), ds,
                     num_boost_round=cfg["num_boost_round"])


def _monotone_lgbm(features: list[str]) -> Callable:
    def fit(x: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        b = fit_monotone_lgbm(x, y, features, choose_lgbm(x, y, features))
        return lambda t: b.predict(t[features], num_threads=1)
    return fit


def _session3_blend(x: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    """The model shipped before (5 densities, unconstrained LightGBM + logistic blend, inner-CV choices)."""
    from neurd_lite.celltype.training import blend_proba, fit_blend, select_config

    grid = ({"num_leaves": 4, "num_boost_round": 50}, {"num_leaves": 4, "num_boost_round": 200},
            {"num_leaves": 8, "num_boost_round": 50}, {"num_leaves": 8, "num_boost_round": 200})
    params = {"min_child_samples": 10}
    cfg, _ = select_config(x[ALL5], y, 2, grid, params=params)
    booster, lin = fit_blend(x[ALL5], y, 2, cfg, params)
    return lambda t: blend_proba(booster, lin, t[ALL5], 2)[:, 1]


def _neurd_rule(x: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda t: 1.0 / (1.0 + np.exp(-neurd_logit(t)))


def candidates() -> list[Candidate]:
    """The model families compared on the shift tests."""
    two, three, anchored = [SHAFT, SPINE], [SHAFT, SPINE, HEAD], [SHAFT, SPINE, RATIO]
    return [
        Candidate("neurd_rule", two, _neurd_rule, "NEURD's hand-set rule 3.2245 shaft - 4.7 spine - 1.2 (fixed)",
                  "rule"),
        _signed("rule_anchored", anchored, "NEURD's rule plus a sign-constrained logistic correction on shaft (+), "
                "spine (-) and ln(spines per shaft synapse) (-), penalty (towards the rule) by inner CV",
                anchored_logistic_params),
        _signed("ratio_logistic", [RATIO], "logistic on ln(spines per shaft synapse) (-), C by inner CV"),
        *[_signed(f"rule_ratio_blend_{w:g}", [SHAFT, SPINE, RATIO],
                  f"log-odds = {w:g} x NEURD's rule + {1 - w:g} x the ratio logistic (C by inner CV); monotone in "
                  "shaft (+), spine (-) and spines per shaft synapse (-)",
                  lambda x, y, f, w=w: rule_ratio_blend_params(x, y, f, w)) for w in BLEND_RULE_WEIGHTS],
        _signed("signed_logistic_log2", [LOG_SHAFT, LOG_SPINE],
                "logistic on ln(shaft density) (+) and ln(spine density) (-), C by inner CV"),
        _signed("signed_logistic_2", two, "logistic, shaft (+) and spine (-) densities, sign-constrained, C by inner CV"),
        _signed("signed_logistic_3", three,
                "logistic, shaft (+), spine (-), head-synapse (-) densities, sign-constrained, C by inner CV"),
        Candidate("monotone_lgbm_2", two, _monotone_lgbm(two), "LightGBM monotone in shaft (+) and spine (-)",
                  "lightgbm"),
        Candidate("monotone_lgbm_3", three, _monotone_lgbm(three),
                  "LightGBM monotone in shaft (+), spine (-), head (-)", "lightgbm"),
        Candidate("session3_blend_5", ALL5, _session3_blend,
                  "the previously shipped model: 5 densities, unconstrained LightGBM + logistic blend", ""),
    ]


# --- splits ---------------------------------------------------------------------------------------------------

def truncate(d: pd.DataFrame, rng: np.random.Generator, lo_um: float = 50.0, hi_um: float = 150.0) -> pd.DataFrame:
    """Densities recomputed as if only L ~ U(lo, hi) µm of each cell's dendrite had been reconstructed: counts
    (density x measured length) binomially thinned with p = L / length, divided by L."""
    out = d.copy()
    n = len(d)
    length = rng.uniform(lo_um, hi_um, n)
    for col, len_col in ((SPINE, "len_spine_um"),):
        count = np.rint(d[col].to_numpy() * d[len_col].to_numpy()).astype(int)
        out[col] = rng.binomial(count, np.minimum(length / d[len_col].to_numpy(), 1.0)) / length
    p = np.minimum(length / d["len_syn_um"].to_numpy(), 1.0)
    parts = {c: np.rint(d[c].to_numpy() * d["len_syn_um"].to_numpy()).astype(int) for c in (HEAD, NECK, SHAFT)}
    other = np.maximum(np.rint(d[POST].to_numpy() * d["len_syn_um"].to_numpy()).astype(int)
                       - sum(parts.values()), 0)
    kept = {c: rng.binomial(v, p) for c, v in parts.items()}
    for c, v in kept.items():
        out[c] = v / length
    out[POST] = (sum(kept.values()) + rng.binomial(other, p)) / length
    out["len_syn_um"] = out["len_spine_um"] = length
    return out


def crossfit_score(d: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Cross-fitted log-odds of a plain logistic on the five densities (5-fold; a cell never scores itself)."""
    y = d["y"].to_numpy()
    out = np.zeros(len(d))
    for tr, te in _folds(y, 5, seed):
        p = linear_proba(fit_linear(d[ALL5].iloc[tr], y[tr]), d[ALL5].iloc[te], 2)[:, 1]
        out[te] = np.log(np.clip(p, 1e-9, 1)) - np.log(np.clip(1 - p, 1e-9, 1))
    return out


def splits(d: pd.DataFrame, near_fraction: float = 0.25, tail_fraction: float = 0.2
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named (train mask, test mask) pairs of the one-shot shift splits (see module docstring)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, margin in (("near_neurd_margin", np.abs(neurd_logit(d))),
                         ("near_crossfit_score", np.abs(crossfit_score(d)))):
        near = margin <= np.quantile(margin, near_fraction)
        out[name] = (~near, near)
    y, spine = d["y"].to_numpy(), d[SPINE].to_numpy()
    tail = np.zeros(len(d), bool)
    tail[y == 0] = spine[y == 0] <= np.quantile(spine[y == 0], tail_fraction)
    tail[y == 1] = spine[y == 1] >= np.quantile(spine[y == 1], 1 - tail_fraction)
    out["tail_label_selected"] = (~tail, tail)
    lp = d["layer_position"].to_numpy()
    known = np.isfinite(lp)
    out["layers_upper_to_deep"] = (known & (lp < 3.0), known & (lp >= 3.0))
    out["layers_deep_to_upper"] = (known & (lp >= 3.0), known & (lp < 3.0))
    return out


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    pred = (p >= 0.5).astype(int)
    rec = [float(np.mean(pred[y == k] == k)) for k in (0, 1) if np.any(y == k)]
    return {"accuracy": round(float(np.mean(pred == y)), 4), "balanced_accuracy": round(float(np.mean(rec)), 4),
            "recall_excitatory": round(rec[0], 4) if np.any(y == 0) else None,
            "recall_inhibitory": round(rec[-1], 4) if np.any(y == 1) else None, "n": int(len(y)),
            "n_inhibitory": int(y.sum())}


def run(d: pd.DataFrame | None = None, n_replicates: int = 20, seed: int = 0,
        cands: list[Candidate] | None = None, oof: dict[str, np.ndarray] | None = None
        ) -> dict[str, dict[str, dict[str, float]]]:
    """{split: {candidate: scores}} for every split and candidate (models refitted per split). ``oof``, when
    given, receives each candidate's out-of-fold P(inhibitory) of the ``cv5`` split."""
    d = load_cells() if d is None else d
    cands = candidates() if cands is None else cands
    y = d["y"].to_numpy()
    res: dict[str, dict[str, dict[str, float]]] = {}
    folds = _folds(y, 5, seed)
    rng = np.random.default_rng(seed)
    truncated = [truncate(d, rng) for _ in range(n_replicates)]
    res["cv5"], res["truncated_50_150um"] = {}, {}
    for cand in cands:
        oof_c = np.zeros(len(d))
        trunc = np.zeros((n_replicates, len(d)))
        for tr, te in folds:
            predict = cand.fit(d.iloc[tr], y[tr])
            oof_c[te] = predict(d.iloc[te])
            for r, t in enumerate(truncated):
                trunc[r, te] = predict(t.iloc[te])
        res["cv5"][cand.name] = _scores(y, oof_c)
        if oof is not None:
            oof[cand.name] = oof_c
        per_rep = [_scores(y, trunc[r]) for r in range(n_replicates)]
        res["truncated_50_150um"][cand.name] = {
            k: round(float(np.mean([s[k] for s in per_rep])), 4) for k in per_rep[0] if k not in ("n", "n_inhibitory")}
        res["truncated_50_150um"][cand.name].update(n=len(d) * n_replicates, n_inhibitory=int(y.sum()) * n_replicates)
    for name, (tr, te) in splits(d).items():
        res[name] = {}
        for cand in cands:
            predict = cand.fit(d[tr], y[tr])
            res[name][cand.name] = _scores(y[te], predict(d[te]))
    return res


def shift_splits(res: dict[str, Any]) -> list[str]:
    """The shift splits (every split but the in-distribution ``cv5``)."""
    return [s for s in res if s != "cv5"]


def pick_winner(res: dict[str, dict[str, dict[str, float]]], baseline: str = "neurd_rule",
                shippable: tuple[str, ...] = ()) -> tuple[str, str]:
    """The shippable candidate with the best mean shift-split accuracy among those at least as accurate as
    ``baseline`` on every shift split (a candidate missing a split does not qualify; ties to the first listed);
    the baseline itself when none qualifies.
    Returns (name, reason)."""
    splits_ = shift_splits(res)
    base = {s: res[s][baseline]["accuracy"] for s in splits_}
    ok = [c for c in res["cv5"] if c != baseline and c in shippable
          and all(c in res[s] and res[s][c]["accuracy"] >= base[s] for s in splits_)]
    if not ok:
        return baseline, f"no candidate matched {baseline} on every shift split"
    mean = {c: np.mean([res[s][c]["accuracy"] for s in splits_]) for c in ok}
    best = max(ok, key=lambda c: (round(mean[c], 4), -ok.index(c)))
    return best, (f"best mean shift accuracy ({mean[best]:.4f}) among {len(ok)} candidates at least as accurate as "
                  f"{baseline} on all {len(splits_)} shift splits: {', '.join(ok)}")


def headline(res: dict[str, dict[str, dict[str, float]]], metric: str = "accuracy",
             exclude: tuple[str, ...] = ("cv5",)) -> pd.DataFrame:
    """Candidates x splits table of ``metric``."""
    cols = [s for s in res if s not in exclude]
    names = list(res["cv5"])
    return pd.DataFrame({s: [res[s].get(c, {}).get(metric, np.nan) for c in names] for s in cols}, index=names)


if __name__ == "__main__":
    import json
    import sys

    out = run(n_replicates=int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    pd.set_option("display.width", 250); pd.set_option("display.max_columns", 20)
    print(headline(out, exclude=()))
    print(headline(out, "balanced_accuracy", exclude=()))
    with open("/tmp/celltype/shift.json", "w") as fh:
        json.dump(out, fh, indent=1)

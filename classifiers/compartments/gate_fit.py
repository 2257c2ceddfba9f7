"""Training of the has-apical (cell) model (``train.py --gate``): a fixed configuration (shipped: session 5's
plus ``limb_dominance``), or one chosen in inner folds, or all configurations averaged. Session 6 compared them on
the outer folds (docs/compartments.md): only the fixed one with ``limb_dominance`` was no worse anywhere.

- Rows: one per (cell, input mode), the gate features (``neurd_lite.compartments.gate``) of the dendrite
  without the labelled axon ("true_axon", session 5) or without the axon the *learned* model finds, predicted
  out of fold ("learned_axon": inner folds grouped by cell over the training cells only), which is what the
  package computes at prediction time.
- Configuration (feature set ``GATE_SETS`` x model size ``GATE_SIZES`` x training rows ``GATE_ROWS``): each is
  scored on the training cells only, by the mean of two inner validations (3 folds by cell, and leave-one-
  source-out over the training sources), balanced log loss (each cell weighs 1, both classes the same in
  total); the best one is fitted on all training cells. The held-out fold never takes part in the choice.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np
import pandas as pd

from neurd_lite.compartments.gate import GATE_FEATURES, GATE_MONOTONE, gate_row
from neurd_lite.compartments.label import other_somas
from neurd_lite.compartments.learned import axon_subtree

# session 5's 17 features, and the same plus the trunk's share of the height and the others' share of high dendrite
GATE_SETS = {"shape17": GATE_FEATURES[:17], "shape17+trunk": GATE_FEATURES[:19]}
# feature sets the fixed gate can take (train.py --gate-set): also the frame-free limb dominance
FIXED_SETS = {**GATE_SETS, "shape17+dominance": GATE_FEATURES[:17] + ["limb_dominance"],
              "shape17+dominance+limbp": GATE_FEATURES[:17] + ["limb_dominance", "limb_p_top", "limb_p_margin"],
              "shape17+dominance+axon": GATE_FEATURES[:17] + ["limb_dominance", "axon_height_ext", "axon_cable_rel"],
              "shape17+dominance+axon+start": GATE_FEATURES[:17] + ["limb_dominance", "axon_height_ext",
                                                                    "axon_cable_rel", "axon_start_cos"]}
# model size: session 5's (200 rounds, 7 leaves, >= 8 cells a leaf) and two smaller ones
GATE_SIZES = {"r200_l7_m8": {}, "r100_l7_m15": {"rounds": 100, "min_data_in_leaf": 15},
              "r60_l4_m20": {"rounds": 60, "num_leaves": 4, "min_data_in_leaf": 20}}
# training rows: the dendrite without the true axon (session 5) or without the out-of-fold learned axon
GATE_ROWS = ("true_axon", "learned_axon")
# the shipped gate (train.py --gate fixed): session 5's configuration plus the frame-free limb dominance (session 6);
# session 5's own gate is --gate-set shape17
FIXED_GATE = ("shape17+dominance", "r200_l7_m8", "true_axon")
# the configurations ``--gate nested`` chooses among (train.py --nested-sets / --nested-sizes / --nested-rows;
# default session 6's 12; session 9: the shipped set with and without the axon inputs, shipped size, both row kinds)
NESTED = {"sets": list(GATE_SETS), "sizes": list(GATE_SIZES), "rows": list(GATE_ROWS)}
# the gate shipped in sessions 9-13 (train.py --gate axon; session 14 ships --gate fixed, see train.py): nested
# over the fixed gate's features with and without the axon inputs, at the fixed gate's size and rows
AXON_NESTED = {"sets": ["shape17+dominance", "shape17+dominance+axon"], "sizes": ["r200_l7_m8"], "rows": ["true_axon"]}
INNER_K = 3
SEED = 0


def inner_folds(cases: list[Any], k: int = INNER_K) -> list[set[str]]:
    """``k`` disjoint sets of cell names covering the cells of ``cases`` (seeded)."""
    cells = sorted({c.cell for c in cases})
    perm = np.random.default_rng(SEED).permutation(len(cells))
    return [{cells[j] for j in perm[i::k]} for i in range(k)]


POOLED = "small_external_repos"  # the fold of the sources with too few cells to stand alone


def source_group_of(cases: list[Any], min_cells: int = 3,
                    never_pooled: tuple[str, ...] = ("microns", "synthetic")) -> dict[str, str]:
    """Cell name -> its source, sources with fewer than ``min_cells`` cells (other than ``never_pooled``) pooled as
    :data:`POOLED` (the grouping of the leave-source-out folds)."""
    by: dict[str, set[str]] = {}
    for c in cases:
        by.setdefault(c.source, set()).add(c.cell)
    return {cell: (s if len(cs) >= min_cells or s in never_pooled else POOLED) for s, cs in by.items() for cell in cs}


def group_cells(group_of: dict[str, str]) -> dict[str, set[str]]:
    """Group name -> its cells (``group_of``: :func:`source_group_of`), in first-seen order, :data:`POOLED` last."""
    out: dict[str, set[str]] = {}
    for cell, g in group_of.items():
        out.setdefault(g, set()).add(cell)
    pooled = out.pop(POOLED, None)
    if pooled:
        out[POOLED] = pooled
    return out


def source_groups(cases: list[Any], min_cells: int = 3) -> list[set[str]]:
    """The cells of each source with >= ``min_cells`` cells, the smaller sources together (one set each)."""
    return list(group_cells(source_group_of(cases, min_cells, never_pooled=())).values())


def case_key(c: Any) -> str:
    return f"{c.cell}|{c.mode}"


def oof_axon(cases: list[Any], fit: Callable, features: list[str], k: int = INNER_K) -> dict[str, np.ndarray]:
    """Learned axon mask of every case, each predicted by an axon model fitted without its cell (inner folds)."""
    out: dict[str, np.ndarray] = {}
    for held in inner_folds(cases, k):
        model, _ = fit([c for c in cases if c.cell not in held], "axon")
        for c in cases:
            if c.cell not in held:
                continue
            t = c.prep.tree
            body = t.in_root_tree & ~t.soma
            p = np.zeros(t.n)
            p[body] = model.predict(c.prep.features[body][features].to_numpy(dtype=float), num_threads=1)
            out[case_key(c)] = axon_subtree(t, p, body)[0]
    return out


def gate_inputs(c: Any, axon: np.ndarray, prep: Any = None, extra: dict[str, float] | None = None) -> pd.DataFrame:
    """One case's gate row (all :data:`GATE_FEATURES`) on the dendrite without ``axon``, as the package does;
    ``prep``: the preparation whose ``up`` is used (default the case's own; its apical frame in training),
    ``extra``: the limb model's inputs (out of fold)."""
    t = c.prep.tree
    up = (prep if prep is not None else c.prep).up
    return gate_row(t, up, t.in_root_tree & ~t.soma & ~axon & ~other_somas(c.n, t), extra, axon)


# train.py --gate-weights source (session 13, opt-in): cell name -> source group; when set, every source group
# present carries the same total weight (its cells equal within it) before the classes are balanced; empty: each
# cell weighs 1 (shipped)
SOURCE_OF: dict[str, str] = {}


def cell_weights(y: np.ndarray, cells: list[str]) -> np.ndarray:
    """Each cell weighs 1 (split over its modes), or with :data:`SOURCE_OF` set each source group weighs the
    same; both classes weigh the same in total; mean weight 1."""
    per_cell = pd.Series(cells).value_counts()
    w = np.array([1.0 / per_cell[c] for c in cells])
    if SOURCE_OF:
        groups = np.array([SOURCE_OF[c] for c in cells])
        for g in np.unique(groups):
            w[groups == g] /= w[groups == g].sum()
    for cls in (0.0, 1.0):
        w[y == cls] /= max(w[y == cls].sum(), 1e-9)
    return w * len(w) / w.sum()


def fit_booster(x: pd.DataFrame, y: np.ndarray, cells: list[str], feats: list[str], params: dict, rounds: int):
    import lightgbm as lgb

    p = {**params, "monotone_constraints": [GATE_MONOTONE.get(f, 0) for f in feats]}
    rounds = int(p.pop("rounds", rounds))
    ds = lgb.Dataset(x[feats].to_numpy(dtype=float), y, weight=cell_weights(y, cells), feature_name=list(feats),
                     free_raw_data=True)
    return lgb.train(p, ds, num_boost_round=rounds)


def balanced_log_loss(p: np.ndarray, y: np.ndarray, cells: list[str]) -> float:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    w = cell_weights(y, cells)
    return float(-(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())


def _oof_pred(rows: dict[str, pd.DataFrame], y: np.ndarray, cell_arr: np.ndarray, folds: list[set[str]],
              feats: list[str], params: dict, rounds: int, src: str) -> np.ndarray:
    """Out-of-fold p(apical) of one configuration on the learned-axon rows (NaN where a fold could not be fit)."""
    pred = np.full(len(y), np.nan)
    for held in folds:
        te = np.isin(cell_arr, list(held))
        if te.all() or not te.any() or len(np.unique(y[~te])) < 2:
            continue
        b = fit_booster(rows[src][~te], y[~te], list(cell_arr[~te]), feats, params, rounds)
        pred[te] = b.predict(rows["learned_axon"][te][feats].to_numpy(dtype=float), num_threads=1)
    return pred


def _inner_loss(rows: dict[str, pd.DataFrame], y: np.ndarray, cell_arr: np.ndarray, folds: list[set[str]],
                feats: list[str], params: dict, rounds: int, src: str) -> float:
    """Balanced log loss of one configuration over the held-out rows of ``folds`` (learned-axon rows)."""
    pred = _oof_pred(rows, y, cell_arr, folds, feats, params, rounds, src)
    ok = np.isfinite(pred)
    return balanced_log_loss(pred[ok], y[ok], list(cell_arr[ok]))


# the axon veto's grid (session 10, gate.axon_vetoed): the axon's mean height above the soma (fields, >= 0: it
# rises) and its cable over the dendrite's (> 2: far more axon than dendrite)
VETO_HEIGHTS = (0.0, 0.15, 0.3, 0.45)
VETO_CABLES = (2.0, 3.0, 4.0, 5.0, 6.0)


# evaluation-only rows for choose_veto (train.py --veto-evidence, session 20): (gate rows, has-an-apical, cell
# names) of synthetic tuning cells that never train a model; empty: none (session 10)
VETO_EVIDENCE: list[tuple[pd.DataFrame, np.ndarray, list[str]]] = []
# train.py --veto-pure (session 20, second candidate): only boxes that hold no row of a cell with an apical (training
# or evidence rows) are eligible: a veto overrides the gate whatever the dendrite, so it must never contradict a
# known pyramid in the data it was chosen on
VETO_PURE = [False]


def choose_veto(rows: dict[str, pd.DataFrame], y: np.ndarray, cells: list[str], fold_sets: list[list[set[str]]],
                config: str, params: dict, rounds: int) -> tuple[dict[str, float] | None, dict[str, float]]:
    """(axon veto or None, inner error of every candidate): on the training cells only, the gate ``config``'s
    out-of-fold p over each of ``fold_sets``; the decision "p >= 0.5 and not vetoed" scored by the cell-weighted,
    class-balanced error (mean over the fold sets), axon inputs from the learned-axon rows. The veto (a box of
    :data:`VETO_HEIGHTS` x :data:`VETO_CABLES`) must lower the error below no veto; ties go to the box holding
    the least training weight, then the larger cable and height thresholds. With :data:`VETO_EVIDENCE` its rows
    join every fold set's rows, scored by the gate fitted on all of ``rows`` (they are in no training set)."""
    fname, sname, src = config.split("|")
    cell_arr = np.asarray(cells)
    size = {**params, **GATE_SIZES[sname]}
    preds = [_oof_pred(rows, y, cell_arr, folds, FIXED_SETS[fname], size, rounds, src) for folds in fold_sets]
    n_train = len(y)
    h = rows["learned_axon"]["axon_height_ext"].to_numpy(dtype=float)
    c = rows["learned_axon"]["axon_cable_rel"].to_numpy(dtype=float)
    for ex_rows, ex_y, ex_cells in VETO_EVIDENCE:
        gate = fit_booster(rows[src], y, cells, FIXED_SETS[fname], size, rounds)
        p_ex = gate.predict(ex_rows[FIXED_SETS[fname]].to_numpy(dtype=float), num_threads=1)
        preds = [np.r_[p, p_ex] for p in preds]
        y, cells = np.r_[y, ex_y], list(cells) + list(ex_cells)
        h = np.r_[h, ex_rows["axon_height_ext"].to_numpy(dtype=float)]
        c = np.r_[c, ex_rows["axon_cable_rel"].to_numpy(dtype=float)]
    w = cell_weights(y, cells)
    ok_ax = np.isfinite(h) & np.isfinite(c)

    def error(inside: np.ndarray) -> float:
        errs = []
        for p in preds:
            ok = np.isfinite(p)
            dec = (p >= 0.5) & ~inside
            errs.append(float((w * (dec != (y > 0.5)))[ok].sum() / max(w[ok].sum(), 1e-9)))
        return float(np.mean(errs))

    scores = {"off": round(error(np.zeros(len(y), bool)), 4)}
    best_key, best = (scores["off"], 0, 0.0, 0.0, 0.0), None
    for hv, cv in itertools.product(VETO_HEIGHTS, VETO_CABLES):
        inside = ok_ax & (np.nan_to_num(h) > hv) & (np.nan_to_num(c) > cv)
        e = round(error(inside), 4)
        scores[f"h>{hv}&c>{cv}"] = e
        if VETO_PURE[0] and (inside & (y > 0.5)).any():
            continue
        key = (e, 1, float(w[:n_train][inside[:n_train]].sum()), -cv, -hv)
        if e < scores["off"] and key < best_key:
            best_key, best = key, {"height_ext": hv, "cable_rel": cv}
    return best, scores


class MeanGate:
    """Mean log-odds of several gate boosters (a fixed ensemble, nothing chosen): ``predict`` as a booster."""

    def __init__(self, boosters: list[Any]) -> None:
        self.boosters = boosters

    def feature_name(self) -> list[str]:
        return list(GATE_FEATURES)

    def predict(self, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
        df = pd.DataFrame(np.asarray(x, dtype=float), columns=GATE_FEATURES)
        z = np.mean([b.predict(df[b.feature_name()].to_numpy(dtype=float), raw_score=True, num_threads=num_threads)
                     for b in self.boosters], axis=0)
        return 1.0 / (1.0 + np.exp(-z))


def fit_mean(rows: dict[str, pd.DataFrame], y: np.ndarray, cells: list[str], params: dict, rounds: int) -> MeanGate:
    """Every configuration of ``GATE_SETS`` x ``GATE_SIZES`` x ``GATE_ROWS`` fitted on all rows, averaged."""
    return MeanGate([fit_booster(rows[src], y, cells, feats, {**params, **size}, rounds)
                     for (_, feats), (_, size), src in itertools.product(GATE_SETS.items(), GATE_SIZES.items(),
                                                                          GATE_ROWS)])


def choose_and_fit(rows: dict[str, pd.DataFrame], y: np.ndarray, cells: list[str],
                   fold_sets: list[list[set[str]]], params: dict, rounds: int) -> tuple[Any, str, dict[str, float]]:
    """(booster on every row with the chosen configuration, its name, inner-CV loss of every configuration).
    ``rows``: the training rows by :data:`GATE_ROWS` source; configurations are feature set x model size x
    training-row source, always scored on the learned-axon rows (what the package computes); the loss is the
    mean over ``fold_sets`` (e.g. inner folds by cell and by source) of the balanced log loss."""
    scores = {}
    cell_arr = np.asarray(cells)
    for fname, sname, src in itertools.product(NESTED["sets"], NESTED["sizes"], NESTED["rows"]):
        feats, size = FIXED_SETS[fname], GATE_SIZES[sname]
        losses = [_inner_loss(rows, y, cell_arr, folds, feats, {**params, **size}, rounds, src) for folds in fold_sets]
        scores[f"{fname}|{sname}|{src}"] = round(float(np.mean(losses)), 4)
    best = min(scores, key=scores.get)
    fname, sname, src = best.split("|")
    return fit_booster(rows[src], y, cells, FIXED_SETS[fname], {**params, **GATE_SIZES[sname]}, rounds), best, scores

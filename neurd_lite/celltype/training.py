"""Training helpers shared by ``classifiers/*/train.py``: labels, data, nested CV, LightGBM fits, saving.

Label policy (``microns_celltypes_ground_truth.csv``): ``5P-PT`` is renamed ``5P-ET``. The 11 subclasses train the
subclass model. ``6P-U`` (layer-6 pyramidal of unknown projection), ``WM-P`` (white-matter pyramidal) and
``Unsure E`` are used only as excitatory for E/I; ``Unsure I`` only as inhibitory for E/I; ``Unsure`` is dropped.

CV scheme: stratified 5-fold (shuffled, seed 0); hyper-parameters (LightGBM leaves and rounds, and the weight of a
logistic-regression component blended into the probabilities) are chosen per outer fold by an inner stratified
3-fold CV on that fold's training rows only, so no cell is ever scored by a model that saw it or tuned on it.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .columns import FORBIDDEN_INPUTS, derived, to_engine
from .linear import fit_linear, linear_proba, log_probability_inputs

SUBCLASSES: tuple[str, ...] = ("23P", "4P", "5P-IT", "5P-ET", "5P-NP", "6P-IT", "6P-CT", "BC", "MC", "BPC", "NGC")
INHIBITORY: frozenset[str] = frozenset({"BC", "MC", "BPC", "NGC", "Unsure I"})
EXCITATORY: frozenset[str] = frozenset(set(SUBCLASSES[:7]) | {"6P-U", "WM-P", "Unsure E"})
LABEL_RENAMES: dict[str, str] = {"5P-PT": "5P-ET"}
EI_CLASSES: tuple[str, ...] = ("excitatory", "inhibitory")
# The published v83 model's labels -> our names (None: no subclass-level answer, "6P" is 6P-IT or 6P-CT).
V83_PRED_NAMES: dict[str, str | None] = {
    "23P": "23P", "4P": "4P", "5P_IT": "5P-IT", "5P_PT": "5P-ET", "5P_NP": "5P-NP", "6IT": "6P-IT",
    "6CT": "6P-CT", "6P": None, "BC": "BC", "MC": "MC", "BPC": "BPC", "NGC": "NGC", "Unsure": None}
V83_PRED_EI: dict[str, str | None] = {k: ("inhibitory" if k in {"BC", "MC", "BPC", "NGC"} else
                                          None if k == "Unsure" else "excitatory") for k in V83_PRED_NAMES}
GT_FILE = "labels/microns_celltypes_ground_truth.csv"
V83_FILE = "labels/microns_perisomatic_features_v83.csv.gz"
EI_FILE = "labels/neurd_e_i_manual_proofread.csv"

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05, "min_child_samples": 5, "feature_fraction": 0.8, "bagging_fraction": 0.8,
    "bagging_freq": 1, "lambda_l2": 1.0, "num_threads": 1, "verbose": -1, "seed": 0, "deterministic": True,
    "force_row_wise": True}
BLEND_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5)
GRID: tuple[dict[str, int], ...] = (
    {"num_leaves": 7, "num_boost_round": 150}, {"num_leaves": 7, "num_boost_round": 400},
    {"num_leaves": 15, "num_boost_round": 150}, {"num_leaves": 15, "num_boost_round": 400})


def normalise_label(label: str) -> str:
    """Strip and rename (``5P-PT`` -> ``5P-ET``)."""
    label = str(label).strip()
    return LABEL_RENAMES.get(label, label)


def ei_of(label: str) -> str | None:
    """``excitatory`` / ``inhibitory`` for a (normalised) ground-truth label, None when unknown."""
    if label in INHIBITORY:
        return "inhibitory"
    if label in EXCITATORY:
        return "excitatory"
    return None


def sha256_of(relpath: str) -> str:
    """The manifest sha256 of a data file (the file is verified when resolved)."""
    from ..data import manifest

    for ds in manifest()["datasets"].values():
        if relpath in ds["files"]:
            return ds["files"][relpath]
    raise KeyError(relpath)


def read_v83(usecols: list[str] | None = None) -> pd.DataFrame:
    """The v83 perisomatic table (``V83_FILE``, resolved and sha256-checked by ``neurd_lite.data``), only the
    columns ``usecols`` when given (v83 names and units: nm positions and volumes, µm depth)."""
    from ..data import data_path

    return pd.read_csv(data_path(V83_FILE), usecols=usecols)


def load_perisomatic_labelled() -> pd.DataFrame:
    """Ground-truth cells joined to the v83 table on nucleus_id, with engine-named features and labels.

    Columns: every engine/process feature, the derived ratios, ``subclass`` (NaN outside the 11), ``ei`` and
    ``v83_pred`` (the published model's prediction, for comparison only). Unmatched nucleus ids are dropped.
    """
    from ..data import data_path

    gt = pd.read_csv(data_path(GT_FILE))
    table = read_v83()
    joined = gt[["nucleus_id", "cell_type"]].merge(table, on="nucleus_id", how="inner")
    feats = to_engine(joined)
    feats = pd.concat([feats, derived(feats)], axis=1)
    labels = joined["cell_type"].map(normalise_label)
    out = feats.assign(nucleus_id=joined["nucleus_id"].to_numpy(), label=labels,
                       subclass=labels.where(labels.isin(SUBCLASSES)), ei=labels.map(ei_of),
                       v83_pred=joined["cell_type_pred"].astype(str))
    return out[out["ei"].notna()].reset_index(drop=True)


def load_perisomatic_unlabelled() -> pd.DataFrame:
    """v83 rows whose nucleus_id is in no label file, engine-named with derived ratios (for self-training).

    Their ``cell_type_pred`` / ``predict`` / ``umap*`` columns are dropped here and never used."""
    from ..data import data_path

    table = read_v83()
    gt = pd.read_csv(data_path(GT_FILE))
    table = table[~table["nucleus_id"].isin(gt["nucleus_id"])]
    table = table.drop(columns=[c for c in table.columns if c in FORBIDDEN_INPUTS]).reset_index(drop=True)
    feats = to_engine(table)
    return pd.concat([feats, derived(feats)], axis=1)


def load_dendritic_labelled() -> pd.DataFrame:
    """NEURD's 210 proofread E/I cells with engine-named dendritic features, ``ei`` (its manual ``cell_type``
    column, the training label) and ``allen_ei`` (the Allen label it was corrected from; differs on 12 cells)."""
    from ..data import data_path

    raw = pd.read_csv(data_path(EI_FILE))
    feats = to_engine(raw)
    return feats.assign(nucleus_id=raw["nucleus_id"].to_numpy(), ei=raw["cell_type"].str.strip().to_numpy(),
                        allen_ei=raw["allen_e_i"].str.strip().to_numpy())


def check_features(features: list[str]) -> None:
    """Refuse other models' outputs as inputs."""
    bad = sorted(set(features) & FORBIDDEN_INPUTS)
    if bad:
        raise ValueError(f"refusing to train on other models' outputs / labels: {bad}")


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-row weights n / (k * count(class)) so every class carries equal total weight."""
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    return (len(y) / (len(classes) * counts))[inv]


def fit_lgbm(x: pd.DataFrame, y: np.ndarray, n_classes: int, config: dict[str, int],
             params: dict[str, Any] | None = None) -> Any:
    """A class-weighted LightGBM booster (binary when ``n_classes == 2``), single-threaded and seeded.

    ``params["class_weight"]``: ``"balanced"`` (default, every class the same total weight), ``"sqrt"`` (square
    root of the balanced weights) or ``"none"``.
    """
    import lightgbm as lgb

    p = dict(DEFAULT_PARAMS, **(params or {}))
    weighting = p.pop("class_weight", "balanced")
    p["num_leaves"] = config["num_leaves"]
    if n_classes == 2:
        p.update(objective="binary")
    else:
        p.update(objective="multiclass", num_class=n_classes)
    weight = balanced_weights(y) ** (0.5 if weighting == "sqrt" else 1.0) if weighting != "none" else None
    ds = lgb.Dataset(x, label=y, weight=weight, free_raw_data=True)
    return lgb.train(p, ds, num_boost_round=config["num_boost_round"])


def predict_matrix(booster: Any, x: pd.DataFrame, num_iteration: int | None = None) -> np.ndarray:
    """(n, k) probabilities from a binary or multiclass booster (optionally its first ``num_iteration`` rounds)."""
    p = np.asarray(booster.predict(x, num_iteration=num_iteration, num_threads=1), dtype=float)
    return np.c_[1 - p, p] if p.ndim == 1 else p


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y``."""
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, pred))


def _oof_by_config(x: pd.DataFrame, y: np.ndarray, n_classes: int, grid: tuple[dict[str, int], ...],
                   n_splits: int, seed: int, params: dict[str, Any] | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Out-of-fold probabilities for every grid entry and for the linear model on the same folds.

    One LightGBM fit per (fold, num_leaves) at the largest round count, scored at each entry's round count
    (identical to separate fits: boosting is sequential and seeded).
    """
    import warnings

    from sklearn.model_selection import StratifiedKFold

    with warnings.catch_warnings():  # a rare class with fewer members than folds is expected here
        warnings.simplefilter("ignore", UserWarning)
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y))
    outs = [np.zeros((len(y), n_classes)) for _ in grid]
    lin = np.zeros((len(y), n_classes))
    leaves = sorted({c["num_leaves"] for c in grid})
    for tr, te in folds:
        for nl in leaves:
            members = [i for i, c in enumerate(grid) if c["num_leaves"] == nl]
            rounds = max(grid[i]["num_boost_round"] for i in members)
            booster = fit_lgbm(x.iloc[tr], y[tr], n_classes, {"num_leaves": nl, "num_boost_round": rounds}, params)
            for i in members:
                outs[i][te] = predict_matrix(booster, x.iloc[te], grid[i]["num_boost_round"])
        lin[te] = linear_proba(fit_linear(x.iloc[tr], y[tr]), x.iloc[te], n_classes)
    return outs, lin


def select_config(x: pd.DataFrame, y: np.ndarray, n_classes: int, grid: tuple[dict[str, int], ...] = GRID,
                  n_splits: int = 3, seed: int = 1, params: dict[str, Any] | None = None,
                  weights: tuple[float, ...] = BLEND_WEIGHTS) -> tuple[dict[str, Any], list[float]]:
    """The (grid entry, linear blend weight) with the best CV balanced accuracy on (x, y).

    Ties go to the first entry, i.e. the simplest tree model and the smallest linear weight.
    """
    oofs, lin = _oof_by_config(x, y, n_classes, grid, n_splits, seed, params)
    combos = [(i, w) for i in range(len(grid)) for w in weights]
    scores = [balanced_accuracy(y, ((1 - w) * oofs[i] + w * lin).argmax(1)) for i, w in combos]
    i, w = combos[int(np.argmax(scores))]
    return dict(grid[i], linear_weight=w), scores


@dataclass
class CVResult:
    """Out-of-fold probabilities (raw blend, tree-only, linear-only), fold of each row, per-fold choices."""

    oof: np.ndarray
    oof_lgbm: np.ndarray
    oof_linear: np.ndarray
    fold: np.ndarray
    configs: list[dict[str, Any]]


def fit_blend(x: pd.DataFrame, y: np.ndarray, n_classes: int, config: dict[str, Any],
              params: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """The LightGBM booster and the JSON linear component (with its blend weight) for one configuration."""
    booster = fit_lgbm(x, y, n_classes, config, params)
    lin = dict(fit_linear(x, y), weight=float(config.get("linear_weight", 0.0)))
    return booster, lin


def blend_proba(booster: Any, linear: dict[str, Any], x: pd.DataFrame, n_classes: int) -> np.ndarray:
    """``(1 - w) * P_lgbm + w * P_linear`` (raw, before calibration)."""
    p = predict_matrix(booster, x)
    w = float(linear.get("weight", 0.0))
    return p if w == 0 else (1 - w) * p + w * linear_proba(linear, x, n_classes)


def nested_cv(x: pd.DataFrame, y: np.ndarray, n_classes: int, grid: tuple[dict[str, int], ...] = GRID,
              n_splits: int = 5, inner_splits: int = 3, seed: int = 0,
              params: dict[str, Any] | None = None,
              param_sets: Sequence[tuple[dict[str, Any], tuple[dict[str, int], ...]]] | None = None) -> CVResult:
    """Outer stratified K-fold; per fold, an inner CV on the training rows picks the configuration and blend.

    param_sets: optional (LightGBM params, grid) pairs; the inner CV then also picks the set (best inner balanced
    accuracy, ties to the first) and each fold's config records ``param_set``. Default: ``((params, grid),)``.
    """
    from sklearn.model_selection import StratifiedKFold

    sets = param_sets or ((params, grid),)
    oof, oof_t, oof_l = (np.zeros((len(y), n_classes)) for _ in range(3))
    fold = np.full(len(y), -1)
    configs = []
    for k, (tr, te) in enumerate(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y)):
        best: tuple[float, int, dict, Any] | None = None
        for j, (set_params, set_grid) in enumerate(sets):
            cfg, scores = select_config(x.iloc[tr], y[tr], n_classes, set_grid, inner_splits, seed + 1, set_params)
            if best is None or max(scores) > best[0]:
                best = (max(scores), j, cfg, set_params)
        _, j, cfg, set_params = best
        booster, lin = fit_blend(x.iloc[tr], y[tr], n_classes, cfg, set_params)
        oof_t[te] = predict_matrix(booster, x.iloc[te])
        oof_l[te] = linear_proba(lin, x.iloc[te], n_classes)
        w = cfg["linear_weight"]
        oof[te] = (1 - w) * oof_t[te] + w * oof_l[te]
        fold[te] = k
        configs.append(cfg if param_sets is None else dict(cfg, param_set=j))
    return CVResult(oof=oof, oof_lgbm=oof_t, oof_linear=oof_l, fold=fold, configs=configs)


@dataclass(frozen=True)
class SelfTraining:
    """Self-training on unlabelled rows with the model's own confident pseudo-labels (never another model's).

    A row is pseudo-labelled when the supervised blend's top probability is >= ``tau``; at most ``cap_per_class``
    rows per pseudo-class are kept (seeded sample); pseudo rows get class-balanced weights whose total is
    ``pseudo_weight`` times the labelled rows' total. The LightGBM part is refitted on labelled + pseudo rows with
    the configuration chosen on the labelled rows; the logistic component stays supervised. Set a priori, not tuned.
    """

    tau: float = 0.95
    pseudo_weight: float = 0.5
    cap_per_class: int = 3000
    seed: int = 0


def pseudo_label(booster: Any, linear: dict[str, Any], unlabelled: pd.DataFrame, n_classes: int,
                 st: SelfTraining) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in ``unlabelled`` and their pseudo-labels (confident rows, capped per class)."""
    p = blend_proba(booster, linear, unlabelled, n_classes)
    conf, lab = p.max(axis=1), p.argmax(axis=1)
    rng = np.random.default_rng(st.seed)
    picks = []
    for c in range(n_classes):
        idx = np.flatnonzero((lab == c) & (conf >= st.tau))
        picks.append(rng.choice(idx, st.cap_per_class, replace=False) if len(idx) > st.cap_per_class else idx)
    pick = np.sort(np.concatenate(picks))
    return pick, lab[pick]


def fit_self_trained(x: pd.DataFrame, y: np.ndarray, n_classes: int, config: dict[str, Any],
                     unlabelled: pd.DataFrame, st: SelfTraining, params: dict[str, Any] | None = None,
                     supervised: tuple[Any, dict[str, Any]] | None = None) -> tuple[Any, dict[str, Any], int]:
    """Supervised blend -> pseudo-labels on ``unlabelled`` -> LightGBM refitted on both (see ``SelfTraining``).

    Returns the refitted booster, the (supervised) linear component and the number of pseudo-labelled rows.
    """
    import lightgbm as lgb

    booster, lin = supervised if supervised is not None else fit_blend(x, y, n_classes, config, params)
    pick, lab = pseudo_label(booster, lin, unlabelled, n_classes, st)
    if not len(pick):
        return booster, lin, 0
    w = np.r_[balanced_weights(y), st.pseudo_weight * balanced_weights(lab) * len(y) / len(pick)]
    p = dict(DEFAULT_PARAMS, **(params or {}))
    p.pop("class_weight", None)
    p["num_leaves"] = config["num_leaves"]
    p.update(objective="binary") if n_classes == 2 else p.update(objective="multiclass", num_class=n_classes)
    ds = lgb.Dataset(pd.concat([x, unlabelled.iloc[pick]]), label=np.r_[y, lab], weight=w)
    return lgb.train(p, ds, num_boost_round=config["num_boost_round"]), lin, int(len(pick))


def nested_cv_self_training(x: pd.DataFrame, y: np.ndarray, n_classes: int, unlabelled: pd.DataFrame,
                            st: SelfTraining, grid: tuple[dict[str, int], ...] = GRID, n_splits: int = 5,
                            inner_splits: int = 3, seed: int = 0,
                            params: dict[str, Any] | None = None) -> tuple[CVResult, CVResult, list[int]]:
    """The same outer folds and inner-CV choices as ``nested_cv``; per outer fold both the supervised model and
    the self-trained one (pseudo-labels from that fold's own supervised model) score the held-out fold.

    Returns (self-trained CV result, supervised CV result, pseudo-labelled rows per fold).
    """
    from sklearn.model_selection import StratifiedKFold

    semi, sup, lin_oof, lgb_semi = (np.zeros((len(y), n_classes)) for _ in range(4))
    fold = np.full(len(y), -1)
    configs, n_pseudo = [], []
    for k, (tr, te) in enumerate(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y)):
        cfg, _ = select_config(x.iloc[tr], y[tr], n_classes, grid, inner_splits, seed + 1, params)
        booster_sup, lin = fit_blend(x.iloc[tr], y[tr], n_classes, cfg, params)
        booster, _, npl = fit_self_trained(x.iloc[tr], y[tr], n_classes, cfg, unlabelled, st, params,
                                           supervised=(booster_sup, lin))
        sup[te] = blend_proba(booster_sup, lin, x.iloc[te], n_classes)
        lgb_semi[te] = predict_matrix(booster, x.iloc[te])
        lin_oof[te] = linear_proba(lin, x.iloc[te], n_classes)
        w = cfg["linear_weight"]
        semi[te] = (1 - w) * lgb_semi[te] + w * lin_oof[te]
        fold[te] = k
        configs.append(cfg)
        n_pseudo.append(npl)
    return (CVResult(oof=semi, oof_lgbm=lgb_semi, oof_linear=lin_oof, fold=fold, configs=configs),
            CVResult(oof=sup, oof_lgbm=sup, oof_linear=lin_oof, fold=fold, configs=configs), n_pseudo)


# --- stacking (session 5): a class-balanced logistic meta-model on the two components' log-probabilities --------

#: LightGBM entries the stacked model's tree component chooses from, jointly with the meta-model C, by CV on each
#: training set's inner out-of-fold rows (session 6: the whole of ``GRID``; until then one entry, 7 leaves / 400
#: rounds, fixed after looking at outer-fold means, which made the nested number mildly optimistic).
STACK_GRID: tuple[dict[str, int], ...] = GRID
#: Inverse L2 strengths of the meta-model, chosen per training set by CV on its inner out-of-fold inputs.
STACK_C: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)
#: Probabilities are clipped to this floor before the log (a component's 0 would give -inf).
STACK_FLOOR = 1e-4


def stack_inputs(p_lgbm: np.ndarray, p_linear: np.ndarray) -> np.ndarray:
    """Meta-model inputs: log of both components' class probabilities, side by side ((n, 2k))."""
    return log_probability_inputs((p_lgbm, p_linear), STACK_FLOOR)


def fit_meta(z: np.ndarray, y: np.ndarray, c: float) -> dict[str, Any]:
    """Class-balanced multinomial logistic regression on ``z`` (unscaled log-probabilities; intercepts free), in
    :func:`linear_proba`'s JSON format (identity scaling)."""
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(z, y)
    k = z.shape[1]
    coef, intercept = m.coef_, m.intercept_
    if coef.shape[0] == 1:  # binary: two-class softmax form
        coef, intercept = np.vstack([np.zeros_like(coef[0]), coef[0]]), np.array([0.0, intercept[0]])
    return {"medians": [0.0] * k, "means": [0.0] * k, "scales": [1.0] * k, "coef": coef.tolist(),
            "intercept": intercept.tolist(), "classes": [int(v) for v in m.classes_], "C": float(c)}


def choose_meta_c(z: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> tuple[float, list[float]]:
    """The ``STACK_C`` entry with the best 5-fold CV balanced accuracy of the meta-model on (z, y); ties to the
    stronger penalty."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    scores = []
    with warnings.catch_warnings():  # the rarest class may have fewer members than folds
        warnings.simplefilter("ignore", UserWarning)
        folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(z, y))
    for c in STACK_C:
        p = np.zeros((len(y), n_classes))
        for tr, te in folds:
            p[te] = linear_proba(fit_meta(z[tr], y[tr], c), z[te], n_classes)
        scores.append(round(balanced_accuracy(y, p.argmax(1)), 4))
    return STACK_C[int(np.argmax(scores))], scores


def _oof_linear(x: pd.DataFrame, y: np.ndarray, n_classes: int, n_splits: int, seed: int) -> np.ndarray:
    """Out-of-fold probabilities of the logistic component on the folds of :func:`_oof_by_config`."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y))
    out = np.zeros((len(y), n_classes))
    for tr, te in folds:
        out[te] = linear_proba(fit_linear(x.iloc[tr], y[tr]), x.iloc[te], n_classes)
    return out


def _split_columns(x: pd.DataFrame, linear_sets: Sequence[Sequence[str]]) -> tuple[list[str], list[list[str]]]:
    """(tree columns, logistic columns per candidate set): columns named in ``linear_sets`` are the logistic
    component's alone; each candidate's logistic inputs are the tree columns plus that set."""
    extra = {c for cols in linear_sets for c in cols}
    tree = [c for c in x.columns if c not in extra]
    return tree, [tree + [c for c in cols if c not in tree] for cols in linear_sets]


def fit_stack(x: pd.DataFrame, y: np.ndarray, n_classes: int, seed: int = 0, inner_splits: int = 5,
              params: dict[str, Any] | None = None, grid: tuple[dict[str, int], ...] = STACK_GRID,
              linear_sets: Sequence[Sequence[str]] = ((),), inner: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Stacked model on (x, y): inner ``inner_splits``-fold out-of-fold probabilities (folds seeded ``seed + 1``) of
    the logistic component and of every LightGBM entry of ``grid``; for each entry a meta-model C is chosen by CV
    on those rows (seeded ``seed + 2``) and the (entry, C) pair with the best CV balanced accuracy wins (ties to
    the first entry and the stronger penalty); the meta-model is fitted on the inner out-of-fold rows and the
    components are refitted on all rows. Returns (booster, linear component, meta-model parameters with ``C``,
    ``config`` and the inner scores).

    ``linear_sets``: candidate extra inputs of the logistic component only (columns of ``x`` the trees never see,
    e.g. ``columns.DEPTH_HINGES``); the same inner criterion picks one together with the entry and C. When the
    pick adds columns, the linear component records its inputs under ``"features"``. ``inner``: an optional dict
    that receives the inner out-of-fold component probabilities of the chosen entry (``p_lgbm``, ``p_linear``), for
    procedures that need honest inner predictions of the whole stack (``classifiers/perisomatic/repeated_cv.py``)."""
    tree, lin_cols = _split_columns(x, linear_sets)
    p_t, p_l0 = _oof_by_config(x[tree], y, n_classes, grid, inner_splits, seed + 1, params)
    p_l = [p_l0 if cols == tree else _oof_linear(x[cols], y, n_classes, inner_splits, seed + 1) for cols in lin_cols]
    best: tuple[float, int, int, float, list[float]] | None = None
    for j in range(len(lin_cols)):
        for i in range(len(grid)):
            c, scores = choose_meta_c(stack_inputs(p_t[i], p_l[j]), y, n_classes, seed + 2)
            if best is None or max(scores) > best[0]:
                best = (max(scores), i, j, c, scores)
    _, i, j, c, scores = best
    if inner is not None:
        inner.update(p_lgbm=p_t[i], p_linear=p_l[j])
    meta = dict(fit_meta(stack_inputs(p_t[i], p_l[j]), y, c), config=dict(grid[i]), inner_cv_balanced_accuracy=scores,
                inner_splits=inner_splits)
    booster = fit_lgbm(x[tree], y, n_classes, grid[i], params)
    lin = dict(fit_linear(x[lin_cols[j]], y), weight=0.0)
    if lin_cols[j] != tree:
        lin["features"] = list(lin_cols[j])
        meta["linear_set"] = j
    return booster, lin, meta


def _stack_parts(booster: Any, linear: dict[str, Any], x: pd.DataFrame, n_classes: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Both components' probabilities on ``x`` (each on its own columns)."""
    p_t = predict_matrix(booster, x[list(booster.feature_name())])
    return p_t, linear_proba(linear, x[linear.get("features", list(booster.feature_name()))], n_classes)


def stack_proba(booster: Any, linear: dict[str, Any], meta: dict[str, Any], x: pd.DataFrame,
                n_classes: int) -> np.ndarray:
    """(n, k) raw probabilities of a stacked model (before calibration)."""
    return linear_proba(meta, stack_inputs(*_stack_parts(booster, linear, x, n_classes)), n_classes)


def nested_cv_stack(x: pd.DataFrame, y: np.ndarray, n_classes: int, n_splits: int = 5, inner_splits: int = 5,
                    seed: int = 0, params: dict[str, Any] | None = None,
                    grid: tuple[dict[str, int], ...] = STACK_GRID,
                    linear_sets: Sequence[Sequence[str]] = ((),)) -> CVResult:
    """Outer stratified K-fold (seed ``seed``); per fold :func:`fit_stack` on the training rows only (its inner
    folds, meta-model C and logistic input set never see the test fold). ``oof_lgbm`` / ``oof_linear``: the
    components alone."""
    from sklearn.model_selection import StratifiedKFold

    oof, oof_t, oof_l = (np.zeros((len(y), n_classes)) for _ in range(3))
    fold = np.full(len(y), -1)
    configs = []
    for k, (tr, te) in enumerate(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y)):
        booster, lin, meta = fit_stack(x.iloc[tr], y[tr], n_classes, seed, inner_splits, params, grid, linear_sets)
        oof_t[te], oof_l[te] = _stack_parts(booster, lin, x.iloc[te], n_classes)
        oof[te] = linear_proba(meta, stack_inputs(oof_t[te], oof_l[te]), n_classes)
        fold[te] = k
        configs.append(dict(meta["config"], meta_C=meta["C"],
                            **({"linear_set": meta["linear_set"]} if "linear_set" in meta else {})))
    return CVResult(oof=oof, oof_lgbm=oof_t, oof_linear=oof_l, fold=fold, configs=configs)


def feature_ranges(x: pd.DataFrame, lo: float = 0.005, hi: float = 0.995) -> dict[str, list[float]]:
    """Per-feature training quantiles [lo, hi]; inputs outside them are flagged at prediction time."""
    q = x.astype(float).quantile([lo, hi])
    return {c: [float(q.loc[lo, c]), float(q.loc[hi, c])] for c in x.columns}


def feature_extent(x: pd.DataFrame) -> dict[str, list[float]]:
    """Per-feature training [min, max]; inputs outside it are refused as out of range at prediction time."""
    x = x.astype(float)
    return {c: [float(x[c].min()), float(x[c].max())] for c in x.columns}


def crossfit_temperature(oof: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Calibrated OOF probabilities where each fold's temperature is fitted on the other folds only."""
    from .calibration import apply_temperature, fit_temperature

    out = np.zeros_like(oof)
    for k in np.unique(fold):
        te = fold == k
        t = fit_temperature(oof[~te], y[~te])["temperature"]
        out[te] = apply_temperature(oof[te], t)
    return out


def library_versions() -> dict[str, str]:
    """Versions recorded in every sidecar."""
    import lightgbm
    import sklearn

    from .. import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "neurd_lite": __version__}

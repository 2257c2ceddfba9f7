"""Repeated nested CV of the shipped perisomatic subclass procedure: the seed-to-seed noise floor (session 10).

Usage: ``python classifiers/perisomatic/repeated_cv.py run SEED [SEED ...] [--cache DIR]`` caches, per outer seed
and fold, the shipped stack's outer-test probabilities and the inner out-of-fold component probabilities of the
entry it chose (``training.fit_stack`` with ``inner=``); ``summary`` prints per-seed balanced accuracy, per-class
recall with supports and a stratified bootstrap interval. Nothing here is part of ``train_all.py``: the shipped
model is fitted by ``train.py``. Every choice is made inside the inner folds of each outer training set, exactly as
``training.nested_cv_stack`` does (``run`` reproduces its out-of-fold probabilities).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from neurd_lite.celltype.training import (  # noqa: E402
    SUBCLASSES, _stack_parts, balanced_accuracy, fit_stack, load_perisomatic_labelled, stack_inputs)
from neurd_lite.celltype.linear import linear_proba  # noqa: E402

DEFAULT_CACHE = Path("/tmp/celltype10/cache")
N_CLASSES = len(SUBCLASSES)


def subclass_table() -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The 972 labelled cells of the 11 subclasses (rows as ``train.evaluate`` orders them), labels, inputs."""
    from train import VARIANTS

    data = load_perisomatic_labelled()
    sub = data[data["subclass"].notna()]
    y = np.array([SUBCLASSES.index(c) for c in sub["subclass"]])
    return sub, y, list(VARIANTS["perisomatic"]["features"])


def outer_folds(y: np.ndarray, seed: int, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """The outer stratified folds of ``nested_cv_stack`` for ``seed``."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def run_seed(seed: int, cache: Path) -> None:
    """Cache every outer fold of one outer seed (skips folds already cached)."""
    sub, y, feats = subclass_table()
    x = sub[feats]
    cache.mkdir(parents=True, exist_ok=True)
    for k, (tr, te) in enumerate(outer_folds(y, seed)):
        out = cache / f"s{seed}_f{k}.npz"
        if out.exists():
            continue
        t = time.process_time()
        inner: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            booster, lin, meta = fit_stack(x.iloc[tr], y[tr], N_CLASSES, seed, 5, inner=inner)
        p_t, p_l = _stack_parts(booster, lin, x.iloc[te], N_CLASSES)
        p = linear_proba(meta, stack_inputs(p_t, p_l), N_CLASSES)
        np.savez(out, tr=tr, te=te, y=y, p=p, test_lgbm=p_t, test_linear=p_l, inner_lgbm=inner["p_lgbm"],
                 inner_linear=inner["p_linear"], meta_coef=np.asarray(meta["coef"]),
                 meta_intercept=np.asarray(meta["intercept"]), meta_C=meta["C"],
                 config=json.dumps(meta["config"]))
        print(f"seed {seed} fold {k}: {time.process_time() - t:.0f} s CPU, {meta['config']}, C {meta['C']}",
              flush=True)


def load_seed(seed: int, cache: Path) -> list[dict[str, np.ndarray]]:
    """The five cached outer folds of one seed."""
    return [dict(np.load(cache / f"s{seed}_f{k}.npz")) for k in range(5)]


def oof_of(seed: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold probabilities, labels) of the shipped stack for one outer seed."""
    folds = load_seed(seed, cache)
    y = folds[0]["y"]
    p = np.zeros((len(y), N_CLASSES))
    for f in folds:
        p[f["te"]] = f["p"]
    return p, y


def recall_per_class(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Recall of each subclass (NaN for a class absent from ``y``)."""
    return np.array([(pred[y == i] == i).mean() if (y == i).any() else np.nan for i in range(N_CLASSES)])


def bootstrap_balanced(y: np.ndarray, preds: list[np.ndarray], n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Balanced accuracy of fixed predictions on ``n_boot`` stratified resamples of the cells (each class keeps its
    support; cells drawn with replacement within their class): the spread that the class supports alone allow.
    ``preds``: one prediction vector per outer seed; each resample scores their mean balanced accuracy."""
    rng = np.random.default_rng(seed)
    idx = [np.flatnonzero(y == i) for i in range(N_CLASSES)]
    hits = [np.array([(p[i] == y[i]) for p in preds], dtype=float) for i in idx]  # (seeds, support) per class
    out = np.empty(n_boot)
    for b in range(n_boot):
        out[b] = np.mean([h[:, rng.integers(0, h.shape[1], h.shape[1])].mean() for h in hits])
    return out


def summary(seeds: list[int], cache: Path) -> dict[str, Any]:
    """Per-seed balanced accuracy, mean / sd, per-class recall, confusions and bootstrap intervals."""
    bal, rec, conf = {}, [], np.zeros((N_CLASSES, N_CLASSES), int)
    boots, preds = [], []
    for s in seeds:
        p, y = oof_of(s, cache)
        pred = p.argmax(1)
        bal[s] = balanced_accuracy(y, pred)
        rec.append(recall_per_class(y, pred))
        np.add.at(conf, (y, pred), 1)
        boots.append(bootstrap_balanced(y, [pred], seed=s))
        preds.append(pred)
    boot_mean = bootstrap_balanced(y, preds)
    b = np.array(list(bal.values()))
    rec = np.array(rec)
    support = np.bincount(y, minlength=N_CLASSES)
    pairs = sorted(((int(conf[i, j]), SUBCLASSES[i], SUBCLASSES[j]) for i in range(N_CLASSES)
                    for j in range(N_CLASSES) if i != j), reverse=True)[:8]
    boot0 = boots[0]
    return {
        "seeds": seeds, "balanced_accuracy": {int(s): round(v, 4) for s, v in bal.items()},
        "mean": round(float(b.mean()), 4), "sd": round(float(b.std(ddof=1)), 4) if len(b) > 1 else None,
        "min": round(float(b.min()), 4), "max": round(float(b.max()), 4),
        "per_class": {c: {"support": int(support[i]), "recall_mean": round(float(rec[:, i].mean()), 3),
                          "recall_min": round(float(rec[:, i].min()), 3), "recall_max": round(float(rec[:, i].max()), 3),
                          "recall_sd": round(float(rec[:, i].std(ddof=1)), 3) if len(seeds) > 1 else None,
                          "one_cell_points": round(100 / support[i] / N_CLASSES, 2)}
                      for i, c in enumerate(SUBCLASSES)},
        "confusions_summed": [f"{a} -> {b_}: {n}" for n, a, b_ in pairs],
        "bootstrap_seed0": {"sd": round(float(boot0.std(ddof=1)), 4),
                            "ci95": [round(float(q), 4) for q in np.quantile(boot0, [0.025, 0.975])]},
        "bootstrap_sd_per_seed": [round(float(v.std(ddof=1)), 4) for v in boots],
        "bootstrap_mean_over_seeds": {"sd": round(float(boot_mean.std(ddof=1)), 4),
                                      "ci95": [round(float(q), 4) for q in np.quantile(boot_mean, [0.025, 0.975])]},
        "seeds_at_or_above_0.85": int((b >= 0.85).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["run", "summary"])
    ap.add_argument("seeds", nargs="+", type=int)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    if args.command == "run":
        for s in args.seeds:
            run_seed(s, args.cache)
    else:
        print(json.dumps(summary(args.seeds, args.cache), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

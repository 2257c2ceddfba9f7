"""Procedure 19 (session 10, pre-registered in docs/celltype.md "Session 10"): pairwise specialists that re-decide
6P-IT vs 6P-CT and 4P vs 5P-IT where the shipped stack's two most probable classes are that pair.

Usage: ``python classifiers/perisomatic/pair_specialist.py SEED [SEED ...] [--cache DIR] [--out FILE]`` scores P19
on the outer folds cached by ``repeated_cv.py run`` (the shipped stack's outer-test probabilities and its inner
out-of-fold component probabilities), next to the shipped stack on the same folds.

Per outer fold, on its training rows only (inner folds = the stack's component folds, seeded ``seed + 1``):
1. the stack's inner prediction: the meta-model (chosen LightGBM entry and C) cross-fitted on the inner
   out-of-fold component log-probabilities (folds seeded ``seed + 2``, as ``training.choose_meta_c``);
2. per pair, each ``CANDIDATES`` specialist (binary, class-balanced) is trained on the pair's cells of the other
   inner folds and scores every row of the held-out inner fold; the candidate with the best inner balanced
   accuracy on the pair's cells wins (ties: the first);
3. the pair's gate is on only if replacing the stack's pair split by the specialist on the inner rows whose top
   two classes are the pair raises the inner 11-class balanced accuracy;
4. if on, the winner is refitted on all the pair's training cells and re-splits the pair's probability mass of
   the outer test rows whose top two classes are the pair: p'(a) = (p_a + p_b)(1 - q), p'(b) = (p_a + p_b) q.
Inputs (``specialist_inputs``): the 26 shipped inputs plus label-free extras read from the v83 table only
(``pair_features``). No label of a test row, no other model's output, nothing outside shared/data.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from repeated_cv import DEFAULT_CACHE, N_CLASSES, load_seed, recall_per_class, subclass_table  # noqa: E402
from neurd_lite.celltype.columns import _parse_list  # noqa: E402
from neurd_lite.celltype.linear import fit_linear, linear_proba  # noqa: E402
from neurd_lite.celltype.local_depth import TOP_BOTTOM_QUANTILES, _step_depth, cylinders, load_local_reference  # noqa: E402
from neurd_lite.celltype.training import (  # noqa: E402
    SUBCLASSES, balanced_accuracy, fit_lgbm, fit_meta, predict_matrix, read_v83, stack_inputs)

PAIRS: tuple[tuple[str, str], ...] = (("6P-IT", "6P-CT"), ("4P", "5P-IT"))
#: Depth window (µm) searched for the local L5 -> L6 density rise: over all 69,461 v83 somata the density has its
#: L5 minimum at 420-460 µm and rises to its L6 plateau at 540-600 µm (read off the unlabelled table, no label).
L5L6_WINDOW_UM = (450.0, 600.0)
#: Half-width (µm) of the L5 -> L6 step detector: the rise is broader than the L4 -> L5 fall; 75 µm gives a stable
#: landmark over the labelled cells' column (interquartile 545-550 µm against 520-580 µm at 50 µm) and 510-540 µm
#: over 800 random v83 somata (label-free check, done before any outer-fold run).
L5L6_HALF_WIDTH_UM = 75.0
PAIR_FEATURES: tuple[str, ...] = (
    "depth_below_local_l5l6_um", "local_l6_fraction", "depth_below_local_l4l5_um",
    "nucleus_offset_down_um", "nucleus_offset_um",
    "process_mean_down", "process_polarity", "process_second_vertical_cos", "process_thickest_down_sdf_um",
    "process_up_sdf_fraction", "process_orient_sd")
#: Specialist candidates, fixed before any outer-fold run: class-balanced logistic (median-imputed, standardized)
#: at two L2 strengths, class-balanced binary LightGBM (7 leaves, learning rate 0.05) at two lengths.
CANDIDATES: tuple[dict[str, Any], ...] = (
    {"kind": "logistic", "C": 0.1}, {"kind": "logistic", "C": 1.0},
    {"kind": "lightgbm", "num_leaves": 7, "num_boost_round": 100},
    {"kind": "lightgbm", "num_leaves": 7, "num_boost_round": 300})


def _local_landmarks(query: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Depth below the local L5 -> L6 density rise and the L4 -> L5 fall (µm), and the soma's fraction of the local
    L6 (0 at the rise, 1 at the cylinder's 98th-percentile depth), from the somata within 100 µm laterally."""
    out = np.full((len(query), 3), np.nan)
    for i, depth, d, _ in cylinders(query, reference):
        ds = np.sort(d)
        l5l6 = _step_depth(ds, L5L6_WINDOW_UM, rise=True, half_width_um=L5L6_HALF_WIDTH_UM)
        bottom = float(np.quantile(ds, TOP_BOTTOM_QUANTILES[1]))
        out[i] = [depth - l5l6, (depth - l5l6) / (bottom - l5l6) if bottom > l5l6 else np.nan,
                  depth - _step_depth(ds)]
    return pd.DataFrame(out, index=query.index, columns=list(PAIR_FEATURES[:3]))


def _process_stats(sdf: list | None, orients: list | None, vectors: list | None) -> list[float]:
    """Orientation summaries of the processes leaving one soma (v83 lists; +y of ``vectors`` points to white
    matter): SDF-weighted mean downward component, length of the SDF-weighted mean direction (polarity), the
    second-thickest process's ``orients``, SDF (µm) of the thickest process pointing down (y > 0.5; 0 if none),
    SDF share of processes pointing up (y < -0.5), SD of ``orients``."""
    try:
        s = np.asarray(sdf, dtype=float) / 1000.0
        o = np.asarray(orients, dtype=float)
        v = np.asarray(vectors, dtype=float).reshape(-1, 3)
    except (TypeError, ValueError):
        return [np.nan] * 6
    if not (len(s) == len(o) == len(v)) or len(s) == 0 or s.sum() <= 0:
        return [np.nan] * 6
    w = s / s.sum()
    down = v[:, 1] > 0.5
    return [float(w @ v[:, 1]), float(np.linalg.norm(w @ v)), float(o[np.argsort(s)[-2]]) if len(s) > 1 else np.nan,
            float(s[down].max()) if down.any() else 0.0, float(w[v[:, 1] < -0.5].sum()), float(o.std())]


def pair_features(cells: pd.DataFrame) -> pd.DataFrame:
    """``PAIR_FEATURES`` for the labelled rows ``cells`` (engine names with ``nucleus_id``): local landmarks
    against all v83 somata (the cell itself left out), nucleus offset (``nucleus_center_mass_nm``: the nucleus
    centre relative to the soma centre, nm, +y down) in µm, and process orientation statistics."""
    raw = read_v83(["nucleus_id", "nucleus_center_mass_nm", "avg_sdf", "orients", "vectors"])
    raw = raw.drop_duplicates("nucleus_id").set_index("nucleus_id").loc[cells["nucleus_id"].to_numpy()]
    off = np.array([(_parse_list(v) or [np.nan] * 3)[:3] for v in raw["nucleus_center_mass_nm"]], dtype=float) / 1000
    proc = np.array([_process_stats(_parse_list(a), _parse_list(o), _parse_list(v))
                     for a, o, v in zip(raw["avg_sdf"], raw["orients"], raw["vectors"])])
    out = _local_landmarks(cells, load_local_reference())
    out["nucleus_offset_down_um"] = off[:, 1]
    out["nucleus_offset_um"] = np.linalg.norm(off, axis=1)
    out[list(PAIR_FEATURES[5:])] = proc
    return out[list(PAIR_FEATURES)]


def _fit(cand: dict[str, Any], x: pd.DataFrame, y: np.ndarray) -> Any:
    if cand["kind"] == "logistic":
        return fit_linear(x, y, cand["C"])
    return fit_lgbm(x, y, 2, {"num_leaves": cand["num_leaves"], "num_boost_round": cand["num_boost_round"]})


def _q(cand: dict[str, Any], model: Any, x: pd.DataFrame) -> np.ndarray:
    """P(second class of the pair)."""
    return (linear_proba(model, x, 2) if cand["kind"] == "logistic" else predict_matrix(model, x))[:, 1]


def resplit(p: np.ndarray, q: np.ndarray, pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Copy of ``p`` with the pair's mass re-split by ``q`` on rows whose two most probable classes are the pair;
    and the mask of those rows."""
    a, b = pair
    top2 = np.sort(np.argsort(p, axis=1)[:, -2:], axis=1)
    on = (top2[:, 0] == min(a, b)) & (top2[:, 1] == max(a, b))
    out = p.copy()
    m = p[on, a] + p[on, b]
    out[on, a], out[on, b] = m * (1 - q[on]), m * q[on]
    return out, on


def _inner_stack(fold: dict[str, np.ndarray], ytr: np.ndarray, seed: int) -> np.ndarray:
    """The stack's honest inner prediction on the outer training rows (meta-model cross-fitted)."""
    from sklearn.model_selection import StratifiedKFold

    z = stack_inputs(fold["inner_lgbm"], fold["inner_linear"])
    p = np.zeros((len(ytr), N_CLASSES))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed + 2).split(z, ytr):
        p[te] = linear_proba(fit_meta(z[tr], ytr[tr], float(fold["meta_C"])), z[te], N_CLASSES)
    return p


def p19_fold(fold: dict[str, np.ndarray], x: pd.DataFrame, seed: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """P19 outer-test probabilities of one cached outer fold and what the inner folds chose per pair."""
    from sklearn.model_selection import StratifiedKFold

    tr, te, y = fold["tr"], fold["te"], fold["y"]
    ytr, xtr = y[tr], x.iloc[tr]
    p_in = _inner_stack(fold, ytr, seed)
    inner = list(StratifiedKFold(5, shuffle=True, random_state=seed + 1).split(np.zeros(len(ytr)), ytr))
    p_out, log = fold["p"].copy(), []
    for names in PAIRS:
        pair = (SUBCLASSES.index(names[0]), SUBCLASSES.index(names[1]))
        in_pair = np.isin(ytr, pair)
        yb = (ytr == pair[1]).astype(int)
        best = None
        for ci, cand in enumerate(CANDIDATES):
            q = np.zeros(len(ytr))
            for itr, ite in inner:
                rows = itr[in_pair[itr]]
                q[ite] = _q(cand, _fit(cand, xtr.iloc[rows], yb[rows]), xtr.iloc[ite])
            score = balanced_accuracy(yb[in_pair], (q[in_pair] >= 0.5).astype(int))
            if best is None or score > best[0]:
                best = (score, ci, q)
        score, ci, q = best
        base = balanced_accuracy(ytr, p_in.argmax(1))
        with_s = balanced_accuracy(ytr, resplit(p_in, q, pair)[0].argmax(1))
        gate = with_s > base
        entry = {"pair": names, "candidate": ci, "inner_pair_bal": round(score, 4), "inner_bal_stack": round(base, 4),
                 "inner_bal_with": round(with_s, 4), "gate": bool(gate), "changed": 0}
        if gate:
            cand = CANDIDATES[ci]
            model = _fit(cand, xtr[in_pair], yb[in_pair])
            new, on = resplit(p_out, _q(cand, model, x.iloc[te]), pair)
            entry["changed"] = int((new.argmax(1) != p_out.argmax(1)).sum())
            entry["resplit_rows"] = int(on.sum())
            p_out = new
        log.append(entry)
    return p_out, log


def score_seeds(seeds: list[int], cache: Path) -> dict[str, Any]:
    """Shipped stack vs P19 per outer seed: balanced accuracy, pair recalls, inner choices."""
    sub, y, feats = subclass_table()
    x = pd.concat([sub[feats].reset_index(drop=True), pair_features(sub).reset_index(drop=True)], axis=1)
    res: dict[str, Any] = {}
    for s in seeds:
        folds = load_seed(s, cache)
        p0, p1, logs = np.zeros((len(y), N_CLASSES)), np.zeros((len(y), N_CLASSES)), []
        for f in folds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                p1[f["te"]], log = p19_fold(f, x, s)
            p0[f["te"]] = f["p"]
            logs.append(log)
        r0, r1 = recall_per_class(y, p0.argmax(1)), recall_per_class(y, p1.argmax(1))
        res[s] = {"shipped": round(balanced_accuracy(y, p0.argmax(1)), 4),
                  "p19": round(balanced_accuracy(y, p1.argmax(1)), 4),
                  "recall_shipped": {c: round(float(r0[i]), 3) for i, c in enumerate(SUBCLASSES)},
                  "recall_p19": {c: round(float(r1[i]), 3) for i, c in enumerate(SUBCLASSES)}, "folds": logs}
        print(json.dumps({"seed": s, "shipped": res[s]["shipped"], "p19": res[s]["p19"],
                          "gates": [[e["gate"] for e in log] for log in logs],
                          "changed": sum(e["changed"] for log in logs for e in log)}), flush=True)
    d = np.array([res[s]["p19"] - res[s]["shipped"] for s in seeds])
    res["summary"] = {"mean_shipped": round(float(np.mean([res[s]["shipped"] for s in seeds])), 4),
                      "mean_p19": round(float(np.mean([res[s]["p19"] for s in seeds])), 4),
                      "mean_diff": round(float(d.mean()), 4), "worst_diff": round(float(d.min()), 4)}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", nargs="+", type=int)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    res = score_seeds(args.seeds, args.cache)
    print(json.dumps(res["summary"]))
    if args.out:
        args.out.write_text(json.dumps({str(k): v for k, v in res.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

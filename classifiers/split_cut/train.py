"""Train the split-cut ranker (``classifiers/models/split_cut.*``) on tune family merges, with cross-validation.

    python classifiers/split_cut/train.py /tmp/merge11/rows.npz /tmp/merge11/tune --work /tmp/merge11/cv

Rows come from ``capture.py rows`` (every candidate vertex of every soma-to-soma path of tune merges, seeds
0-999, each path also read from its other soma as a second query of the same merge and fold). Folds are grouped by merge (family seed): 5 folds, the same for every variant. For each fold a model is
trained on the other folds' paths and the splitter is run on the fold's merges with it (``SplitParams(cut_model=
that fold's .txt)``): out-of-fold face accuracy per true cell (min of recall and precision), next to the hand
score on the same cells. Variants (declared before the run): ``rank`` (LambdaRank, relevance 3 / 2 / 1 / 0 within
2 / 4 / 8 µm / beyond of the true switch) and ``binary`` (within 3 µm or not); round 2 (session 11): ``rank_faces``
(LambdaRank, relevance 3 / 2 / 1 / 0 where cutting there loses <= 0.005 / 0.02 / 0.05 / more of the path's best
balanced face accuracy, counting the faces of the skeleton hanging off each path vertex). The variant with more OOF cells
>= 0.95 (tie: higher mean worst cell per merge) is refitted on all tune paths and written to ``--models``.
LightGBM runs with num_threads=1; the model is written as text with a JSON sidecar (no pickle).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from neurd_lite.model.shipped import write_booster  # noqa: E402
from neurd_lite.proofread.cut_model import FEATURES  # noqa: E402

PARAMS = {"rank": {"objective": "lambdarank", "lambdarank_truncation_level": 20, "eval_at": [1],
                   "label_gain": [0, 1, 3, 7]},
          "rank_faces": {"objective": "lambdarank", "lambdarank_truncation_level": 20, "eval_at": [1],
                         "label_gain": [0, 1, 3, 7]},
          "binary": {"objective": "binary"},
          "rank_acc": {"objective": "lambdarank", "lambdarank_truncation_level": 20, "eval_at": [1],
                       "label_gain": [0, 1, 3, 7]},
          "rank_acc_dist": {"objective": "lambdarank", "lambdarank_truncation_level": 20, "eval_at": [1],
                            "label_gain": [0, 1, 3, 7, 15]},
          "regress_acc": {"objective": "regression"}}
ACC_VARIANTS = ("rank_acc", "rank_acc_dist", "regress_acc")
COMMON = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40, "feature_fraction": 0.8,
          "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "num_threads": 1, "verbose": -1,
          "seed": 11, "deterministic": True}
ROUNDS = 300


def relevance(dist_um: np.ndarray, variant: str, face_loss: np.ndarray | None = None) -> np.ndarray:
    """Graded relevance of candidate rows: by distance from the true switch (µm), or (``rank_faces``) by the
    balanced face accuracy lost against the path's best cut (``capture.hanging_faces``)."""
    if variant == "rank_faces":
        return np.select([face_loss <= 0.005, face_loss <= 0.02, face_loss <= 0.05], [3, 2, 1], 0)
    if variant == "binary":
        return (dist_um <= 3.0).astype(int)
    return np.select([dist_um <= 2.0, dist_um <= 4.0, dist_um <= 8.0], [3, 2, 1], 0)


def candidate_mask(d: dict) -> np.ndarray:
    """Rows the splitter lets compete: prior > 0, and inside a decisive polarity gate's set when it has any."""
    cand = d["cand"].copy()
    gated = d["decisive"] & d["polarity_ok"]
    for p in np.unique(d["path"][d["decisive"]]):
        sel = d["path"] == p
        if (cand & gated & sel).any():
            cand[sel] &= gated[sel]
    return cand


def accuracy_loss(d: dict, rows: np.ndarray) -> np.ndarray:
    """Per row: the path's best pair accuracy (``label_faces``: mean of the two cells' face accuracy after the whole
    splitter cuts there) among ``rows`` minus the row's own."""
    acc = d["acc_pair"][rows]
    best = np.full(int(d["path"].max()) + 1, -np.inf)
    np.maximum.at(best, d["path"][rows], acc)
    return best[d["path"][rows]] - acc


def labels(d: dict, rows: np.ndarray, variant: str) -> np.ndarray:
    """Training target of ``rows``. Session 14 (labels of ``label_faces.py``): ``rank_acc`` relevance 3 / 2 / 1 / 0
    for a pair accuracy within 0.005 / 0.02 / 0.05 / more of the path's best; ``rank_acc_dist`` the same plus 1 for
    the top grade within 3 µm of the true switch; ``regress_acc`` minus the loss (regression)."""
    if variant not in ACC_VARIANTS:
        return relevance(d["dist_um"][rows], variant, d["face_loss"][rows] if "face_loss" in d else None)
    loss = accuracy_loss(d, rows)
    if variant == "regress_acc":
        return -loss
    rel = np.select([loss <= 0.005, loss <= 0.02, loss <= 0.05], [3, 2, 1], 0)
    if variant == "rank_acc_dist":
        rel = rel + ((rel == 3) & (d["dist_um"][rows] <= 3.0))
    return rel


def fit(d: dict, rows: np.ndarray, variant: str):
    import lightgbm as lgb

    rows = np.flatnonzero(rows) if rows.dtype == bool else rows
    X, path = d["X"][rows], d["path"][rows]
    y = labels(d, rows, variant)
    order = np.argsort(path, kind="stable")
    X, y, path = X[order], y[order], path[order]
    _, sizes = np.unique(path, return_counts=True)
    ds = lgb.Dataset(X, y, group=None if variant in ("binary", "regress_acc") else sizes, feature_name=list(FEATURES),
                     free_raw_data=False)
    return lgb.train({**COMMON, **PARAMS[variant]}, ds, num_boost_round=ROUNDS)


def folds(seeds: np.ndarray, k: int = 5) -> dict[int, int]:
    """Merge seed -> fold (seeds shuffled with a fixed generator, then dealt round-robin)."""
    u = np.unique(seeds)
    rng = np.random.default_rng(11)
    return {int(s): i % k for i, s in enumerate(rng.permutation(u))}


def path_hits(d: dict, cand: np.ndarray, score: np.ndarray) -> dict:
    """Per path (forward reading only): distance (µm) of the top candidate from the true switch."""
    out = []
    cand = cand & ~d["reversed"]  # each path once, read as the splitter reads it
    for p in np.unique(d["path"]):
        sel = np.flatnonzero((d["path"] == p) & cand)
        if len(sel):
            out.append(d["dist_um"][sel[np.argmax(score[sel])]])
    out = np.array(out)
    return {"paths": len(out), "within_3um": int((out <= 3).sum()), "within_8um": int((out <= 8).sum()),
            "median_um": round(float(np.median(out)), 2)}


def cell_scores(case: dict, model: str | None, margin: float = 0.0) -> list[float] | None:
    """min(recall, precision) of the faces of every true cell after splitting with ``model`` (None: hand) and
    ``SplitParams.cut_model_margin`` = ``margin``."""
    import importlib

    from neurd_lite.proofread.cuts import SplitParams

    S = importlib.import_module("neurd_lite.proofread.split")
    n, fc, C = case["n"], np.asarray(case["fc"]), np.asarray(case["C"])
    if len(n.somas) < 2:
        return None
    vo, _ = S.find_cuts(n, SplitParams(cut_model=model, cut_model_margin=margin))
    from label_faces import cell_accuracy

    soma_cell = np.array([int(np.argmin(np.linalg.norm(C - s.center_nm, axis=1))) for s in n.somas])
    return cell_accuracy(fc, S.face_owner(n, vo), soma_cell, len(C)).tolist()


def summarise(rows: dict) -> dict:
    cells = [x for v in rows.values() if v is not None for x in v]
    worst = [min(v) for v in rows.values() if v is not None]
    return {"merges": len(worst), "cells": len(cells), "cells_ge_095": int(sum(x >= 0.95 for x in cells)),
            "mean_worst": round(float(np.mean(worst)), 4), "worst_cell": round(float(min(worst)), 4)}


def save(booster, meta: dict, directory: Path, name: str = "split_cut") -> None:
    write_booster(booster, {"name": name, "features": list(FEATURES), **meta}, directory, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows")
    ap.add_argument("cases")
    ap.add_argument("--work", default="/tmp/merge11/cv")
    ap.add_argument("--models", default=str(ROOT / "classifiers" / "models"))
    ap.add_argument("--variants", default="rank,binary")
    ap.add_argument("--choose", default=None, help="variants the shipped one is chosen from (default: all run)")
    ap.add_argument("--name", default="split_cut", help="shipped model name (session 14: split_cut_faces)")
    args = ap.parse_args()
    d = dict(np.load(args.rows))
    cand = candidate_mask(d)
    fold_of = folds(d["seed"])
    row_fold = np.array([fold_of[int(s)] for s in d["seed"]])
    work = Path(args.work)
    cases = {int(Path(f).stem[3:]): f for f in glob.glob(f"{args.cases}/fam*[0-9].pkl")}
    assert max(cases) < 1000 and int(d["seed"].max()) < 1000, "tune seeds only"
    report: dict = {"n_paths": int(len(np.unique(d["path"]))), "n_rows": int(cand.sum()),
                    "n_merges": int(len(np.unique(d["seed"]))), "hand_paths": path_hits(d, cand, d["hand"])}
    hand_cells = {s: cell_scores(pickle.load(open(f, "rb")), None) for s, f in sorted(cases.items()) if s in fold_of}
    report["hand_cells"] = summarise(hand_cells)
    print("hand", report["hand_paths"], report["hand_cells"], flush=True)
    for variant in args.variants.split(","):
        oof = np.full(len(cand), -np.inf)
        oof_cells: dict = {}
        for k in range(5):
            b = fit(d, cand & (row_fold != k), variant)
            test = cand & (row_fold == k)
            oof[test] = b.predict(d["X"][test], num_threads=1)
            save(b, {"variant": variant, "fold": k}, work / variant, f"fold{k}")
            for s, f in sorted(cases.items()):
                if fold_of.get(s) == k:
                    oof_cells[s] = cell_scores(pickle.load(open(f, "rb")), str(work / variant / f"fold{k}.txt"))
        rec = {"paths": path_hits(d, cand, oof), "cells": summarise(oof_cells),
               "drops_gt_002": [(s, i, round(a, 3), round(b_, 3)) for s in oof_cells if oof_cells[s] is not None
                                for i, (a, b_) in enumerate(zip(hand_cells[s], oof_cells[s])) if b_ < a - 0.02],
               "gains_gt_002": [(s, i, round(a, 3), round(b_, 3)) for s in oof_cells if oof_cells[s] is not None
                                for i, (a, b_) in enumerate(zip(hand_cells[s], oof_cells[s])) if b_ > a + 0.02]}
        report[variant] = rec
        (work / f"oof_cells_{variant}.json").write_text(json.dumps({"hand": hand_cells, "model": oof_cells}))
        print(variant, rec["paths"], rec["cells"], "drops", len(rec["drops_gt_002"]), "gains",
              len(rec["gains_gt_002"]), flush=True)
    variants = [v for v in (args.choose or args.variants).split(",") if v in report]
    best = max(variants, key=lambda v: (report[v]["cells"]["cells_ge_095"], report[v]["cells"]["mean_worst"]))
    report["chosen"] = best
    b = fit(d, cand, best)
    imp = dict(zip(FEATURES, b.feature_importance("gain").round(1).tolist()))
    report["importance_gain"] = dict(sorted(imp.items(), key=lambda kv: -kv[1]))
    save(b, {"variant": best, "params": {**COMMON, **PARAMS[best]}, "num_boost_round": ROUNDS,
             "trained_on": f"{report['n_merges']} tune family merges (seeds "
                           f"{int(d['seed'].min())}-{int(d['seed'].max())}), {report['n_paths']} soma-to-soma paths",
             "relevance": "rank: 3/2/1/0 within 2/4/8 um/beyond of the true switch; binary: within 3 um; "
                          "rank_faces: 3/2/1/0 for balanced face accuracy lost <= 0.005/0.02/0.05/more; "
                          "rank_acc: 3/2/1/0 for pair face accuracy after the whole splitter (label_faces.py) "
                          "within 0.005/0.02/0.05/more of the path's best; rank_acc_dist: +1 for the top grade "
                          "within 3 um of the switch; regress_acc: minus that loss",
             "cv": {k: report[k] for k in ("hand_paths", "hand_cells", *args.variants.split(",")) if k in report}},
         Path(args.models), args.name)
    (work / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: v for k, v in report.items() if k not in ("rank", "binary")}, default=str)[:3000])


if __name__ == "__main__":
    main()

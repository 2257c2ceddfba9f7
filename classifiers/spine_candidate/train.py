"""Train the spine-candidate filter (``neurd_lite.spines.candidates``) on captured tune candidates.

Input: ``capture.py`` output (candidates with features and truth, per-member totals) from TUNE family members
only. Grouped cross-validation by member gives out-of-fold probabilities; the sample weighting and the keep
threshold are chosen on them by the mean over members of the spine face F1 the kept candidates would give
(candidates are disjoint face sets, so face F1 = 2 x true faces kept / (faces kept + true faces)). The final
model is refitted on every tune member. Writes neurd_lite/models/spine_candidate.{txt,json} (LightGBM text model
+ JSON sidecar, num_threads=1) and prints the out-of-fold table per member beside the rule path.

Usage::

  python classifiers/spine_candidate/train.py /tmp/spines7/cand_tune [--out neurd_lite/models]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurd_lite.model.shipped import write_booster  # noqa: E402
from neurd_lite.spines.candidates import FEATURES, MODEL_NAME, MONOTONE, POOL  # noqa: E402

PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "num_threads": 1, "verbose": -1, "seed": 7, "monotone_constraints_method": "advanced"}
ROUNDS = 300
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.025), 3)
SPARSE = ("basket", "bipolar", "neurogliaform", "martinotti")


def weights(df: pd.DataFrame, scheme: str) -> np.ndarray:
    """Sample weights: ``none``; ``sqrt``: a member's candidates weigh 1 / sqrt(its candidate count)."""
    if scheme == "none":
        return np.ones(len(df))
    cnt = df.groupby("member")["member"].transform("size").to_numpy(dtype=float)
    w = 1.0 / np.sqrt(cnt)
    return w * len(df) / w.sum()


def fit(df: pd.DataFrame, w: np.ndarray, feats: list[str]):
    import lightgbm as lgb

    par = dict(PARAMS, monotone_constraints=[MONOTONE.get(f, 0) for f in feats])
    ds = lgb.Dataset(df[feats].to_numpy(dtype=np.float64), df.is_spine.to_numpy(), weight=w,
                     feature_name=feats, free_raw_data=False)
    return lgb.train(par, ds, num_boost_round=ROUNDS)


def oof(df: pd.DataFrame, scheme: str, feats: list[str], n_folds: int = 5) -> np.ndarray:
    """Out-of-fold probabilities, folds by member (each class spread over the folds)."""
    members = df[["member", "cls"]].drop_duplicates().sort_values(["cls", "member"])
    fold = {m: i % n_folds for i, m in enumerate(members.member)}
    f = df.member.map(fold).to_numpy()
    out = np.zeros(len(df))
    for k in range(n_folds):
        tr = f != k
        out[~tr] = fit(df[tr], weights(df[tr], scheme), feats).predict(df.loc[~tr, feats].to_numpy(
            dtype=np.float64), num_threads=1)
    return out


def member_f1(df: pd.DataFrame, keep: np.ndarray, totals: pd.DataFrame) -> pd.Series:
    """Spine face F1 per member from the kept candidates."""
    g = df.assign(kf=np.where(keep, df.n_faces, 0), kt=np.where(keep, df.true_faces, 0)).groupby("member")[
        ["kf", "kt"]].sum().reindex(totals.index).fillna(0)
    return 2 * g.kt / np.maximum(g.kf + totals.true_faces, 1)


def false_per_100um(df: pd.DataFrame, keep: np.ndarray, totals: pd.DataFrame) -> pd.Series:
    """Kept candidates that are not spines, per 100 µm of dendrite, per member."""
    k = df[keep & (df.is_spine.to_numpy() == 0)].groupby("member").size().reindex(totals.index).fillna(0)
    return 100 * k / totals.dendrite_um


def main(argv: list[str] | None = None) -> int:
    import lightgbm as lgb

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix", help="capture.py --out prefix")
    ap.add_argument("--drop", default="", help="comma-separated FEATURES the model does not use")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "neurd_lite" / "models"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    df = pd.read_csv(args.prefix + ".csv")
    totals = pd.DataFrame(json.loads(Path(args.prefix + "_members.json").read_text())).set_index("member")
    sparse = totals["class"].isin(SPARSE)
    feats = [f for f in FEATURES if f not in args.drop.split(",")]
    best = None
    for scheme in ("none", "sqrt"):
        prob = oof(df, scheme, feats)
        for thr in THRESHOLDS:
            f1 = member_f1(df, prob >= thr, totals)
            cand = (f1.mean(), scheme, float(thr), prob)
            if best is None or cand[0] > best[0]:
                best = cand
        print(f"scheme {scheme}: best OOF mean face F1 so far {best[0]:.4f} (scheme {best[1]}, thr {best[2]})")
    score, scheme, thr, prob = best
    keep = prob >= thr
    f1 = member_f1(df, keep, totals)
    fr = false_per_100um(df, keep, totals)
    fr_pool = false_per_100um(df, np.ones(len(df), bool), totals)
    tab = totals.assign(model_oof_f1=f1, false_100um_model=fr, false_100um_pool=fr_pool)
    print(tab.round(3).to_string())
    summary = {"mean_face_f1_rules": float(totals.rules_face_f1.mean()), "mean_face_f1_pool": float(
        totals.pool_face_f1.mean()), "mean_face_f1_model_oof": float(f1.mean()),
        "sparse_face_f1_rules": float(totals.rules_face_f1[sparse].mean()),
        "sparse_face_f1_model_oof": float(f1[sparse].mean()),
        "spiny_face_f1_rules": float(totals.rules_face_f1[~sparse].mean()),
        "spiny_face_f1_model_oof": float(f1[~sparse].mean()),
        "candidate_accuracy_oof": float(np.mean(keep == (df.is_spine.to_numpy() == 1)))}
    print(json.dumps(summary, indent=1))
    booster = fit(df, weights(df, scheme), feats)
    out = Path(args.out)
    gain = dict(zip(booster.feature_name(), booster.feature_importance("gain").round(1).tolist()))
    sidecar = {
        "name": MODEL_NAME, "features": feats, "pool": POOL, "threshold": thr, "weighting": scheme,
        "monotone": MONOTONE, "params": PARAMS, "num_boost_round": ROUNDS,
        "label": "candidate is a true spine when more than half of its faces are true spine faces",
        "train_members": sorted(totals.index.tolist()), "n_candidates": int(len(df)),
        "n_true": int(df.is_spine.sum()), "threshold_choice": "max mean per-member face F1, grouped 5-fold OOF",
        "metrics_oof": summary, "feature_gain": gain,
        "versions": {"python": platform.python_version(), "lightgbm": lgb.__version__, "numpy": np.__version__},
        "train_seconds": round(time.perf_counter() - t0, 1)}
    write_booster(booster, sidecar, out, MODEL_NAME)
    print(f"wrote {out / MODEL_NAME}.txt/.json (threshold {thr}, weighting {scheme})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the spine-vertex model (``neurd_lite.spines.vertex_model``) on captured TUNE members.

Input: ``capture.py`` folder(s) (one pickle per tune member; a second folder may hold the same members subdivided,
``NAME_x4``, which share their member's fold). Grouped 5-fold cross-validation by member (members
sorted by class, dealt round-robin, so every class is spread over the folds) gives out-of-fold probabilities for
every scored vertex; each setting of :data:`GRID` is scored by rebuilding the spine
faces exactly as ``detect.py`` does (``vertex_model.relabel``, then the face vote ``detect._face_labels``, then
the input faces through the face map) and taking the mean over members of the spine face F1 on the input mesh;
the best setting whose false spines per 100 µm on each aspiny class rise by at most :data:`MAX_FALSE_RISE` is written to the sidecar; the final model is refitted on every tune member. Writes
``neurd_lite/models/spine_vertex.{txt,json}`` (LightGBM text model + JSON sidecar, num_threads=1) and prints the
out-of-fold table per member beside the rule path.

Usage::

  python classifiers/spine_vertex/train.py /tmp/spines10/cap [/tmp/spines10b/capsub] [--out neurd_lite/models] [--truth /tmp/spines7/tc]
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurd_lite.geometry.meshes import face_areas_nm2  # noqa: E402
from neurd_lite.model.shipped import write_booster  # noqa: E402
from neurd_lite.spines.detect import SpineParams, _face_labels  # noqa: E402
from neurd_lite.spines.normalise import lift_face_spine  # noqa: E402
from neurd_lite.spines.vertex_model import MODEL_NAMES, feature_names, relabel  # noqa: E402
from neurd_lite.testing.scores import instance_scores, spine_face_f1  # noqa: E402

PARAMS = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 50,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "num_threads": 1, "verbose": -1, "seed": 7}
ROUNDS = 150
ROWS_PER_MEMBER = 20_000  # training rows drawn per member (uniformly; every row is scored out of fold)
# (probability threshold, min spine area nm², min new-spine area nm², min new-spine peak probability); a new
# spine is one the rules did not find at all (area inf: none added)
GRID = [(t, 1e5, a, pk) for t in (0.5, 0.6) for a in (1e5, 2e5, 4e5) for pk in (0.0, 0.8, 0.9)] + [
    (t, 1e5, np.inf, 0.0) for t in (0.5, 0.6)]
GRID_STRICT = [(t, 1e5, a, pk) for t in (0.5, 0.6, 0.7) for a in (2e5, 4e5) for pk in (0.9, 0.95)] + [
    (t, 1e5, np.inf, 0.0) for t in (0.5, 0.6, 0.7)]  # fewer, stricter new spines (aspiny false spines)
ASPINY = ("basket", "bipolar", "neurogliaform")
MAX_FALSE_RISE = 0.2  # tune guard: OOF false spines / 100 µm may rise by at most this on each aspiny class
SPARSE = ("basket", "bipolar", "neurogliaform", "martinotti")


def load(folders: list[str]) -> list[dict]:
    out = []
    for f in sorted(f for d in folders for f in Path(d).glob("*.pkl")):
        with open(f, "rb") as fh:
            out.append(pickle.load(fh))
    return out


def fit(members: list[dict], feats: list[str], rng: np.random.Generator, aspiny_weight: float = 1.0):
    """LightGBM on up to :data:`ROWS_PER_MEMBER` rows per member; rows of :data:`ASPINY` members weigh
    ``aspiny_weight`` (their false spines are few rows, and each one counts per 100 µm of sparse cable)."""
    import lightgbm as lgb

    xs, ys, ws = [], [], []
    for c in members:
        k = np.arange(len(c["y"]))
        if len(k) > ROWS_PER_MEMBER:
            k = np.sort(rng.choice(k, ROWS_PER_MEMBER, replace=False))
        xs.append(c["X"][feats].to_numpy(dtype=np.float64)[k])
        ys.append(c["y"][k])
        ws.append(np.full(len(k), aspiny_weight if c["class"] in ASPINY else 1.0))
    ds = lgb.Dataset(np.vstack(xs), np.concatenate(ys), weight=np.concatenate(ws), feature_name=feats,
                     free_raw_data=False)
    return lgb.train(PARAMS, ds, num_boost_round=ROUNDS)


def group(member: str) -> str:
    """The family member a capture comes from (a subdivided copy ``NAME_x4`` belongs to ``NAME``)."""
    return re.sub(r"_x\d+$", "", member)


def folds(members: list[dict], n_folds: int = 5) -> np.ndarray:
    """Fold per capture: members sorted by class and dealt round-robin; copies of a member share its fold."""
    names = sorted({(c["class"], group(c["member"])) for c in members})
    of = {g: j % n_folds for j, (_, g) in enumerate(names)}
    return np.array([of[group(c["member"])] for c in members])


def input_faces(c: dict, vlabel: np.ndarray) -> np.ndarray:
    """Spine id per input face from per-vertex labels on the working mesh (the detector's face vote; a capture
    on a normalised mesh is lifted to the working faces first, as ``normalise.lift_spines`` does)."""
    fs = _face_labels(vlabel, c["faces"], c["verts"], c["field"], SpineParams())
    fs[c["bad_f"] if "bad_f" in c else ~c["eligible"][c["faces"]].any(1)] = -1
    if c.get("parent") is not None:
        par = c["parent"]
        fs = lift_face_spine(par, fs, face_areas_nm2(c["verts"], c["faces"]), int(par.max()) + 1)
    return fs if c["input_to_working"] is None else fs[c["input_to_working"]]


def grid_table(members: list[dict], probs: list[np.ndarray], truth: str, grid: list[tuple] = GRID
               ) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple]]:
    """Per-member OOF face F1 for every :data:`GRID` setting (columns) and the rules; per aspiny class the mean
    false spines per 100 µm of dendrite (instance precision, as ``eval_spines_family.py``)."""
    rows, false_rows = [], []
    for i, c in enumerate(members):
        true = c["true_ids"] if "true_ids" in c else np.load(Path(truth) / f"{c['member']}.npy")
        r = {"member": c["member"], "class": c["class"], "rules": c["rules_face_f1"]}
        fr = {"member": c["member"], "class": c["class"]}
        for g in ["rules"] + grid:
            fs = input_faces(c, c["label"] if g == "rules" else relabel(
                probs[i], c["idx"], c["label"], c["edges"], c["va"], *g))
            r["rules_offline" if g == "rules" else str(g)] = spine_face_f1(fs, true)
            n_pred = len(np.unique(fs[fs >= 0]))
            fr[str(g)] = 100 * n_pred * (1 - instance_scores(fs, true)[0]) / c["dendrite_um"]
        rows.append(r)
        false_rows.append(fr)
    tab = pd.DataFrame(rows).set_index("member")
    fz = pd.DataFrame(false_rows)
    fz = fz[fz["class"].isin(ASPINY)].groupby("class")[["rules"] + [str(g) for g in grid]].mean()
    for g in map(str, grid):
        print(f"{g}: OOF mean face F1 {tab[g].mean():.4f} worst {tab[g].min():.4f} false / 100 um "
              + " ".join(f"{k} {fz.loc[k, 'rules']:.2f}->{fz.loc[k, g]:.2f}" for k in fz.index), flush=True)
    return tab, fz, grid


def main(argv: list[str] | None = None) -> int:
    import lightgbm as lgb

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="capture.py --out folder(s), e.g. as generated and subdivided")
    ap.add_argument("--drop", default="", help="comma-separated features the model does not use")
    ap.add_argument("--features", default="balls", help="SpineParams.vertex_feature_set of the captures")
    ap.add_argument("--aspiny-weight", type=float, default=1.0, help="row weight of basket / bipolar / NGF members")
    ap.add_argument("--strict-grid", action="store_true", help="GRID_STRICT: thresholds to .7, new-spine peaks .95")
    ap.add_argument("--max-false-rise", type=float, default=MAX_FALSE_RISE,
                    help="tune guard: OOF false spines / 100 um may rise by at most this on each aspiny class")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "neurd_lite" / "models"))
    ap.add_argument("--truth", default="", help="folder of MEMBER.npy true face spine ids (captures without them)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--oof", default="", help="npz of out-of-fold probabilities: read when it exists, else written")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    members = load(args.folders)
    feats = [f for f in feature_names(args.features) if f not in args.drop.split(",")]
    name = MODEL_NAMES[args.features]
    fold = folds(members)
    probs: list[np.ndarray] = [np.zeros(0)] * len(members)
    if args.oof and Path(args.oof).exists():
        z = np.load(args.oof)
        probs = [z[c["member"]] for c in members]
    for k in range(5 if not (args.oof and Path(args.oof).exists()) else 0):
        booster = fit([c for c, f in zip(members, fold) if f != k], feats, np.random.default_rng(k),
                      args.aspiny_weight)
        for i in np.flatnonzero(fold == k):
            probs[i] = booster.predict(members[i]["X"][feats].to_numpy(dtype=np.float64), num_threads=1)
        print(f"fold {k} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.oof and not Path(args.oof).exists():
        np.savez(args.oof, **{c["member"]: pr for c, pr in zip(members, probs)})
    tab, fz, cols = grid_table(members, probs, args.truth, GRID_STRICT if args.strict_grid else GRID)
    ok = [g for g in cols if (fz[str(g)] - fz["rules"]).max() <= args.max_false_rise] or [
        g for g in cols if np.isinf(g[2])]
    thr, min_area, min_new, peak = max(ok, key=lambda g: tab[str(g)].mean())
    best = str((thr, min_area, min_new, peak))
    sparse = tab["class"].isin(SPARSE)
    tab["model_oof"] = tab[best]
    summary = {"mean_face_f1_rules": float(tab.rules.mean()), "mean_face_f1_model_oof": float(tab.model_oof.mean()),
               "worst_rules": float(tab.rules.min()), "worst_model_oof": float(tab.model_oof.min()),
               "sparse_rules": float(tab.rules[sparse].mean()), "sparse_model_oof": float(tab.model_oof[sparse].mean()),
               "spiny_rules": float(tab.rules[~sparse].mean()), "spiny_model_oof": float(tab.model_oof[~sparse].mean()),
               "threshold": thr, "min_area_nm2": min_area, "min_new_area_nm2": min_new, "min_new_peak": peak,
               "false_per_100um_rules": fz["rules"].round(3).to_dict(),
               "false_per_100um_model_oof": fz[best].round(3).to_dict()}
    sub = tab.index.str.contains(r"_x\d+$")
    if sub.any():  # subdivided copies: scored too, and reported apart
        for k, part in (("as_generated", ~sub), ("subdivided", sub)):
            summary[f"{k}_rules_model_oof_worst"] = [round(float(tab.rules[part].mean()), 4),
                                                    round(float(tab.model_oof[part].mean()), 4),
                                                    round(float(tab.model_oof[part].min()), 4)]
    print(tab[["class", "rules", "rules_offline", "model_oof"]].round(3).to_string())
    print(tab.groupby("class")[["rules", "model_oof"]].mean().round(4).to_string())
    print(json.dumps(summary, indent=1))
    if args.no_write:
        return 0
    booster = fit(members, feats, np.random.default_rng(99), args.aspiny_weight)
    out = Path(args.out)
    gain = dict(zip(booster.feature_name(), booster.feature_importance("gain").round(1).tolist()))
    sidecar = {
        "name": name, "feature_set": args.features, "features": feats, "threshold": thr, "min_area_nm2": min_area, "min_new_area_nm2": min_new,
        "min_new_peak": peak, "params": PARAMS,
        "num_boost_round": ROUNDS, "rows_per_member": ROWS_PER_MEMBER, "aspiny_row_weight": args.aspiny_weight,
        "label": "vertex is spine when >= half the area of its incident working faces is on true spine faces",
        "train_members": sorted(c["member"] for c in members),
        "n_rows_scored": int(sum(len(c["y"]) for c in members)), "n_spine": int(sum(c["y"].sum() for c in members)),
        "threshold_choice": "max mean per-member input-face spine F1, grouped 5-fold OOF over GRID, aspiny false "
                            f"spines / 100 um up by <= {args.max_false_rise} per class",
        "metrics_oof": summary, "feature_gain": gain,
        "versions": {"python": platform.python_version(), "lightgbm": lgb.__version__, "numpy": np.__version__},
        "train_seconds": round(time.perf_counter() - t0, 1)}
    write_booster(booster, sidecar, out, name)
    print(f"wrote {out / name}.txt/.json (threshold {thr}, min area {min_area})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

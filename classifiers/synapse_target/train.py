"""Train the synapse-target classifier on synthetic neurons and evaluate it on held-out synthetic cells.

Run from the repository root:  python classifiers/synapse_target/train.py
Writes neurd_lite/models/synapse_target.{txt,json} (classifiers/models/ through the package symlink) and
prints the metrics that go into classifiers/synapse_target/MODEL_CARD.md. One thread; deterministic seeds.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRAIN = [("pyramidal", s, fr, nz) for s, fr, nz in [(101, False, 0), (102, True, 20), (103, True, 40),
                                                    (104, False, 30), (105, True, 10)]] + \
        [("interneuron", 106, True, 20), ("interneuron", 107, False, 0)]
TEST = [("pyramidal", 201, False, 0), ("pyramidal", 202, True, 20), ("pyramidal", 203, True, 40),
        ("interneuron", 204, True, 20)]
PARAMS = {"objective": "multiclass", "num_class": 5, "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 10,
          "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0,
          "num_threads": 1, "seed": 7, "deterministic": True, "verbose": -1}
N_ROUNDS = 200


CACHE = Path(os.environ.get("NEURD_LITE_TRAIN_CACHE", "/tmp/neurd_lite_synapse_target_cache"))


def cell_table(kind: str, seed: int, fragment: bool, noise: float) -> pd.DataFrame:
    """Features, true target and rule target of every synapse of one synthetic cell (cached as parquet)."""
    cached = CACHE / f"{kind}_{seed}_{int(fragment)}_{noise:g}.parquet"
    if cached.is_file():
        return pd.read_parquet(cached)
    from neurd_lite.spines import attach_synapses, detect_spines
    from neurd_lite.spines.adapters import neuron_from_synthetic
    from neurd_lite.spines.target_model import synapse_site_features
    from neurd_lite.testing.synthetic import make_neuron

    sn = make_neuron(kind, seed=seed, fragment=fragment, noise_nm=noise, debris=fragment)
    n = neuron_from_synthetic(sn)
    fld = detect_spines(n)
    attach_synapses(n)
    x = synapse_site_features(n, n.synapses, fld)
    x["y_true"] = sn.synapses["target"].to_numpy()
    x["y_rule"] = n.synapses["target"].to_numpy()
    x["is_far"] = n.synapses["is_far"].to_numpy()
    x["cell"] = f"{kind}_{seed}"
    CACHE.mkdir(parents=True, exist_ok=True)
    x.to_parquet(cached)
    return x


def main() -> None:
    import lightgbm as lgb
    import sklearn
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    from neurd_lite.model.shipped import MODELS_DIR
    from neurd_lite.spines.target_model import CLASSES, MODEL_NAME

    t0 = time.time()
    tables = {"train": [cell_table(*c) for c in TRAIN], "test": [cell_table(*c) for c in TEST]}
    tr, te = pd.concat(tables["train"]), pd.concat(tables["test"])
    # distance_to_mesh_nm is computed but not used: synthetic synapses sit 3-10 nm off the surface, MICrONS
    # synapse centroids 100-500 nm, so the feature would not transfer
    feats = [c for c in tr.columns if c not in ("y_true", "y_rule", "is_far", "cell", "distance_to_mesh_nm")]
    tr = tr[tr.y_true.isin(CLASSES) & ~tr.is_far]
    cls = list(CLASSES)
    ytr = tr.y_true.map({c: i for i, c in enumerate(cls)}).to_numpy()
    booster = lgb.train(PARAMS, lgb.Dataset(tr[feats].to_numpy(float), ytr, feature_name=feats),
                        num_boost_round=N_ROUNDS)
    pred = np.asarray(cls, dtype=object)[np.argmax(booster.predict(te[feats].to_numpy(float), num_threads=1), 1)]
    pred[te.is_far.to_numpy()] = "unknown"
    labels = sorted(set(te.y_true) | set(pred) | set(te.y_rule))
    metrics = {}
    for name, p in (("model", pred), ("rules", te.y_rule.to_numpy())):
        metrics[name] = {
            "macro_f1": round(float(f1_score(te.y_true, p, average="macro", labels=labels)), 4),
            "accuracy": round(float(np.mean(te.y_true.to_numpy() == p)), 4),
            "per_cell_macro_f1": {c: round(float(f1_score(g.y_true, p[te.cell.to_numpy() == c], average="macro")), 4)
                                  for c, g in te.groupby("cell")},
            "confusion": {"labels": labels, "matrix": confusion_matrix(te.y_true, p, labels=labels).tolist()},
        }
        print(name, json.dumps({k: v for k, v in metrics[name].items() if k != "confusion"}))
        print(classification_report(te.y_true, p, labels=labels, digits=3, zero_division=0))
    out = MODELS_DIR
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out / f"{MODEL_NAME}.txt"))
    gain = dict(zip(feats, booster.feature_importance("gain").round(1).tolist()))
    sidecar = {
        "name": MODEL_NAME, "classes": cls, "features": feats,
        "feature_units": {f: ("nm" if f.endswith("_nm") else "1") for f in feats},
        "train_cells": [f"{k}_{s}_frag{int(fr)}_noise{nz}" for k, s, fr, nz in TRAIN],
        "test_cells": [f"{k}_{s}_frag{int(fr)}_noise{nz}" for k, s, fr, nz in TEST],
        "n_train": int(len(tr)), "n_test": int(len(te)), "params": PARAMS, "num_boost_round": N_ROUNDS,
        "metrics_heldout": metrics, "feature_gain": gain,
        "versions": {"python": platform.python_version(), "lightgbm": lgb.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "train_seconds": round(time.time() - t0, 1),
    }
    (out / f"{MODEL_NAME}.json").write_text(json.dumps(sidecar, indent=1))
    print("wrote", out, f"{time.time() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()

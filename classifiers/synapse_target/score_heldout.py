"""Score shipped synapse-target models once on captured held-out members, with the pipeline's decision.

Each ``--arm NAME=FOLDER`` scores the shipped model ``NAME`` (``neurd_lite/models``) on the ``capture.py``
parquets of ``FOLDER`` (the vertex rows, or the ``--even-out`` rows for a model whose sidecar reads
``"neighbourhood": "samples"``), deciding as ``SynapseParams()`` does (hybrid, ``soma_by="model"``:
``target_model.kept_rule_classes``); ``rules=FOLDER`` scores the rule labeller. Prints per arm the mean
per-member macro F1, per-member values, and per-target F1 pooled over members and averaged over members.

Usage (from the repository root)::

  PYTHONPATH=. python classifiers/synapse_target/score_heldout.py --arm synapse_target_profile=/tmp/h/v \\
      --arm synapse_target_even=/tmp/h/e --out /tmp/h/scores.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from train import load, modelled, scores  # noqa: E402

from neurd_lite.spines.target_model import decide_targets, kept_rule_classes, load_model  # noqa: E402
from neurd_lite.testing.scores import SYNAPSE_TARGETS, synapse_target_f1  # noqa: E402


def pipeline_targets(df, name: str, folder: str | None = None) -> np.ndarray:
    """Targets of every captured row as the synapse stage gives them with model ``name`` (``"rules"``: the
    rule labeller's; ``folder``: where the model files are, None: the shipped models)."""
    pred = df["y_rule"].to_numpy().astype(object).copy()
    if name == "rules":
        return pred
    booster, meta = load_model(folder, name)
    on = modelled(df)
    prob = booster.predict(df.loc[on, meta["features"]].to_numpy(np.float64), num_threads=1)
    kept, rules_only = kept_rule_classes(meta, dendritic_only=True, model_soma=True)
    pred[on] = decide_targets(prob, meta["classes"], pred[on], kept, rules_only)
    return pred


def per_member_class(df, pred) -> dict[str, float]:
    """Per target class: the mean over members (holding the class in truth) of the member's F1."""
    out = {}
    for c in SYNAPSE_TARGETS:
        vals = [synapse_target_f1(pred[i], df["y_true"].to_numpy()[i]).get(c, np.nan)
                for _, i in df.groupby("member").indices.items() if (df["y_true"].to_numpy()[i] == c).any()]
        out[c] = round(float(np.nanmean(vals)), 4) if vals else np.nan
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arm", action="append", required=True, help="NAME=FOLDER (repeatable; NAME may be rules)")
    ap.add_argument("--out", default="", help="write the scores as JSON here")
    ap.add_argument("--models-dir", default=None, help="folder of the models (default: the shipped models)")
    ap.add_argument("--record", default="", help="TAG: write every arm's scores as metrics_heldout_TAG and the "
                    "members as heldout_members into the sidecar of each scored model trained without held-out rows")
    args = ap.parse_args(argv)
    res, truth = {}, None
    for spec in args.arm:
        name, folder = spec.split("=", 1)
        df = load(folder)
        key = df[["member", "y_true"]].to_numpy().tolist()
        if truth is not None and key != truth:
            raise SystemExit(f"{folder}: not the rows of the first arm")
        truth = key
        pred = pipeline_targets(df, name, args.models_dir)
        s = scores(df, pred)
        s["member_class_mean"] = per_member_class(df, pred)
        res[name] = s
        print(name, json.dumps({k: v for k, v in s.items() if k != "per_member"}), flush=True)
    members = sorted(next(iter(res.values()))["per_member"])
    print("| member | " + " | ".join(res) + " |\n|---|" + "---:|" * len(res))
    for m in members:
        print(f"| {m} | " + " | ".join(f"{r['per_member'][m]:.4f}" for r in res.values()) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=float))
    if args.record:
        record(res, members, args.record)
    return 0


def record(res: dict, members: list[str], tag: str) -> None:
    """Write the held-out scores of all arms (``metrics_heldout_TAG``) and the members (``heldout_members``) into
    the sidecar of each scored shipped model trained without held-out rows (``train.py`` without ``--heldout``)."""
    from neurd_lite.model.shipped import MODELS_DIR

    for name in res:
        path = Path(MODELS_DIR) / f"{name}.json"
        if name == "rules" or not path.exists():
            continue
        meta = json.loads(path.read_text())
        if meta.get("heldout_members"):
            continue  # a model scored on held-out members before: its sidecar stays as shipped
        meta[f"metrics_heldout_{tag}"] = res
        meta["heldout_members"] = members
        path.write_text(json.dumps(meta, indent=1, default=float))


if __name__ == "__main__":
    raise SystemExit(main())

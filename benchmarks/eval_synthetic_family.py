"""Score the pipeline (``nl.decompose``) on members of the synthetic family, per class.

Runs tune or held-out members (``neurd_lite.testing.family.split``), scores each with
``neurd_lite.testing.scores.score_neuron`` and prints a per-class table (and writes JSON lines with --out).
Report held-out numbers; tune on ``--part tune`` only.

Usage: ``python benchmarks/eval_synthetic_family.py --part heldout --n-seeds 1 [--classes basket,l5_et]
[--conditions random] [--holdout-classes martinotti] [--out /tmp/me/family.jsonl]``
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import neurd_lite as nl  # noqa: E402
from neurd_lite.testing import family  # noqa: E402
from neurd_lite.testing.scores import score_neuron  # noqa: E402

COLUMNS = ("soma_found", "soma_center_error_um", "soma_face_f1", "soma_synapse_f1", "spine_face_f1",
           "spine_precision", "spine_recall", "false_spines_per_100um", "target_macro_f1", "neck_f1",
           "compartment_macro_f1", "seconds")


def _flat(s: dict) -> dict:
    out = {k: v for k, v in s.items() if not isinstance(v, dict)}
    out["target_macro_f1"] = s.get("synapse_target_f1", {}).get("macro", np.nan)
    out["neck_f1"] = s.get("synapse_target_f1", {}).get("spine_neck", np.nan)
    out["compartment_macro_f1"] = s.get("compartment_f1", {}).get("macro", np.nan)
    return out


def run(members: list[tuple[str, int]], conditions: str) -> list[dict]:
    rows = []
    for cls, seed in members:
        sn = family.make_member(cls, seed, conditions=conditions)
        t = time.perf_counter()
        n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], name=f"{cls}_{seed}")
        s = score_neuron(n, sn)
        s.update({"seed": seed, "seconds": time.perf_counter() - t, "conditions": sn.info["conditions"]})
        rows.append(s)
        print(json.dumps(_flat(s), default=str), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| class | n | " + " | ".join(COLUMNS) + " |", "|---|---:|" + "---:|" * len(COLUMNS)]
    flat = [_flat(r) for r in rows]
    for cls in dict.fromkeys(r["class"] for r in flat):
        sel = [r for r in flat if r["class"] == cls]
        vals = [np.nanmean([float(r.get(c, np.nan)) for r in sel]) for c in COLUMNS]
        lines.append(f"| {cls} | {len(sel)} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    vals = [np.nanmean([float(r.get(c, np.nan)) for r in flat]) for c in COLUMNS]
    lines.append(f"| all | {len(flat)} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("tune", "heldout"), default="heldout")
    ap.add_argument("--n-seeds", type=int, default=1)
    ap.add_argument("--classes", default=",".join(family.CLASSES))
    ap.add_argument("--holdout-classes", default="")
    ap.add_argument("--conditions", choices=("default", "random"), default="default")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    classes = [c for c in args.classes.split(",") if c]
    hold = [c for c in args.holdout_classes.split(",") if c]
    tune, held = family.split(args.n_seeds, classes, hold)
    rows = run(held if args.part == "heldout" else tune, args.conditions)
    print(table(rows))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

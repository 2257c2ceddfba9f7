"""The real cell's postsynapse targets at 81k / 324k / 1.3M / 5.2M faces with two synapse-target models on the
same decomposition (issue 17, session 26: neighbourhood inputs on even surface samples).

The MICrONS cell 864691135510518224's 81k mesh subdivided 0..3 times in process (as ``real_target_swing.py``)
goes through ``nl.decompose`` with its synapse table at the default ``PipelineParams`` (the default model's
targets); the synapse stage's call of ``target_model.predict_targets`` is intercepted and repeated with each
``--model`` on the same view, anchors, soma mask and rule targets, so only the model differs. Prints one JSON line
per level: spines, per model the head / neck / shaft / soma counts of postsynapses and their head share, and how
many postsynapses change target against the default; then the head-share spread per model.

Usage (one heavy process, ``OMP_NUM_THREADS=1``)::

  python benchmarks/real_target_even.py --levels 0,1,2,3 --model synapse_target_even --out /tmp/even/real.jsonl
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import neurd_lite as nl  # noqa: E402
from neurd_lite.data import data_path  # noqa: E402
from neurd_lite.spines import target_model as tm  # noqa: E402
from real_cell import SYNAPSES, level_mesh  # noqa: E402  (the same subdivided meshes as real_target_swing)

POST = ("spine_head", "spine_neck", "shaft", "soma")


def run_level(level: int, models: list[str], folder: str | None) -> dict:
    """Decompose at ``level`` and count postsynapse targets by the default and by each of ``models``."""
    got: dict = {}
    orig = tm.predict_targets

    def wrap(*a, **k):
        got["args"], got["kwargs"] = a, k
        return orig(*a, **k)

    tm.predict_targets = wrap
    try:
        t = time.process_time()
        n = nl.decompose(level_mesh(level), synapses=str(data_path(SYNAPSES)))
        cpu = time.process_time() - t
    finally:
        tm.predict_targets = orig
    syn = n.synapses
    post = ~syn["is_pre"].astype(bool).to_numpy() & ~syn["is_far"].to_numpy(dtype=bool)
    base = syn["target"].to_numpy().astype(str)
    row = {"level": level, "faces": int(n.n_faces), "spines": len(n.spines), "cpu_s": round(cpu, 1),
           "default": counts(base[post])}
    for name in models:
        t = time.process_time()
        pred = orig(*got["args"], **dict(got["kwargs"], name=name, folder=folder)).astype(str)
        pred[syn["is_pre"].astype(bool).to_numpy() & ~syn["is_far"].to_numpy(dtype=bool)] = "axon"
        pred[syn["is_far"].to_numpy(dtype=bool)] = "unknown"
        row[name] = counts(pred[post])
        row[name]["changed"] = int((pred[post] != base[post]).sum())
        row[name]["cpu_s"] = round(time.process_time() - t, 1)
    return row


def counts(t: np.ndarray) -> dict:
    """Postsynapse counts per target and the head share."""
    c = {k: int((t == k).sum()) for k in POST}
    c["head_share"] = round(c["spine_head"] / max(len(t), 1), 4)
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="0,1,2,3")
    ap.add_argument("--model", action="append", default=[], help="a model name to compare (repeatable)")
    ap.add_argument("--models-dir", default=None, help="folder of the models (default: the shipped models)")
    ap.add_argument("--out", default="", help="append the JSON lines here")
    args = ap.parse_args(argv)
    rows = []
    for lv in [int(x) for x in args.levels.split(",")]:
        rows.append(run_level(lv, args.model, args.models_dir))
        print(json.dumps(rows[-1]), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(rows[-1]) + "\n")
    for name in ["default", *args.model]:
        sh = [r[name]["head_share"] for r in rows]
        print(f"{name}: head share {min(sh):.3f}-{max(sh):.3f} (spread {max(sh) - min(sh):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

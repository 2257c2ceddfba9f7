"""Capture spine candidates with their features and truth from cached family members (training data).

For every cached member (``benchmarks/eval_spines_family.py cache`` pickles: Neuron after the compartments stage,
SyntheticNeuron) the spine stage runs with ``candidate_filter="pool"`` (loosened cuts, every candidate kept); each
candidate gets its features (``neurd_lite.spines.candidates``), its face count, the number of its faces on true
spines and ``is_spine`` (most of its faces are true spine faces). With ``--rules-too`` the rule path runs as well
and its spine face F1 is stored per member (the baseline the filter must beat). Writes one CSV of candidates and
one JSON of per-member totals.

Usage::

  python classifiers/spine_candidate/capture.py /tmp/spines7/tc/*.pkl --out /tmp/spines7/cand_tune --rules-too
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import neurd_lite as nl  # noqa: E402
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.spines.captures import CANDIDATE_TABLE  # noqa: E402
from neurd_lite.testing.scores import spine_face_f1  # noqa: E402


def _run_spines(n0: nl.Neuron, filt: str) -> nl.Neuron:
    n = copy.deepcopy(n0)
    d = nl.PipelineParams().to_dict()
    d["spines"]["candidate_filter"] = filt
    n.cache[CANDIDATE_TABLE] = []
    dict(pl.MESH_STAGES)["spines"](n, nl.PipelineParams.from_dict(d))
    return n


def capture(path: Path, rules_too: bool) -> tuple[pd.DataFrame, dict]:
    """Candidates of one cached member (features, ``n_faces``, ``true_faces``, ``is_spine``) and member totals."""
    with open(path, "rb") as fh:
        n0, sn = pickle.load(fh)
    truth = np.asarray(sn.face_spine) >= 0
    n = _run_spines(n0, "pool")
    feats = pd.concat(n.cache[CANDIDATE_TABLE], ignore_index=True) if n.cache[CANDIDATE_TABLE] else pd.DataFrame()
    fs = n.face_spine
    on = fs >= 0
    nf = np.bincount(fs[on], minlength=len(feats))
    tf = np.bincount(fs[on & truth], minlength=len(feats))
    feats = feats.assign(n_faces=nf[feats.spine_id], true_faces=tf[feats.spine_id],
                         is_spine=(tf[feats.spine_id] > 0.5 * nf[feats.spine_id]).astype(int),
                         member=path.stem, cls=str(sn.truth.get("class")))
    tot = {"member": path.stem, "class": str(sn.truth.get("class")), "true_faces": int(truth.sum()),
           "pool_face_f1": spine_face_f1(fs, sn.face_spine)}
    cable = sn.truth["cable_length_nm"]
    tot["dendrite_um"] = sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0
    if rules_too:
        tot["rules_face_f1"] = spine_face_f1(_run_spines(n0, "rules").face_spine, sn.face_spine)
    return feats, tot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pickles", nargs="+")
    ap.add_argument("--out", required=True, help="prefix: writes PREFIX.csv and PREFIX_members.json")
    ap.add_argument("--rules-too", action="store_true")
    args = ap.parse_args(argv)
    tabs, tots = [], []
    for f in args.pickles:
        feats, tot = capture(Path(f), args.rules_too)
        tabs.append(feats)
        tots.append(tot)
        print(json.dumps(tot), f"{len(feats)} candidates, {int(feats.is_spine.sum()) if len(feats) else 0} true",
              flush=True)
    pd.concat(tabs, ignore_index=True).to_csv(args.out + ".csv", index=False)
    Path(args.out + "_members.json").write_text(json.dumps(tots, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

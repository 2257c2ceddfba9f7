"""Spine scores on family members with **randomised synapse coverage** (for synapse evidence in spine detection).

The family generator puts a head synapse on a spine by drawing spines with replacement (0.9 head + 0.05 neck
synapses per spine: ~60 % of spines carry one) and its synapse points sit 3-10 nm off the membrane. A detector
that reads synapses must not simply learn that: per member (seeded by class and seed, so both arms see the same
table) this script drops a random 10-40 % of the spine synapses, adds random shaft synapses (0-0.5 per µm of
dendrite, area-weighted on true non-spine dendrite, varicosities included) and pushes every synapse point a random
0-150 nm further out along its face normal (MICrONS synapse centroids sit a median 115 nm off the mesh). The truth
table follows the same changes, so synapse-target scores stay exact.

Uses the caches of ``eval_spines_family.py`` (``cache`` step) and its scoring::

  PYTHONPATH=. python benchmarks/eval_spines_synapses.py --cache /tmp/x/cache --member basket:0 \\
      [--set spines.synapse_seed_nm=100] [--no-perturb | --fill] [--out rows.jsonl]
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import neurd_lite as nl  # noqa: E402
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.io.synapses import load_synapses  # noqa: E402
from neurd_lite.testing.synapses import DENDRITIC  # noqa: E402
from eval_spines_family import _key, _params, score_one, table  # noqa: E402

CLASS_CODE = {c: i for i, c in enumerate(("l23_pyramidal", "l4_pyramidal", "l5_et", "l56_it", "basket", "martinotti",
                                          "bipolar", "neurogliaform"))}


def _normals(tri: np.ndarray) -> np.ndarray:
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _fill_spines(rng: np.random.Generator, syn: pd.DataFrame, sn, verts: np.ndarray, faces: np.ndarray
                 ) -> pd.DataFrame:
    """``syn`` plus one head postsynapse (3-10 nm off a random head face; any face of the spine without head
    faces) on every true spine that has none: cortex-like coverage."""
    fs, lab = np.asarray(sn.face_spine), np.asarray(sn.face_labels).astype(str)
    have = set(syn.spine_id[(syn.spine_id >= 0) & ~syn.is_pre.astype(bool)].tolist())
    on = np.flatnonzero(fs >= 0)
    head_first = on[np.lexsort((rng.random(len(on)), lab[on] != "spine_head", fs[on]))]
    ids, first = np.unique(fs[head_first], return_index=True)
    f = head_first[first][~np.isin(ids, list(have))]
    t = verts[faces[f]]
    a, b = rng.random((2, len(f)))
    flip = a + b > 1
    a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
    pts = t[:, 0] + a[:, None] * (t[:, 1] - t[:, 0]) + b[:, None] * (t[:, 2] - t[:, 0])
    pts += _normals(t) * rng.uniform(3.0, 10.0, len(f))[:, None]
    add = pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2], "is_pre": False,
                        "target": np.where(lab[f] == "spine_head", "spine_head", "spine_neck"),
                        "compartment": np.asarray(sn.face_compartment)[f].astype(str), "spine_id": fs[f], "face": f})
    return pd.concat([syn, add], ignore_index=True)


def perturb_synapses(sn, cls: str, seed: int, drop: tuple[float, float] = (0.1, 0.4),
                     extra_shaft_per_um: tuple[float, float] = (0.0, 0.5), push_nm: tuple[float, float] = (0.0, 150.0),
                     fill: bool = False) -> tuple[pd.DataFrame, dict]:
    """The truth synapse table of ``sn`` with spine synapses dropped, shaft synapses added and points pushed out
    (nm; module doc) and what was drawn. ``fill``: first give every spine a head synapse (then pass a small
    ``drop``): the coverage of real cortex (nearly every spine), which the generator does not have."""
    rng = np.random.default_rng([CLASS_CODE.get(cls, 99), int(seed), 4242])
    syn = sn.synapses.copy()
    verts, faces = np.asarray(sn.mesh.vertices, float), np.asarray(sn.mesh.faces)
    if fill:
        syn = _fill_spines(rng, syn, sn, verts, faces)
    f_drop = rng.uniform(*drop)
    on_spine = syn.target.isin(["spine_head", "spine_neck"]).to_numpy()
    gone = on_spine & (rng.random(len(syn)) < f_drop)
    syn = syn[~gone]
    cable = sn.truth["cable_length_nm"]
    dend_um = sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0
    rate = rng.uniform(*extra_shaft_per_um)
    k = int(rng.poisson(rate * dend_um))
    cand = np.flatnonzero(np.isin(np.asarray(sn.face_labels).astype(str), DENDRITIC) & (np.asarray(sn.face_spine) < 0))
    if k and len(cand):
        tri = verts[faces[cand]]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        f = rng.choice(cand, size=k, p=area / area.sum())
        a, b = rng.random((2, k))
        flip = a + b > 1
        a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
        t = verts[faces[f]]
        pts = t[:, 0] + a[:, None] * (t[:, 1] - t[:, 0]) + b[:, None] * (t[:, 2] - t[:, 0])
        pts += _normals(t) * rng.uniform(3.0, 10.0, k)[:, None]
        add = pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2], "is_pre": False,
                            "target": "shaft", "compartment": np.asarray(sn.face_compartment)[f].astype(str),
                            "spine_id": -1, "face": f})
        syn = pd.concat([syn, add], ignore_index=True)
    has_f = syn.face.to_numpy() >= 0
    nrm = np.zeros((len(syn), 3))
    nrm[has_f] = _normals(verts[faces[syn.face.to_numpy()[has_f]]])
    push = rng.uniform(*push_nm, len(syn))[:, None] * nrm
    syn[["x_nm", "y_nm", "z_nm"]] = syn[["x_nm", "y_nm", "z_nm"]].to_numpy() + push
    syn = syn.reset_index(drop=True)
    syn["synapse_id"] = np.arange(len(syn))
    return syn, {"drop_frac": round(f_drop, 3), "extra_shaft_per_um": round(rate, 3), "extra_shaft": k}


def spine_coverage(syn: pd.DataFrame, sn) -> dict:
    """Share of true spines with >= 1 postsynapse, and the postsynapses' true target shares."""
    true_ids = np.unique(np.asarray(sn.face_spine)[np.asarray(sn.face_spine) >= 0])
    post = syn[~syn.is_pre.astype(bool)]
    with_syn = np.intersect1d(true_ids, post.spine_id[post.spine_id >= 0].unique())
    shares = post.target.value_counts(normalize=True).round(3).to_dict()
    return {"spines_with_post": round(len(with_syn) / max(len(true_ids), 1), 3), "post_target_shares": shares}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--member", action="append", default=[], help="class:seed[:faces] (repeatable)")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--no-perturb", action="store_true")
    ap.add_argument("--fill", action="store_true", help="a head synapse on every spine, then drop 0-10 %%")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    p = _params(args.set)
    rows = []
    for m in args.member:
        c, s, *f = m.split(":")
        key = _key(c, int(s), "default" if f else "random", int(f[0]) if f else None)
        with open(Path(args.cache) / f"{key}.pkl", "rb") as fh:
            n0, sn = pickle.load(fh)
        info = spine_coverage(sn.synapses, sn)
        if not args.no_perturb:
            syn, drawn = perturb_synapses(sn, c, int(s), (0.0, 0.1) if args.fill else (0.1, 0.4), fill=args.fill)
            sn = copy.copy(sn)
            sn.synapses = syn
            n0 = copy.deepcopy(n0)
            n0.synapses = load_synapses(syn[["x_nm", "y_nm", "z_nm", "is_pre"]])
            pl.run_state(n0).anchors = None
            pl.stage_anchors(n0, nl.PipelineParams())
            info.update(drawn, **{f"perturbed_{k}": v for k, v in spine_coverage(syn, sn).items()})
        rows.append({**score_one(n0, sn, p), "member": key, **info})
        line = json.dumps(rows[-1], default=str)
        print(line, flush=True)
        if args.out:  # one row per member as it comes (a long run can be read while it goes)
            with open(args.out, "a" if len(rows) > 1 else "w") as fh:
                fh.write(line + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

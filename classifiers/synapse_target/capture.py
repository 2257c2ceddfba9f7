"""Capture synapse-site features of family members (cached decompositions) for the synapse-target model.

For each cached member (``benchmarks/eval_spines_family.py cache`` pickles: Neuron after the compartments stage
plus its SyntheticNeuron) this runs the spine, refine and synapse stages with the default parameters, takes the
arguments the synapse stage gives :func:`neurd_lite.spines.target_model.synapse_site_features` (the view,
anchors and soma mask the pipeline uses) and the rule targets it gives the model, and writes one parquet per
member: the features, ``y_true`` (family truth), ``y_rule`` (the rule labeller's target, as the pipeline gives it),
``is_pre``, ``is_far`` and ``member``. With ``--even-out`` it also writes the same rows with the neighbourhood
inputs read on evenly spaced surface samples (``spines/even_neighbourhood.py``).

Usage (from the repository root)::

  PYTHONPATH=. python classifiers/synapse_target/capture.py --cache /tmp/spines7/tc --out /tmp/neck/feat
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")


def capture_member(n0, sn, member: str, spines: dict | None = None, profile_sample_nm: float | None = None,
                   even: bool = False):
    """Feature table (pandas) of one cached member (see the module docstring). spines: ``SpineParams`` fields to
    override (e.g. ``{"normalise_edge_nm": 0, "vertex_model": False}``: the rules detector); profile_sample_nm:
    the axis-profile sample spacing (None: the captured 20 nm; the pipeline reads 40). even: also return the same
    rows with the neighbourhood inputs read on evenly spaced surface samples (``neighbourhood="samples"``)."""
    import neurd_lite as nl
    from neurd_lite import pipeline as pl
    from neurd_lite.spines import target_model as tm

    n = n0  # the pickle is loaded for this capture only: no copy needed
    d = nl.PipelineParams().to_dict()
    d["spines"].update(spines or {})
    if profile_sample_nm is not None:
        d["synapses"]["profile_sample_nm"] = profile_sample_nm
    p = nl.PipelineParams.from_dict(d)
    # the synapse stage runs as in the pipeline (hybrid); its call of the target model's features and decision is
    # intercepted, so the rows are read on exactly the view, anchors and soma mask the pipeline uses, and y_rule
    # is the rule labeller's target the model is given (not the hybrid output)
    got: dict = {}
    feats, decide = tm.synapse_site_features, tm.decide_targets

    def f(*a, **k):
        got["args"], got["kwargs"] = a, k
        return feats(*a, **k)

    def dec(prob, classes, rule_target, *a, **k):
        got["rule_target"] = np.asarray(rule_target).astype(str)
        return decide(prob, classes, rule_target, *a, **k)

    tm.synapse_site_features, tm.decide_targets = f, dec
    try:
        stages = dict(pl.MESH_STAGES)
        for name in ("spines", "refine", "synapses"):
            try:
                stages[name](n, p)
            except pl._Skip:
                pass
    finally:
        tm.synapse_site_features, tm.decide_targets = feats, decide
    if "args" not in got:
        raise RuntimeError(f"{member}: the synapse stage did not run the target model")
    kw = dict(got["kwargs"], profile=True)
    x = feats(*got["args"], **kw)
    xs = [x]
    if even:  # the profile inputs do not depend on the neighbourhood: read once, copied
        x2 = feats(*got["args"], **dict(kw, profile=False, neighbourhood="samples"))
        xs.append(pd.concat([x2, x[[c for c in x.columns if c not in x2.columns]]], axis=1)[list(x.columns)])
    for x in xs:
        _labels(x, sn, n, member, got["rule_target"])
    return xs if even else xs[0]


def _labels(x, sn, n, member: str, rule_target: np.ndarray) -> None:
    """Add the truth, the rule target and the row labels train.py reads to feature table ``x`` (in place)."""
    x["y_true"] = sn.synapses["target"].to_numpy().astype(str)
    x["y_rule"] = rule_target
    x["is_far"] = n.synapses["is_far"].to_numpy(dtype=bool)
    x["member"] = member
    x["n_faces"] = int(n.n_faces)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="folder of <member>.pkl decompositions")
    ap.add_argument("--out", required=True, help="folder for <member>.parquet")
    ap.add_argument("--only", default="", help="comma-separated member names (default: all)")
    ap.add_argument("--spines", default="", help='JSON SpineParams overrides, e.g. \'{"normalise_edge_nm": 0, '
                    '"vertex_model": false}\' (the rules detector; default: the default detector)')
    ap.add_argument("--profile-sample-nm", type=float, default=None,
                    help="axis-profile sample spacing, nm (default: the captured 20; the pipeline reads 40)")
    ap.add_argument("--even-out", default="", help="also write the rows with the neighbourhood inputs read on "
                    "evenly spaced surface samples to this folder")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    even = Path(args.even_out) if args.even_out else None
    if even:
        even.mkdir(parents=True, exist_ok=True)
    paths = sorted(Path(args.cache).glob("*.pkl"))
    if args.only:
        by_name = {q.stem: q for q in paths}
        paths = [by_name[m] for m in args.only.split(",") if m in by_name]  # in the order given
    for path in paths:
        dst = out / (path.stem + ".parquet")
        if dst.exists() and (even is None or (even / dst.name).exists()):
            continue
        t = time.process_time()
        with open(path, "rb") as fh:
            n0, sn = pickle.load(fh)
        x = capture_member(n0, sn, path.stem, json.loads(args.spines) if args.spines else None,
                           args.profile_sample_nm, even is not None)
        if even is not None:
            x, x2 = x
            x2.to_parquet(even / dst.name)
        x.to_parquet(dst)
        print(f"{path.stem}: {len(x)} synapses, {np.mean(x.y_true == x.y_rule):.3f} rule accuracy, "
              f"{time.process_time() - t:.0f} CPU s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

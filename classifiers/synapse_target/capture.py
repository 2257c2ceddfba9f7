"""Capture synapse-site features of family members (cached decompositions) for the synapse-target model.

For each cached member (``benchmarks/eval_spines_family.py cache`` pickles: Neuron after the compartments stage
plus its SyntheticNeuron) this runs the spine, refine and synapse stages with the default parameters (synapse targets by the rules), then
computes :func:`neurd_lite.spines.target_model.synapse_site_features` on the working mesh the synapses were
attached on, and writes one parquet per member: the features, ``y_true`` (family truth), ``y_rule`` (the rule
labeller's target, as the pipeline gives it), ``is_pre``, ``is_far`` and ``member``.

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

os.environ.setdefault("OMP_NUM_THREADS", "1")


def capture_member(n0, sn, member: str, spines: dict | None = None):
    """Feature table (pandas) of one cached member (see the module docstring). spines: ``SpineParams`` fields to
    override (e.g. ``{"normalise_edge_nm": 0, "vertex_model": False}``: the rules detector)."""
    import neurd_lite as nl
    from neurd_lite import pipeline as pl
    from neurd_lite.model.soma_extent import SomaExtentParams
    from neurd_lite.spines.detect import soma_face_mask
    from neurd_lite.spines.target_model import synapse_site_features

    n = n0  # the pickle is loaded for this capture only: no copy needed
    # the rule labeller's targets (y_rule, a model input): since session 8 the default method is hybrid, whose
    # output must not be captured as the rules'
    d = nl.PipelineParams().to_dict()
    d["synapses"]["method"] = "rules"
    d["spines"].update(spines or {})
    p = nl.PipelineParams.from_dict(d)
    stages = dict(pl.MESH_STAGES)
    for name in ("spines", "refine", "synapses"):
        try:
            stages[name](n, p)
        except pl._Skip:
            pass
    run = pl.run_state(n)
    w = pl._working_view(n, run) if run.decimated else n
    anchors = pl._anchors(n, p)
    soma = soma_face_mask(w, (p.soma_extent or SomaExtentParams()).core_factor)
    x = synapse_site_features(w, n.synapses, run.shaft_field, anchors, soma, profile=True)
    x["y_true"] = sn.synapses["target"].to_numpy().astype(str)
    x["y_rule"] = n.synapses["target"].to_numpy().astype(str)
    x["is_far"] = n.synapses["is_far"].to_numpy(dtype=bool)
    x["member"] = member
    x["n_faces"] = int(n.n_faces)
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="folder of <member>.pkl decompositions")
    ap.add_argument("--out", required=True, help="folder for <member>.parquet")
    ap.add_argument("--only", default="", help="comma-separated member names (default: all)")
    ap.add_argument("--spines", default="", help='JSON SpineParams overrides, e.g. \'{"normalise_edge_nm": 0, '
                    '"vertex_model": false}\' (the rules detector; default: the default detector)')
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = sorted(Path(args.cache).glob("*.pkl"))
    if args.only:
        by_name = {q.stem: q for q in paths}
        paths = [by_name[m] for m in args.only.split(",") if m in by_name]  # in the order given
    for path in paths:
        dst = out / (path.stem + ".parquet")
        if dst.exists():
            continue
        t = time.process_time()
        with open(path, "rb") as fh:
            n0, sn = pickle.load(fh)
        x = capture_member(n0, sn, path.stem, json.loads(args.spines) if args.spines else None)
        x.to_parquet(dst)
        print(f"{path.stem}: {len(x)} synapses, {np.mean(x.y_true == x.y_rule):.3f} rule accuracy, "
              f"{time.process_time() - t:.0f} CPU s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Capture per-vertex features and truth for the spine-vertex model from cached family members (training data).

For every cached member (``benchmarks/eval_spines_family.py cache`` pickles: Neuron after the compartments stage,
SyntheticNeuron) the spine stage runs with the default (rule) parameters and ``n.cache["spine_vertex_sink"]``
set, so ``neurd_lite.spines.vertex_model`` records the features of every scored vertex of the working mesh. Each
scored vertex gets ``is_spine`` (at least half of the area of its incident working faces lies on true spine
faces). One pickle per member keeps what the offline scorer in ``train.py`` needs to rebuild faces from vertex
labels exactly as ``detect.py`` does (working mesh, shaft field, eligible vertices, the truth per input face and
the input -> working face map) and the rule path's own face F1.

Usage::

  python classifiers/spine_vertex/capture.py /tmp/spines7/tc/*.pkl --out /tmp/spines10/cap
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import neurd_lite as nl  # noqa: E402
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.geometry.meshes import vertex_areas_nm2  # noqa: E402
from neurd_lite.model.soma_extent import SomaExtentParams  # noqa: E402
from neurd_lite.spines.detect import ineligible_faces  # noqa: E402
from neurd_lite.testing.scores import spine_face_f1  # noqa: E402


def capture(path: Path) -> dict:
    """Features, truth and scoring context of one cached member (see the module docstring)."""
    with open(path, "rb") as fh:
        n0, sn = pickle.load(fh)
    n = copy.deepcopy(n0)
    n.cache["spine_vertex_sink"] = []
    t0 = time.process_time()
    pl.stage_spines(n, nl.PipelineParams())
    cpu = time.process_time() - t0
    run = pl.run_state(n)
    mesh = run.mesh if run.decimated else n.mesh
    fm = run.face_map if run.decimated else None
    true_in = np.asarray(sn.face_spine) >= 0
    true_w = fm.lower(true_in.astype(np.int64)) > 0 if fm is not None else true_in
    faces = np.asarray(mesh.faces)
    bad_f = ineligible_faces(pl._working_view(n, run) if run.decimated else n, SomaExtentParams().core_factor)
    area_f = np.asarray(mesh.area_faces)
    nv = len(mesh.vertices)
    va = vertex_areas_nm2(faces, area_f, nv)
    vt = vertex_areas_nm2(faces, np.where(true_w, area_f, 0.0), nv)
    s = n.cache["spine_vertex_sink"][-1]
    cable = sn.truth["cable_length_nm"]
    return {"member": path.stem, "class": str(sn.truth.get("class")), "X": s["features"].astype(np.float32),
            "idx": s["idx"], "y": (vt[s["idx"]] >= 0.5 * va[s["idx"]]).astype(np.int8), "label": s["label"],
            "eligible": s["eligible"], "bad_f": bad_f, "verts": np.asarray(mesh.vertices, dtype=np.float64), "faces": faces,
            "edges": np.asarray(mesh.edges_unique), "va": va, "field": run.shaft_field,
            "input_to_working": None if fm is None else fm.input_to_working, "true_in": true_in,
            "true_ids": np.asarray(sn.face_spine),
            "rules_face_f1": spine_face_f1(n.face_spine, sn.face_spine), "spine_cpu_s": cpu,
            "dendrite_um": sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pickles", nargs="+")
    ap.add_argument("--out", required=True, help="folder: one MEMBER.pkl per member")
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for f in args.pickles:
        dst = Path(args.out) / (Path(f).stem + ".pkl")
        if dst.exists():
            continue
        c = capture(Path(f))
        with open(dst, "wb") as fh:
            pickle.dump(c, fh)
        print(json.dumps({k: c[k] for k in ("member", "class", "rules_face_f1", "spine_cpu_s")}),
              f"{len(c['idx'])} scored vertices, {int(c['y'].sum())} spine", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

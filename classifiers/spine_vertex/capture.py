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
  python classifiers/spine_vertex/capture.py /tmp/spines7/tc/*.pkl --out /tmp/spines10b/capsub --subdivide 1
  python classifiers/spine_vertex/capture.py /tmp/spines10b/cap/*.pkl --out /tmp/spines11/cap --refeature
  python classifiers/spine_vertex/capture.py /tmp/spines13/tune/*.pkl --out /tmp/spines13/cap --normalise 300 --features rings
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import neurd_lite as nl  # noqa: E402
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.geometry.meshes import face_areas_nm2, vertex_areas_nm2  # noqa: E402
from neurd_lite.model.soma_extent import SomaExtentParams  # noqa: E402
from neurd_lite.spines.captures import VERTEX_SINK  # noqa: E402
from neurd_lite.spines.detect import ineligible_faces  # noqa: E402
from neurd_lite.spines.normalise import refine_to_edge, view_faces  # noqa: E402
from neurd_lite.testing.scores import spine_face_f1  # noqa: E402


def capture(path: Path, subdivide: int = 0, normalise_nm: float = 0.0, feature_set: str = "balls") -> dict:
    """Features, truth and scoring context of one cached member (see the module docstring); with ``subdivide``
    > 0 the member's mesh is first subdivided that many times (``bench_spines._subdivided``, truth repeated per
    child face) and the capture is named ``MEMBER_x4`` (x16, ...), a copy of the member at a finer tessellation.
    With ``normalise_nm`` > 0 the spine stage runs with ``SpineParams.normalise_edge_nm`` (the features are those
    of the refined mesh; ``parent`` maps its faces to the working mesh for the offline scorer) and
    ``feature_set`` is ``SpineParams.vertex_feature_set``."""
    with open(path, "rb") as fh:
        n0, sn = pickle.load(fh)
    name = path.stem
    if subdivide:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
        from bench_spines import _subdivided

        n0, sn = _subdivided(n0, subdivide), copy.copy(sn)
        sn.face_spine = np.repeat(np.asarray(sn.face_spine), 4 ** subdivide)
        name = f"{name}_x{4 ** subdivide}"
    n = copy.deepcopy(n0)
    n.cache[VERTEX_SINK] = []
    t0 = time.process_time()
    pp = nl.PipelineParams()
    pp = replace(pp, spines=replace(pp.spines, normalise_edge_nm=normalise_nm, vertex_feature_set=feature_set))
    pl.stage_spines(n, pp)
    cpu = time.process_time() - t0
    run = pl.run_state(n)
    s = n.cache[VERTEX_SINK][-1]
    mesh = s["mesh"]
    fm = run.face_map if run.decimated else None
    true_in = np.asarray(sn.face_spine) >= 0
    true_w = fm.lower(true_in.astype(np.int64)) > 0 if fm is not None else true_in
    faces = np.asarray(mesh.faces)
    bad_f = ineligible_faces(pl._working_view(n, run) if run.decimated else n, SomaExtentParams().core_factor)
    parent = None
    if normalise_nm > 0:  # the refined mesh's faces -> working faces (normalise.py is deterministic)
        wm = run.mesh if run.decimated else n.mesh
        v2, f2, parent = refine_to_edge(np.asarray(wm.vertices), np.asarray(wm.faces), normalise_nm, ~bad_f)
        parent = parent[view_faces(f2, parent, ~bad_f, len(v2))]  # the faces of detect's normalised view
        assert len(parent) == len(faces)
        true_w, bad_f = true_w[parent], bad_f[parent]
    area_f = np.asarray(mesh.area_faces)
    nv = len(mesh.vertices)
    va = vertex_areas_nm2(faces, area_f, nv)
    vt = vertex_areas_nm2(faces, np.where(true_w, area_f, 0.0), nv)
    cable = sn.truth["cable_length_nm"]
    return {"member": name, "class": str(sn.truth.get("class")), "X": s["features"].astype(np.float32),
            "idx": s["idx"], "y": (vt[s["idx"]] >= 0.5 * va[s["idx"]]).astype(np.int8), "label": s["label"],
            "eligible": s["eligible"], "bad_f": bad_f, "verts": np.asarray(mesh.vertices, dtype=np.float64), "faces": faces,
            "edges": np.asarray(mesh.edges_unique), "va": va, "field": s["field"], "parent": parent,
            "input_to_working": None if fm is None else fm.input_to_working, "true_in": true_in,
            "true_ids": np.asarray(sn.face_spine),
            "rules_face_f1": spine_face_f1(n.face_spine, sn.face_spine), "spine_cpu_s": cpu,
            "dendrite_um": sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0}


def refeature(c: dict) -> dict:
    """A capture with its neighbourhood and rule-spine columns recomputed by the current ``vertex_model`` at the
    same scored vertices (session 11: surface-sampled balls, boundary at edge midpoints); the other columns, the
    truth and the scoring context are kept (they do not depend on those columns)."""
    from neurd_lite.spines import vertex_model as vm

    verts, faces, fld, idx, label = c["verts"], c["faces"], c["field"], c["idx"], c["label"]
    r = np.asarray(fld.radius_nm, dtype=float)
    r = np.where(r > 0, r, np.nan)
    h = np.asarray(fld.protrusion_nm, dtype=float)
    cols = vm.neighbourhood_features(verts, faces, face_areas_nm2(verts, faces), fld, h, r, idx)
    cols.update({k: v[idx] for k, v in vm.rule_spine_columns(verts, c["edges"], label, h, c["va"]).items()})
    x = c["X"].copy()
    for k, v in cols.items():
        x[k] = np.asarray(v, dtype=np.float32)
    return {**c, "X": x[list(vm.FEATURES)]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pickles", nargs="+")
    ap.add_argument("--out", required=True, help="folder: one MEMBER.pkl per member")
    ap.add_argument("--subdivide", type=int, default=0, help="subdivide each mesh this many times first (x4 faces)")
    ap.add_argument("--refeature", action="store_true", help="the pickles are captures: recompute their features")
    ap.add_argument("--normalise", type=float, default=0.0, help="SpineParams.normalise_edge_nm (nm; 0: off)")
    ap.add_argument("--features", default="balls", help="SpineParams.vertex_feature_set: balls or rings")
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.refeature:
        for f in args.pickles:
            dst = Path(args.out) / Path(f).name
            if dst.exists():
                continue
            t0 = time.process_time()
            with open(f, "rb") as fh:
                c = refeature(pickle.load(fh))
            with open(dst, "wb") as fh:
                pickle.dump(c, fh)
            print(c["member"], len(c["idx"]), f"{time.process_time() - t0:.1f} s", flush=True)
        return 0
    for f in args.pickles:
        dst = Path(args.out) / (Path(f).stem + (f"_x{4 ** args.subdivide}" if args.subdivide else "") + ".pkl")
        if dst.exists():
            continue
        c = capture(Path(f), args.subdivide, args.normalise, args.features)
        with open(dst, "wb") as fh:
            pickle.dump(c, fh)
        print(json.dumps({k: c[k] for k in ("member", "class", "rules_face_f1", "spine_cpu_s")}),
              f"{len(c['idx'])} scored vertices, {int(c['y'].sum())} spine", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

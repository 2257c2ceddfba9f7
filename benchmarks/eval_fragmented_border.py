"""The fragmented-border decimate test (``DecimateParams.fragmented_border_um_per_um2``) on/off, per family member.

For each member ``class:seed:target_faces`` (made fragmented, with debris and 20 nm noise) it first counts, from
the mesh alone (no labels): input faces, open border per surface (µm/µm²) and ``is_fragmented``. The member is
kept only where the border test changes the decimate decision (>= ``--min-faces`` input faces, border above the
default threshold, ``is_fragmented`` False). Each kept member is then scored once per arm (the default vs
``fragmented_border_um_per_um2=None``): the pre-spine stages under the arm's parameters, then
``eval_spines_family.score_one`` (face F1, instance P/R, synapse macro and per-target F1, false spines / 100 µm,
CPU seconds). Rows are appended as JSON lines to ``--out``.

Usage::

  python benchmarks/eval_fragmented_border.py --out /tmp/x.jsonl basket:2543:2000000 bipolar:2544:2000000
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
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.io.meshes import load_mesh  # noqa: E402
from neurd_lite.io.synapses import load_synapses  # noqa: E402
from neurd_lite.mesh.border import open_border_um_per_um2  # noqa: E402
from neurd_lite.mesh.decimate import is_fragmented  # noqa: E402
from neurd_lite.testing import family  # noqa: E402

import eval_spines_family as ev  # noqa: E402

ARMS = (("default", []), ("none", ["decimate.fragmented_border_um_per_um2=null"]))
SHOW = ("arm", "spine_face_f1", "spine_p", "spine_r", "macro_f1", "spine_neck", "false_per_100um",
        "working_faces", "pre_cpu_s", "spines_cpu_s")


def count(sn, min_faces: int) -> dict:
    """Input faces, open border (µm per µm² of surface), is_fragmented, and whether the border test decides."""
    m = load_mesh(sn.mesh)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    border = float(open_border_um_per_um2(v, f))
    frag = bool(is_fragmented(f, len(v)))
    thr = nl.PipelineParams().decimate.fragmented_border_um_per_um2
    return {"faces": int(len(f)), "border": border, "is_fragmented": frag,
            "kept": len(f) >= min_faces and thr is not None and border > thr and not frag}


def score_arm(sn, name: str, sets: list[str]) -> dict:
    """Pre-spine stages under the arm's parameters, then the spine / refine / synapse scores."""
    p = ev._params(sets)
    n = nl.Neuron(name=name, mesh=load_mesh(sn.mesh))
    n.synapses = load_synapses(sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]])
    pl.run_state(n)
    stages = dict(pl.MESH_STAGES)
    c = time.process_time()
    for stage in ev.PRE_SPINE:
        try:
            stages[stage](n, p)
        except pl._Skip:
            pass
    pre = time.process_time() - c
    r = ev.score_one(n, sn, p)
    r.update(pre_cpu_s=pre, working_faces=int(len(n.mesh.faces)))
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", nargs="+", help="class:seed:target_faces")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-faces", type=int, default=1_000_000)
    a = ap.parse_args(argv)
    with open(a.out, "a") as out:
        for spec in a.members:
            cls, seed, faces = spec.split(":")
            sn = family.make_member(cls, int(seed), target_faces=int(faces), fragment=True, debris=True, noise_nm=20.0)
            member = f"{spec}:frag"
            c = count(sn, a.min_faces)
            print(json.dumps({"member": member, **c}), flush=True)
            out.write(json.dumps({"member": member, "count": c}) + "\n")
            out.flush()
            if not c["kept"]:
                continue
            for arm, sets in ARMS:
                r = score_arm(sn, f"{cls}_{seed}_frag_{arm}", sets)
                r.update(arm=arm, member=member)
                out.write(json.dumps(r, default=str) + "\n")
                out.flush()
                print(json.dumps({k: r[k] for k in SHOW}, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Synthetic open dendrite stubs (a piece cut out of a volume, spines as long as its shaft): spine face F1 and the
share of the shaft labelled spine, for the default and for a parameter variant (docs/spines.md, session 21).

Per seed: 4-10 mushroom spines (``spines.adapters.spiny_cylinder``, 5 nm noise) on a tube of radius 300-500 nm,
cut open to 1.4-2.4 µm (spines past the cuts stay whole; the largest piece is kept); drawn from
``default_rng(1000 + seed)``. Truth: faces more than r + 40 nm from the tube axis are spine; shaft = faces within
r + 20 nm. Each mesh goes through ``nl.decompose`` (units nm).

Usage: ``python benchmarks/eval_open_stubs.py FIRST_SEED STOP_SEED [--set spines.cut_end_radius=true]``
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def open_stub(seed: int):
    """(stub mesh nm, tube radius nm, spine count) of one seed."""
    import trimesh

    from neurd_lite.spines.adapters import spiny_cylinder

    rng = np.random.default_rng(1000 + seed)
    k, length, r = int(rng.integers(4, 11)), float(rng.uniform(1400, 2400)), float(rng.uniform(300, 500))
    mesh, _, _ = spiny_cylinder(n_spines=k, seed=seed, length_nm=length + 3000, radius_nm=r, noise_nm=5)
    c = mesh.triangles_center
    keep = (np.abs(c[:, 2]) < length / 2) | (np.linalg.norm(c[:, :2], axis=1) > r + 30)
    stub = trimesh.Trimesh(mesh.vertices, mesh.faces[keep], process=False)
    stub = max(stub.split(only_watertight=False), key=lambda m: len(m.faces))
    stub.remove_unreferenced_vertices()
    return stub, r, k


def score(stub, r: float, params) -> dict:
    """Face F1 (area) of the spine labels, shaft share labelled spine, spine count, skeleton cut ends."""
    import neurd_lite as nl

    n = nl.decompose(stub, units="nm", params=params)
    c, area = stub.triangles_center, stub.area_faces
    rad = np.linalg.norm(c[:, :2], axis=1)
    true_sp, shaft = rad > r + 40, rad < r + 20
    fs = np.asarray(n.face_spine) >= 0
    tp = area[fs & true_sp].sum()
    p, rc = tp / max(area[fs].sum(), 1.0), tp / max(area[true_sp].sum(), 1.0)
    return {"f1": round(float(2 * p * rc / max(p + rc, 1e-9)), 4),
            "shaft_called_spine": round(float(area[fs & shaft].sum() / area[shaft].sum()), 3),
            "n_spines": int(len(n.spines)), "cut_ends": int(n.skeleton.cut_ends.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=int)
    ap.add_argument("stop", type=int)
    ap.add_argument("--set", action="append", default=[], help="dotted PipelineParams field=value (the variant)")
    args = ap.parse_args()
    import neurd_lite as nl

    tree: dict = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        node = tree
        *path, leaf = k.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = json.loads(v)
    arms = {"default": nl.PipelineParams(), "variant": nl.PipelineParams.from_dict(tree)}
    for seed in range(args.first, args.stop):
        stub, r, k = open_stub(seed)
        row = {"seed": seed, "spines_true": k, "radius_nm": round(r), "faces": len(stub.faces)}
        for name, p in arms.items():
            t = time.perf_counter()
            row[name] = {**score(stub, r, p), "s": round(time.perf_counter() - t, 1)}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

"""Peak memory and time of anchoring 1M synapses (chunked nearest-face search, neurd_lite.geometry.nearest).

    python benchmarks/bench_anchors.py [--n 1000000] [--faces 0]

Points are drawn on the MICrONS cell 864691135510518224's mesh (80k faces; ``--faces N`` subdivides it to about
N faces first) and jittered by 300 nm. Prints seconds and the process's peak resident memory (MB).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules (real_cell)

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--faces", type=int, default=0)
    args = ap.parse_args()
    from neurd_lite.model.anchors import anchor_to_mesh
    from neurd_lite.model.facemap import FaceMap
    from real_cell import level_mesh

    mesh = level_mesh(0)  # the 81k mesh as read (load_mesh's arrays), subdivided until it reaches --faces
    level = 0
    while args.faces and len(mesh.faces) * 4 ** level < args.faces:
        level += 1
    mesh = level_mesh(level) if level else mesh
    rng = np.random.default_rng(0)
    pts = mesh.sample(args.n) + rng.normal(0.0, 300.0, (args.n, 3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    a = anchor_to_mesh(pts, np.asarray(mesh.triangles), FaceMap.identity(len(mesh.faces)),
                       np.asarray(mesh.triangles_center), None, None)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.n} synapses on {len(mesh.faces)} faces: {dt:.1f} s, peak RSS {peak:.0f} MB "
          f"(before anchoring {before:.0f} MB); far {int(a.is_far.sum())}")


if __name__ == "__main__":
    main()

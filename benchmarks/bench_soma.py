"""Time of the soma stage alone (``find_somas``) on the real MICrONS cell at 81k / 1.3M / 5.2M faces.

Larger sizes are the 81k-face mesh subdivided 2 / 3 times (``trimesh.remesh.subdivide``), cached as NPZ under
``--cache``. Reports wall and CPU seconds of ``find_somas`` per size (best of ``--repeat``), the number of somata
and their centres (µm), so a change to detection can be timed against the previous commit.

    OMP_NUM_THREADS=1 python benchmarks/bench_soma.py --sizes 81k,1.3M,5.2M
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's neurd_lite

LEVELS = {"81k": 0, "324k": 1, "1.3M": 2, "5.2M": 3}


def load_level(level: int, cache: Path):
    """The real cell subdivided ``level`` times as a trimesh (nm), cached in ``cache`` (``real_cell.level_mesh``)."""
    from real_cell import level_mesh

    return level_mesh(level, cache)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="81k,1.3M,5.2M")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/neurd_lite_bench_soma"))
    a = ap.parse_args(argv)
    from neurd_lite.mesh.soma import find_somas

    for size in a.sizes.split(","):
        mesh = load_level(LEVELS[size], a.cache)
        best = (np.inf, np.inf)
        for _ in range(a.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            somas = find_somas(mesh)
            best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
        cs = "; ".join(str(np.round(s.center_nm / 1000, 1).tolist()) for s in somas)
        print(f"{size:>5} {len(mesh.faces):>9,} faces  find_somas wall {best[0]:6.2f} s  cpu {best[1]:6.2f} s  "
              f"{len(somas)} somata  centres µm {cs}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

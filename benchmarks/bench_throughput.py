"""Batch throughput: neurons per core-hour and peak memory per worker at 81k / 1.3M / 5.2M faces.

Each neuron runs in a fresh worker process (``multiprocessing`` spawn, one task per process; imports done
before the clock starts, as in a long-lived Dask or batch worker): load mesh + synapses, ``decompose``, ``features``, ``classify``. Reported per neuron: wall
and CPU seconds of the worker (CPU = user + system, the fair number on a shared machine), peak resident memory
of the worker (``ru_maxrss``, imports included), and neurons per core-hour = 3600 / CPU seconds. The peak adds the largest child's (the forked decimation above
1M faces) to the worker's: an upper bound of the total (the two peaks need not coincide; both are printed). CPU includes the child's.

Meshes: the real MICrONS cell (80,883 faces) and the same cell subdivided twice / three times
(``bench_pipeline.make_mesh_file``), with its synapse table.

    python benchmarks/bench_throughput.py --sizes 81k,1.3M --repeat 2
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's neurd_lite, not an installed one


def one_neuron(args: tuple[str, str]) -> dict[str, float]:
    """Worker: the whole pipeline on one mesh file; returns its wall / CPU seconds and peak RSS (MB)."""
    import resource

    os.environ["OMP_NUM_THREADS"] = "1"
    mesh, synapses = args
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import lightgbm  # noqa: F401 - a long-lived worker has its imports done: not charged to the neuron
    import trimesh  # noqa: F401

    import neurd_lite as nl
    import neurd_lite.celltype  # noqa: F401
    import neurd_lite.pipeline  # noqa: F401

    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    n = nl.decompose(mesh, synapses=synapses)
    table = nl.features(n)
    result = nl.classify(n)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the forked decimation (no children before)
    return {"wall_s": time.perf_counter() - t0,
            "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime) + k1.ru_utime + k1.ru_stime,
            "peak_rss_mb": (r1.ru_maxrss + k1.ru_maxrss) / 1024.0, "self_mb": r1.ru_maxrss / 1024.0,
            "child_mb": k1.ru_maxrss / 1024.0, "faces": n.n_faces, "n_features": table.shape[1],
            "class": f"{result.ei}/{result.subclass}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="81k,1.3M", help="comma list of 81k, 324k, 1.3M, 5.2M")
    ap.add_argument("--repeat", type=int, default=2, help="neurons (worker processes) per size")
    args = ap.parse_args(argv)
    from bench_pipeline import SIZES, SYNAPSES, make_mesh_file

    from neurd_lite.data import data_path

    rows = ["| mesh | faces | neurons | wall s / neuron | CPU s / neuron | neurons per core-hour | peak RSS per "
            "worker MB | class |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    ctx = mp.get_context("spawn")
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            path, nf = make_mesh_file(SIZES[size], Path(tmp))
            res = []
            for _ in range(args.repeat):  # one after the other: a fresh process each, nothing shared
                with ctx.Pool(1, maxtasksperchild=1) as pool:
                    res.append(pool.map(one_neuron, [(str(path), str(data_path(SYNAPSES)))])[0])
            wall = sum(r["wall_s"] for r in res) / len(res)
            cpu = sum(r["cpu_s"] for r in res) / len(res)
            rss = max(r["peak_rss_mb"] for r in res)
            print(f"{size}: worker peak {max(r['self_mb'] for r in res):.0f} MB, forked decimation child peak "
                  f"{max(r['child_mb'] for r in res):.0f} MB", flush=True)
            rows.append(f"| {size} | {nf:,} | {len(res)} | {wall:.1f} | {cpu:.1f} | {3600.0 / cpu:.0f} | {rss:.0f} | "
                        f"{res[0]['class']} |")
            print(rows[-1], flush=True)
    print(f"\nload average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end (2 cores)\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

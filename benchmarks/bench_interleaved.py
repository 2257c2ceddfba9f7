"""Whole pipeline vs MeshParty TEASAR alone, interleaved in one process and repeated: CPU medians on a shared host.

On a machine shared with other jobs one run of ``bench_pipeline.py`` moves by 10-30 % from run to run (TEASAR
alone read 12.5-14.7 s CPU at 1.3M in three repeats of one process, session 25). This script runs, in one
process and in turn, every arm (``decompose`` + ``features`` + ``classify`` with ``PipelineParams`` overrides,
``bench_pipeline.run_ours``) and then TEASAR (``bench_pipeline.run_teasar``) on the same mesh, ``--repeats``
times, and prints one JSON row per run (CPU and wall seconds, per-stage CPU seconds, load average before and
after, somas / limbs / spines / synapse targets) and the median ratio of each arm's CPU seconds to the TEASAR
CPU seconds of the same repeat. CPU seconds include the forked decimation child (``bench_pipeline._cpu_s``).

    python benchmarks/bench_interleaved.py --size 1.3M --repeats 3 \\
        --arm default --arm floor150k:decimate.min_target_faces=150000

An arm is ``NAME`` or ``NAME:key=value[,key=value]`` with dotted ``PipelineParams`` keys (values as JSON where
they parse, else strings; as ``eval_spines_family.py --set``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's neurd_lite

import bench_pipeline as bp  # noqa: E402


def parse_arm(text: str) -> tuple[str, list[str]]:
    """``NAME[:k=v,k=v]`` -> (name, ["k=v", ...])."""
    name, _, rest = text.partition(":")
    return name, [s for s in rest.split(",") if s]


def arm_params(sets: list[str]):
    """The default ``PipelineParams`` with dotted ``key=value`` overrides."""
    from eval_spines_family import _params

    return _params(sets)


def soma_center(size: str, cache: Path):
    """TEASAR's soma point (nm) for a bench size: the real cell's soma_0 mesh centre, or the synthetic truth."""
    import numpy as np

    if size in bp.SYNTHETIC:
        faces, seed = bp.SYNTHETIC[size]
        return np.load(cache / f"synthetic_pyramidal_{faces // 1000}k_seed{seed}.npz")["soma_center_nm"]
    import trimesh

    from neurd_lite.data import data_path
    from real_cell import DATA_DIR

    return trimesh.load(data_path(DATA_DIR + "soma_0.ply")).vertices.mean(axis=0)


def one_arm(path: Path, syn, name: str, sets: list[str], rep: int) -> dict:
    """Run one arm once; its JSON row."""
    load0 = os.getloadavg()[0]
    rows, n = bp.run_ours(path, arm_params(sets), syn)
    tgt = n.synapses["target"].value_counts().to_dict() if "target" in n.synapses else {}
    return {"rep": rep, "arm": name, "set": sets, "cpu_s": round(sum(r[2] for r in rows), 2),
            "wall_s": round(sum(r[1] for r in rows), 2), "stages_cpu_s": {r[0]: round(r[2], 2) for r in rows},
            "somas": len(n.somas), "limbs": n.n_limbs, "spines": len(n.spines), "targets": tgt,
            "working_faces": n.provenance.get("decimate", {}).get("working_faces"),
            "load": [round(load0, 1), round(os.getloadavg()[0], 1)], "utc": time.strftime("%H:%M:%S", time.gmtime())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1.3M", help="one of bench_pipeline's sizes (81k, 324k, 1.3M, 5.2M, syn1M, ...)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--arm", action="append", default=None, help="NAME[:key=value,...]; repeatable (default: default)")
    ap.add_argument("--no-teasar", action="store_true")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "neurd_lite_bench"))
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    arms = [parse_arm(a) for a in (args.arm or ["default"])]
    bp.warm_imports()
    cpu: dict[str, list[float]] = {name: [] for name, _ in arms}
    ratio: dict[str, list[float]] = {name: [] for name, _ in arms}
    with tempfile.TemporaryDirectory() as tmp:
        path, nf, syn = bp._size_runs(args.size, Path(tmp), Path(args.cache))
        center = None if args.no_teasar else soma_center(args.size, Path(args.cache))
        for rep in range(args.repeats):
            mine = {}
            for name, sets in arms:
                row = one_arm(path, syn, name, sets, rep)
                mine[name] = row["cpu_s"]
                cpu[name].append(row["cpu_s"])
                print(json.dumps({"faces": nf, **row}, default=str), flush=True)
            if center is None:
                continue
            load0 = os.getloadavg()[0]
            dt, t_cpu, _, nbp, abs_mb = bp.run_teasar(path, center)
            print(json.dumps({"rep": rep, "arm": "teasar", "cpu_s": round(t_cpu, 2), "wall_s": round(dt, 2),
                              "branch_points": nbp, "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
                              "utc": time.strftime("%H:%M:%S", time.gmtime())}), flush=True)
            for name in mine:
                ratio[name].append(mine[name] / t_cpu)
    for name, _ in arms:
        med = {"arm": name, "median_cpu_s": round(statistics.median(cpu[name]), 2)}
        if ratio[name]:
            med.update(median_ratio_to_teasar_cpu=round(statistics.median(ratio[name]), 3),
                       ratios=[round(r, 3) for r in ratio[name]])
        print(json.dumps(med), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

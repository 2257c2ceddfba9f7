"""Batch featurization: throughput with 1 vs 2 workers, and the mixed real + synthetic + poison batch.

    python benchmarks/bench_batch.py --n 20                 # throughput table (neurons per minute)
    python benchmarks/bench_batch.py --mixed --out /tmp/mix  # real cell + fly + Harris + synthetic + poison

Generated inputs are cached under --cache. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from neurd_lite.batch import featurize
from real_cell import MESH, SYNAPSES  # the real cell's paths under the shared data


def markdown(df: pd.DataFrame, index: bool = False) -> str:
    """A markdown table without the optional ``tabulate`` dependency."""
    d = df.reset_index() if index else df
    head = "| " + " | ".join(map(str, d.columns)) + " |"
    rule = "|" + "---|" * len(d.columns)
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in d.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def synthetic_folder(cache: Path, n: int) -> Path:
    """``n`` generated neurons (alternating pyramidal / interneuron) with synapse tables, cached."""
    from neurd_lite.testing.synthetic import make_neuron, to_files

    folder = cache / f"synthetic_{n}"
    (folder / "synapses").mkdir(parents=True, exist_ok=True)
    for seed in range(n):
        mesh = folder / f"synthetic_{seed:02d}.ply"
        if mesh.is_file() and (folder / "synapses" / f"synthetic_{seed:02d}.csv").is_file():
            continue
        sn = make_neuron(kind="pyramidal" if seed % 2 == 0 else "interneuron", seed=seed)
        mesh_path, syn_path = to_files(sn, folder / "tmp")
        os.replace(syn_path, folder / "synapses" / f"synthetic_{seed:02d}.csv")  # paired by exact stem
        os.replace(mesh_path, mesh)
    return folder


def throughput(cache: Path, n: int, workers: list[int]) -> None:
    folder = synthetic_folder(cache, n)
    rows = []
    for w in workers:
        out = cache / f"out_w{w}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        report = featurize([folder / "*.ply"], out, synapses=str(folder / "synapses"),
                           workers=w, progress=False, save_neuron=False)
        sec = time.perf_counter() - t0
        rows.append({"workers": w, "neurons": len(report.done), "failed": len(report.failed),
                     "seconds": round(sec, 1), "neurons_per_min": round(60 * len(report.done) / sec, 1)})
    print(f"load average at end: {os.getloadavg()[0]:.1f} (2-core machine)\n")
    print(markdown(pd.DataFrame(rows)))


def mixed(cache: Path, out: Path, workers: int) -> None:
    """Real cell, five fly neurons, two Harris dendrites, 20 synthetic neurons and 5 poison files."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_batch import _write_poison  # the same poison files the tests use

    from neurd_lite.data import data_path

    folder = synthetic_folder(cache, 20)
    poison = cache / "poison"
    _write_poison(poison)
    cell = data_path(MESH)
    fly = data_path("meshes/fly_hemibrain_DA1_PNs/obj/722817260.obj").parent
    harris = data_path("meshes/harris_dendrites/harris_part_dendrite.ply").parent
    syn = cache / "mixed_synapses"
    syn.mkdir(exist_ok=True)
    shutil.copy(data_path(SYNAPSES), syn)
    for f in (folder / "synapses").glob("*.csv"):
        shutil.copy(f, syn / f"synthetic_{f.stem.split('_')[1]}.csv")
    units = f"{fly.as_posix()}/*=8,{harris.as_posix()}/*=um,*=nm"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    report = featurize([cell, fly, harris, folder / "*.ply", poison], out, synapses=str(syn), units=units,
                       workers=workers, progress=False)
    sec = time.perf_counter() - t0
    feats = pd.read_parquet(out / "features.parquet")
    errors = pd.read_csv(out / "errors.csv")
    print(f"{report.n_total} inputs: {len(report.done)} featurized, {len(report.failed)} failed, {sec:.0f} s\n")
    print(markdown(errors))
    cols = [c for c in ("flags", "cable_length_um", "n_branches", "spine_count", "soma_volume_um3") if c in feats]
    print()
    print(markdown(feats[cols].round(2), index=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="synthetic neurons for the throughput run")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--cache", default="/tmp/neurd_lite_bench_batch")
    ap.add_argument("--mixed", action="store_true", help="run the mixed real/synthetic/poison batch instead")
    ap.add_argument("--out", default="/tmp/neurd_lite_bench_batch/mixed_out")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if args.mixed:
        mixed(cache, Path(args.out), int(args.workers.split(",")[-1]))
    else:
        throughput(cache, args.n, [int(w) for w in args.workers.split(",")])


if __name__ == "__main__":
    main()

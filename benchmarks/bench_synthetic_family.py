"""Generation time and size of synthetic family members: every class at the default size, and big meshes.

Usage: ``python benchmarks/bench_synthetic_family.py [--seed 1000] [--big 1e6,8e6] [--big-class l5_et]``
Prints one line per member: faces, seconds (total / union), spines, soma radius.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurd_lite.testing import family  # noqa: E402


def line(sn, seconds: float) -> str:
    t, i = sn.truth, sn.info
    return (f"| {t['class']} | {sn.seed} | {len(sn.mesh.faces):,} | {seconds:.1f} | {i['seconds_union']:.1f} | "
            f"{i['refine']} | {t['n_spines']} | {t['soma_shape']} | {t['soma_radius_nm'] / 1000:.1f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--big", default="", help="comma-separated face targets, e.g. 1e6,8e6")
    ap.add_argument("--big-class", default="l5_et")
    ap.add_argument("--skip-default", action="store_true")
    args = ap.parse_args(argv)
    print("| class | seed | faces | seconds | union s | refine | spines | soma shape | soma r µm |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    if not args.skip_default:
        for cls in family.CLASSES:
            t0 = time.perf_counter()
            sn = family.make_member(cls, args.seed)
            print(line(sn, time.perf_counter() - t0), flush=True)
    for target in [float(x) for x in args.big.split(",") if x]:
        t0 = time.perf_counter()
        sn = family.make_member(args.big_class, args.seed, target_faces=int(target))
        print(line(sn, time.perf_counter() - t0), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

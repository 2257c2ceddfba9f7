"""Time and memory of every decompose stage on the real MICrONS cell at 81k / 324k / 1.3M faces.

Ingest is what ``decompose`` does before its stages: read the mesh, read the synapse table and fit its units
on the full-resolution mesh (``pipeline._ingest_synapses``; before session 6 the benchmark skipped the fit).

Larger sizes are the 81k-face mesh subdivided once / twice (``trimesh.remesh.subdivide``), written to a
temporary PLY so ingest reads a file as a user would. In the same run MeshParty TEASAR alone
(``skeletonize_mesh`` with ray radius, soma point given) runs on the same meshes, and with ``--peers``
skeletor's wavefront too. Peak memory per stage is the peak resident set size above the level before the
stage and the peak resident set size of the whole process (sampled every 20 ms by a thread).

    python benchmarks/bench_pipeline.py --sizes 81k,324k --out docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's neurd_lite, not an installed one
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules

import numpy as np

from neurd_lite.cli import faces_arg
from real_cell import DATA_DIR as REAL_DIR  # noqa: E402  (the real cell's folder)
from real_cell import SYNAPSES  # noqa: E402  (the real cell's synapse table)
from real_cell import mesh_file as make_mesh_file  # noqa: F401  (the subdivided cell as a PLY file)
SIZES = {"81k": 0, "324k": 1, "1.3M": 2, "5.2M": 3}  # number of subdivisions


def _rss_bytes() -> int:
    """Resident memory (bytes) of this process plus its direct children (decimation forks one above 1M faces),
    read from /proc (about 10 µs; psutil's ``children(recursive=True)`` scans every process on the machine:
    0.8 ms of CPU per sample, ~4 % of a core at one sample per 20 ms, charged to the stage being timed).
    Falls back to psutil where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            total = int(fh.read().split()[1]) * _PAGE
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/children", "rb") as fh:
                    kids = fh.read().split()
            except OSError:
                continue
            for pid in kids:
                try:
                    with open(b"/proc/%s/statm" % pid, "rb") as fh:
                        total += int(fh.read().split()[1]) * _PAGE
                except (OSError, IndexError, ValueError):  # the child may be gone between listing and reading
                    pass
        return total
    except OSError:
        import psutil

        proc = psutil.Process()
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children())


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class PeakRSS:
    """Peak resident memory (MB) above the starting level while the context is open."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0

    @contextmanager
    def measure(self) -> Iterator["PeakRSS"]:
        start = _rss_bytes()
        peak = [start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss_bytes())
                stop.wait(self.interval_s)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        try:
            yield self
        finally:
            stop.set()
            t.join()
            peak[0] = max(peak[0], _rss_bytes())
            self.peak_mb = (peak[0] - start) / 2**20
            self.peak_abs_mb = peak[0] / 2**20


def _cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (the forked decimation)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn: Callable[[], object]) -> tuple[object, float, float, float, float]:
    """(result, wall seconds, CPU seconds of this process, peak MB above start, peak process RSS MB)."""
    mem = PeakRSS()
    with mem.measure():
        t0, c0 = time.perf_counter(), _cpu_s()
        out = fn()
        dt, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return out, dt, cpu, mem.peak_mb, mem.peak_abs_mb


def synthetic_files(folder: Path, target_faces: int = 1_000_000, seed: int = 3) -> tuple[Path, Path, Path]:
    """The synthetic pyramidal of about ``target_faces`` faces as PLY + synapse CSV + truth NPZ, generated once
    and cached in ``folder`` (generation takes ~20-40 s)."""
    import trimesh

    stem = folder / f"synthetic_pyramidal_{target_faces // 1000}k_seed{seed}"
    ply, csv, npz = stem.with_suffix(".ply"), stem.with_suffix(".csv"), stem.with_suffix(".npz")
    if not (ply.exists() and csv.exists() and npz.exists()):
        from neurd_lite.testing.synthetic import make_neuron

        folder.mkdir(parents=True, exist_ok=True)
        sn = make_neuron(seed=seed, target_faces=target_faces)
        trimesh.Trimesh(sn.mesh.vertices, sn.mesh.faces, process=False).export(ply)
        sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].to_csv(csv, index=False)
        np.savez_compressed(npz, face_compartment=np.asarray(sn.face_compartment).astype(str),
                            face_spine=np.asarray(sn.face_spine), soma_center_nm=sn.truth["soma_center_nm"],
                            n_spines=sn.truth["n_spines"])
    return ply, csv, npz


def warm_imports() -> None:
    """Import every module the stages use, so that one-off import time is not charged to a stage."""
    import importlib

    for m in ("trimesh", "scipy.spatial", "scipy.ndimage", "networkx", "pandas", "fast_simplification",
              "meshparty.skeletonize", "meshparty.trimesh_io", "neurd_lite.pipeline", "neurd_lite.mesh.soma",
              "neurd_lite.spines", "neurd_lite.compartments", "neurd_lite.feature", "neurd_lite.celltype",
              "neurd_lite.io.meshes", "neurd_lite.io.synapses", "trimesh.ray.ray_pyembree", "lightgbm", "sklearn",
              "neurd_lite.celltype.models"):
        try:
            importlib.import_module(m)
        except ImportError:
            pass


def run_ours(path: Path, params, synapses: Path | None = None) -> tuple[list[tuple[str, float, float, float]], object]:
    """Every stage of decompose, then features and classify, timed one by one: rows of
    (stage, wall s, cpu s, peak MB) and the Neuron."""
    import neurd_lite as nl
    from neurd_lite.data import data_path
    from neurd_lite.io.meshes import load_mesh
    from neurd_lite.neuron import Neuron
    from neurd_lite.pipeline import MESH_STAGES, _ingest_synapses, _Skip, release_memory

    try:
        from neurd_lite.memory import frozen_gc as _frozen_gc
    except ImportError:  # code before session 21: decompose ran its stages without it
        from contextlib import nullcontext as _frozen_gc

    rows = []
    n_box: list = []

    def ingest():  # as decompose: read the mesh, read the synapses and fit their units on the mesh
        n = Neuron(name=path.stem, mesh=load_mesh(path))
        _ingest_synapses(n, synapses if synapses is not None else data_path(SYNAPSES), "nm", None)
        n_box.append(n)
        release_memory()  # as decompose does after reading
    rows.append(("ingest", *timed(ingest)[1:]))
    n = n_box[0]
    with _frozen_gc():  # as decompose runs its stages
        for name, fn in MESH_STAGES:
            def call(fn=fn) -> None:
                try:
                    fn(n, params)
                except _Skip:
                    pass
                release_memory()  # as pipeline.run_stages does after every stage
            rows.append((name, *timed(call)[1:]))
    n.cache.pop("run", None)  # the run's working state (pipeline.Run)
    release_memory()
    table, *t = timed(lambda: nl.features(n))
    rows.append(("features", *t))
    result, *t = timed(lambda: nl.classify(n))  # the Neuron: features come from the row cached by nl.features
    rows.append(("classify", *t))
    n.provenance["bench_class"] = f"{result.ei} / {result.subclass}"
    return rows, n


def run_teasar(path: Path, soma_center: np.ndarray) -> tuple[float, float, int]:
    """MeshParty alone: Mesh + skeletonize_mesh (ray radius, soma collapse)."""
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    import trimesh
    from meshparty import skeletonize, trimesh_io

    m = trimesh.load(path, process=False)

    def go():
        mp = trimesh_io.Mesh(m.vertices, m.faces, process=False)
        return skeletonize.skeletonize_mesh(mp, soma_pt=soma_center, soma_radius=7500, verbose=False,
                                            compute_radius=True)

    sk, dt, cpu, mb, abs_mb = timed(go)
    return dt, cpu, mb, len(sk.branch_points), abs_mb


def run_skeletor(path: Path) -> tuple[float, float, int]:
    import skeletor
    import trimesh

    m = trimesh.load(path, process=False)
    sk, dt, cpu, mb, _ = timed(lambda: skeletor.skeletonize.by_wavefront(m, waves=1, step_size=1, progress=False))
    deg = np.bincount(np.asarray(sk.edges).ravel())
    return dt, cpu, mb, int((deg > 2).sum())


def machine(load_at_start: float | None = None) -> str:
    import psutil

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
            f"load average at start {load[0] if load_at_start is None else load_at_start:.1f} "
            "(shared machine: timings include contention)")


def save_result(n, path: Path) -> None:
    """Per-input-face labels and counts of a run, for ``benchmarks/accuracy_scaling.py``."""
    import resource

    path.parent.mkdir(parents=True, exist_ok=True)
    syn = n.synapses
    np.savez_compressed(
        path, face_compartment=n.face_compartment.astype(str), face_labels=n.face_labels.astype(str),
        face_spine=n.face_spine, soma_centers_nm=np.array([s.center_nm for s in n.somas]).reshape(-1, 3),
        soma_n_faces=np.array([len(s.faces) for s in n.somas]), n_limbs=n.n_limbs, n_branches=len(n.branch_nodes),
        n_spines=len(n.spines), cable_um=n.skeleton.cable_length_nm / 1000.0,
        dendrite_cable_um=_dendrite_cable_um(n),
        syn_target=syn["target"].to_numpy().astype(str) if "target" in syn else np.zeros(0, str),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def _dendrite_cable_um(n) -> float:
    """Skeleton cable (µm) whose both ends are labelled neither axon nor soma."""
    sk, lab = n.skeleton, np.asarray(n.skeleton_labels).astype(str)
    e = np.asarray(sk.edges)
    ok = ~np.isin(lab[e[:, 0]], ("axon", "soma")) & ~np.isin(lab[e[:, 1]], ("axon", "soma"))
    return float(np.linalg.norm(sk.vertices[e[ok, 0]] - sk.vertices[e[ok, 1]], axis=1).sum() / 1000.0)


CORE = ("ingest", "decimate", "heal", "soma", "skeleton", "graph")
STAGE_TOTAL = "decompose + features + classify"


SYNTHETIC = {"syn1M": (1_000_000, 3), "syn8M": (8_500_000, 11)}  # target faces, seed (seed 11: not a tuning seed)


def _size_runs(size: str, tmp: Path, cache: Path) -> tuple[Path, int, Path | None]:
    if size in SYNTHETIC:
        ply, csv, _ = synthetic_files(cache, *SYNTHETIC[size])  # syn8M: ~8.9M faces, 3 min and 3.6 GB to make once
        from neurd_lite.io.meshes import load_mesh
        from neurd_lite.pipeline import release_memory

        nf = len(load_mesh(ply, validate=False).faces)  # not trimesh.load: 3 GB for the 8.9M-face file
        release_memory()
        return ply, nf, csv
    path, nf = make_mesh_file(SIZES[size], tmp)
    from neurd_lite.pipeline import release_memory

    release_memory()  # the subdivision's temporaries: not the pipeline's memory
    return path, nf, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="81k,324k,1.3M,syn1M", help="comma list of 81k, 324k, 1.3M, 5.2M, syn1M, syn8M "
                    "(one size per process gives the cleanest peak RSS)")
    ap.add_argument("--no-teasar", action="store_true", help="skip MeshParty TEASAR (e.g. a 5.2M re-run)")
    ap.add_argument("--peers", action="store_true", help="also time skeletor wavefront (if installed)")
    ap.add_argument("--full-resolution", action="store_true",
                    help="also run without decimation on inputs the default decimates (the 'before' numbers)")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "neurd_lite_bench"),
                    help="folder for the cached synthetic ~1M-face neuron")
    ap.add_argument("--out", default=None, help="write the tables (markdown) here")
    ap.add_argument("--prereduce-above", type=int, default=None,
                    help="DecimateParams.prereduce_above_faces for the 'ours' run (default: the engine's; an A/B "
                         "of the non-exact prereduce lever, docs/benchmarks.md 'Session 9, round 3')")
    ap.add_argument("--prereduce-to", type=int, default=None, help="DecimateParams.prereduce_to_faces (as above)")
    ap.add_argument("--search-face-map", action="store_true",
                    help="DecimateParams.map_from_collapses=False for the 'ours' run: the nearest-centroid face map "
                         "of sessions 1-9 instead of fast-simplification's collapse list (docs/benchmarks.md "
                         "'Session 10')")
    ap.add_argument("--weld-nm", type=float, default=None,
                    help="DecimateParams.weld_nm for the 'ours' run (default: the engine's; 1.0: weld vertices "
                    "within 1 nm before decimating)")
    ap.add_argument("--target-faces", type=faces_arg, default=None,
                    help="DecimateParams.target_faces for the 'ours' run (faces or 'auto'; default: the engine's; "
                         "the working-mesh size A/B of docs/benchmarks.md 'Session 10, round 2')")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from neurd_lite.mesh.decimate import DecimateParams
    from neurd_lite.pipeline import PipelineParams

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in (*SIZES, *SYNTHETIC)]
    if bad:
        ap.error(f"unknown sizes {bad}; use {[*SIZES, *SYNTHETIC]}")
    warm_imports()
    load0 = os.getloadavg()[0]
    lines = ["| mesh | run | stage | faces | wall s | CPU s | peak MB above stage start | peak process RSS MB |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    ratios = ["| mesh | faces | run | core wall s | total wall s | total CPU s | peak process RSS MB | TEASAR wall s "
              "| total / TEASAR (wall) | total / TEASAR (CPU) |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    counts = ["| mesh | run | working faces | meshoptimizer faces (decimate provenance) | limbs / branches | somas "
              "| spines | synapse targets | class |", "|---|---|---:|---:|---|---:|---:|---|---|"]
    growth: list[tuple[str, int, float, float]] = []
    soma_center = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path, nf, syn = _size_runs(size, Path(tmp), Path(args.cache))
            dp = DecimateParams()
            if args.prereduce_above is not None:
                dp = replace(dp, prereduce_above_faces=args.prereduce_above)
            if args.prereduce_to is not None:
                dp = replace(dp, prereduce_to_faces=args.prereduce_to)
            if args.search_face_map:
                dp = replace(dp, map_from_collapses=False)
            if args.target_faces is not None:
                dp = replace(dp, target_faces=args.target_faces)
            if args.weld_nm is not None:
                dp = replace(dp, weld_nm=args.weld_nm)
            variants = [("ours", PipelineParams(decimate=dp))]
            if args.full_resolution and dp.target_faces and nf > dp.min_faces_to_decimate:
                variants.append(("ours, full resolution (before)",
                                 PipelineParams(decimate=DecimateParams(target_faces=None))))
            totals = {}
            for label, params in variants:
                rows, n = run_ours(path, params, syn)
                total = sum(r[1] for r in rows)
                total_cpu = sum(r[2] for r in rows)
                core = sum(r[1] for r in rows if r[0] in CORE)
                totals[label] = (core, total, total_cpu, max(r[4] for r in rows))
                for name, dt, cpu, mb, abs_mb in rows:
                    lines.append(f"| {size} | {label} | {name} | {nf:,} | {dt:.2f} | {cpu:.2f} | {mb:.0f} | "
                                 f"{abs_mb:.0f} |")
                lines.append(f"| {size} | {label} | **{STAGE_TOTAL}** | {nf:,} | **{total:.2f}** | "
                             f"**{total_cpu:.2f}** | |")
                tgt = n.synapses["target"].value_counts().to_dict() if "target" in n.synapses else {}
                work = n.provenance.get("decimate", {}).get("working_faces", nf)
                pre = n.provenance.get("decimate", {}).get("prereduced_faces", 0)  # > 0: pre-reduced or rescued
                counts.append(f"| {size} | {label} | {work:,} | {pre:,} | {n.n_limbs} / {len(n.branch_nodes)} | "
                              f"{len(n.somas)} | {len(n.spines)} | "
                              f"{', '.join(f'{k} {v}' for k, v in sorted(tgt.items()))} | "
                              f"{n.provenance.get('bench_class')} |")
                if label == "ours":
                    growth.append((size, nf, total, total_cpu))
                save_result(n, Path(args.cache) / f"result_{size}_{'after' if label == 'ours' else 'before'}.npz")
                print("\n".join(lines[-len(rows) - 1:]), flush=True)
                del n
                gc.collect()
            if size in SYNTHETIC:
                faces, seed = SYNTHETIC[size]
                center = np.load(Path(args.cache) / f"synthetic_pyramidal_{faces // 1000}k_seed{seed}.npz")["soma_center_nm"]
            else:
                if soma_center is None:
                    import trimesh

                    from neurd_lite.data import data_path

                    soma_center = trimesh.load(data_path(REAL_DIR + "soma_0.ply")).vertices.mean(axis=0)
                center = soma_center
            if args.no_teasar:
                continue
            dt, cpu, mb, nbp, abs_mb = run_teasar(path, center)
            lines.append(f"| {size} | MeshParty TEASAR alone | skeletonize_mesh ({nbp} branch points) | {nf:,} | "
                         f"{dt:.2f} | {cpu:.2f} | {mb:.0f} | {abs_mb:.0f} |")
            print(lines[-1], flush=True)
            for label, (core, total, total_cpu, mb_max) in totals.items():
                ratios.append(f"| {size} | {nf:,} | {label} | {core:.1f} | {total:.1f} | {total_cpu:.1f} | "
                              f"{mb_max:.0f} | {dt:.1f} | {total / dt:.2f} | {total_cpu / cpu:.2f} |")
            if args.peers:
                try:
                    dt2, cpu2, mb2, nbp2 = run_skeletor(path)
                    lines.append(f"| {size} | skeletor wavefront | by_wavefront ({nbp2} branch points) | {nf:,} | "
                                 f"{dt2:.2f} | {cpu2:.2f} | {mb2:.0f} | |")
                except ImportError:
                    lines.append(f"| {size} | skeletor wavefront | not installed | {nf:,} | | | | |")
                print(lines[-1], flush=True)
    grow = ["| mesh | faces | total wall s | total CPU s | CPU µs per face |", "|---|---:|---:|---:|---:|"]
    grow += [f"| {s} | {f:,} | {w:.1f} | {c:.1f} | {1e6 * c / f:.1f} |" for s, f, w, c in growth]
    import resource

    grow.append("")
    grow.append(f"Peak resident memory of the whole benchmark process: "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB.")
    load1 = os.getloadavg()[0]
    report = "\n".join(["## Per stage", "", *lines, "", "## Totals and ratio to MeshParty TEASAR", "", *ratios, "",
                        "## Growth with faces", "", *grow, "", "## What the runs found", "", *counts])
    print("\n" + report)
    print(f"load average at start {load0:.1f}, at end {load1:.1f}")
    if args.out:
        Path(args.out).write_text(f"Machine: {machine(load0)}; load average at end {load1:.1f}.\n\nCommand: "
                                  f"`python benchmarks/bench_pipeline.py {' '.join(argv or sys.argv[1:])}`, run "
                                  f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n{report}\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

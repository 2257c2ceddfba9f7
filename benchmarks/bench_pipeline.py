"""Time and memory of every decompose stage on the real MICrONS cell at 81k / 324k / 1.3M faces.

Larger sizes are the 81k-face mesh subdivided once / twice (``trimesh.remesh.subdivide``), written to a
temporary PLY so ingest reads a file as a user would. In the same run MeshParty TEASAR alone
(``skeletonize_mesh`` with ray radius, soma point given) runs on the same meshes, and with ``--peers``
skeletor's wavefront too. Peak memory per stage is the peak resident set size above the level before the
stage (sampled every 20 ms by a thread).

    python benchmarks/bench_pipeline.py --sizes 81k,324k --out docs/benchmarks.md
"""
from __future__ import annotations

import argparse
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

import numpy as np

MESH = "meshes/microns_864691135510518224/864691135510518224_decimated_80k.off"
SYNAPSES = "meshes/microns_864691135510518224/864691135510518224_synapses.csv"
SIZES = {"81k": 0, "324k": 1, "1.3M": 2}  # number of subdivisions


class PeakRSS:
    """Peak resident memory (MB) above the starting level while the context is open."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self.proc = psutil.Process()
        self.interval_s = interval_s
        self.peak_mb = 0.0

    @contextmanager
    def measure(self) -> Iterator["PeakRSS"]:
        start = self.proc.memory_info().rss
        peak = [start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], self.proc.memory_info().rss)
                stop.wait(self.interval_s)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        try:
            yield self
        finally:
            stop.set()
            t.join()
            peak[0] = max(peak[0], self.proc.memory_info().rss)
            self.peak_mb = (peak[0] - start) / 2**20


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, seconds, peak MB above start)."""
    mem = PeakRSS()
    with mem.measure():
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
    return out, dt, mem.peak_mb


def make_mesh_file(level: int, folder: Path) -> tuple[Path, int]:
    """The real cell subdivided ``level`` times, as a PLY file; returns (path, faces)."""
    import trimesh

    from neurd_lite.data import data_path

    if level == 0:
        m = trimesh.load(data_path(MESH), process=False)
        return data_path(MESH), len(m.faces)
    m = trimesh.load(data_path(MESH), process=False)
    v, f = m.vertices, m.faces
    for _ in range(level):
        v, f = trimesh.remesh.subdivide(v, f)
    path = folder / f"cell_sub{level}.ply"
    trimesh.Trimesh(v, f, process=False).export(path)
    return path, len(f)


def run_ours(path: Path, params) -> list[tuple[str, float, float]]:
    """Every stage of decompose, timed one by one."""
    from neurd_lite.data import data_path
    from neurd_lite.io.meshes import load_mesh
    from neurd_lite.io.synapses import load_synapses
    from neurd_lite.neuron import Neuron
    from neurd_lite.pipeline import MESH_STAGES, _Skip

    rows = []
    mesh, dt, mb = timed(lambda: load_mesh(path))
    syn = load_synapses(data_path(SYNAPSES))
    rows.append(("ingest", dt, mb))
    n = Neuron(name=path.stem, mesh=mesh, synapses=syn)
    for name, fn in MESH_STAGES:
        def call(fn=fn) -> None:
            try:
                fn(n, params)
            except _Skip:
                pass
        _, dt, mb = timed(call)
        rows.append((name, dt, mb))
    rows.append(("  -> limbs / branches", float(n.n_limbs), float(len(n.branch_nodes))))
    return rows


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

    sk, dt, mb = timed(go)
    return dt, mb, len(sk.branch_points)


def run_skeletor(path: Path) -> tuple[float, float, int]:
    import skeletor
    import trimesh

    m = trimesh.load(path, process=False)
    sk, dt, mb = timed(lambda: skeletor.skeletonize.by_wavefront(m, waves=1, step_size=1, progress=False))
    deg = np.bincount(np.asarray(sk.edges).ravel())
    return dt, mb, int((deg > 2).sum())


def machine() -> str:
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
            f"load average at start {load[0]:.1f} (shared machine: timings include contention)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="81k,324k,1.3M", help="comma list of 81k, 324k, 1.3M")
    ap.add_argument("--peers", action="store_true", help="also time skeletor wavefront (if installed)")
    ap.add_argument("--target-faces", type=int, default=None,
                    help="also run decompose with decimation to this many faces on larger meshes")
    ap.add_argument("--out", default=None, help="write a markdown report here (e.g. docs/benchmarks.md)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from neurd_lite.mesh.decimate import DecimateParams
    from neurd_lite.pipeline import PipelineParams

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        ap.error(f"unknown sizes {bad}; use {list(SIZES)}")
    lines = ["| run | stage | faces | seconds | peak MB |", "|---|---|---:|---:|---:|"]
    ratios = []
    soma_center = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path, nf = make_mesh_file(SIZES[size], Path(tmp))
            variants = [("ours", PipelineParams())]
            if args.target_faces and nf > args.target_faces:
                variants.append((f"ours, decimated to {args.target_faces // 1000}k",
                                 PipelineParams(decimate=DecimateParams(target_faces=args.target_faces))))
            totals = {}
            for label, params in variants:
                rows = run_ours(path, params)
                total = sum(dt for name, dt, _ in rows if not name.startswith(" "))
                core = sum(dt for name, dt, _ in rows if name in ("ingest", "decimate", "heal", "soma",
                                                                   "skeleton", "graph"))
                totals[label] = (core, total)
                for name, dt, mb in rows:
                    if name.startswith(" "):
                        lines.append(f"| {label} | {name.strip()} | {nf:,} | {dt:.0f} / {mb:.0f} | |")
                    else:
                        lines.append(f"| {label} | {name} | {nf:,} | {dt:.2f} | {mb:.0f} |")
                lines.append(f"| {label} | **core (ingest..graph)** | {nf:,} | **{core:.2f}** | |")
                lines.append(f"| {label} | **all stages** | {nf:,} | **{total:.2f}** | |")
                print("\n".join(lines[-len(rows) - 2:]), flush=True)
            if soma_center is None:
                from neurd_lite.data import data_path
                import trimesh

                soma_center = trimesh.load(data_path(
                    "meshes/microns_864691135510518224/soma_0.ply")).vertices.mean(axis=0)
            dt, mb, nbp = run_teasar(path, soma_center)
            lines.append(f"| MeshParty TEASAR alone | skeletonize_mesh ({nbp} branch points) | {nf:,} | "
                         f"{dt:.2f} | {mb:.0f} |")
            print(lines[-1], flush=True)
            for label, (core, total) in totals.items():
                ratios.append(f"| {size} | {label} | {core / dt:.1f} | {total / dt:.1f} |")
            if args.peers:
                try:
                    dt2, mb2, nbp2 = run_skeletor(path)
                    lines.append(f"| skeletor wavefront | by_wavefront ({nbp2} branch points) | {nf:,} | "
                                 f"{dt2:.2f} | {mb2:.0f} |")
                except ImportError:
                    lines.append(f"| skeletor wavefront | not installed | {nf:,} | | |")
                print(lines[-1], flush=True)
    ratio_lines = ["| size | run | core / TEASAR | all stages / TEASAR |", "|---|---|---:|---:|"] + ratios
    report = "\n".join(lines + ["", *ratio_lines])
    print("\n" + "\n".join(ratio_lines))
    if args.out:
        text = (f"# Pipeline benchmark\n\nMachine: {machine()}.\n\nCommand: `python benchmarks/bench_pipeline.py "
                f"{' '.join(argv if argv is not None else sys.argv[1:])}`, run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
                "Mesh: the shared MICrONS cell 864691135510518224 (two-soma merge); larger sizes are it subdivided "
                "once / twice. 'core' = ingest + decimate + heal + soma + skeleton + graph; 'all stages' adds "
                "compartments, spines and synapse attachment. Peak MB is the resident-set peak above the level "
                "before the stage. TEASAR alone = MeshParty `skeletonize_mesh` with ray-traced radius and "
                "soma collapse on the unhealed mesh (it skips pieces < 100 vertices).\n\n" + report + "\n")
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

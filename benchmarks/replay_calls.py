"""Record the calls of chosen functions during ``nl.decompose`` and replay them on another checkout, exactly.

A refactor guard finer than ``compare_outputs.py``: it compares every output of each recorded call (arrays bit for
bit with NaN in place and the sign of zero, frames with ``check_exact``, graphs node by node and edge by edge,
dataclasses and dicts field by field in order, random generators by state) and the arguments after the call (a
function that writes into its inputs must write the same), not only the pipeline's end results.

    python benchmarks/replay_calls.py record /path/to/main_checkout /tmp/x/rec --cases real,syn_pyr1 \\
        --funcs neurd_lite.spines.shaft:shaft_field,neurd_lite.skeleton.graph:build_branch_graph
    python benchmarks/replay_calls.py replay /path/to/branch_checkout /tmp/x/rec

``record`` runs the first checkout's ``neurd_lite`` with each function wrapped wherever a module holds it (so
``from .x import f`` call sites are caught too) and pickles the first ``--cap`` calls per function and case:
arguments before and after, output. ``replay`` imports the second checkout's functions, calls them on the
recorded arguments and prints EXACT or the first differences per call; the exit status is 1 when any differs.
Cases: those of ``compare_outputs.py``, plus ``fam_merge`` (a family l23 pyramidal + basket merge) and
``fam_l5`` (an l5_et family member). Keys named ``seconds*`` (timings) are not compared. Session 23 (quality):
shaft_field, skeletonize, build_branch_graph, gate_features and assemble_cells split into steps, 30 recorded
calls exact (records: 1.5 GB for six cases, 1.4 GB of it shaft_field's; --funcs and --cases keep them
small).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FUNCS = ("neurd_lite.spines.shaft:shaft_field", "neurd_lite.skeleton.skeletonizer:skeletonize",
         "neurd_lite.skeleton.graph:build_branch_graph", "neurd_lite.compartments.gate:gate_features",
         "neurd_lite.testing.synthetic:assemble_cells")


def same(a: Any, b: Any, path: str = "out", ignore: tuple[str, ...] = ("seconds",)) -> list[str]:
    """The differences between ``a`` and ``b`` (empty: equal exactly), each named by its path."""
    if type(a) is not type(b):
        return [f"{path}: type {type(a).__name__} vs {type(b).__name__}"]
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return [f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"]
        ok = np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a.real), np.signbit(b.real)) \
            if a.dtype.kind in "fc" else np.array_equal(a, b)
        return [] if ok else [f"{path}: arrays differ"]
    if isinstance(a, (pd.DataFrame, pd.Series)):
        check = pd.testing.assert_frame_equal if isinstance(a, pd.DataFrame) else pd.testing.assert_series_equal
        try:
            check(a, b, check_exact=True)
            return []
        except AssertionError as e:
            return [f"{path}: {str(e)[:200]}"]
    if isinstance(a, nx.Graph):
        return (same(list(a.nodes(data=True)), list(b.nodes(data=True)), path + ".nodes")
                + same(list(a.edges(data=True)), list(b.edges(data=True)), path + ".edges")
                + same(dict(a.graph), dict(b.graph), path + ".graph"))
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} vs {list(b)}"]
        keys = [k for k in a if not (isinstance(k, str) and k.startswith(ignore))]
        return [d for k in keys for d in same(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: len {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{path}[{i}]")]
    if isinstance(a, float):
        equal = (a == b and np.signbit(a) == np.signbit(b)) or (np.isnan(a) and np.isnan(b))
        return [] if equal else [f"{path}: {a!r} vs {b!r}"]
    if isinstance(a, np.random.Generator):
        return same(a.bit_generator.state, b.bit_generator.state, path + ".state")
    if dataclasses.is_dataclass(a):
        return same({f.name: getattr(a, f.name) for f in dataclasses.fields(a)},
                    {f.name: getattr(b, f.name) for f in dataclasses.fields(b)}, path)
    if type(a).__module__.startswith("trimesh"):
        return same(np.asarray(a.vertices), np.asarray(b.vertices), path + ".vertices") + \
            same(np.asarray(a.faces), np.asarray(b.faces), path + ".faces")
    if hasattr(a, "__dict__") and type(a).__module__.startswith("neurd_lite"):
        return same(vars(a), vars(b), path)
    try:
        return [] if a == b else [f"{path}: {a!r} vs {b!r}"[:200]]
    except Exception as e:  # noqa: BLE001 - an uncomparable value is a difference to look at
        return [f"{path}: cannot compare {type(a).__name__} ({e})"]


def _use_checkout(src: str) -> None:
    """Import ``neurd_lite`` from the checkout ``src`` (not an installed one)."""
    sys.path.insert(0, src)
    sys.path.insert(0, os.path.join(src, "benchmarks"))
    import neurd_lite

    if not neurd_lite.__file__.startswith(os.path.abspath(src)):
        raise SystemExit(f"neurd_lite came from {neurd_lite.__file__}, not {src}")


def _cases() -> dict:
    """name -> callable returning (mesh, synapses, decompose kwargs): compare_outputs' cases and two family cells."""
    import compare_outputs
    from neurd_lite.testing import family

    def fam(make):
        def run():
            sn = make()
            return sn.mesh, sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], {}
        return run

    cases = compare_outputs._cases()
    cases["fam_merge"] = fam(lambda: family.make_merge([("l23_pyramidal", 5), ("basket", 6)], seed=5,
                                                       target_faces=15000))
    cases["fam_l5"] = fam(lambda: family.make_member("l5_et", 7, target_faces=15000))
    return cases


def record(src: str, out: str, cases: list[str], funcs: list[str], cap: int) -> None:
    _use_checkout(src)
    import neurd_lite as nl

    counts: dict[tuple[str, str], int] = {}
    current = {"case": ""}
    for spec in funcs:
        mod, name = spec.split(":")
        orig = getattr(importlib.import_module(mod), name)

        def wrapped(*args, _orig=orig, _spec=spec, **kw):
            before = pickle.dumps((args, kw))
            res = _orig(*args, **kw)
            i = counts.get((_spec, current["case"]), 0)
            counts[(_spec, current["case"])] = i + 1
            if i < cap:
                d = Path(out) / _spec.replace(":", ".")
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{current['case']}_{i}.pkl").write_bytes(pickle.dumps(
                    {"before": before, "after": pickle.dumps((args, kw)), "out": pickle.dumps(res)}))
            return res
        for m in [m for n, m in sys.modules.items() if n.startswith("neurd_lite") and m is not None]:
            for attr, val in list(vars(m).items()):
                if val is orig:
                    setattr(m, attr, wrapped)
    available = _cases()
    for case in cases:
        current["case"] = case
        mesh, syn, kw = available[case]()
        n = nl.decompose(mesh, synapses=syn, name=case, **kw)
        print(f"{case}: {n.n_faces} faces, {len(n.spines)} spines", flush=True)
    print({f"{k[0].split(':')[1]}/{k[1]}": v for k, v in counts.items()})


def replay(src: str, out: str) -> int:
    _use_checkout(src)
    bad = 0
    for d in sorted(p for p in Path(out).iterdir() if p.is_dir() and p.name.startswith("neurd_lite.")):
        mod, name = d.name.rsplit(".", 1)
        fn = getattr(importlib.import_module(mod), name)
        for f in sorted(d.glob("*.pkl")):
            rec = pickle.loads(f.read_bytes())
            args, kw = pickle.loads(rec["before"])
            res = fn(*args, **kw)
            diffs = same(pickle.loads(rec["out"]), res) + same(pickle.loads(rec["after"]), (args, kw), "args")
            bad += bool(diffs)
            print(f"{d.name} {f.name}: {'EXACT' if not diffs else 'DIFF ' + '; '.join(diffs[:5])}", flush=True)
    print(f"{bad} calls differ")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec, rep = sub.add_parser("record"), sub.add_parser("replay")
    for cmd in (rec, rep):
        cmd.add_argument("src", help="the checkout whose neurd_lite runs")
        cmd.add_argument("out", help="the folder of the records")
    rec.add_argument("--cases", default="real,syn_int2,syn_pyr1,syn_pyr3_dec")
    rec.add_argument("--funcs", default=",".join(FUNCS), help="module:function, comma-separated")
    rec.add_argument("--cap", type=int, default=4, help="calls kept per function and case")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        record(args.src, args.out, args.cases.split(","), args.funcs.split(","), args.cap)
        return 0
    return replay(args.src, args.out)


if __name__ == "__main__":
    sys.exit(main())

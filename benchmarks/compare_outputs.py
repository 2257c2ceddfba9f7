"""Dump the engine's outputs on fixed cells and diff two dumps (refactor guard: outputs must not change).

    python benchmarks/compare_outputs.py dump /tmp/x/baseline [--cases real,syn_pyr1,...]
    python benchmarks/compare_outputs.py diff /tmp/x/baseline /tmp/x/after

Cases: the MICrONS cell 864691135510518224 (80k faces, its synapse table) as given and decimated to 40k faces
(exercises the working <-> input face map), on request the cell subdivided once (``real_324k``, 324k faces, not
decimated) or twice (``real_1.3M``, 1.29M faces, decimated to the default 250k working faces), and three synthetic cells from ``neurd_lite.testing`` with fixed
seeds (one decimated). Per case: per-face arrays (labels, compartment, spine, branch, skeleton vertex), the
spines and synapses tables, the features row and the classification. ``diff`` prints every difference. ``dump`` also
writes ``host.json`` (OpenBLAS kernel, numpy SIMD targets, library versions); ``diff`` prints a note when the two
dumps' differ, since that alone moves last bits (docs/benchmarks.md, "Session 23: version drift").
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's neurd_lite, not an installed one
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules (real_cell)

import numpy as np
import pandas as pd



def _cases() -> dict:
    """name -> callable returning (mesh, synapses, decompose kwargs)."""
    from neurd_lite.mesh.decimate import DecimateParams
    from neurd_lite.data import data_path
    from neurd_lite.pipeline import PipelineParams
    from real_cell import MESH, SYNAPSES

    def real(target=None):
        def make():
            kw = {}
            if target:
                kw["params"] = PipelineParams(decimate=DecimateParams(target_faces=target, min_faces_to_decimate=0))
            return str(data_path(MESH)), str(data_path(SYNAPSES)), kw
        return make

    def syn(kind, seed, faces, target=None, fragment=False):
        def make():
            from neurd_lite.testing import make_neuron

            sn = make_neuron(kind, seed=seed, target_faces=faces, union=False, fragment=fragment)
            kw = {}
            if target:
                kw["params"] = PipelineParams(decimate=DecimateParams(target_faces=target, min_faces_to_decimate=0))
            return sn.mesh, sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], kw
        return make

    def real_sub(level):
        def make():
            from real_cell import level_mesh

            return level_mesh(level), str(data_path(SYNAPSES)), {}
        return make

    return {"real": real(), "real_dec40k": real(40_000), "real_324k": real_sub(1), "real_1.3M": real_sub(2),
            "syn_pyr1": syn("pyramidal", 1, 8000),
            "syn_int2": syn("interneuron", 2, 8000), "syn_pyr3_dec": syn("pyramidal", 3, 12000, target=6000)}


def host_arithmetic() -> dict:
    """What decides the last bits of float results on this host: OpenBLAS's kernel (picked by CPU, or
    ``OPENBLAS_CORETYPE``), numpy's SIMD targets, the library versions (docs/benchmarks.md, "version drift")."""
    from importlib.metadata import version

    from threadpoolctl import threadpool_info

    feats = getattr(getattr(np, "_core", None), "_multiarray_umath", None)
    feats = getattr(feats, "__cpu_features__", {})
    libs = ("numpy", "scipy", "trimesh", "fast-simplification", "networkx", "scikit-learn", "lightgbm", "pandas")
    return {"blas": sorted({f"{i.get('internal_api')} {i.get('architecture')}" for i in threadpool_info()
                            if i.get("user_api") == "blas"}),
            "numpy_simd": sorted(k for k, on in feats.items() if on and k.startswith(("AVX512", "X86_V"))),
            "versions": {k: version(k) for k in libs}}


def dump(out: Path, names: list[str]) -> None:
    import neurd_lite as nl

    out.mkdir(parents=True, exist_ok=True)
    (out / "host.json").write_text(json.dumps(host_arithmetic(), indent=1, sort_keys=True))
    cases = _cases()
    for name in names:
        t0 = time.perf_counter()
        mesh, syn, kw = cases[name]()
        n = nl.decompose(mesh, synapses=syn, name=name, **kw)
        d = out / name
        d.mkdir(exist_ok=True)
        np.savez(d / "faces.npz", **{k: np.asarray(getattr(n, k)).astype(str if k in ("face_labels", "face_compartment")
                                                                          else np.int64)
                                    for k in ("face_labels", "face_compartment", "face_spine", "face_branch",
                                              "face_to_skeleton")})
        n.spines.to_pickle(d / "spines.pkl")
        n.synapses.to_pickle(d / "synapses.pkl")
        nl.features(n).to_pickle(d / "features.pkl")
        res = nl.classify(n)
        (d / "classify.json").write_text(json.dumps(res.to_dict() if hasattr(res, "to_dict") else res,
                                                    default=str, indent=1, sort_keys=True))
        (d / "flags.json").write_text(json.dumps(list(n.flags)))
        print(f"{name}: {n.n_faces} faces, {len(n.spines)} spines, {len(n.synapses)} synapses, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)


def _diff_frame(a: pd.DataFrame, b: pd.DataFrame, what: str) -> list[str]:
    out = []
    if set(a.columns) != set(b.columns):
        out.append(f"{what}: columns differ: only before {sorted(set(a.columns) - set(b.columns))}, "
                   f"only after {sorted(set(b.columns) - set(a.columns))}")
    if len(a) != len(b):
        return out + [f"{what}: {len(a)} rows before, {len(b)} after"]
    for c in [c for c in a.columns if c in b.columns]:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        try:
            xf, yf = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            bad = ~((xf == yf) | (np.isnan(xf) & np.isnan(yf)) | np.isclose(xf, yf, rtol=1e-9, atol=0))
        except (TypeError, ValueError):
            bad = (x.astype(str) != y.astype(str)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(f"{what}.{c}: {int(bad.sum())} of {len(bad)} rows differ (first row {i}: {x[i]!r} -> {y[i]!r})")
    return out


def diff(a: Path, b: Path) -> int:
    lines = []
    ha, hb = a / "host.json", b / "host.json"
    if ha.exists() and hb.exists() and ha.read_text() != hb.read_text():  # a note, not a difference of the code
        ja, jb = json.loads(ha.read_text()), json.loads(hb.read_text())
        print("note: the dumps come from different host arithmetic (their last bits may differ for that alone): "
              + "; ".join(f"{k} {ja.get(k)} vs {jb.get(k)}" for k in sorted(set(ja) | set(jb))
                          if ja.get(k) != jb.get(k)))
    for case in sorted(p.name for p in a.iterdir() if p.is_dir()):
        da, db = a / case, b / case
        if not db.exists():
            lines.append(f"{case}: missing in {b}")
            continue
        fa, fb = np.load(da / "faces.npz"), np.load(db / "faces.npz")
        for k in fa.files:
            bad = fa[k] != fb[k]
            if bad.any():
                lines.append(f"{case} {k}: {int(bad.sum())} of {len(bad)} faces differ")
        for t in ("spines", "synapses", "features"):
            lines += [f"{case} {x}" for x in _diff_frame(pd.read_pickle(da / f"{t}.pkl"), pd.read_pickle(db / f"{t}.pkl"), t)]
        for t in ("classify.json", "flags.json"):
            if (da / t).read_text() != (db / t).read_text():
                ja, jb = json.loads((da / t).read_text()), json.loads((db / t).read_text())
                keys = [k for k in ja if ja.get(k) != jb.get(k)] if isinstance(ja, dict) else ["(list)"]
                lines.append(f"{case} {t}: differs in {keys}")
    print("\n".join(lines) if lines else "no differences")
    return 1 if lines else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out")
    d.add_argument("--cases", default="real,real_dec40k,syn_pyr1,syn_int2,syn_pyr3_dec")
    f = sub.add_parser("diff")
    f.add_argument("before")
    f.add_argument("after")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        dump(Path(args.out), args.cases.split(","))
        return 0
    return diff(Path(args.before), Path(args.after))


if __name__ == "__main__":
    sys.exit(main())

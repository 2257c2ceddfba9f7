"""Accuracy before / after the speed work, from the per-face results saved by ``bench_pipeline.py``.

``bench_pipeline.py --full-resolution`` saves, per mesh, ``result_<mesh>_after.npz`` (default pipeline: inputs
above 400k faces worked on at 250k faces) and, where that differs, ``result_<mesh>_before.npz`` (full
resolution). This script compares them:

- real cell: the 324k / 1.3M meshes are the 81k mesh subdivided once / twice (input face i has parent face
  ``i // 4**level`` in the 81k mesh), so every per-face label is compared with the 81k run's label of its
  parent: compartment agreement, spine-face agreement, plus limbs / branches, soma centres, compartment face
  fractions, spine count and density (per µm of dendrite cable), synapse target counts;
- synthetic ~1M-face pyramidal: per-face compartment accuracy against the generator's truth and spine
  instance precision / recall (a detected spine matches a true one when they share more than half of each
  other's faces).

    python benchmarks/accuracy_scaling.py --cache /tmp/neurd_lite_bench [--out docs/accuracy_scaling.md]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neurd_lite.testing.scores import instance_scores

LEVEL = {"81k": 0, "324k": 1, "1.3M": 2}
COMPS = ("soma", "axon", "basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")


def _fractions(fc: np.ndarray) -> str:
    return ", ".join(f"{c} {np.mean(fc == c):.3f}" for c in COMPS if np.any(fc == c))


def _targets(t: np.ndarray) -> str:
    k, c = np.unique(t, return_counts=True)
    return ", ".join(f"{a} {b}" for a, b in zip(k, c))


def _soma_offset_um(a: np.ndarray, b: np.ndarray) -> str:
    if len(a) == 0 or len(b) == 0:
        return "n/a"
    d = np.linalg.norm(a[:, None] - b[None], axis=2).min(axis=1) / 1000.0
    return " / ".join(f"{x:.2f}" for x in d)


def real_rows(cache: Path) -> list[str]:
    ref_path = cache / "result_81k_after.npz"
    if not ref_path.exists():
        return []
    ref = np.load(ref_path, allow_pickle=True)
    out = ["| mesh | run | limbs / branches | soma centre offset from 81k (µm) | compartment agreement with 81k "
           "| spine-face agreement (81k spine faces found / found spine faces in 81k) | spines | spines per µm "
           "dendrite | compartment face fractions | synapse targets |",
           "|---|---|---|---|---:|---|---:|---:|---|---|"]
    for size, level in LEVEL.items():
        for run in ("before", "after"):
            path = cache / f"result_{size}_{run}.npz"
            if not path.exists():
                continue
            r = np.load(path, allow_pickle=True)
            parent = np.arange(len(r["face_compartment"])) // 4 ** level
            agree = np.mean(r["face_compartment"] == ref["face_compartment"][parent])
            sp, sp_ref = r["face_spine"] >= 0, ref["face_spine"][parent] >= 0
            sp_rec = np.mean(sp[sp_ref]) if sp_ref.any() else np.nan
            sp_prec = np.mean(sp_ref[sp]) if sp.any() else np.nan
            label = "after (working mesh)" if run == "after" and level == 2 else (
                "before (full resolution)" if run == "before" else "same before / after")
            out.append(f"| {size} | {label} | {int(r['n_limbs'])} / {int(r['n_branches'])} | "
                       f"{_soma_offset_um(r['soma_centers_nm'], ref['soma_centers_nm'])} | {agree:.3f} | "
                       f"{sp_rec:.2f} / {sp_prec:.2f} | {int(r['n_spines'])} | "
                       f"{int(r['n_spines']) / max(float(r['dendrite_cable_um']), 1e-9):.3f} | "
                       f"{_fractions(r['face_compartment'])} | {_targets(r['syn_target'])} |")
    return out


def synthetic_rows(cache: Path) -> list[str]:
    truth_path = next(iter(sorted(cache.glob("synthetic_pyramidal_*.npz"))), None)
    if truth_path is None:
        return []
    t = np.load(truth_path)
    out = ["| mesh | run | faces | soma centre error (µm) | compartment face accuracy | per-compartment accuracy "
           "| spines found / true | spine precision | spine recall | spines per µm dendrite | synapse targets |",
           "|---|---|---:|---:|---:|---|---|---:|---:|---:|---|"]
    for run in ("before", "after"):
        path = cache / f"result_syn1M_{run}.npz"
        if not path.exists():
            continue
        r = np.load(path, allow_pickle=True)
        fc, tc = r["face_compartment"], t["face_compartment"]
        acc = np.mean(fc == tc)
        per = ", ".join(f"{c} {np.mean(fc[tc == c] == c):.3f}" for c in COMPS if np.any(tc == c))
        prec, rec = instance_scores(r["face_spine"], t["face_spine"])
        err = np.linalg.norm(r["soma_centers_nm"] - t["soma_center_nm"], axis=1).min() / 1000.0 \
            if len(r["soma_centers_nm"]) else np.nan
        out.append(f"| syn1M | {'after (working mesh)' if run == 'after' else 'before (full resolution)'} | "
                   f"{len(fc):,} | {err:.2f} | {acc:.3f} | {per} | {int(r['n_spines'])} / {int(t['n_spines'])} | "
                   f"{prec:.3f} | {rec:.3f} | {int(r['n_spines']) / max(float(r['dendrite_cable_um']), 1e-9):.3f} | "
                   f"{_targets(r['syn_target'])} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="/tmp/neurd_lite_bench")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    text = "\n".join(["### Real cell (81k and its subdivisions)", "", *real_rows(cache), "",
                      "### Synthetic ~1M-face pyramidal vs truth", "", *synthetic_rows(cache), ""])
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

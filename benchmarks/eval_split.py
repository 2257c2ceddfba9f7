"""Evaluate splitting merged cells (neurd_lite.proofread): the real two-soma cell, synthetic merges, single cells.

    python benchmarks/eval_split.py real                    # real cell: cut, shares, classes, picture
    python benchmarks/eval_split.py cases 11,12             # build + decompose synthetic merges (cached)
    python benchmarks/eval_split.py synthetic 11,12         # face accuracy + features vs the cell alone
    python benchmarks/eval_split.py family 1,2,3,4          # the same on merges of the synthetic family
    python benchmarks/eval_split.py singles 21,22,23        # single synthetic cells and labelled skeletons
    python benchmarks/eval_split.py summary                 # tables from the cached results

Seeds 1-8 were used to choose the cue weights (SplitParams defaults); seeds 11-18 are held out, and so are the
four merges of the synthetic family (``testing.family.make_merge``, another generator, never looked at before). Seed s makes
case i = (s - 1) % 10: 2 cells for i < 4 else 3; contact dendrite/axon alternating; fragmented when (i // 2) is odd.
Results go to ``--out`` (default /tmp/merge/eval) as one JSON per item; run each command under ~10 minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import neurd_lite as nl  # noqa: E402

KINDS = {2: [("pyramidal", "interneuron"), ("interneuron", "pyramidal"), ("pyramidal", "pyramidal")],
         3: [("interneuron", "pyramidal", "interneuron"), ("pyramidal", "interneuron", "pyramidal")]}
HEADLINE = ["cable_length_um", "dendrite_all_cable_length_um", "axon_cable_length_um", "n_branches", "n_tips",
            "max_path_length_um", "mesh_area_um2", "volume_um3", "soma_volume_um3", "soma_area_um2", "n_spines",
            "spine_density_per_um", "n_syn_pre", "n_syn_post", "syn_density_post_per_um", "width_median_um"]
REAL = "meshes/microns_864691135510518224/"


def case_spec(seed: int) -> tuple[int, str, bool]:
    i = (seed - 1) % 10
    return (2 if i < 4 else 3), ("dendrite", "axon")[i % 2], (i // 2) % 2 == 1


def make_case(seed: int, cache: Path, given: bool = False) -> Path:
    """Build, merge and decompose one synthetic merge; cached as a pickle (merged Neuron + truth). given: the
    true soma centres are passed to decompose (as from a nucleus table) instead of detecting the somata."""
    from neurd_lite.testing.touching import merge_cells
    from neurd_lite.testing.synthetic import make_neuron

    ncells, contact, frag = case_spec(seed)
    name = f"{ncells}c_{contact}_{'frag' if frag else 'clean'}_{seed}"
    path = cache / f"{name}{'_given' if given else ''}.pkl"
    if path.exists():
        return path
    kinds = KINDS[ncells][seed % len(KINDS[ncells])]
    cells = [make_neuron(k, seed=seed * 10 + i, target_faces=30000, fragment=frag) for i, k in enumerate(kinds)]
    m = merge_cells(cells, contact=contact, seed=seed)
    n = nl.decompose((m.mesh.vertices, m.mesh.faces), synapses=m.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                     name=name, soma=m.soma_centers_nm if given else None)
    cache.mkdir(parents=True, exist_ok=True)
    pickle.dump({"n": n, "merge": m, "kinds": kinds}, open(path, "wb"))
    return path


FAMILY = {  # held-out family merges (neurd_lite.testing.family, never used for tuning): members, contacts, fragment
    1: ([("basket", 2001), ("martinotti", 2002)], "dendrite", False),
    2: ([("martinotti", 2003), ("bipolar", 2004)], "axon", True),
    3: ([("bipolar", 2005), ("basket", 2006), ("neurogliaform", 2007)], ["dendrite", "axon"], False),
    4: ([("basket", 2008), ("l4_pyramidal", 2009)], "dendrite", True),
}


def make_family_case(i: int, cache: Path, target_faces: int = 40_000) -> Path:
    """A merge from the synthetic family (``testing.family.make_merge``), each cell also meshed alone."""
    from types import SimpleNamespace

    from neurd_lite.testing import family

    members, contact, frag = FAMILY[i]
    name = f"family{i}_{len(members)}c_{'-'.join(contact) if isinstance(contact, list) else contact}" \
           f"_{'frag' if frag else 'clean'}"
    path = cache / f"{name}.pkl"
    if path.exists():
        return path
    kw = dict(contact=contact, seed=2000 + i, target_faces=target_faces * len(members), fragment=frag)
    sn = family.make_merge(members, **kw)
    alone = [family.make_merge(members, cell=k, **kw) for k in range(len(members))]
    centers = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])
    m = SimpleNamespace(face_cell=np.asarray(sn.face_cell), soma_centers_nm=centers, contacts=sn.truth["contacts"],
                        cells=[SimpleNamespace(mesh=a.mesh, synapses=a.synapses) for a in alone])
    n = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                     name=name)
    cache.mkdir(parents=True, exist_ok=True)
    pickle.dump({"n": n, "merge": m, "kinds": [c for c, _ in members]}, open(path, "wb"))
    return path


def _true_cell(centers: np.ndarray, soma_center: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(centers - soma_center, axis=1)))


def _deviation(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)):
        return 0.0 if (np.isnan(a) and np.isnan(b)) else float("inf")
    return abs(a - b) / max(abs(b), 1e-9) if b != 0 else (0.0 if a == 0 else float("inf"))


def eval_case(path: Path) -> dict:
    """Split one cached merge; face accuracy per true cell; features of each split cell vs the cell alone."""
    d = pickle.load(open(path, "rb"))
    n, m = d["n"], d["merge"]
    out = {"case": path.stem, "soma_source": "given" if path.stem.endswith("_given") else "detected",
           "kinds": d["kinds"], "n_somas_found": len(n.somas), "n_cells": len(m.cells),
           "contacts": m.contacts}
    t0 = time.perf_counter()
    cells = nl.split(n)
    out["split_seconds"] = round(time.perf_counter() - t0, 1)
    out["cuts"] = cells.report["cuts"]
    out["neither_faces"] = cells.report["neither"]["faces"]
    per = []
    best: dict[int, object] = {}
    for c in cells:
        t = _true_cell(m.soma_centers_nm, c.somas[0].center_nm)
        if t not in best or c.n_faces > best[t].n_faces:
            best[t] = c
    for t in range(len(m.cells)):
        mine = m.face_cell == t  # debris faces (-1) belong to no cell
        if t not in best:
            per.append({"true_cell": t, "kind": d["kinds"][t], "recall": 0.0, "precision": float("nan"),
                        "note": "soma not found"})
            continue
        c = best[t]
        got = np.zeros(len(m.face_cell), bool)
        got[c.input_faces] = True
        fs, fa = nl.features(c).iloc[0], _alone_features(path, m, t)
        num = [k for k in fa.index if np.issubdtype(type(fa[k]), np.number) and k in fs.index]
        dev = {k: _deviation(float(fs[k]), float(fa[k])) for k in num}
        per.append({"true_cell": t, "kind": d["kinds"][t], "recall": round(float(np.mean(got[mine])), 4),
                    "precision": round(float(np.mean(mine[got])), 4), "n_faces": int(got.sum()),
                    "true_faces": int(mine.sum()), "soma_from": c.provenance.get("soma_from"),
                    "headline": {k: (float(fs[k]), float(fa[k]), round(dev[k], 4)) for k in HEADLINE if k in dev},
                    "share_within_5pct_all": round(float(np.mean([v <= 0.05 for v in dev.values()])), 4),
                    "n_features": len(dev), "flags": c.flags})
    out["cells"] = per
    return out


def _alone_features(case_path: Path, m, t: int):
    """Features of true cell ``t`` decomposed on its own (cached beside the case)."""
    import pandas as pd

    path = case_path.with_name(case_path.stem.replace("_given", "") + f"_alone{t}.pkl")
    if path.exists():
        return pd.read_pickle(path)
    sn = m.cells[t]
    alone = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                         name=f"alone_{t}")
    row = nl.features(alone).iloc[0]
    row.to_pickle(path)
    return row


def eval_real(out_dir: Path, fig_dir: Path) -> dict:
    from neurd_lite.data import data_path
    from neurd_lite.viz import plot_split

    t0 = time.perf_counter()
    cells = nl.decompose(data_path(REAL + "864691135510518224_decimated_80k.off"),
                         synapses=data_path(REAL + "864691135510518224_synapses.csv"), split=True)
    secs = time.perf_counter() - t0
    merged = cells.merged
    area = merged.mesh.area_faces
    res = {"seconds_decompose_and_split": round(secs, 1), "cuts": cells.report["cuts"],
           "neither": cells.report["neither"], "n_faces": merged.n_faces, "n_synapses": len(merged.synapses),
           "cells": []}
    for k, c in enumerate(cells):
        cls = nl.classify(c)
        res["cells"].append({
            "name": c.name, "soma_index": c.provenance["soma_index"], "n_faces": c.n_faces,
            "face_share": round(c.n_faces / merged.n_faces, 4),
            "area_share": round(float(area[c.input_faces].sum() / area.sum()), 4),
            "n_synapses": len(c.synapses), "synapse_share": round(len(c.synapses) / len(merged.synapses), 4),
            "soma_from": c.provenance.get("soma_from"), "summary": c.summary(),
            "classify": cls.iloc[0].to_dict() if hasattr(cls, "iloc") else cls, "flags": c.flags})
    res["figure"] = str(plot_split(cells, fig_dir / "split_864691135510518224.png").relative_to(ROOT))
    return res


def eval_singles(seeds: list[int]) -> dict:
    """Single cells must never be cut: synthetic single cells through decompose(split=True), and the labelled
    MICrONS skeletons through label_skeleton + split (one soma each) with the merge-error flags they raise."""
    from neurd_lite.testing.synthetic import make_neuron

    out = {"synthetic": [], "skeletons": []}
    for s in seeds:
        for kind in ("pyramidal", "interneuron"):
            for frag in (False, True):
                sn = make_neuron(kind, seed=s, target_faces=30000, fragment=frag)
                cells = nl.decompose((sn.mesh.vertices, sn.mesh.faces),
                                     synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], split=True)
                out["synthetic"].append({"seed": s, "kind": kind, "fragment": frag, "n_cells": len(cells),
                                         "n_somas": cells.report["n_somas"],
                                         "cuts": len([c for c in cells.report["cuts"] if c["applied"]]),
                                         "merge_flags": [f.split(":")[0] for f in cells[0].flags
                                                         if f.startswith("merge_")]})
    folder = Path(os.environ.get("NEURD_LITE_DATA", ROOT.parent.parent / "shared" / "data"))
    folder = folder if folder.exists() else Path("/work/shared/data")
    for f in sorted((folder / "skeletons" / "microns_apical_labelled").glob("*.h5")):
        n = nl.label_skeleton(f)
        cells = nl.split(n)
        out["skeletons"].append({"cell": f.stem, "n_cells": len(cells), "cuts": len(cells.report["cuts"]),
                                 "merge_flags": [x["flag"] for x in n.provenance.get("merge_flags", [])]})
    return out


def summary(out_dir: Path) -> None:
    rows = []
    for f in sorted(out_dir.glob("case_*.json")):
        r = json.loads(f.read_text())
        for c in r["cells"]:
            worst = max(c["headline"].items(), key=lambda kv: kv[1][2]) if "headline" in c else ("-", (0, 0, "-"))
            rows.append((r["case"], r["n_somas_found"], c["kind"], c["recall"], c["precision"],
                         c.get("share_within_5pct_all", "-"), f"{worst[0]} {worst[1][2]}", c.get("soma_from", "-"),
                         r["n_cells"]))
    print("| case | somata found | cell | recall | precision | features within 5% | worst headline feature | soma |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r[:-1]) + " |")
    for label, keep in (("tuning seeds 1-8", lambda c: c.split("_")[-1].isdigit() and int(c.split("_")[-1]) < 10),
                        ("held-out seeds 11-18", lambda c: c.split("_")[-1].isdigit() and int(c.split("_")[-1]) > 10),
                        ("held-out family", lambda c: c.startswith("family"))):
        sel = [r for r in rows if keep(r[0])]
        if not sel:
            continue
        found = [r for r in sel if r[1] == r[-1]]  # merges where every soma was detected
        ok = [r for r in found if r[3] >= 0.95 and r[4] >= 0.95]
        print(f"{label}: {len(sel)} cells in {len({r[0] for r in sel})} merges; every soma detected in "
              f"{len({r[0] for r in found})} merges ({len(found)} cells); of those, recall and precision >= 0.95 for "
              f"{len(ok)}, min(recall, precision) median {np.median([min(r[3], r[4]) for r in found]):.3f}, "
              f"min {min(min(r[3], r[4]) for r in found):.3f}; median share of features within 5% "
              f"{np.median([r[5] for r in found]) if found else float('nan'):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["real", "cases", "synthetic", "family", "singles", "summary"])
    ap.add_argument("seeds", nargs="?", default="11,12,13,14,15,16,17,18")
    ap.add_argument("--cache", default="/tmp/merge/cases")
    ap.add_argument("--out", default="/tmp/merge/eval")
    ap.add_argument("--given-somas", action="store_true", help="decompose merges with the true soma centres")
    args = ap.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else []
    if args.what == "real":
        res = eval_real(out_dir, ROOT / "docs" / "figures")
        (out_dir / "real.json").write_text(json.dumps(res, indent=1, default=str))
        print(json.dumps(res, indent=1, default=str)[:4000])
    elif args.what == "cases":
        for s in seeds:
            print(make_case(s, Path(args.cache)), flush=True)
    elif args.what == "synthetic":
        for s in seeds:
            res = eval_case(make_case(s, Path(args.cache), given=args.given_somas))
            (out_dir / f"case_{res['case']}{'_given' if args.given_somas else ''}.json").write_text(
                json.dumps(res, indent=1, default=str))
            print(res["case"], [(c["kind"], c["recall"], c["precision"], c.get("share_within_5pct_all"))
                                for c in res["cells"]], flush=True)
    elif args.what == "family":
        for i in seeds:
            res = eval_case(make_family_case(i, Path(args.cache)))
            (out_dir / f"case_{res['case']}.json").write_text(json.dumps(res, indent=1, default=str))
            print(res["case"], [(c["kind"], c["recall"], c["precision"], c.get("share_within_5pct_all"))
                                for c in res["cells"]], flush=True)
    elif args.what == "singles":
        res = eval_singles(seeds)
        (out_dir / "singles.json").write_text(json.dumps(res, indent=1, default=str))
        print(json.dumps({k: [(x.get("seed", x.get("cell")), x["n_cells"], x["cuts"], x["merge_flags"]) for x in v]
                          for k, v in res.items()}, default=str))
    else:
        summary(out_dir)


if __name__ == "__main__":
    main()

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
from real_cell import DATA_DIR as REAL  # noqa: E402  (the real cell's folder under the shared data)
from real_cell import MESH, SYNAPSES  # noqa: E402

KINDS = {2: [("pyramidal", "interneuron"), ("interneuron", "pyramidal"), ("pyramidal", "pyramidal")],
         3: [("interneuron", "pyramidal", "interneuron"), ("pyramidal", "interneuron", "pyramidal")]}
HEADLINE = ["cable_length_um", "dendrite_all_cable_length_um", "axon_cable_length_um", "n_branches", "n_tips",
            "max_path_length_um", "mesh_area_um2", "volume_um3", "soma_volume_um3", "soma_area_um2", "n_spines",
            "spine_density_per_um", "n_syn_pre", "n_syn_post", "syn_density_post_per_um", "width_median_um"]


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


FAMILY_CLASSES = ("l23_pyramidal", "l4_pyramidal", "basket", "martinotti", "bipolar", "neurogliaform", "l56_it")


def family_spec(seed: int) -> tuple[list[tuple[str, int]], str | list[str], bool]:
    """Members, contacts and fragmentation of family merge ``seed`` (``testing.family``: seeds 0-999 tune,
    1000-1999 and 2000-2999 held out; member seeds are drawn from the merge seed's own range, tune otherwise).
    Case i = seed % 8: 2 cells for i < 4 else 3; dendrite / axon contact alternating (3 cells: both kinds, order
    alternating); fragmented when (i // 2) is odd."""
    from neurd_lite.testing import family

    lo = family.SEED_RANGES.get(family.seed_range(seed) or "tune")[0]
    rng = np.random.default_rng([4242, seed])
    i = seed % 8
    ncells = 2 if i < 4 else 3
    classes = rng.choice(FAMILY_CLASSES, size=ncells, replace=True)
    members = [(str(c), int(lo + rng.integers(0, 1000))) for c in classes]
    if ncells == 2:
        contact: str | list[str] = ("dendrite", "axon")[i % 2]
    else:
        contact = ["dendrite", "axon"] if i % 2 == 0 else ["axon", "dendrite"]
    return members, contact, (i // 2) % 2 == 1


def make_family_case(seed: int, cache: Path, target_faces: int = 40_000, alone: bool = True) -> Path:
    """A merge from the synthetic family (``testing.family.make_merge``), decomposed, with each cell also meshed
    alone and decomposed (its feature row cached beside the case; ``alone=False``: face truth only)."""
    from types import SimpleNamespace

    from neurd_lite.testing import family

    members, contact, frag = family_spec(seed)
    name = f"fam{seed}_{len(members)}c_{'-'.join(contact) if isinstance(contact, list) else contact}" \
           f"_{'frag' if frag else 'clean'}"
    path = cache / f"{name}.pkl"
    if path.exists():
        return path
    kw = dict(contact=contact, seed=seed, target_faces=target_faces * len(members), fragment=frag)
    sn = family.make_merge(members, **kw)
    centers = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])
    cells = []
    for k in range(len(members) if alone else 0):
        a = family.make_merge(members, cell=k, **kw)
        cells.append(SimpleNamespace(mesh=a.mesh, synapses=a.synapses))
    m = SimpleNamespace(face_cell=np.asarray(sn.face_cell), soma_centers_nm=centers, contacts=sn.truth["contacts"],
                        cells=cells)
    t0 = time.perf_counter()
    n = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                     name=name)
    secs = time.perf_counter() - t0
    cache.mkdir(parents=True, exist_ok=True)
    pickle.dump({"n": n, "merge": m, "kinds": [c for c, _ in members], "members": members,
                 "decompose_seconds": secs}, open(path, "wb"))
    for k in range(len(cells)):
        _alone_features(path, m, k, merged=n)
    return path


def _true_cell(centers: np.ndarray, soma_center: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(centers - soma_center, axis=1)))


def _deviation(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)):
        return 0.0 if (np.isnan(a) and np.isnan(b)) else float("inf")
    return abs(a - b) / max(abs(b), 1e-9) if b != 0 else (0.0 if a == 0 else float("inf"))


def _true_faces_share(path: Path, n, m, t: int, fs, num: list, on: bool) -> dict:
    """``share_within_5pct_true_faces``: share of the columns ``num`` of the split cell's row ``fs`` within 5 % of
    :func:`_true_faces_features` (empty when not ``on``)."""
    if not on:
        return {}
    ft = _true_faces_features(path, n, m, t)
    dev = [_deviation(float(fs[k]), float(ft[k])) for k in num if k in ft.index]
    return {"share_within_5pct_true_faces": round(float(np.mean([v <= 0.05 for v in dev])), 4)}


def eval_case(path: Path, true_faces: bool = False) -> dict:
    """Split one cached merge; face accuracy per true cell; features of each split cell vs the cell alone (and,
    with ``true_faces``, vs the cell's true faces of the merged mesh: :func:`_true_faces_features`)."""
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
        if not c.somas:  # no soma detected in the merge: nothing was split
            continue
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
        family = path.stem.startswith("fam") and not path.stem.startswith("family")
        fs, fa = nl.features(c).iloc[0], _alone_features(path, m, t, merged=n if family else None)
        num = [k for k in fa.index if np.issubdtype(type(fa[k]), np.number) and k in fs.index]
        dev = {k: _deviation(float(fs[k]), float(fa[k])) for k in num}
        per.append({"true_cell": t, "kind": d["kinds"][t], "recall": round(float(np.mean(got[mine])), 4),
                    "precision": round(float(np.mean(mine[got])), 4), "n_faces": int(got.sum()),
                    "true_faces": int(mine.sum()), "soma_from": c.provenance.get("soma_from"),
                    "headline": {k: (float(fs[k]), float(fa[k]), round(dev[k], 4)) for k in HEADLINE if k in dev},
                    "share_within_5pct_all": round(float(np.mean([v <= 0.05 for v in dev.values()])), 4),
                    **_true_faces_share(path, n, m, t, fs, num, true_faces and family),
                    "over_5pct_all": {k: round(v, 4) for k, v in sorted(dev.items(), key=lambda kv: -kv[1])
                                      if v > 0.05},
                    "n_features": len(dev), "flags": c.flags})
    out["cells"] = per
    return out


def _alone_features(case_path: Path, m, t: int, merged=None):
    """Features of true cell ``t`` decomposed on its own (cached beside the case). For family merges
    (``merged`` given) the alone cell gets the merge's own synapse rows whose anchoring face is truly cell ``t``:
    ``make_merge(..., cell=k)`` draws its synapses anew (other positions and counts), so its table is not the
    same cell's synapses."""
    import pandas as pd

    suffix = "s" if merged is not None else ""
    path = case_path.with_name(case_path.stem.replace("_given", "") + f"_alone{t}{suffix}.pkl")
    if path.exists():
        return pd.read_pickle(path)
    sn = m.cells[t]
    syn = sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]]
    if merged is not None:
        syn = _true_synapses(merged, m, t)
    alone = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=syn, name=f"alone_{t}")
    row = nl.features(alone).iloc[0]
    row.to_pickle(path)
    return row


def _true_synapses(merged, m, t: int):
    """The merge's own synapse rows (input columns) whose anchoring face is truly cell ``t``."""
    import pandas as pd

    face = pd.to_numeric(merged.synapses["face"], errors="coerce").to_numpy()
    cell = np.full(len(face), -2)
    ok = np.isfinite(face)
    cell[ok] = np.asarray(m.face_cell)[face[ok].astype(np.int64)]
    return merged.synapses.loc[cell == t, ["x_nm", "y_nm", "z_nm", "is_pre"]].reset_index(drop=True)


def _true_faces_features(case_path: Path, merged, m, t: int):
    """Features of true cell ``t``'s own faces cut out of the merged mesh (its own synapse rows), cached beside the
    case: the split cell with a perfect face assignment. The generator's alone mesh (``make_merge(cell=k)``) is
    not that mesh: the union re-triangulates faces far from any contact (fam128: 25 and 354 faces > 5 µm away), and
    the skeleton follows the mesh's edges, so this reference separates the splitter's error from the generator's."""
    import pandas as pd

    from neurd_lite.geometry.meshes import submesh

    path = case_path.with_name(case_path.stem + f"_true{t}.pkl")
    if path.exists():
        return pd.read_pickle(path)
    faces = np.flatnonzero(np.asarray(m.face_cell) == t)
    cell = nl.decompose(submesh(merged.mesh, faces), synapses=_true_synapses(merged, m, t), units="nm",
                        name=f"true_{t}")
    row = nl.features(cell).iloc[0]
    row.to_pickle(path)
    return row


def eval_real(out_dir: Path, fig_dir: Path) -> dict:
    from neurd_lite.data import data_path
    from neurd_lite.viz import plot_split

    t0 = time.perf_counter()
    cells = nl.decompose(data_path(MESH),
                         synapses=data_path(SYNAPSES), split=True)
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
    res["neurd"] = neurd_comparison(cells, fig_dir / "split_864691135510518224_neurd.png")
    return res


def neurd_comparison(cells, fig_path: Path, near_nm: float = 3000.0) -> dict:
    """Which of our pieces NEURD's first split neuron holds: its SWC (soma-centred µm, shifted to its soma
    centroid in nm) against our cells' skeletons; a skeleton vertex (and its faces) is "in NEURD's first neuron"
    when within ``near_nm`` of an SWC segment. Cable by our compartment label; picture of the pieces."""
    import json as _json

    import matplotlib
    import pandas as pd
    from scipy.spatial import cKDTree

    from neurd_lite.data import data_path
    from neurd_lite.proofread.split import _soma_vertices
    from neurd_lite.viz import _rasterise  # the projection painter of viz.plot_split

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    merged = cells.merged
    stats = _json.loads(Path(data_path(REAL + "neurd_decomposition_stats.json")).read_text())
    centroid = np.array([stats["centroid_x_nm"], stats["centroid_y_nm"], stats["centroid_z_nm"]])
    swc = pd.read_csv(data_path(REAL + "864691135510518224_neurd.swc"), sep=r"\s+")
    pts = swc[["x", "y", "z"]].to_numpy() * 1000.0 + centroid
    row = {v: i for i, v in enumerate(swc["n"].to_numpy())}
    seg = np.array([(i, row[q]) for i, q in enumerate(swc["parent"]) if q in row])
    mid = (pts[seg[:, 0]] + pts[seg[:, 1]]) / 2
    seg_len = np.linalg.norm(pts[seg[:, 0]] - pts[seg[:, 1]], axis=1)
    full = np.load(data_path(REAL + "neurd_skeleton_edges_nm.npy"))
    sk = merged.skeleton
    owner = np.full(sk.n_vertices, -1)
    f2s = np.asarray(merged.face_to_skeleton)
    for k, c in enumerate(cells):
        owner[f2s[c.input_faces][f2s[c.input_faces] >= 0]] = k
    for k, v in enumerate(_soma_vertices(merged)):
        owner[v] = k
    near = np.isfinite(cKDTree(mid).query(sk.vertices, distance_upper_bound=near_nm)[0])
    lab = np.asarray(merged.skeleton_labels).astype(str)
    ed = np.asarray(sk.edges)
    el = np.linalg.norm(sk.vertices[ed[:, 0]] - sk.vertices[ed[:, 1]], axis=1)
    out: dict = {"neurd_first_neuron_cable_um": round(float(seg_len.sum()) / 1000, 1),
                 "neurd_first_neuron_axon_cable_um": round(float(seg_len[swc["type"].to_numpy()[seg[:, 0]] == 2].sum())
                                                           / 1000, 1),
                 "neurd_whole_skeleton_cable_um": round(float(np.linalg.norm(full[:, 0] - full[:, 1], axis=1).sum())
                                                        / 1000, 1)}
    d_full, j_full = cKDTree(sk.vertices).query(full.mean(axis=1))
    fl = np.linalg.norm(full[:, 0] - full[:, 1], axis=1)
    for k in range(len(cells)):
        mine = (owner[ed[:, 0]] == k) & (owner[ed[:, 1]] == k)
        out[f"cell{k}"] = {c: {"cable_um": round(float(el[mine & (lab[ed[:, 0]] == c)].sum()) / 1000, 1),
                               "in_neurd_first_um": round(float(el[mine & (lab[ed[:, 0]] == c) & near[ed[:, 0]]].sum())
                                                          / 1000, 1)}
                           for c in np.unique(lab)}
        out[f"cell{k}"]["neurd_whole_skeleton_near_um"] = round(float(fl[(d_full < near_nm) &
                                                                          (owner[j_full] == k)].sum()) / 1000, 1)
    face_in = np.where(f2s >= 0, near[np.maximum(f2s, 0)], False)
    face_in[np.asarray(merged.somas[0].faces)] = True
    area = merged.mesh.area_faces
    c0 = np.zeros(merged.n_faces, bool)
    c0[cells[0].input_faces] = True
    out["cell0_faces_in_neurd_first"] = int((c0 & face_in).sum())
    out["cell0_area_share_in_neurd_first"] = round(float(area[c0 & face_in].sum() / area.sum()), 4)
    colors = np.tile(np.array([0.75, 0.75, 0.75, 1.0]), (merged.n_faces, 1))
    colors[c0 & face_in] = (0.30, 0.47, 0.69, 1.0)
    colors[c0 & ~face_in] = (0.95, 0.60, 0.20, 1.0)
    if len(cells) > 1:
        colors[cells[1].input_faces] = (0.88, 0.35, 0.35, 1.0)
    tri = np.asarray(merged.mesh.vertices)[np.asarray(merged.mesh.faces)] / 1000.0
    image, extent = _rasterise(tri[:, :, [0, 1]], tri[:, :, 2].mean(axis=1), colors, 900)
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.imshow(image, extent=extent, origin="lower", interpolation="nearest")
    for a, b in seg:
        ax.plot(pts[[a, b], 0] / 1000, pts[[a, b], 1] / 1000, color="k", lw=0.5)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm) — pia up")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=(0.30, 0.47, 0.69), label="our cell 0, also in NEURD's first neuron"),
                       Patch(color=(0.95, 0.60, 0.20), label="our cell 0, not in NEURD's first neuron"),
                       Patch(color=(0.88, 0.35, 0.35), label="our cell 1"),
                       Patch(color="k", label="NEURD first neuron (SWC)")], fontsize=8, loc="lower right")
    ax.set_title("864691135510518224: our split vs NEURD's first split neuron")
    fig.savefig(fig_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    out["figure"] = str(fig_path)
    return out


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


def _group(case: str) -> str:
    """Which set a cached case belongs to: touching-cell tune / held-out seeds, family tune / held-out seeds."""
    if case.startswith("fam") and not case.startswith("family"):
        return "family held-out (seeds 1000-1999)" if int(case[3:].split("_")[0]) >= 1000 else \
            "family tune (seeds 0-999)"
    if case.startswith("family"):
        return "family session 4 (seeds 2001-2009, looked at)"
    seed = case.split("_")[-1]
    return "touching tune (seeds 1-8)" if seed.isdigit() and int(seed) < 10 else "touching held-out (seeds 11-18)"


def summary(out_dir: Path) -> dict:
    """Print the per-cell table and per-group summaries from the cached case JSONs; returns the summaries."""
    rows = []
    for f in sorted(out_dir.glob("case_*.json")):
        r = json.loads(f.read_text())
        for c in r["cells"]:
            worst = max(c["headline"].items(), key=lambda kv: kv[1][2]) if "headline" in c else ("-", (0, 0, "-"))
            rows.append({"case": r["case"], "found": r["n_somas_found"], "cells": r["n_cells"], "kind": c["kind"],
                         "recall": c["recall"], "precision": c["precision"],
                         "within5": c.get("share_within_5pct_all", float("nan")),
                         "worst": f"{worst[0]} {worst[1][2]}", "over5": [k for k, v in c.get("headline", {}).items()
                                                                         if v[2] > 0.05],
                         "headline_within5": (np.mean([v[2] <= 0.05 for v in c["headline"].values()])
                                              if c.get("headline") else float("nan"))})
    print("| case | somata found | cell | recall | precision | features within 5% | worst headline feature |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['found']}/{r['cells']} | {r['kind']} | {r['recall']} | {r['precision']} | "
              f"{r['within5']} | {r['worst']} |")
    out = {}
    for label in sorted({_group(r["case"]) for r in rows}):
        sel = [r for r in rows if _group(r["case"]) == label]
        found = [r for r in sel if r["found"] == r["cells"]]  # merges where every soma was detected
        ok = [r for r in sel if r["recall"] >= 0.95 and r["precision"] >= 0.95]
        over: dict[str, int] = {}
        for r in found:
            for k in r["over5"]:
                over[k] = over.get(k, 0) + 1
        g = {"cells": len(sel), "merges": len({r["case"] for r in sel}),
             "merges_all_somata": len({r["case"] for r in found}), "cells_recall_precision_ge_0.95": len(ok),
             "cells_in_merges_with_all_somata": len(found),
             "min_recall_precision_median": round(float(np.median([min(r["recall"], r["precision"]) for r in found])), 4)
             if found else None,
             "share_all_features_within_5pct_median": round(float(np.nanmedian([r["within5"] for r in found])), 4)
             if found else None,
             "share_headline_within_5pct_median": round(float(np.nanmedian([r["headline_within5"] for r in found])), 4)
             if found else None,
             "headline_features_over_5pct_cells": dict(sorted(over.items(), key=lambda kv: -kv[1]))}
        out[label] = g
        print(label, json.dumps(g))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["real", "cases", "famcases", "synthetic", "family", "singles", "summary"])
    ap.add_argument("seeds", nargs="?", default="11,12,13,14,15,16,17,18")
    ap.add_argument("--cache", default="/tmp/merge/cases")
    ap.add_argument("--out", default="/tmp/merge/eval")
    ap.add_argument("--given-somas", action="store_true", help="decompose merges with the true soma centres")
    ap.add_argument("--faces-only", action="store_true", help="famcases: skip the alone cells (face truth only)")
    ap.add_argument("--true-faces", action="store_true",
                    help="family: also compare each split cell with its true faces cut out of the merged mesh")
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
    elif args.what == "famcases":
        for s in seeds:
            print(make_family_case(s, Path(args.cache), alone=not args.faces_only), flush=True)
    elif args.what == "synthetic":
        for s in seeds:
            res = eval_case(make_case(s, Path(args.cache), given=args.given_somas))
            (out_dir / f"case_{res['case']}{'_given' if args.given_somas else ''}.json").write_text(
                json.dumps(res, indent=1, default=str))
            print(res["case"], [(c["kind"], c["recall"], c["precision"], c.get("share_within_5pct_all"))
                                for c in res["cells"]], flush=True)
    elif args.what == "family":
        for i in seeds:
            res = eval_case(make_family_case(i, Path(args.cache)), true_faces=args.true_faces)
            (out_dir / f"case_{res['case']}.json").write_text(json.dumps(res, indent=1, default=str))
            print(res["case"], [(c["kind"], c["recall"], c["precision"], c.get("share_within_5pct_all"))
                                for c in res["cells"]], flush=True)
    elif args.what == "singles":
        res = eval_singles(seeds)
        (out_dir / "singles.json").write_text(json.dumps(res, indent=1, default=str))
        print(json.dumps({k: [(x.get("seed", x.get("cell")), x["n_cells"], x["cuts"], x["merge_flags"]) for x in v]
                          for k, v in res.items()}, default=str))
    else:
        res = summary(out_dir)
        (out_dir / "summary.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

"""Why cells of cached synthetic merges fall below 0.95 face accuracy (diagnosis only, nothing is tuned; no rebuild).

    python benchmarks/split_causes.py /tmp/merge7/cases/fam*.pkl            # eval_split.py famcases / cases caches
    python benchmarks/split_causes.py --no-synapses /tmp/merge7/cases/fam2_*.pkl   # synapse_change weight 0

For each merge every skeleton vertex gets the true cell of most of its faces; each soma-to-soma path gets its true
switch (the split point that agrees with most path vertices) and the distance from the chosen cut to it. A merge
with a cell below 0.95 is "pieces far from the cuts" when most of its misassigned faces are ``far_pieces`` (below),
else "cut placed wrong" when a cut lies more than 3 µm from its path's switch, else "pieces on
the wrong side" (the contact zone or a second contact). Misassigned faces are also counted by kind: on vertices
whose own truth differs from their owner (skeleton) or on correctly owned vertices (face-to-skeleton mapping), and
``far_pieces``: those on misowned pieces more than 10 µm from every cut (session 9: in fragmented merges, pieces
of one cell healed onto another away from the soma-to-soma paths).

Session 11 (``--cells``): every true cell below 0.95 gets its lost faces (its own faces given elsewhere plus faces
it took) split by cause, first match wins: ``soma_missed`` (no detected soma maps to the cell), ``unowned``
(faces no soma reaches: pieces never healed), ``cut_misplaced`` (misowned skeleton vertices whose nearest
soma-path vertex lies between a cut and its path's switch, when the two are more than 3 µm apart), ``far_pieces``
(as above), ``side`` (other misowned skeleton vertices: contact zone, second contacts) and ``mapping`` (vertex
owned right, face wrong). Caches of ``/tmp/merge11`` (keys n, fc, C, members) are read as well;
without ``--model`` the hand score cuts (``cut_model=None``; ``--model split_cut_dist`` is the default splitter since
session 15), ``--model`` scores with a cut model, ``--oof DIR --rows rows.npz`` with the fold model of each merge's seed.

    python benchmarks/split_causes.py --cells --oof /tmp/merge11/cv2/rank_faces --rows /tmp/merge11/rows2.npz \\
        /tmp/merge11/tune/fam*.pkl

Session 17 (``--table``): two more causes, checked before ``unowned``: ``soma_wrong`` (two detected somata map to
the cell, or the nearest is > 10 µm from its centre) and ``extra_cut`` (misowned vertices the second-contact
repair moved: re-run with ``repair_contacts=False``); then every failing cell by its main cause and by stratum
(contact kind, fragmented, 2 / 3 cells), with the accuracy lost per cause (docs/proofreading.md "Session 17").

    python benchmarks/split_causes.py --cells --table --out /tmp/merge17/causes_t2.json /tmp/merge17/tune2/fam*.pkl
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix, csgraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurd_lite.proofread import SplitParams, face_owner, find_cuts  # noqa: E402
from neurd_lite.proofread.split import _soma_vertices  # noqa: E402
from neurd_lite.testing.merge import skeleton_vertex_cell  # noqa: E402


def _path(n, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton path (vertex ids) from vertex a to b and its arclength (nm)."""
    x, e = np.asarray(n.skeleton.vertices), np.asarray(n.skeleton.edges)
    w = np.maximum(np.linalg.norm(x[e[:, 0]] - x[e[:, 1]], axis=1), 1e-6)
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(x),) * 2).tocsr()
    _, pred = csgraph.dijkstra(g, directed=False, indices=a, return_predecessors=True)
    p, v = [b], b
    while v != a and pred[v] >= 0:
        v = int(pred[v])
        p.append(v)
    p = np.array(p[::-1])
    return p, np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(x[p], axis=0), axis=1))])


def far_vertices(n, vt: np.ndarray, owner_cell: np.ndarray, cuts: list[dict], f2s: np.ndarray,
                 far_nm: float = 10_000.0) -> np.ndarray:
    """(N,) bool: skeleton vertices on misowned pieces lying more than ``far_nm`` from every applied cut: a piece
    of one cell hung on another away from the soma-to-soma paths, in fragmented merges through heal bridges
    (faceless skeleton vertices, which join the pieces here whatever their owner says)."""
    x, e = np.asarray(n.skeleton.vertices), np.asarray(n.skeleton.edges)
    nf = np.bincount(f2s[f2s >= 0], minlength=len(x))
    bad = (vt >= 0) & (owner_cell != vt)
    wild = bad | (nf == 0)
    keep = wild[e[:, 0]] & wild[e[:, 1]] & (owner_cell[e[:, 0]] == owner_cell[e[:, 1]])
    g = coo_matrix((np.ones(keep.sum()), (e[keep, 0], e[keep, 1])), shape=(len(x),) * 2)
    _, lab = csgraph.connected_components(g, directed=False)
    cut_x = np.array([x[c["skeleton_vertex"]] for c in cuts if c.get("applied") and "skeleton_vertex" in c])
    out = np.zeros(len(x), bool)
    for c in np.unique(lab[bad]):
        vs = np.flatnonzero(lab == c)
        if not len(cut_x) or np.min(np.linalg.norm(x[vs][:, None] - cut_x[None], axis=2)) > far_nm:
            out[vs] = True
    return out


def far_pieces(n, vt: np.ndarray, owner_cell: np.ndarray, cuts: list[dict], f2s: np.ndarray) -> int:
    """Faces on misowned vertices of ``far_vertices`` pieces."""
    nf = np.bincount(f2s[f2s >= 0], minlength=n.skeleton.n_vertices)
    bad = (vt >= 0) & (owner_cell != vt)
    return int(nf[far_vertices(n, vt, owner_cell, cuts, f2s) & bad].sum())


def load_case(path: Path) -> tuple:
    """(neuron, true cell per face, true soma centres (nm), cell kinds, strata) from an eval_split or merge11
    cache; strata: contact kind ("dendrite", "axon", "mixed"), fragmented, number of cells (None when unknown)."""
    d = pickle.load(open(path, "rb"))
    if "merge" in d:
        return d["n"], np.asarray(d["merge"].face_cell), np.asarray(d["merge"].soma_centers_nm), d["kinds"], {}
    contact = d.get("contact")
    contact = contact if isinstance(contact, str) or contact is None else \
        (contact[0] if len(set(contact)) == 1 else "mixed")
    strata = {"contact": contact, "frag": d.get("frag"), "ncells": len(d["C"])}
    return d["n"], np.asarray(d["fc"]), np.asarray(d["C"]), [k for k, _ in d["members"]], strata


def misplaced_vertices(n, paths: list[tuple[np.ndarray, np.ndarray, float, float]]) -> np.ndarray:
    """(N,) bool: skeleton vertices whose nearest vertex (along the skeleton) on a soma path lies between that
    path's cut and switch (arclengths µm), for paths whose cut is more than 3 µm off."""
    x, e = np.asarray(n.skeleton.vertices), np.asarray(n.skeleton.edges)
    w = np.maximum(np.linalg.norm(x[e[:, 0]] - x[e[:, 1]], axis=1), 1e-6)
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(x),) * 2).tocsr()
    out = np.zeros(len(x), bool)
    for p, s, cut, sw in paths:
        if abs(cut - sw) <= 3:
            continue
        _, _, src = csgraph.dijkstra(g, directed=False, indices=p, return_predecessors=True, min_only=True)
        lo, hi = sorted((cut, sw))
        out |= np.isin(src, p[(s / 1000 >= lo) & (s / 1000 <= hi)])
    return out


def cell_causes(n, fc: np.ndarray, own_f: np.ndarray, st: np.ndarray, vt: np.ndarray, vo_cell: np.ndarray,
                cuts: list[dict], paths: list, f2s: np.ndarray, soma_bad: np.ndarray | None = None,
                repaired_v: np.ndarray | None = None) -> list[dict]:
    """Per true cell: min(recall, precision) of its faces and its lost faces by cause (module docstring).
    soma_bad: (cells,) bool, the cell's soma found twice or off its centre (session 17: ``soma_wrong``);
    repaired_v: (N,) bool, skeleton vertices the second-contact repair gave another soma (``extra_cut``)."""
    far_v = far_vertices(n, vt, vo_cell, cuts, f2s)
    mis_v = misplaced_vertices(n, paths)
    fv = np.maximum(f2s, 0)
    vtf = np.where(f2s >= 0, vt[fv], -3)
    off = (f2s >= 0) & (vtf != own_f)
    bad_soma = np.zeros(len(fc), bool) if soma_bad is None else np.isin(fc, np.flatnonzero(soma_bad))
    rep = np.zeros(len(fc), bool) if repaired_v is None else (f2s >= 0) & repaired_v[fv]
    cause = np.select([~np.isin(fc, st), bad_soma, own_f < 0, off & rep, off & mis_v[fv], off & far_v[fv], off],
                      ["soma_missed", "soma_wrong", "unowned", "extra_cut", "cut_misplaced", "far_pieces", "side"],
                      "mapping")
    wrong = (own_f != fc) & (fc >= 0)
    res = []
    for t in range(int(fc.max()) + 1):
        mine, got = fc == t, own_f == t
        score = min(float(got[mine].mean()), float(mine[got].mean()) if got.any() else 0.0)
        kinds, counts = np.unique(cause[wrong & (mine | got)], return_counts=True)
        res.append({"score": round(score, 4), "lost": {str(k): int(c) for k, c in zip(kinds, counts)}})
    return res


def diagnose(path: Path, params: SplitParams) -> dict:
    n, fc, centers, kinds, strata = load_case(path)
    out = {"case": path.stem, "somas": f"{len(n.somas)}/{len(centers)}", "cells": [], "cuts": [], "strata": strata}
    if len(n.somas) < 2:
        return out
    vo, cuts = find_cuts(n, params)
    st = np.array([int(np.argmin(np.linalg.norm(centers - s.center_nm, axis=1))) for s in n.somas] + [-1])
    own_f = st[np.where(face_owner(n, vo) >= 0, face_owner(n, vo), len(n.somas))]
    vt = skeleton_vertex_cell(n, fc)
    sv = _soma_vertices(n)
    paths = []
    for c in cuts:
        if c.get("kind") != "soma_path" or not c.get("applied"):
            continue
        i, j = c["somas"]
        p, s = _path(n, sv[i], sv[j])
        t = vt[p]
        agree = np.cumsum(t == st[i]) + np.concatenate([np.cumsum((t == st[j])[::-1])[::-1][1:], [0]])
        k = np.flatnonzero(p == c["skeleton_vertex"])
        cut_um = float(s[k[0]]) / 1000 if len(k) else float("nan")
        if len(k):
            paths.append((p, s, cut_um, float(s[int(np.argmax(agree))]) / 1000))
        out["cuts"].append({"somas": (i, j), "path_um": round(float(s[-1]) / 1000, 1), "cut_um": round(cut_um, 1),
                            "switch_um": round(float(s[int(np.argmax(agree))]) / 1000, 1),
                            "cues": {q: v for q, v in c["cues"].items() if v}})
    f2s = np.asarray(n.face_to_skeleton, np.int64)
    vtf = np.where(f2s >= 0, vt[np.maximum(f2s, 0)], -3)
    wrong = (own_f != fc) & (fc >= 0)
    out["wrong_faces"] = {"skeleton_owner": int((wrong & (own_f >= 0) & (vtf != own_f)).sum()),
                          "mapping": int((wrong & (own_f >= 0) & (vtf == own_f)).sum()),
                          "neither": int((wrong & (own_f < 0)).sum()),
                          "far_pieces": far_pieces(n, vt, st[np.where(vo >= 0, vo, len(n.somas))], cuts, f2s)}
    for t in range(len(centers)):
        mine, got = fc == t, own_f == t
        out["cells"].append({"kind": kinds[t], "recall": round(float(got[mine].mean()), 4),
                             "precision": round(float(mine[got].mean()), 4) if got.any() else 0.0})
    vo_cell = st[np.where(vo >= 0, vo, len(n.somas))]
    vo_plain, _ = find_cuts(n, replace(params, repair_contacts=False))
    soma_off = np.array([min(np.linalg.norm(np.asarray(s.center_nm) - centers[t]) for s in n.somas)
                         for t in range(len(centers))])
    soma_bad = (np.bincount(st[:-1], minlength=len(centers)) > 1) | (soma_off > 10_000.0)
    out["causes"] = cell_causes(n, fc, own_f, st[:-1], vt, vo_cell, cuts, paths, f2s, soma_bad, vo != vo_plain)
    off = [abs(c["cut_um"] - c["switch_um"]) for c in out["cuts"]]
    failing = any(min(c["recall"], c["precision"]) < 0.95 for c in out["cells"])
    wf = out["wrong_faces"]
    far = wf["far_pieces"] > 0.5 * (wf["skeleton_owner"] + wf["mapping"] + wf["neither"])
    out["cause"] = None if not failing else ("pieces far from the cuts" if far else
                                            "cut placed wrong" if any(o > 3 for o in off) else
                                            "pieces on the wrong side")
    return out


CAUSES = ("cut_misplaced", "unowned", "far_pieces", "side", "soma_missed", "mapping", "soma_wrong", "extra_cut")


def cause_table(recs: list[dict]) -> dict:
    """Cells below 0.95 by their main cause (most lost faces), and their lost faces summed by cause."""
    bad = [c for r in recs for c in r.get("causes", []) if c["score"] < 0.95]
    main_cause = [max(c["lost"], key=c["lost"].get) if c["lost"] else "mapping" for c in bad]
    return {"scored_cells": sum(len(r.get("causes", [])) for r in recs), "cells_below": len(bad),
            "unscored_merges": sum(not r.get("causes") for r in recs),
            **{k: {"cells": main_cause.count(k), "faces": sum(c["lost"].get(k, 0) for c in bad)} for k in CAUSES}}


def failing_table(recs: list[dict]) -> dict:
    """Session 17: every cell below 0.95 by its main cause (most lost faces) and by stratum (contact kind,
    fragmented, 2 / 3 cells). Per cause: cells, lost faces, the accuracy lost (1 - score) summed over failing
    cells in proportion to each cause's share of the cell's lost faces, and the mean loss of the cells it leads.
    Merges with fewer than two somata found are not split at all: their cells count as ``soma_missed``."""
    rows = []
    for r in recs:
        st = r.get("strata", {})
        if not r.get("causes"):
            rows += [{"score": 0.0, "lost": {"soma_missed": 1}, **st} for _ in range(st.get("ncells", 0) or 0)]
            continue
        rows += [{**c, **st} for c in r["causes"]]
    bad = [c for c in rows if c["score"] < 0.95]
    for c in bad:
        c["main"] = max(c["lost"], key=c["lost"].get) if c["lost"] else "mapping"
        tot = max(sum(c["lost"].values()), 1)
        c["share"] = {k: (1 - c["score"]) * v / tot for k, v in c["lost"].items()}
    causes = {k: {"cells": sum(c["main"] == k for c in bad), "faces": sum(c["lost"].get(k, 0) for c in bad),
                  "acc_lost": round(sum(c["share"].get(k, 0.0) for c in bad), 3),
                  "mean_loss_led": round(float(np.mean([1 - c["score"] for c in bad if c["main"] == k])), 3)
                  if any(c["main"] == k for c in bad) else None} for k in CAUSES}
    strata = {}
    for key in ("contact", "frag", "ncells"):
        for val in sorted({str(c.get(key)) for c in rows}):
            sel = [c for c in rows if str(c.get(key)) == val]
            strata[f"{key}={val}"] = {"cells": len(sel), "below": sum(c["score"] < 0.95 for c in sel),
                                      "acc_lost": round(sum(1 - c["score"] for c in sel if c["score"] < 0.95), 3)}
    return {"cells": len(rows), "below": len(bad), "acc_lost": round(sum(1 - c["score"] for c in bad), 3),
            "causes": causes, "strata": strata,
            "failing": [{k: c.get(k) for k in ("score", "main", "contact", "frag", "ncells", "lost")} for c in bad]}


def oof_params(args, base: SplitParams) -> dict[str, SplitParams]:
    """Case stem -> params with the fold model of its seed (train.folds over the rows file's seeds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classifiers" / "split_cut"))
    from train import folds

    fold_of = folds(np.load(args.rows)["seed"])
    return {Path(f).stem: replace(base, cut_model=str(Path(args.oof) / f"fold{fold_of[int(Path(f).stem[3:])]}.txt"))
            for f in args.paths if int(Path(f).stem[3:]) in fold_of}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--no-synapses", action="store_true", help="synapse_change weight 0 (session 6 cues)")
    ap.add_argument("--model", default=None, help="cut model name or path (SplitParams.cut_model)")
    ap.add_argument("--oof", default=None, help="folder of fold{k}.txt models: each merge scored out of fold")
    ap.add_argument("--rows", default=None, help="rows .npz whose seeds fixed the folds (with --oof)")
    ap.add_argument("--cells", action="store_true", help="print the per-cell cause table")
    ap.add_argument("--table", action="store_true", help="session 17: failing cells by cause and stratum")
    ap.add_argument("--out", default=None, help="write the records as JSON")
    args = ap.parse_args()
    p = SplitParams(cut_model=args.model)
    if args.no_synapses:
        p = replace(p, weights={**p.weights, "synapse_change": 0.0})
    per = oof_params(args, p) if args.oof else {}
    files = [f for f in args.paths if "_alone" not in f and (not args.oof or Path(f).stem in per)]
    recs = [diagnose(Path(f), per.get(Path(f).stem, p)) for f in files]
    for r in recs:
        if r.get("cause"):
            print(r["case"], r["cause"], [(c["kind"], min(c["recall"], c["precision"])) for c in r["cells"]],
                  [(c["cut_um"], c["switch_um"]) for c in r["cuts"]], r["wrong_faces"],
                  [c["lost"] for c in r["causes"] if c["score"] < 0.95] if args.cells else "")
    cells = [c for r in recs for c in r["cells"]]
    print(f"cells >= 0.95: {sum(min(c['recall'], c['precision']) >= 0.95 for c in cells)} of {len(cells)}")
    if args.cells:
        print(json.dumps(cause_table(recs)))
    if args.table:
        print(json.dumps(failing_table(recs), default=str))
    if args.out:
        Path(args.out).write_text(json.dumps(recs, indent=1, default=str))


if __name__ == "__main__":
    main()

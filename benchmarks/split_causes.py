"""Why cells of cached synthetic merges fall below 0.95 face accuracy (tune merges only; no rebuild).

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


def vertex_truth(n, face_cell: np.ndarray) -> np.ndarray:
    """(N,) true cell of each skeleton vertex: the cell of most faces mapped to it (-1: no face)."""
    f2s = np.asarray(n.face_to_skeleton, np.int64)
    ok = (f2s >= 0) & (face_cell >= 0)
    cnt = np.zeros((n.skeleton.n_vertices, int(face_cell.max()) + 1))
    np.add.at(cnt, (f2s[ok], face_cell[ok]), 1)
    return np.where(cnt.sum(1) > 0, cnt.argmax(1), -1)


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


def far_pieces(n, vt: np.ndarray, owner_cell: np.ndarray, cuts: list[dict], f2s: np.ndarray,
               far_nm: float = 10_000.0) -> int:
    """Faces on misowned skeleton pieces lying more than ``far_nm`` from every applied cut: a piece of one cell
    hung on another away from the soma-to-soma paths, in fragmented merges through heal bridges (faceless
    skeleton vertices, which join the pieces here whatever their owner says)."""
    x, e = np.asarray(n.skeleton.vertices), np.asarray(n.skeleton.edges)
    nf = np.bincount(f2s[f2s >= 0], minlength=len(x))
    bad = (vt >= 0) & (owner_cell != vt)
    wild = bad | (nf == 0)
    keep = wild[e[:, 0]] & wild[e[:, 1]] & (owner_cell[e[:, 0]] == owner_cell[e[:, 1]])
    g = coo_matrix((np.ones(keep.sum()), (e[keep, 0], e[keep, 1])), shape=(len(x),) * 2)
    _, lab = csgraph.connected_components(g, directed=False)
    cut_x = np.array([x[c["skeleton_vertex"]] for c in cuts if c.get("applied") and "skeleton_vertex" in c])
    total = 0
    for c in np.unique(lab[bad]):
        vs = np.flatnonzero(lab == c)
        if not len(cut_x) or np.min(np.linalg.norm(x[vs][:, None] - cut_x[None], axis=2)) > far_nm:
            total += int(nf[vs[bad[vs]]].sum())
    return total


def diagnose(path: Path, params: SplitParams) -> dict:
    d = pickle.load(open(path, "rb"))
    n, m = d["n"], d["merge"]
    fc = np.asarray(m.face_cell)
    centers = np.asarray(m.soma_centers_nm)
    out = {"case": path.stem, "somas": f"{len(n.somas)}/{len(centers)}", "cells": [], "cuts": []}
    if len(n.somas) < 2:
        return out
    vo, cuts = find_cuts(n, params)
    st = np.array([int(np.argmin(np.linalg.norm(centers - s.center_nm, axis=1))) for s in n.somas] + [-1])
    own_f = st[np.where(face_owner(n, vo) >= 0, face_owner(n, vo), len(n.somas))]
    vt = vertex_truth(n, fc)
    sv = _soma_vertices(n)
    for c in cuts:
        if c.get("kind") != "soma_path" or not c.get("applied"):
            continue
        i, j = c["somas"]
        p, s = _path(n, sv[i], sv[j])
        t = vt[p]
        agree = np.cumsum(t == st[i]) + np.concatenate([np.cumsum((t == st[j])[::-1])[::-1][1:], [0]])
        k = np.flatnonzero(p == c["skeleton_vertex"])
        cut_um = float(s[k[0]]) / 1000 if len(k) else float("nan")
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
        out["cells"].append({"kind": d["kinds"][t], "recall": round(float(got[mine].mean()), 4),
                             "precision": round(float(mine[got].mean()), 4) if got.any() else 0.0})
    off = [abs(c["cut_um"] - c["switch_um"]) for c in out["cuts"]]
    failing = any(min(c["recall"], c["precision"]) < 0.95 for c in out["cells"])
    wf = out["wrong_faces"]
    far = wf["far_pieces"] > 0.5 * (wf["skeleton_owner"] + wf["mapping"] + wf["neither"])
    out["cause"] = None if not failing else ("pieces far from the cuts" if far else
                                            "cut placed wrong" if any(o > 3 for o in off) else
                                            "pieces on the wrong side")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--no-synapses", action="store_true", help="synapse_change weight 0 (session 6 cues)")
    ap.add_argument("--out", default=None, help="write the records as JSON")
    args = ap.parse_args()
    p = SplitParams()
    if args.no_synapses:
        p = replace(p, weights={**p.weights, "synapse_change": 0.0})
    recs = [diagnose(Path(f), p) for f in args.paths if "_alone" not in f]
    for r in recs:
        if r.get("cause"):
            print(r["case"], r["cause"], [(c["kind"], min(c["recall"], c["precision"])) for c in r["cells"]],
                  [(c["cut_um"], c["switch_um"]) for c in r["cuts"]], r["wrong_faces"])
    cells = [c for r in recs for c in r["cells"]]
    print(f"cells >= 0.95: {sum(min(c['recall'], c['precision']) >= 0.95 for c in cells)} of {len(cells)}")
    if args.out:
        Path(args.out).write_text(json.dumps(recs, indent=1, default=str))


if __name__ == "__main__":
    main()

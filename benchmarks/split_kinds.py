"""Session 23 round 3: every failing cell of cached merges by *where* its lost faces hang (diagnosis only).

    python benchmarks/split_kinds.py --out /tmp/merge23/r3/kinds_tune.json /tmp/merge23/tune/fam*.pkl

Runs the default splitter (``SplitParams()``; ``--param NAME=VALUE`` changes a field) on eval_split caches (as
``split_causes.py``). Each misowned face
(its owner is not its true cell) is hung on the nearest soma-path vertex (along the skeleton) of an applied cut and
given one kind, first match wins (a vertex hangs on the nearest vertex of any applied cut's soma path):

- ``moved:RULE``: its vertex lies in a subtree some rule moved across (``zone`` vote, ``growth``, ``calibre``,
  ``bridge_growth``, ``secondary_contact``, ``bridge_calibre``, ``bridge_polarity``);
- ``own_branch_cut`` / ``weak_cut``: the cut lies > 3 µm from its path's true switch and the face hangs on the path
  between the two (the cut vertex included, so the cut's off-path sibling counts here); ``own_branch_cut`` when
  the cut is a junction (``junction`` cue >= .5: one cell's own branch point), else ``weak_cut``;
- ``zone_stayed``: it hangs within 3 µm of the cut (the contact zone plus tolerance) and was not moved;
- ``elsewhere``: it hangs farther from the cut (second contacts, chains inside one mesh piece, heal pieces);
- ``unowned`` (no soma reaches it), ``mapping`` (its skeleton vertex is owned right, the face is not).

A failing cell (min(recall, precision) < 0.95) gets the kind with most of its lost faces (own faces given away plus
faces taken); the table sums each failing merge's misowned faces once, by kind. Nothing is tuned here.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix, csgraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from split_causes import _path, load_case  # noqa: E402

from neurd_lite.proofread import SplitParams, face_owner, find_cuts  # noqa: E402
from neurd_lite.proofread.split import _soma_vertices  # noqa: E402
from neurd_lite.testing.merge import skeleton_vertex_cell  # noqa: E402

KINDS = ("moved", "own_branch_cut", "weak_cut", "zone_stayed", "elsewhere", "unowned", "mapping")


def _graph(n):
    x, e = np.asarray(n.skeleton.vertices), np.asarray(n.skeleton.edges)
    w = np.maximum(np.linalg.norm(x[e[:, 0]] - x[e[:, 1]], axis=1), 1e-6)
    return coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(x),) * 2).tocsr(), e


def _subtree(n, e: np.ndarray, v: int, u: int) -> np.ndarray:
    """(N,) bool: the skeleton side of edge v-u that holds u (the original skeleton)."""
    keep = ~(((e[:, 0] == v) & (e[:, 1] == u)) | ((e[:, 0] == u) & (e[:, 1] == v)))
    N = n.skeleton.n_vertices
    _, lab = csgraph.connected_components(coo_matrix((np.ones(keep.sum()), (e[keep, 0], e[keep, 1])),
                                                     shape=(N, N)), directed=False)
    return lab == lab[u]


def classify(path: Path, params: SplitParams) -> dict:
    """Per cell score and lost faces by kind; per applied soma-path cut its place, switch and junction cue."""
    n, fc, C, kinds, strata = load_case(path)
    out = {"case": path.stem, "strata": strata, "kinds": kinds, "cells": [], "cuts": [], "moves": []}
    if len(n.somas) < 2:
        return out
    vo, cuts = find_cuts(n, params)
    st = np.array([int(np.argmin(np.linalg.norm(C - s.center_nm, axis=1))) for s in n.somas] + [-1])
    fo = face_owner(n, vo)
    own = st[np.where(fo >= 0, fo, len(n.somas))]
    vt = skeleton_vertex_cell(n, fc)
    sv = _soma_vertices(n)
    g, e = _graph(n)
    N = n.skeleton.n_vertices
    hang_cut, hang_s, hang_d = np.full(N, -1), np.full(N, np.nan), np.full(N, np.inf)
    info, moved = [], np.full(N, "", dtype=object)
    for c in cuts:
        if c.get("kind") == "soma_path" and c.get("applied"):
            i, j = c["somas"]
            p, s = _path(n, sv[i], sv[j])
            t = vt[p]
            agree = np.cumsum(t == st[i]) + np.concatenate([np.cumsum((t == st[j])[::-1])[::-1][1:], [0]])
            k = np.flatnonzero(p == c["skeleton_vertex"])
            if not len(k):
                continue
            d, _, src = csgraph.dijkstra(g, directed=False, indices=p, return_predecessors=True, min_only=True)
            pos = {int(v): q for q, v in enumerate(p)}
            near = (src >= 0) & (d < hang_d)  # hung on the nearest vertex of any cut path
            hang_cut[near], hang_d[near] = len(info), d[near]
            hang_s[near] = [s[pos[int(v)]] / 1000 for v in src[near]]
            info.append({"somas": (int(i), int(j)), "cut_um": round(float(s[k[0]]) / 1000, 1),
                         "switch_um": round(float(s[int(np.argmax(agree))]) / 1000, 1),
                         "junction": round(float(c["cues"].get("junction", 0.0)), 2),
                         "end_on_stretch": "end_on_stretch" in c})
        for m in c.get("moved_sides", []) + ([c] if "attached_at" in c else []):
            sub = _subtree(n, e, int(m["attached_at"]), int(m["vertex"]))
            moved[sub & (moved == "")] = m.get("kind", "zone")
            out["moves"].append({"kind": m.get("kind", "zone"), "vertices": int(sub.sum())})
    out["cuts"] = info
    f2s = np.asarray(n.face_to_skeleton, np.int64)
    fv = np.maximum(f2s, 0)
    wrong = (own != fc) & (fc >= 0)
    hc, hs = hang_cut[fv], hang_s[fv]
    off = np.array([abs(c["cut_um"] - c["switch_um"]) for c in info] + [0.0])[hc]
    cut = np.array([c["cut_um"] for c in info] + [np.nan])[hc]
    sw = np.array([c["switch_um"] for c in info] + [np.nan])[hc]
    junc = np.array([c["junction"] for c in info] + [0.0])[hc]
    between = (off > 3) & (hs >= np.minimum(cut, sw) - 0.1) & (hs <= np.maximum(cut, sw) + 0.1)  # µm, rounding
    vtf = np.where(f2s >= 0, vt[fv], -3)
    skel = (f2s >= 0) & (vtf != own)
    mk = np.array(["moved:" + m for m in moved], dtype=object)[fv]
    kind = np.select([own < 0, ~skel, moved[fv] != "", between & (junc >= 0.5), between, np.abs(hs - cut) <= 3],
                     ["unowned", "mapping", mk, "own_branch_cut", "weak_cut", "zone_stayed"], "elsewhere")
    out["wrong_faces"] = dict(Counter(kind[wrong].tolist()))
    for t in range(len(C)):
        mine, got = fc == t, own == t
        score = min(float(got[mine].mean()), float(mine[got].mean()) if got.any() else 0.0)
        lost = Counter(kind[wrong & (mine | got)].tolist())
        out["cells"].append({"kind": kinds[t], "score": round(score, 4), "lost": dict(lost),
                             "main": max(lost, key=lost.get) if lost and score < 0.95 else None})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--out", default=None, help="write the records as JSON")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a SplitParams field other than the default (Python literal), e.g. bridge_axon_polarity=False")
    args = ap.parse_args()
    params = SplitParams(**{k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in args.param)})
    recs = [classify(Path(f), params) for f in args.paths if "_alone" not in f]
    table = {k: {"cells": 0, "merges": set(), "faces": 0} for k in KINDS}
    for r in recs:
        for c in r["cells"]:
            if c["main"]:
                print(r["case"], c["kind"], c["score"], c["main"], c["lost"], r["cuts"])
                table[c["main"].split(":")[0]]["cells"] += 1
                table[c["main"].split(":")[0]]["merges"].add(r["case"])
        if any(c["main"] for c in r["cells"]):
            for k, v in r.get("wrong_faces", {}).items():
                table[k.split(":")[0]]["faces"] += v
    cells = [c for r in recs for c in r["cells"]]
    print(f"cells >= 0.95: {sum(c['score'] >= 0.95 for c in cells)} of {len(cells)}")
    print(json.dumps({k: {**v, "merges": sorted(v["merges"])} for k, v in table.items()}))
    if args.out:
        Path(args.out).write_text(json.dumps(recs, indent=1, default=str))


if __name__ == "__main__":
    main()

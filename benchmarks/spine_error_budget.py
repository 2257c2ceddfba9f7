"""Where the spine face F1 goes: 1 - F1 split into missed, partial, too-long and false spines, per member.

1 - face F1 = (FP + FN) / (2 TP + FP + FN) splits exactly into the FN faces of true spines found on < 10 % of
their faces ("missed"), the FN faces of the other true spines ("partial": too short), the FP faces of predicted
spines that overlap a true one on >= 10 % of their faces ("overlong") and the FP faces of the rest ("false").
A false spine's kind comes from the truth under it: axon or bouton, soma, within the soma radius + 4 µm of the
root along the true skeleton (soma bump / root flare), within 1-1.5 µm of a true branch point or tip (stub), the
true surface under it more than 1.2 x the median surface radius within 3 µm (varicosity), else plain shaft.

Input: the cache of ``eval_spines_family.py`` and the predictions it saves with ``EVAL_SPINES_SAVE=DIR``::

  EVAL_SPINES_SAVE=/tmp/x/pred python benchmarks/eval_spines_family.py score --cache C --member basket:0 ...
  python benchmarks/spine_error_budget.py C /tmp/x/pred --out /tmp/x/budget.jsonl

Prints one JSON row per member and the per-class mean table (markdown); ``--out`` also writes a per-true-spine
CSV (``<out>.spines.csv``: shape, faces, share found).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAFT_LABELS = ("dendrite", "basal", "apical_shaft", "apical_tuft", "oblique", "apical")


def _skeleton_graph(sk) -> tuple:
    """CSR graph of a skeleton (edge lengths nm) and its vertex degrees."""
    e = sk.edges
    w = np.linalg.norm(sk.vertices[e[:, 0]] - sk.vertices[e[:, 1]], axis=1)
    nv = len(sk.vertices)
    g = coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(nv, nv)).tocsr()
    return g, np.bincount(e.ravel(), minlength=nv)


def false_kind(fi: np.ndarray, sn, lab: np.ndarray, ctx: dict) -> str:
    """Kind of the false spine on faces ``fi`` of synthetic neuron ``sn`` (see the module doc)."""
    if (sn.face_bouton is not None and (np.asarray(sn.face_bouton)[fi] >= 0).mean() > 0.5) or \
            pd.Series(lab[fi]).mode().iloc[0] == "axon":
        return "bouton/axon"
    if pd.Series(lab[fi]).mode().iloc[0] == "soma":
        return "soma"
    v = ctx["fsk"][fi]
    v = v[v >= 0]
    if len(v) == 0:
        return "debris"
    vm = int(np.bincount(v).argmax())
    if ctx["d_root"][vm] < ctx["soma_r"] + 4000.0:
        return "soma bump/flare"
    if ctx["d_special"][vm] < 1000.0 or (ctx["d_special"][vm] < 1500.0 and ctx["deg"][vm] != 2):
        return "branch/tip stub"
    near = np.isfinite(dijkstra(ctx["g"], indices=[vm], directed=False, limit=3000.0)[0])
    ref = np.nanmedian(ctx["vrad"][near]) if np.isfinite(ctx["vrad"][near]).any() else np.nan
    bulge = np.nanmax(ctx["vrad"][v]) / ref if np.isfinite(ref) and np.isfinite(ctx["vrad"][v]).any() else 0.0
    return "varicosity" if bulge > 1.2 else "plain shaft"


def member_budget(pred: np.ndarray, sn) -> tuple[dict, pd.DataFrame]:
    """Loss shares (of 1 - face F1) and false-spine kinds for one member; per-true-spine table."""
    pred, true = np.asarray(pred, np.int64), np.asarray(sn.face_spine, np.int64)
    on_p, on_t = pred >= 0, true >= 0
    tp, fp, fn = int((on_p & on_t).sum()), int((on_p & ~on_t).sum()), int((~on_p & on_t).sum())
    den = max(2 * tp + fp + fn, 1)
    tsz = np.bincount(true[on_t])
    tdet = np.bincount(true[on_t & on_p], minlength=len(tsz))
    frac = tdet / np.maximum(tsz, 1)
    missed = (tsz > 0) & (frac < 0.1)
    fn_missed = int((tsz - tdet)[missed].sum())
    psz = np.bincount(pred[on_p]) if on_p.any() else np.zeros(0, np.int64)
    pov = np.bincount(pred[on_p & on_t], minlength=len(psz))
    false = (psz > 0) & (pov < 0.1 * psz)
    fp_false = int((psz - pov)[false].sum())
    sk = sn.skeleton
    g, deg = _skeleton_graph(sk)
    special = np.flatnonzero(((deg >= 3) | (deg == 1)) & (np.arange(len(deg)) != sk.root))
    fsk = np.asarray(sn.face_skeleton)
    lab = np.asarray(sn.face_labels).astype(str)
    ok = fsk >= 0
    dist = np.full(len(fsk), np.nan)
    dist[ok] = np.linalg.norm(np.asarray(sn.mesh.triangles_center)[ok] - sk.vertices[fsk[ok]], axis=1)
    shaft = ok & ~on_t & np.isin(lab, SHAFT_LABELS)
    vr = pd.Series(dist[shaft]).groupby(fsk[shaft]).median()
    vrad = np.full(len(deg), np.nan)
    vrad[vr.index.to_numpy()] = vr.to_numpy()
    ctx = {"g": g, "deg": deg, "fsk": fsk, "vrad": vrad, "soma_r": float(sn.truth.get("soma_radius_nm") or 6000.0),
           "d_root": dijkstra(g, indices=[sk.root], directed=False)[0],
           "d_special": dijkstra(g, indices=special, directed=False, min_only=True) if len(special)
           else np.full(len(deg), np.inf)}
    row = {"F1": 2 * tp / den, "n_true": int((tsz > 0).sum()), "n_missed": int(missed.sum()),
           "n_false": int(false.sum()), "loss_missed": fn_missed / den, "loss_partial": (fn - fn_missed) / den,
           "loss_overlong": (fp - fp_false) / den, "loss_false": fp_false / den}
    for p_id in np.flatnonzero(false):
        fi = np.flatnonzero(pred == p_id)
        k = false_kind(fi, sn, lab, ctx)
        row[f"loss_false_{k}"] = row.get(f"loss_false_{k}", 0.0) + len(fi) / den
        row[f"n_false_{k}"] = row.get(f"n_false_{k}", 0) + 1
    shape = sn.spines.set_index("spine_id")["shape"] if "shape" in sn.spines else None
    ids = np.flatnonzero(tsz > 0)
    spines = pd.DataFrame({"spine_id": ids, "faces": tsz[ids], "found_share": frac[ids],
                           "shape": shape.reindex(ids).to_numpy() if shape is not None else None})
    return row, spines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", help="eval_spines_family.py --cache folder")
    ap.add_argument("pred", help="EVAL_SPINES_SAVE folder of the scored run")
    ap.add_argument("--out", default=None, help="JSON lines per member (and <out>.spines.csv)")
    args = ap.parse_args(argv)
    rows, spines = [], []
    for f in sorted(Path(args.pred).glob("*.pkl")):
        cp = Path(args.cache) / f.name
        if not cp.exists():
            continue
        with open(f, "rb") as fh:
            pr = pickle.load(fh)
        with open(cp, "rb") as fh:
            _, sn = pickle.load(fh)
        row, sp = member_budget(pr["face_spine"], sn)
        row = {"member": f.stem, "class": sn.truth.get("class"), **row}
        rows.append(row)
        spines.append(sp.assign(member=f.stem, cls=row["class"]))
        print(json.dumps(row), flush=True)
    if not rows:
        print("no member has both a cached decomposition and a saved prediction")
        return 1
    d = pd.DataFrame(rows)
    cols = ["F1"] + sorted(c for c in d.columns if c.startswith("loss_"))
    d[cols] = d[cols].fillna(0.0)
    tab = d.groupby("class")[cols].mean()
    tab.loc["all"] = d[cols].mean()
    print("| class | " + " | ".join(cols) + " |\n|---|" + "---:|" * len(cols))
    for name, r in tab.iterrows():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in r) + " |")
    if args.out:
        d.to_json(args.out, orient="records", lines=True)
        pd.concat(spines).to_csv(args.out + ".spines.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

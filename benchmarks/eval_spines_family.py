"""Spine and synapse-target scores on members of the synthetic family, per class (tune vs held-out).

Step 1 (``cache``) runs ``nl.decompose``'s stages up to compartments on each member and pickles the Neuron with
its run state and the SyntheticNeuron under ``--cache`` (default /tmp/spines/cache); step 2 (``score``) runs only
the spine, refine and synapse stages on the cached neurons with the given spine / synapse parameters and prints
per class: spine face F1, spine instance P/R, false spines per 100 µm (of dendrite; the aspiny rows are the
ones to read), synapse-target macro F1 and per-target F1 (incl. neck), spine-stage seconds.

Tune on ``--part tune`` (tune seeds, classes not held out) only; the headline is ``--part heldout``
(held-out seeds plus every seed of the held-out classes).

Usage::

  python benchmarks/eval_spines_family.py cache --part tune --n-seeds 1 [--conditions random]
  python benchmarks/eval_spines_family.py score --part tune [--set spines.seed_protrusion_nm=250]
  python benchmarks/eval_spines_family.py cache --member l23_pyramidal:1000:1000000   # a >= 1M-face member
  python benchmarks/eval_spines_family.py cache --member l5_et:1000:1200000:frag   # the same, fragmented
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import neurd_lite as nl  # noqa: E402
from neurd_lite import pipeline as pl  # noqa: E402
from neurd_lite.io.meshes import load_mesh  # noqa: E402
from neurd_lite.io.synapses import load_synapses  # noqa: E402
from neurd_lite.testing import family  # noqa: E402
from neurd_lite.testing.scores import SYNAPSE_TARGETS, instance_scores, spine_face_f1, synapse_target_f1  # noqa: E402

HOLDOUT_CLASSES = ("martinotti",)
PRE_SPINE = ("decimate", "heal", "soma", "skeleton", "graph", "anchors", "compartments")
POST = ("spines", "refine", "synapses")


def _members(part: str, n_seeds: int, conditions: str) -> list[tuple[str, int, str, int | None]]:
    tune, held = family.split(n_seeds, family.CLASSES, HOLDOUT_CLASSES)
    return [(c, s, conditions, None) for c, s in (held if part == "heldout" else tune)]


def _key(cls: str, seed: int, cond: str, faces: int | None) -> str:
    return f"{cls}_{seed}_{cond}" + (f"_{faces}" if faces else "")


def build_cache(members: list, cache: Path, p: nl.PipelineParams | None = None) -> None:
    """Pickle (Neuron with its run state after the compartments stage, SyntheticNeuron) per member; ``p``: the
    pre-spine stages' parameters (default ``PipelineParams()``; ``--set`` with ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    stages = dict(pl.MESH_STAGES)
    for cls, seed, cond, faces in members:
        out = cache / (_key(cls, seed, cond, faces) + ".pkl")
        if out.exists():
            continue
        t = time.perf_counter()
        kw = {"target_faces": faces} if faces else {"conditions": cond}
        if cond == "frag":  # fragmented >= 1M member: chunks, gaps, shifts, debris, 20 nm noise
            kw.update(fragment=True, debris=True, noise_nm=20.0)
        sn = family.make_member(cls, seed, **kw)
        n = nl.Neuron(name=_key(cls, seed, cond, faces), mesh=load_mesh(sn.mesh))
        n.synapses = load_synapses(sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]])
        p = p or nl.PipelineParams()
        pl.run_state(n)
        for name in PRE_SPINE:
            try:
                stages[name](n, p)
            except pl._Skip:
                pass
        with open(out, "wb") as fh:
            pickle.dump((n, sn), fh, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"cached {out.name}: {len(sn.face_labels)} faces, {time.perf_counter() - t:.0f} s", flush=True)


def _params(sets: list[str]) -> nl.PipelineParams:
    d = nl.PipelineParams().to_dict()
    for s in sets:
        k, v = s.split("=", 1)
        node = d
        parts = k.split(".")
        for q in parts[:-1]:
            node = node[q]
        node[parts[-1]] = json.loads(v) if v[:1] in "[{0123456789-tfn" else v
    return nl.PipelineParams.from_dict(d)


def score_one(n0: nl.Neuron, sn, p: nl.PipelineParams, model_too: bool = False) -> dict:
    """Run the spine, refine and synapse stages on a copy of a cached neuron and score it (``model_too``: also
    the synapse-target model's macro / neck F1, as ``model_macro_f1`` / ``model_neck``)."""
    n, out = run_post(n0, sn, p, model_too)
    return {**out, **score_prediction(n, sn)}


def run_post(n0: nl.Neuron, sn, p: nl.PipelineParams, model_too: bool = False) -> tuple[nl.Neuron, dict]:
    """(the neuron after the spine, refine and synapse stages run on a copy of ``n0``, its timing columns; with
    ``model_too`` also the synapse-target model's scores against ``sn``)."""
    n = copy.deepcopy(n0)
    stages = dict(pl.MESH_STAGES)
    t, c0 = time.perf_counter(), time.process_time()
    extra, cpu = {}, {}
    for name in POST:
        c = time.process_time()
        try:
            if name == "synapses" and model_too:
                pm = nl.PipelineParams.from_dict({**p.to_dict(), "synapses": {**p.to_dict()["synapses"],
                                                                              "method": "model"}})
                stages[name](n, pm)
                f1m = synapse_target_f1(n.synapses["target"].to_numpy(), sn.synapses["target"].to_numpy())
                extra = {"model_macro_f1": f1m["macro"], "model_neck": f1m.get("spine_neck", np.nan),
                         "model_shaft": f1m.get("shaft", np.nan)}
            stages[name](n, p)
        except pl._Skip:
            pass
        cpu[f"{name}_cpu_s"] = time.process_time() - c
        if name == "spines":
            t_sp = time.perf_counter() - t
    return n, {"class": sn.truth.get("class"), "n_faces": len(sn.face_labels), "spine_s": t_sp,
               "total_s": time.perf_counter() - t, "post_cpu_s": time.process_time() - c0, **cpu, **extra}


def score_prediction(n: nl.Neuron, sn) -> dict:
    """Spine (face F1, instance P / R, false spines) and synapse-target scores of a neuron after the synapse
    stage against the truth of ``sn`` (synapses in the same order)."""
    out = {"spine_face_f1": spine_face_f1(n.face_spine, sn.face_spine)}
    out["spine_p"], out["spine_r"] = instance_scores(n.face_spine, sn.face_spine)
    cable = sn.truth["cable_length_nm"]
    dend_um = sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0
    tp_p = out["spine_p"] * len(np.unique(n.face_spine[n.face_spine >= 0]))
    n_pred = len(np.unique(n.face_spine[n.face_spine >= 0]))
    out["false_per_100um"] = 100.0 * (n_pred - tp_p) / max(dend_um, 1e-9)
    out["n_true"] = len(np.unique(sn.face_spine[sn.face_spine >= 0]))
    out["n_pred"] = n_pred
    ax = sn.face_labels.astype(str) == "axon"
    out["axon_spine_faces"] = int(np.count_nonzero(ax & (n.face_spine >= 0)))
    out["false_by_truth"] = false_spine_truth(n.face_spine, sn)
    if os.environ.get("EVAL_SPINES_SAVE"):
        d = Path(os.environ["EVAL_SPINES_SAVE"])
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{n.name}.pkl", "wb") as fh:
            pickle.dump({"face_spine": n.face_spine, "spines": n.spines, "synapses": n.synapses,
                         "face_labels": n.face_labels}, fh)
    f1 = synapse_target_f1(n.synapses["target"].to_numpy(), sn.synapses["target"].to_numpy())
    out["macro_f1"] = f1["macro"]
    tt, pt = sn.synapses["target"].to_numpy().astype(str), n.synapses["target"].to_numpy().astype(str)
    off = (tt != pt) & (tt != "unknown")
    out["confusion"] = {f"{a}->{b}": int(k) for (a, b), k in
                        zip(*np.unique(np.column_stack([tt[off], pt[off]]), axis=0, return_counts=True))} \
        if off.any() else {}
    for c in SYNAPSE_TARGETS:
        out[c] = f1.get(c, np.nan)
    # per target: [correct, true, predicted] (pooled F1 over members)
    out["target_counts"] = {c: [int(((tt == c) & (pt == c)).sum()), int((tt == c).sum()), int((pt == c).sum())]
                            for c in SYNAPSE_TARGETS}
    return out


def false_spine_truth(pred: np.ndarray, sn) -> dict[str, int]:
    """Unmatched predicted spines (no true spine shares > half of each other's faces) by the majority truth
    label of their faces (``bouton`` when most faces are on a bouton)."""
    import pandas as pd

    true = np.asarray(sn.face_spine)
    on = pred >= 0
    if not on.any():
        return {}
    df = pd.DataFrame({"p": pred[on], "t": true[on]})
    inter = df[df.t >= 0].groupby(["p", "t"]).size()
    psize, tsize = df.groupby("p").size(), pd.Series(true[true >= 0]).value_counts()
    ok = {p for (p, t), k in inter.items() if k > 0.5 * psize[p] and k > 0.5 * tsize[t]}
    lab = np.asarray(sn.face_labels).astype(str).copy()
    if getattr(sn, "face_bouton", None) is not None:
        lab[np.asarray(sn.face_bouton) >= 0] = "bouton"
    lab = np.where(true >= 0, "partial_spine", lab)
    out: dict[str, int] = {}
    for p_id, grp in pd.Series(lab[on]).groupby(pred[on]):
        if p_id in ok:
            continue
        k = str(grp.mode().iloc[0])
        out[k] = out.get(k, 0) + 1
    return out


COLS = ("n_faces", "n_true", "n_pred", "spine_face_f1", "spine_p", "spine_r", "false_per_100um",
        "axon_spine_faces", "macro_f1", "spine_head", "spine_neck", "shaft", "soma", "model_macro_f1",
        "model_neck", "spine_s")


def table(rows: list[dict], by: str = "class") -> str:
    lines = ["| member | " + " | ".join(COLS) + " |", "|---|" + "---:|" * len(COLS)]
    for r in rows:
        lines.append(f"| {r['member']} | " + " | ".join(_fmt(r.get(c, np.nan)) for c in COLS) + " |")
    for name, sel in (("mean", rows),):
        vals = [np.nanmean([float(r.get(c, np.nan)) for r in sel]) for c in COLS]
        lines.append(f"| **{name}** | " + " | ".join(_fmt(v) for v in vals) + " |")
    worst = min(float(r["spine_face_f1"]) for r in rows if r["n_true"] > 0) if rows else np.nan
    lines.append(f"worst spine face F1 (members with spines): {worst:.3f}")
    return "\n".join(lines)


def _fmt(v) -> str:
    v = float(v)
    if not np.isfinite(v):
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) and abs(v) >= 1 else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=("cache", "score"))
    ap.add_argument("--part", choices=("tune", "heldout"), default="tune")
    ap.add_argument("--n-seeds", type=int, default=1)
    ap.add_argument("--conditions", choices=("default", "random"), default="random")
    ap.add_argument("--classes", default="")
    ap.add_argument("--member", action="append", default=[], help="class:seed[:target_faces[:frag]] (repeatable; frag: fragmented + debris + 20 nm noise)")
    ap.add_argument("--cache", default="/tmp/spines/cache")
    ap.add_argument("--set", action="append", default=[], help="dotted PipelineParams field=value")
    ap.add_argument("--out", default=None)
    ap.add_argument("--model-too", action="store_true", help="also score the synapse-target model")
    args = ap.parse_args(argv)
    members = _members(args.part, args.n_seeds, args.conditions) if not args.member else []
    for m in args.member:
        c, s, *f = m.split(":")
        cond = ("frag" if f[1:] == ["frag"] else "default") if f else args.conditions
        members.append((c, int(s), cond, int(f[0]) if f else None))
    if args.classes:
        members = [m for m in members if m[0] in args.classes.split(",")]
    cache = Path(args.cache)
    p = _params(args.set)
    if args.cmd == "cache":
        build_cache(members, cache, p)
        return 0
    rows = []
    for m in members:
        path = cache / (_key(*m) + ".pkl")
        if not path.exists():
            print(f"missing {path.name} (run cache first)")
            continue
        with open(path, "rb") as fh:
            n0, sn = pickle.load(fh)
        r = score_one(n0, sn, p, args.model_too)
        r["member"] = _key(*m)
        rows.append(r)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
    print(table(rows))
    if args.out:
        Path(args.out).write_text("\n".join(json.dumps(r, default=str) for r in rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 17 scorecard: every number the issue asks for, at the default ``PipelineParams``, in one place.

Parts (each prints a markdown table; ``all`` runs them in order):

- ``synthetic``: family members (``eval_spines_family`` cache + ``score_one``; rows appended to ``--rows`` as
  they are scored, so a rerun resumes) summarised per class and overall: spine face F1 mean and worst member,
  instance P / R, synapse-target macro F1 mean, per-target F1 (mean over members and pooled over members),
  false spines per 100 µm of dendrite on the aspiny classes, beside issue 17's targets. ``--rows`` alone (no
  members) summarises rows already scored (also rows written by ``eval_spines_family.py score --out``).
- ``real``: the MICrONS cell 864691135510518224 through ``nl.decompose`` at 81k faces subdivided 0..3 times (or
  a given mesh file per level): somas, limbs, spines, share of spines with a postsynapse, postsynapse target
  shares, spine and synapse stage seconds (wall and CPU of this process; the load average is printed).
- ``neurd``: the medians of NEURD's 126 proofread excitatory cells (``labels/neurd_e_i_manual_proofread.csv``):
  head / neck / shaft synapse densities as shares of the postsynapse density.
- ``harris``: ``harris_reference.py``'s rows (spines per dendrite, the 3.2 µm stub's shaft share called spine).

Usage (one heavy process; ``OMP_NUM_THREADS=1``)::

  python benchmarks/scorecard_spines.py synthetic --seeds 2612-2614 --member l5_et:2615:1200000:frag \\
      --cache /tmp/sc/cache --rows /tmp/sc/rows.jsonl
  python benchmarks/scorecard_spines.py synthetic --rows /tmp/sc/rows.jsonl        # summary only
  python benchmarks/scorecard_spines.py real --levels 0,1,2,3 [--mesh 2=/tmp/cell_sub2.ply]
  python benchmarks/scorecard_spines.py all --seeds 2612-2614 --cache /tmp/sc/cache --rows /tmp/sc/rows.jsonl
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

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import neurd_lite as nl  # noqa: E402
from neurd_lite.testing import family  # noqa: E402
from eval_spines_family import _key, build_cache, score_one  # noqa: E402

ASPINY = ("basket", "bipolar", "neurogliaform")
TARGETS = {"face F1 mean": 0.92, "face F1 worst": 0.80, "macro F1 mean": 0.90, "neck F1 pooled": 0.75}
SHOWN = ("spine_head", "spine_neck", "shaft", "soma", "axon")


# ----------------------------------------------------------------------------------------------- synthetic
def parse_members(seeds: str, classes: str, extra: list[str]) -> list[tuple[str, int, str, int | None]]:
    """Members: every class x every seed of ``seeds`` ("a-b" or "a,b,c") at random conditions, then ``extra``
    (``class:seed[:target_faces[:frag]]`` as in ``eval_spines_family``)."""
    out = []
    if seeds:
        lo_hi = [int(x) for x in seeds.split("-")] if "-" in seeds else None
        ss = range(lo_hi[0], lo_hi[1] + 1) if lo_hi else [int(x) for x in seeds.split(",")]
        cls = classes.split(",") if classes else list(family.CLASSES)
        out += [(c, s, "random", None) for s in ss for c in cls]
    for m in extra:
        c, s, *f = m.split(":")
        cond = ("frag" if f[1:] == ["frag"] else "default") if f else "random"
        out.append((c, int(s), cond, int(f[0]) if f else None))
    return out


def score_members(members: list, cache: Path, rows_path: Path) -> None:
    """Cache and score each member not yet in ``rows_path`` (default parameters), appending one JSON row each."""
    done = {json.loads(x)["member"] for x in rows_path.read_text().splitlines() if x.strip()} \
        if rows_path.exists() else set()
    p = nl.PipelineParams()
    for m in members:
        key = _key(*m)
        if key in done:
            continue
        build_cache([m], cache)
        with open(cache / (key + ".pkl"), "rb") as fh:
            n0, sn = pickle.load(fh)
        r = score_one(n0, sn, p)
        r.update(member=key, conditions=sn.info.get("conditions", {}))
        with open(rows_path, "a") as fh:
            fh.write(json.dumps(r, default=str) + "\n")
        print(f"scored {key}: face F1 {r['spine_face_f1']:.3f} macro {r['macro_f1']:.3f}", flush=True)


def _pooled(rows: list[dict], target: str) -> float:
    """F1 of one synapse target over the members' synapses pooled (2 correct / (true + predicted))."""
    c = np.sum([r["target_counts"][target] for r in rows if target in r.get("target_counts", {})], axis=0)
    return float(2 * c[0] / (c[1] + c[2])) if np.size(c) == 3 and c[1] + c[2] > 0 else np.nan


def _fragmented(r: dict) -> bool:
    """Was the member fragmented (its recorded conditions, else its key: ``_frag`` or random conditions)?"""
    if "conditions" in r:
        return bool(r["conditions"].get("fragment"))
    if "_frag" in r["member"]:
        return True
    cls, seed, cond = r["member"].rsplit("_", 2)
    return cond == "random" and bool(family.member_conditions(cls, int(seed))["fragment"])


def _f(v: float, d: int = 3) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{d}f}"


def summarise(rows: list[dict]) -> str:
    """Per-class and overall table (means over members unless marked pooled / worst) and the targets table."""
    head = ("| group | members (frag) | faces | face F1 mean | face F1 worst | inst P | inst R | macro mean | "
            + " | ".join(f"{t} mean / pooled" for t in SHOWN) + " | false / 100 µm |")
    lines = [head, "|---|---|---:|" + "---:|" * (6 + len(SHOWN))]
    groups = [(c, [r for r in rows if r["class"] == c]) for c in dict.fromkeys(r["class"] for r in rows)]
    big = [r for r in rows if r["n_faces"] >= 1_000_000]
    groups += [(">= 1M faces", big)] if big else []
    groups += [("aspiny (basket, bipolar, ngf)", [r for r in rows if r["class"] in ASPINY]),
               ("**all members**", rows)]
    for name, sel in groups:
        if not sel:
            continue
        spiny = [r for r in sel if r["n_true"] > 0]
        nfrag = sum(_fragmented(r) for r in sel)
        mean = lambda k, s=sel: float(np.nanmean([float(r.get(k, np.nan)) for r in s]))  # noqa: E731
        faces = f"{min(r['n_faces'] for r in sel) / 1e3:.0f}k-{max(r['n_faces'] for r in sel) / 1e3:.0f}k"
        cells = [f"{len(sel)} ({nfrag})", faces, _f(mean("spine_face_f1", spiny)),
                 _f(min((r["spine_face_f1"] for r in spiny), default=np.nan)), _f(mean("spine_p")),
                 _f(mean("spine_r")), _f(mean("macro_f1"))]
        cells += [f"{_f(mean(t))} / {_f(_pooled(sel, t))}" for t in SHOWN]
        cells.append(_f(mean("false_per_100um"), 2))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    spiny = [r for r in rows if r["n_true"] > 0]
    got = {"face F1 mean": np.mean([r["spine_face_f1"] for r in spiny]),
           "face F1 worst": min(r["spine_face_f1"] for r in spiny),
           "macro F1 mean": np.nanmean([r["macro_f1"] for r in rows]),
           "neck F1 pooled": _pooled(rows, "spine_neck")}
    worst = min(spiny, key=lambda r: r["spine_face_f1"])["member"]
    lines += ["", "| issue 17 target | held-out | target | met |", "|---|---:|---:|---|"]
    lines += [f"| {k} | {_f(got[k], 4)} | >= {v:.2f} | {'yes' if got[k] >= v else '**no**'} |"
              for k, v in TARGETS.items()]
    lines.append(f"| false spines / 100 µm, aspiny mean | "
                 f"{_f(np.mean([r['false_per_100um'] for r in rows if r['class'] in ASPINY] or [np.nan]), 2)} "
                 f"| (no number set) | - |")
    lines.append(f"\nworst member: {worst}; neck F1 mean over members with neck synapses: "
                 f"{_f(np.nanmean([r['spine_neck'] for r in rows]))}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- real
def real_cell(level: int, mesh_file: str | None = None) -> dict:
    """``nl.decompose`` of the real cell at 81k faces subdivided ``level`` times (or ``mesh_file``): counts,
    postsynapse shares and the spine / synapse stages' wall and CPU seconds (CPU: this process, read at the
    ``progress`` callback after each stage)."""
    import trimesh

    from neurd_lite.data import data_path
    from real_cell import SYNAPSES, level_arrays

    if mesh_file:
        m = trimesh.load(mesh_file, process=False)
        v, f = m.vertices, m.faces
    else:
        v, f = level_arrays(level)
    cpu: dict[str, float] = {}
    last = [time.process_time()]

    def tick(stage: str, seconds: float) -> None:
        now = time.process_time()
        cpu[stage], last[0] = now - last[0], now

    load0 = os.getloadavg()[0]
    n = nl.decompose(trimesh.Trimesh(v, f, process=False), progress=tick,
                     synapses=str(data_path(SYNAPSES)))
    syn = n.synapses
    post = ~syn["is_pre"].astype(bool)
    sid = syn.loc[post, "spine_id"].to_numpy() if "spine_id" in syn else np.array([])
    tg = syn.loc[post, "target"].astype(str).value_counts()
    wall = n.provenance["timings_s"]
    return {"level": level, "faces": len(f), "somas": len(n.somas), "limbs": n.n_limbs, "spines": len(n.spines),
            "with_post": len(np.unique(sid[sid >= 0])) / max(len(n.spines), 1),
            "post": {k: int(tg.get(k, 0)) for k in SHOWN}, "n_post": int(post.sum()),
            "wall_s": {k: wall.get(k, np.nan) for k in ("spines", "refine", "synapses")},
            "cpu_s": {k: cpu.get(k, np.nan) for k in ("spines", "refine", "synapses")},
            "cpu_total_s": float(sum(cpu.values())), "load": (round(load0, 1), round(os.getloadavg()[0], 1))}


def real_table(rows: list[dict]) -> str:
    lines = ["| faces | somas | limbs | spines | spines with a postsynapse | post head / neck / shaft / soma "
             "(share of post) | head / neck / shaft of dendritic post | spines + refine stage s wall / CPU | "
             "synapse stage s wall / CPU | load 1-min (start, end) |", "|---:|---:|---:|---:|---:|---|---|---:|---:|---|"]
    for r in rows:
        p, n = r["post"], max(r["n_post"], 1)
        d = max(p["spine_head"] + p["spine_neck"] + p["shaft"], 1)
        sp_w = r["wall_s"]["spines"] + r["wall_s"]["refine"]
        sp_c = r["cpu_s"]["spines"] + r["cpu_s"]["refine"]
        lines.append(
            f"| {r['faces']:,} | {r['somas']} | {r['limbs']} | {r['spines']} | {100 * r['with_post']:.1f} % | "
            f"{p['spine_head']} / {p['spine_neck']} / {p['shaft']} / {p['soma']} ({100 * p['spine_head'] / n:.1f} / "
            f"{100 * p['spine_neck'] / n:.1f} / {100 * p['shaft'] / n:.1f} / {100 * p['soma'] / n:.1f} %) | "
            f"{100 * p['spine_head'] / d:.1f} / {100 * p['spine_neck'] / d:.1f} / {100 * p['shaft'] / d:.1f} % | "
            f"{sp_w:.1f} / {sp_c:.1f} | {r['wall_s']['synapses']:.1f} / {r['cpu_s']['synapses']:.1f} | {r['load']} |")
    counts = [r["spines"] for r in rows]
    if counts:
        lines.append(f"\nspine count spread (max - min) / min: {100 * (max(counts) - min(counts)) / min(counts):.1f} %"
                     " (issue 17: within 5 %)")
    return "\n".join(lines)


def neurd_medians() -> str:
    """Medians over NEURD's proofread cells of head / neck / shaft synapse density as a share of the postsynapse
    density (the rest: postsynapses NEURD puts on none of the three, e.g. the soma)."""
    import pandas as pd

    from neurd_lite.data import data_path

    d = pd.read_csv(data_path("labels/neurd_e_i_manual_proofread.csv"))
    lines = ["| NEURD cells | n | head | neck | shaft | rest (1 - the three) |", "|---|---:|---:|---:|---:|---:|"]
    for ct, g in d.groupby("cell_type"):
        sh = {k: g[f"syn_density_{k}"] / g["syn_density_post"] for k in ("head", "neck", "shaft")}
        rest = 1 - sh["head"] - sh["neck"] - sh["shaft"]
        lines.append(f"| {ct} | {len(g)} | " + " | ".join(f"{100 * float(s.median()):.1f} %"
                                                          for s in (*sh.values(), rest)) + " |")
    return "\n".join(lines)


def harris() -> str:
    import harris_reference as hr

    rows = hr.main([])
    lines = ["| dendrite | detected | reference heads | found | false | area P / R | shaft called spine |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        lines.append(f"| {r['mesh']} | {r['detected']} | {r['ref_heads']} | {r['found']} | {len(r['false'])} | "
                     f"{r['area_precision']} / {r['area_recall']} | {r['shaft_called_spine']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=("synthetic", "real", "neurd", "harris", "all"))
    ap.add_argument("--seeds", default="", help="held-out seeds of every class, 'a-b' or 'a,b'")
    ap.add_argument("--classes", default="", help="comma list (default: all family classes)")
    ap.add_argument("--member", action="append", default=[], help="class:seed[:target_faces[:frag]]")
    ap.add_argument("--cache", default="/tmp/scorecard/cache")
    ap.add_argument("--rows", default="/tmp/scorecard/rows.jsonl")
    ap.add_argument("--levels", default="0,1,2,3", help="real cell: subdivisions of the 81k mesh")
    ap.add_argument("--mesh", action="append", default=[], help="real cell: LEVEL=file (a pre-made mesh)")
    ap.add_argument("--real-out", default=None, help="real cell: append the JSON rows here")
    args = ap.parse_args(argv)
    if args.part in ("synthetic", "all"):
        rows_path = Path(args.rows)
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        members = parse_members(args.seeds, args.classes, args.member)
        if members:
            score_members(members, Path(args.cache), rows_path)
        rows = [json.loads(x) for x in rows_path.read_text().splitlines() if x.strip()]
        print(summarise(rows), flush=True)
    if args.part in ("real", "all"):
        files = dict(m.split("=", 1) for m in args.mesh)
        out = []
        for lvl in (int(x) for x in args.levels.split(",")):
            out.append(real_cell(lvl, files.get(str(lvl))))
            print(json.dumps(out[-1]), flush=True)
            if args.real_out:
                with open(args.real_out, "a") as fh:
                    fh.write(json.dumps(out[-1]) + "\n")
        print(real_table(out), flush=True)
    if args.part in ("neurd", "real", "all"):
        print(neurd_medians(), flush=True)
    if args.part in ("harris", "all"):
        print(harris(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

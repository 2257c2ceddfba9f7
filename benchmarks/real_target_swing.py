"""Why the real cell's postsynapse head / shaft shares swing with resolution (issue 17 scorecard, session 25).

``run``: the MICrONS cell 864691135510518224's 81k mesh subdivided 0..3 times in process (float64;
``trimesh.remesh.subdivide`` splits face j into faces 4j..4j+3, so a face of level L has the level-0 parent
``j // 4**L``) through ``nl.decompose`` with its synapse table at the default ``PipelineParams``; per level it
pickles the synapse table (with the rule target, the target model's class scores and its input features, captured
from ``spines.target_model``), the spine table, the branch graph's limbs and, per level-0 face, the majority spine
id, spine share, label and limb of its children. ``compare``: matches synapses by ``synapse_id`` across levels,
lists those whose target flips between spine_head and shaft, and sorts each flip by cause: its spine (matched
across levels by shared level-0 faces) found at some levels and not others, the spine present at all levels but
the synapse's anchor off it (anchor distance, spine extent), the rule target the same but the model's call
different. It also matches limbs across levels by their level-0 faces. Lengths nm.

Usage (one heavy process, ``OMP_NUM_THREADS=1``)::

  python benchmarks/real_target_swing.py run --levels 0,1,2,3 --out /tmp/swing
  python benchmarks/real_target_swing.py compare --out /tmp/swing
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
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules (real_cell)

import neurd_lite as nl  # noqa: E402
from neurd_lite.data import data_path  # noqa: E402
from real_cell import SYNAPSES, level_mesh  # noqa: E402  (the cell subdivided in process, its synapse table)
from neurd_lite.spines import target_model as tm  # noqa: E402

LEVELS = (0, 1, 2, 3)


# --------------------------------------------------------------------------------------------------------- run
def _capture() -> dict:
    """Wrap the target model's feature and decision functions so that one decompose leaves its inputs here."""
    got: dict = {}
    feats, decide = tm.synapse_site_features, tm.decide_targets

    def f(*a, **k):
        got["features"] = feats(*a, **k)
        return got["features"]

    def d(prob, classes, rule_target, *a, **k):
        got["prob"], got["classes"], got["rule_target"] = prob, list(classes), np.asarray(rule_target).astype(str)
        return decide(prob, classes, rule_target, *a, **k)

    tm.synapse_site_features, tm.decide_targets = f, d
    return got


def _per_parent(values: np.ndarray, parent: np.ndarray, n_parent: int) -> tuple[np.ndarray, np.ndarray]:
    """(majority value, its share) over each parent's children; values are ints."""
    df = pd.DataFrame({"p": parent, "v": values})
    c = df.value_counts().reset_index(name="k").sort_values(["p", "k"], ascending=[True, False])
    top = c.drop_duplicates("p")
    out, share = np.full(n_parent, -1, np.int64), np.zeros(n_parent)
    out[top["p"].to_numpy()] = top["v"].to_numpy()
    tot = np.bincount(parent, minlength=n_parent)
    share[top["p"].to_numpy()] = top["k"].to_numpy() / np.maximum(tot[top["p"].to_numpy()], 1)
    return out, share


def run_level(level: int, out: Path) -> dict:
    """Decompose the cell at subdivision ``level`` and pickle what ``compare`` reads; returns a summary."""
    mesh = level_mesh(level)
    f = np.asarray(mesh.faces)
    n0 = len(f) // 4 ** level
    got = _capture()
    t = time.process_time()
    n = nl.decompose(mesh, synapses=str(data_path(SYNAPSES)))
    cpu = time.process_time() - t
    syn = n.synapses.copy()
    raw = pd.read_csv(data_path(SYNAPSES))
    if "synapse_id" not in syn.columns:
        syn["synapse_id"] = raw["synapse_id"].to_numpy()
    syn["rule_target"] = got["rule_target"]
    for i, c in enumerate(got["classes"]):
        syn[f"p_{c}"] = got["prob"][:, i]
    limb_of_branch = {b: d["limb"] for b, d in n.graph.nodes(data=True) if d.get("kind") == "branch"}
    fb = np.asarray(n.face_branch)
    face_limb = np.array([limb_of_branch.get(b, -1) for b in range(fb.max() + 1)] + [-1])[np.where(fb >= 0, fb, -1)]
    syn["limb"] = np.where(syn["face"] >= 0, face_limb[syn["face"].clip(lower=0)], -1)
    parent = np.arange(len(f)) // 4 ** level
    sp, sp_share = _per_parent(np.asarray(n.face_spine), parent, n0)
    limb, _ = _per_parent(face_limb, parent, n0)
    lab_codes, lab_names = pd.factorize(pd.Series(np.asarray(n.face_labels).astype(str)))
    lab, _ = _per_parent(lab_codes, parent, n0)
    syn["parent_face"] = np.where(syn["face"] >= 0, parent[syn["face"].clip(lower=0)], -1)
    spine_area = pd.Series(np.asarray(n.mesh.area_faces)).groupby(np.asarray(n.face_spine)).sum()
    limbs = pd.DataFrame([{"limb": d["limb"], "branch": b, "length_nm": d.get("length_nm", np.nan),
                           "n_faces": d.get("n_faces", 0), "compartment": d.get("compartment")}
                          for b, d in n.graph.nodes(data=True) if d.get("kind") == "branch"])
    res = {"level": level, "faces": len(f), "synapses": syn, "features": got["features"], "spines": n.spines,
           "spine_area_nm2": spine_area, "parent_spine": sp, "parent_spine_share": sp_share, "parent_limb": limb,
           "parent_label": np.asarray(lab_names)[np.maximum(lab, 0)], "limbs": limbs,
           "somas": [s.center_nm for s in n.somas], "cpu_s": cpu,
           "graph_nodes": {k: {a: b for a, b in d.items() if np.isscalar(b) or isinstance(b, str)}
                           for k, d in n.graph.nodes(data=True)}, "graph_edges": list(n.graph.edges())}
    with open(out / f"level{level}.pkl", "wb") as fh:
        pickle.dump(res, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tg = syn["target"].astype(str).value_counts().to_dict()
    return {"level": level, "faces": len(f), "limbs": n.n_limbs, "spines": len(n.spines), "targets": tg,
            "cpu_s": round(cpu, 1)}


# ----------------------------------------------------------------------------------------------------- compare
POST = ("spine_head", "spine_neck", "shaft", "soma")
FEATURES = ("distance_to_spine_face_nm", "face_is_spine", "protrusion_nm", "height_over_radius")
OVERLAP = 0.3  # a spine is "present" at a level when its spines cover this share of the reference footprint


def _load(out: Path, levels: list[int]) -> dict[int, dict]:
    res = {}
    for lv in levels:
        with open(out / f"level{lv}.pkl", "rb") as fh:
            res[lv] = pickle.load(fh)
    return res


def synapse_table(res: dict[int, dict]) -> pd.DataFrame:
    """One row per postsynapse (by ``synapse_id``), per level: target, rule target, spine id, anchor distance,
    level-0 anchor face, limb, model scores."""
    cols = ("target", "rule_target", "spine_id", "distance_to_mesh_nm", "parent_face", "limb", "p_spine_head",
            "p_shaft") + FEATURES
    frames = []
    for lv, r in res.items():
        s = r["synapses"].copy()
        for c in FEATURES:
            s[c] = r["features"][c].to_numpy()
        s = s[~s["is_pre"].astype(bool)].set_index("synapse_id")
        frames.append(s[[c for c in cols if c in s.columns]].add_suffix(f"_{lv}"))
    return pd.concat(frames, axis=1)


def footprint(r: dict, spine_id: int) -> np.ndarray:
    """Level-0 faces whose children are mostly on ``spine_id`` at this level."""
    return np.flatnonzero(r["parent_spine"] == spine_id)


def classify_flips(res: dict[int, dict], t: pd.DataFrame) -> pd.DataFrame:
    """Each synapse whose target is spine_head at some levels and shaft at others, with the cause of the flip."""
    lv = list(res)
    tg = t[[f"target_{k}" for k in lv]].astype(str).to_numpy()
    flip = (tg == "spine_head").any(1) & (tg == "shaft").any(1)
    rows = []
    for sid in t.index[flip]:
        row = t.loc[sid]
        head_lv = [k for k in lv if row[f"target_{k}"] == "spine_head"]
        shaft_lv = [k for k in lv if row[f"target_{k}"] == "shaft"]
        ref = np.unique(np.concatenate([footprint(res[k], int(row[f"spine_id_{k}"])) for k in head_lv
                                        if row[f"spine_id_{k}"] >= 0] or [np.zeros(0, np.int64)]))
        cover = {k: float((res[k]["parent_spine"][ref] >= 0).mean()) if len(ref) else np.nan for k in lv}
        anchors = {k: int(row[f"parent_face_{k}"]) for k in lv}
        on_spine = {k: bool(row[f"spine_id_{k}"] >= 0) for k in lv}
        rule = {k: row[f"rule_target_{k}"] for k in lv}
        if not len(ref):
            cause = "head call off any spine (model)"
        elif any(cover[k] < OVERLAP for k in shaft_lv):
            cause = "spine missing at the shaft level(s)"
        elif all(on_spine[k] for k in shaft_lv):
            cause = "on the spine at every level, model says shaft"
        elif len({anchors[k] for k in lv}) == 1:
            cause = "same anchor face, spine extent moved off it"
        else:
            cause = "anchor moved off the spine"
        rows.append({"synapse_id": sid, "head_levels": head_lv, "shaft_levels": shaft_lv, "cause": cause,
                     "footprint_faces": len(ref), **{f"cover_{k}": cover[k] for k in lv},
                     **{f"on_spine_{k}": on_spine[k] for k in lv}, **{f"rule_{k}": rule[k] for k in lv},
                     **{f"anchor_{k}": anchors[k] for k in lv},
                     **{f"dist_{k}": float(row[f"distance_to_mesh_nm_{k}"]) for k in lv},
                     **{f"p_head_{k}": float(row.get(f"p_spine_head_{k}", np.nan)) for k in lv}})
    return pd.DataFrame(rows)


def limb_changes(res: dict[int, dict]) -> list[str]:
    """Limbs matched across consecutive levels by their level-0 faces: which split, merge or appear."""
    lines = []
    lv = list(res)
    for a, b in zip(lv[:-1], lv[1:]):
        la, lb = res[a]["parent_limb"], res[b]["parent_limb"]
        ok = (la >= 0) | (lb >= 0)
        ct = pd.crosstab(la[ok], lb[ok])
        for i in ct.index:
            big = ct.loc[i][ct.loc[i] >= 50]
            if len(big) > 1 or (len(big) == 1 and ct[big.index[0]][ct[big.index[0]] >= 50].size > 1):
                lines.append(f"level {a} limb {i} -> level {b}: " + ", ".join(f"{j} ({k})" for j, k in big.items()))
        lines.append(f"level {a} -> {b}: faces by limb {a}x{b}\n{ct.to_string()}")
    return lines


def attribution(res: dict[int, dict], sids: pd.Index, a: int, b: int, top: int = 12) -> pd.Series:
    """Per model input, the mean |change| between levels ``a`` and ``b`` of its SHAP contribution to the
    spine_head-minus-shaft margin of the synapses ``sids`` (LightGBM ``pred_contrib``); largest ``top``."""
    booster, meta = tm.load_model(None, nl.PipelineParams().synapses.target_model)
    cls = list(meta["classes"])
    out = []
    for lv in (a, b):
        r = res[lv]
        x = r["features"].set_axis(r["synapses"]["synapse_id"].to_numpy()).loc[sids, meta["features"]]
        c = booster.predict(x.to_numpy(np.float64), pred_contrib=True, num_threads=1)
        k = len(meta["features"]) + 1
        h, s = cls.index("spine_head"), cls.index("shaft")
        out.append(c[:, h * k:(h + 1) * k - 1] - c[:, s * k:(s + 1) * k - 1])
    d = pd.DataFrame(np.abs(out[1] - out[0]), columns=meta["features"]).mean()
    return d.sort_values(ascending=False).head(top)


NEIGHBOURHOOD = ("protrud", "protrusion_", "below_top", "relative_height")  # the working-vertex ball features
SPINE_READOUTS = ("distance_to_neck", "distance_to_head", "distance_to_spine", "profile_", "near_spine", "face_is",
                  "length_nm", "head_width", "neck_", "distance_from_spine", "relative_neck")


def swapped_counts(res: dict[int, dict], a: int, b: int) -> dict[str, tuple[int, int]]:
    """(head, shaft) postsynapse counts at level ``a`` when the model reads its own inputs, or one group of inputs
    (neighbourhood, spine read-outs, rule columns, all) taken from level ``b`` for the same synapses; the decision
    is the pipeline's hybrid one (``target_model.decide_targets``, soma by the model, axon by the rules)."""
    booster, meta = tm.load_model(None, nl.PipelineParams().synapses.target_model)
    feats, cls = list(meta["features"]), meta["classes"]
    kept = [c for c in list(meta.get("keep_rule_targets", [])) + ["soma", "axon"] if c != "soma"]

    def table(k: int) -> pd.DataFrame:
        r = res[k]
        x = r["features"].set_axis(r["synapses"]["synapse_id"].to_numpy()).assign(
            _rule=r["synapses"]["rule_target"].to_numpy())
        return x[~r["synapses"]["is_pre"].astype(bool).to_numpy()]

    def counts(x: pd.DataFrame) -> tuple[int, int]:
        t = tm.decide_targets(booster.predict(x[feats].to_numpy(np.float64), num_threads=1), cls,
                              x["_rule"].to_numpy(), kept, ("axon",))
        return int((t == "spine_head").sum()), int((t == "shaft").sum())

    xa, xb = table(a), table(b)
    ids = xa.index.intersection(xb.index)
    xa, xb = xa.loc[ids], xb.loc[ids]
    groups = {"neighbourhood": [f for f in feats if any(k in f for k in NEIGHBOURHOOD)],
              "spine read-outs": [f for f in feats if f.startswith(SPINE_READOUTS)],
              "rule columns": [f for f in feats if f.startswith("rules_")] + ["_rule"], "all": feats + ["_rule"]}
    out = {"own": counts(xa)}
    for name, g in groups.items():
        y = xa.copy()
        y[g] = xb[g].to_numpy()
        out[f"{name} from level {b}"] = counts(y)
    return out


def compare(out: Path, levels: list[int]) -> None:
    res = _load(out, levels)
    t = synapse_table(res)
    for k in levels:
        tg, rt = t[f"target_{k}"].astype(str), t[f"rule_target_{k}"].astype(str)
        print(f"level {k} ({res[k]['faces']} faces): target", tg.value_counts().to_dict(), "rules",
              rt.value_counts().to_dict(), "spines", len(res[k]["spines"]))
    fl = classify_flips(res, t)
    fl.to_csv(out / "flips.csv", index=False)
    print(f"{len(fl)} postsynapses flip head <-> shaft; causes:", fl["cause"].value_counts().to_dict())
    rt = t[[f"rule_target_{k}" for k in levels]].astype(str).to_numpy()
    rflip = (rt == "spine_head").any(1) & (rt == "shaft").any(1)
    print(f"rule targets alone: {int(rflip.sum())} flip head <-> shaft; of the {len(fl)}, rule target constant on",
          int((~rflip[t.index.get_indexer(fl["synapse_id"])]).sum()) if len(fl) else 0)
    for lv_pair in zip(levels[:-1], levels[1:]):
        a, b = (t[f"target_{k}"].astype(str) for k in lv_pair)
        print(f"level {lv_pair[0]} -> {lv_pair[1]}: head->shaft {int(((a == 'spine_head') & (b == 'shaft')).sum())}, "
              f"shaft->head {int(((a == 'shaft') & (b == 'spine_head')).sum())}")
    on = fl.loc[fl["cause"].str.startswith("on the spine"), "synapse_id"]
    for a, b in zip(levels[:-1], levels[1:]):
        print(f"margin attribution {a} -> {b} ({len(on)} flips on a spine at every level):",
              attribution(res, pd.Index(on), a, b).round(3).to_dict())
    for a in levels:
        if a != levels[1]:
            print(f"level {a} (head, shaft) with inputs of level {levels[1]}:", swapped_counts(res, a, levels[1]))
    for line in limb_changes(res):
        print(line)


# ------------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("run", "compare"))
    ap.add_argument("--levels", default="0,1,2,3")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    levels = [int(x) for x in args.levels.split(",")]
    if args.cmd == "run":
        for lv in levels:
            print(json.dumps(run_level(lv, out)), flush=True)
    else:
        compare(out, levels)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

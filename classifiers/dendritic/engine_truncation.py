"""Truncation shift test on engine-decomposed cells: densities from a random 50-150 µm subset of branches.

Usage: ``python classifiers/dendritic/engine_truncation.py [--real H5] [--family N_SEEDS] [--out JSON]``.
For each cell (a decomposed ``Neuron``: the shared real cell, and members of the synthetic family at held-out
seeds 1000..), the branches NEURD's E/I features use (``feature.synapses.neurd_ei_branches``) get their length,
shaft-synapse count and spine count. The full-cell densities are the model's usual input; a truncated replicate
draws a length L ~ U(50, 150) µm and adds branches in random order until their length reaches L, then recomputes
both densities on those branches only. ``nl.classify_dendritic`` scores the full cell and 50 replicates per cell.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def branch_counts(n: Any) -> pd.DataFrame:
    """Per NEURD E/I branch: ``length_um``, ``n_shaft`` (post synapses on shaft), ``n_spines``, and whether it is
    in the synapse set (``syn``) and the spine set (``spine``)."""
    from neurd_lite.feature.context import FeatureContext
    from neurd_lite.feature.spines import spines_table
    from neurd_lite.feature.synapses import _targets, neurd_ei_branches, synapse_table

    ctx = FeatureContext(n)
    syn_b, spine_b = neurd_ei_branches(ctx, "syn"), neurd_ei_branches(ctx, "spine")
    idx = syn_b.union(spine_b)
    syn = synapse_table(ctx)
    post = syn[syn["is_post"]]
    shaft = post[_targets(post) == "shaft"]["branch"].value_counts()
    spines = spines_table(ctx)["branch"].value_counts()
    out = pd.DataFrame(index=idx)
    out["length_um"] = ctx.branches.loc[idx, "length_nm"].astype(float).to_numpy() / 1000.0
    out["n_shaft"] = shaft.reindex(idx).fillna(0).to_numpy()
    out["n_spines"] = spines.reindex(idx).fillna(0).to_numpy()
    out["syn"], out["spine"] = idx.isin(syn_b), idx.isin(spine_b)
    return out


def densities(b: pd.DataFrame) -> dict[str, float]:
    """NEURD-style shaft-synapse and spine densities (per µm) of a set of branches."""
    ls, lp = b.loc[b["syn"], "length_um"].sum(), b.loc[b["spine"], "length_um"].sum()
    return {"syn_density_shaft": b.loc[b["syn"], "n_shaft"].sum() / ls if ls > 0 else np.nan,
            "spine_density": b.loc[b["spine"], "n_spines"].sum() / lp if lp > 0 else np.nan,
            "length_um": float(b["length_um"].sum())}


def truncated(b: pd.DataFrame, rng: np.random.Generator, lo: float = 50.0, hi: float = 150.0) -> dict[str, float]:
    """Densities on random branches whose summed length first reaches L ~ U(lo, hi) µm."""
    target = rng.uniform(lo, hi)
    order = rng.permutation(len(b))
    keep = order[: int(np.searchsorted(np.cumsum(b["length_um"].to_numpy()[order]), target)) + 1]
    return densities(b.iloc[keep])


def neurd_rule_ei(d: pd.DataFrame) -> np.ndarray:
    """NEURD's hand-set rule on NEURD-named densities (object array; None where a density is missing)."""
    z = 3.2245 * d["syn_density_shaft"].to_numpy(float) - 4.7 * d["spine_density"].to_numpy(float) - 1.2
    return np.where(np.isnan(z), None, np.where(z > 0, "inhibitory", "excitatory"))


def score_cell(name: str, truth: str | None, b: pd.DataFrame, n_rep: int = 50, seed: int = 0) -> dict[str, Any]:
    import neurd_lite as nl

    rng = np.random.default_rng(seed)
    full = densities(b)
    reps = pd.DataFrame([truncated(b, rng) for _ in range(n_rep)])
    out_full = nl.classify_dendritic(pd.DataFrame([full])).iloc[0]
    out = nl.classify_dendritic(reps)
    answered = out["ei"].notna()
    row = {"cell": name, "truth": truth, "full_length_um": round(full["length_um"], 1),
           "full_shaft_per_um": round(full["syn_density_shaft"], 4), "full_spine_per_um": round(full["spine_density"], 4),
           "full_ei": out_full["ei"], "full_p_inhibitory": round(float(out_full["p_inhibitory"]), 4),
           "full_status": out_full["status"], "n_replicates": n_rep,
           "truncated_answered": int(answered.sum()),
           "truncated_same_as_full": float((out.loc[answered, "ei"] == out_full["ei"]).mean()),
           "truncated_length_um_median": round(float(reps["length_um"].median()), 1)}
    if truth:
        row["full_correct"] = bool(out_full["ei"] == truth)
        row["truncated_accuracy"] = float((out.loc[answered, "ei"] == truth).mean())
        rule_full, rule = neurd_rule_ei(pd.DataFrame([full]))[0], neurd_rule_ei(reps)
        row["neurd_rule_full_correct"] = bool(rule_full == truth)
        row["neurd_rule_truncated_accuracy"] = float((rule[answered.to_numpy()] == truth).mean())
    return row


#: Branch tables (``branch_counts``) of the 32 synthetic-family cells at held-out seeds 1000-1003, made from engine
#: decompositions of mesh + synapse positions (default parameters, hybrid synapse targets; engine of main 101254d,
#: session 9); small and derived from synthetic cells only, so they ship with the training scripts. Held out: the
#: model choice reads the tune-seed tables of ``tune.py`` instead. Re-make both when the decomposition changes.
FAMILY_BRANCHES = Path(__file__).resolve().parent / "engine_branches"
#: Inputs the branch tables can give (shaft-synapse and spine densities, and what is derived from them).
TWO_DENSITY = {"neurd_syn_density_shaft_per_um", "neurd_spine_density_per_um", "neurd_log_spines_per_shaft_synapse",
               "log_shaft_density", "log_spine_density"}


ENGINE_NAMES = {"syn_density_shaft": "neurd_syn_density_shaft_per_um", "spine_density": "neurd_spine_density_per_um"}


def replicate_rows(cache: Path, n_rep: int = 50, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(truncated replicates, full-length cells) of every branch table in ``cache``, in engine names, with ``y``
    (1 = inhibitory), ``cell``, ``seed`` and ``weight`` (1 / answered replicates of the cell: each cell counts
    once). Replicates as in ``score_cell``: ``n_rep`` per cell, rng ``seed``; subsets without a qualifying spine or
    synapse branch are left out. Head / neck / post densities are NaN (the tables hold no such counts)."""
    reps, full = [], []
    for path in sorted(cache.glob("*.csv")):
        cell, truth = path.stem.split("__")
        b = pd.read_csv(path, index_col=0)
        rng = np.random.default_rng(seed)
        r = pd.DataFrame([truncated(b, rng) for _ in range(n_rep)])
        r = r[r[list(ENGINE_NAMES)].notna().all(axis=1)]
        meta = {"y": int(truth == "inhibitory"), "cell": cell, "seed": int(cell.rsplit("_", 1)[1])}
        reps.append(r.assign(weight=1.0 / max(len(r), 1), **meta))
        full.append(pd.DataFrame([densities(b)]).assign(weight=1.0, **meta))
    if not reps:
        return pd.DataFrame(), pd.DataFrame()

    def engine(t: pd.DataFrame) -> pd.DataFrame:
        out = t.rename(columns=ENGINE_NAMES).reset_index(drop=True)
        return out.assign(**{c: np.nan for c in ("neurd_syn_density_post_per_um", "neurd_syn_density_head_per_um",
                                                 "neurd_syn_density_neck_per_um")})
    return engine(pd.concat(reps)), engine(pd.concat(full))


def engine_split(cands: list[Any], d: pd.DataFrame, cache: Path = FAMILY_BRANCHES, n_rep: int = 50
                 ) -> dict[str, dict[str, Any]]:
    """Shift split ``engine_truncated_family``: every candidate whose inputs are two-density ones, fitted on all of
    ``d`` (NEURD's 210 cells), scored on the engine cells of ``cache`` truncated to 50-150 µm of branches
    (``replicate_rows``). Returns {candidate: scores} with the keys of ``shift._scores`` plus full-length counts;
    candidates with other inputs are absent (the branch tables hold no head / neck / other synapse counts)."""
    reps, full = replicate_rows(cache, n_rep)
    if reps.empty:
        return {}
    res: dict[str, dict[str, Any]] = {}
    for cand in cands:
        if not set(cand.features) <= TWO_DENSITY:
            continue
        predict = cand.fit(d, d["y"].to_numpy())
        res[cand.name] = truncated_scores(predict(reps), reps, predict(full), full)
    return res


def truncated_scores(p_reps: np.ndarray, reps: pd.DataFrame, p_full: np.ndarray, full: pd.DataFrame
                     ) -> dict[str, Any]:
    """Accuracy (per replicate), balanced accuracy and recalls of P(inhibitory) ``p_reps`` on the truncated
    replicates ``reps``, plus how many full-length cells ``p_full`` gets right."""
    y = reps["y"].to_numpy()
    pred = (np.asarray(p_reps) >= 0.5).astype(int)
    rec = [float(np.mean(pred[y == k] == k)) for k in (0, 1)]
    return {"accuracy": round(float(np.mean(pred == y)), 4), "balanced_accuracy": round(float(np.mean(rec)), 4),
            "recall_excitatory": round(rec[0], 4), "recall_inhibitory": round(rec[1], 4), "n": int(len(y)),
            "n_inhibitory": int(y.sum()), "n_cells": int(len(full)),
            "full_length_correct": int(np.sum((np.asarray(p_full) >= 0.5).astype(int) == full["y"].to_numpy()))}


def classify_row(n: Any) -> dict[str, Any]:
    """``nl.classify(n)`` of a decomposed cell, flattened (status, calls, detail)."""
    import neurd_lite as nl

    r = nl.classify(n)
    return {"classify_status": r.status, "classify_ei": r.ei, "classify_p_inhibitory": r.p_inhibitory,
            "classify_subclass": r.subclass, "classify_decided_by": ";".join(r.ei_decided_by),
            "classify_status_detail": r.status_detail, "classify_flags": ";".join(r.flags)}


def family_cells(n_seeds: int) -> list[tuple[str, str, Any]]:
    """(name, truth E/I, decomposed Neuron) for held-out seeds of every family class."""
    import neurd_lite as nl
    from neurd_lite.testing import family

    cells = []
    for cls in family.EXCITATORY + family.INHIBITORY:
        for seed in family.HELDOUT_SEEDS[:n_seeds]:
            t0 = time.time()
            sn = family.make_member(cls, seed)
            syn = sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]]  # positions only: no true targets
            n = nl.decompose(sn.mesh, synapses=syn, name=f"{cls}_{seed}")
            truth = "inhibitory" if cls in family.INHIBITORY else "excitatory"
            print(f"{cls} {seed}: decomposed in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            cells.append((f"{cls}_{seed}", truth, n))
    return cells


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, help="decomposed real cell (.h5 from Neuron.save)")
    ap.add_argument("--real-truth", default="excitatory", help="E/I of the real cell (published: 4P)")
    ap.add_argument("--family", type=int, default=0, help="held-out seeds per family class")
    ap.add_argument("--out", type=Path, default=Path("/tmp/celltype/engine_truncation.json"))
    ap.add_argument("--cached", action="store_true", help="reuse the branch tables saved beside --out")
    ap.add_argument("--compare", type=Path, help="also score every shift-test candidate on the cached cells, "
                                                 "written to this JSON")
    args = ap.parse_args(argv)
    rows = []
    if args.real:
        from neurd_lite.neuron import load

        n = load(args.real)
        rows.append(dict(score_cell(args.real.stem, args.real_truth, branch_counts(n)), **classify_row(n)))
    cache = args.out.parent / "engine_branches"
    cache.mkdir(parents=True, exist_ok=True)
    cached = sorted(cache.glob("*.csv")) if args.cached else []
    cells = [(p.stem.split("__")[0], p.stem.split("__")[1], p) for p in cached] or family_cells(args.family)
    for name, truth, n in cells:
        try:
            if isinstance(n, Path):
                b = pd.read_csv(n, index_col=0)
                saved = n.with_suffix(".h5")  # the decomposed cell, when an earlier run saved it
                extra = {}
                if saved.is_file():
                    from neurd_lite.neuron import load

                    extra = classify_row(load(saved))
                rows.append(dict(score_cell(name, truth, b), **extra))
            else:
                b = branch_counts(n)
                b.to_csv(cache / f"{name}__{truth}.csv")
                n.save(cache / f"{name}__{truth}.h5")  # lets --cached re-run nl.classify without decomposing
                rows.append(dict(score_cell(name, truth, b), **classify_row(n)))
        except Exception as err:  # noqa: BLE001 - a cell without NEURD E/I branches is reported, not fatal
            rows.append({"cell": name, "truth": truth, "error": f"{type(err).__name__}: {err}"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1, default=str))
    print(pd.DataFrame(rows).to_string())
    if args.compare:
        import importlib.util

        name = "_neurd_lite_dendritic_shift"  # the name train.py registers it under
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "shift.py")
            sys.modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules[name])
        shift = sys.modules[name]
        comp = engine_split(shift.candidates(), shift.load_cells(), cache)
        args.compare.write_text(json.dumps(comp, indent=1))
        print(pd.DataFrame(comp).T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())

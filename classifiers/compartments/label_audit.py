"""Audit of labelled axon masks against the cell's own synapses (docs/compartments.md "Session 19, round 2").

Biology, fixed before the audit was applied: inputs land on dendrites and the soma; an axon receives input almost
only on its initial segment; outputs are made by the axon. A mask is distrusted when the cell contradicts it:
``dendrite_rate_input`` (beyond the first ``ais_um`` of the labelled axon, input density >= ``input_ratio`` x the
cell's dendrite density, with >= ``min_inputs`` such inputs), ``outputs_off_axon`` (>= ``min_outputs`` outputs,
< ``min_output_share`` of them on the labelled axon) or ``mask_equals_apical`` (``is_axon == is_apical``).

``python classifiers/compartments/label_audit.py [--rows cv_report.json ...] [--csv out.csv]`` prints the audit of
the 53 ``microns_apical_labelled`` cells and the independently labelled MICrONS cells, and, given validation
reports of ``train.py``, their MICrONS axon F1 over all cells and over the cells whose axon mask passes.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from neurd_lite.compartments.axon import axon_by_synapses, segregation_scores
from neurd_lite.data import data_path, manifest
from neurd_lite.io.skeletons import load_skeleton
from neurd_lite.skeleton.model import Skeleton

INDEPENDENT = {  # MICrONS cells whose compartments come from other sources than microns_apical_labelled
    "morphsync_864691134918461194": "skeletons/microns_morphsync_864691134918461194/morph_info.json",
    "swdb2023_864691134940133219": "skeletons/microns_swdb2023_864691134940133219/864691134940133219_skel.h5",
    "ossify_BC_864691135101289504": "skeletons/microns_ossify_BC_864691135101289504/skel.json",
}


@dataclass(frozen=True)
class AuditParams:
    """Thresholds of the audit (lengths in µm, densities per µm of skeleton cable)."""

    ais_um: float = 50.0            # proximal labelled axon left out of its input density (initial segment)
    input_ratio: float = 0.25       # distal-axon / dendrite input density at or above which: dendrite-rate input
    min_inputs: int = 5             # distal-axon inputs needed before the density counts
    min_outputs: int = 10           # output synapses on the cell needed before their location counts
    min_output_share: float = 0.5   # share of outputs on the labelled axon below which: outputs off the axon


def _axon_distance_um(sk: Skeleton, axon: np.ndarray) -> np.ndarray:
    """(N,) path length in µm from where the axon mask starts (its vertex nearest the root on each piece); NaN off
    the mask."""
    dist, par = sk.distance_to_root_nm, sk.parent
    start = np.full(sk.n_vertices, np.nan)
    for v in np.argsort(dist, kind="stable"):  # parents before children
        if axon[v]:
            p = par[v]
            start[v] = start[p] if p >= 0 and axon[p] else dist[v]
    return (dist - start) / 1000.0


def audit_axon_mask(sk: Skeleton, syn: pd.DataFrame | None, axon: np.ndarray, apical: np.ndarray | None = None,
                    params: AuditParams = AuditParams()) -> dict:
    """The audit of one labelled axon mask. ``sk`` in nm; ``syn`` with ``is_pre`` and ``skeleton_vertex`` (-1:
    unmapped); ``axon`` / ``apical`` per-vertex bool. Returns densities (per µm), counts, ``reasons`` (a
    ``;``-joined string, empty when none) and ``trusted``."""
    axon = np.asarray(axon, dtype=bool)
    par = sk.parent
    seg_um = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0) / 1000
    soma = np.zeros(sk.n_vertices, dtype=bool)
    if sk.root is not None:
        soma[sk.root] = True
    distal = axon & (np.nan_to_num(_axon_distance_um(sk, axon), nan=-1.0) > params.ais_um)
    dend = ~axon & ~soma
    if syn is None or not len(syn):
        v, pre = np.zeros(0, dtype=int), np.zeros(0, dtype=bool)
    else:
        v, pre = syn.skeleton_vertex.to_numpy().astype(int), syn.is_pre.to_numpy().astype(bool)
        keep = v >= 0
        v, pre = v[keep], pre[keep]
    n_in_distal = int((~pre & distal[v]).sum())
    in_distal = n_in_distal / max(seg_um[distal].sum(), 1e-9) if distal.any() else np.nan
    in_dend = (~pre & dend[v]).sum() / max(seg_um[dend].sum(), 1e-9) if dend.any() else np.nan
    n_out, n_out_axon = int(pre.sum()), int((pre & axon[v]).sum())
    same = apical is not None and bool(np.array_equal(np.asarray(apical, dtype=bool), axon))
    inside = apical is not None and bool(axon.any()) and bool(np.asarray(apical, dtype=bool)[axon].all()) and not same
    ratio = in_distal / in_dend if in_dend and in_dend > 0 else np.nan
    reasons = []
    if n_in_distal >= params.min_inputs and ratio >= params.input_ratio:
        reasons.append("dendrite_rate_input")
    if n_out >= params.min_outputs and n_out_axon / n_out < params.min_output_share:
        reasons.append("outputs_off_axon")
    if same:
        reasons.append("mask_equals_apical")
    return {"axon_um": float(seg_um[axon].sum()), "distal_axon_um": float(seg_um[distal].sum()),
            "in_per_um_distal_axon": float(in_distal), "in_per_um_dendrite": float(in_dend),
            "input_ratio": float(ratio), "n_in_distal_axon": n_in_distal, "n_out": n_out,
            "out_share_axon": n_out_axon / n_out if n_out else np.nan, "axon_inside_apical": inside,
            "reasons": ";".join(reasons), "synapse_reasons": ";".join(r for r in reasons if r != "mask_equals_apical"),
            "trusted": not reasons}


@lru_cache(maxsize=2)
def microns_audit(params: AuditParams = AuditParams()) -> pd.DataFrame:
    """The audit of the 53 ``microns_apical_labelled`` cells (one row per cell, ``cell`` = segment id)."""
    rows = []
    for rel in manifest()["datasets"]["microns_apical_labelled"]["files"]:
        sk, syn = load_skeleton(data_path(rel))
        ax, ap = sk.vertex_properties["is_axon"].astype(bool), sk.vertex_properties["is_apical"].astype(bool)
        rows.append({"cell": Path(rel).name.split("_")[0], **audit_axon_mask(sk, syn, ax, ap, params)})
    return pd.DataFrame(rows)


def independent_audit(params: AuditParams = AuditParams()) -> pd.DataFrame:
    """The same audit on the independently labelled MICrONS cells (axon = SWC type 2 or ``is_axon``)."""
    rows = []
    for name, rel in INDEPENDENT.items():
        p = data_path(rel)
        sk, syn = load_skeleton(p.parent if p.name == "morph_info.json" else p)
        props = sk.vertex_properties
        ax = props["swc_type"] == 2 if "swc_type" in props else props["is_axon"].astype(bool)
        rows.append({"cell": name, **audit_axon_mask(sk, syn, ax, None, params)})
    return pd.DataFrame(rows)


def audited_axon_f1(rows: pd.DataFrame, distrusted: set[str]) -> dict:
    """MICrONS axon F1 means of one validation table, over every cell with an axon score and over the cells whose
    axon mask passes the audit (with synapses: mode ``given+syn``; without: ``given``)."""
    out = {}
    mic = rows[rows.source == "microns"]
    for mode, tag in (("given+syn", ""), ("given", "no_synapses_")):
        f1 = mic[mic["mode"] == mode].set_index("cell").axon_f1.dropna()
        if len(f1):
            passed = f1[~f1.index.astype(str).isin(distrusted)]
            out[f"microns_{tag}axon_f1_mean"] = round(float(f1.mean()), 4)
            out[f"microns_{tag}axon_f1_audited_mean"] = round(float(passed.mean()), 4) if len(passed) else np.nan
            out[f"microns_{tag}axon_cells_audited"] = f"{len(passed)} of {len(f1)}"
    return out


def distrusted_cells(cases: list) -> set[str]:
    """The MICrONS cells of ``cases`` (``cells.Case``) whose axon mask the audit distrusts: from each case's
    ``axon_audit``, or from the data files for a case cache written before session 19 (no audit recorded)."""
    rec = {c.cell: getattr(c, "axon_audit", None) for c in cases if c.source == "microns"}
    if not rec:
        return set()
    if any(v is None for v in rec.values()):
        table = microns_audit()
        return set(table.cell[~table.trusted]) & set(rec)
    return {k for k, v in rec.items() if not v["trusted"]}


def replacement_axon(c, params: AuditParams = AuditParams()) -> tuple[np.ndarray | None, dict]:
    """A replacement for a distrusted axon mask (session 19, round 3), from the case's own synapses (``c`` a
    ``cells.Case`` prepared with synapses): among the subtrees beyond every cut that hold at least
    ``min_output_share`` of the outputs (the candidates; the segregation cut of ``AxonParams(method="segregation")``
    is one when it qualifies), the one of highest segregation index that passes ``audit_axon_mask`` itself with at
    least ``min_outputs`` outputs (else the audit is vacuous) and shares no vertex with the labelled apical.
    Returns (mask or None, the audit of the chosen or else of the segregation cut, plus ``n_candidates``)."""
    t, pre, post = c.prep.tree, np.asarray(c.prep.pre, dtype=int), np.asarray(c.prep.post, dtype=int)
    par = t.sk.parent
    beyond = pre.astype(float)
    for v in np.argsort(-t.sk.distance_to_root_nm, kind="stable"):  # children before parents
        if par[v] >= 0:
            beyond[par[v]] += beyond[v]
    si = np.nan_to_num(segregation_scores(t, pre, post), nan=-1.0)
    cand = np.flatnonzero((beyond >= params.min_output_share * max(pre.sum(), 1)) & (par >= 0) & ~t.soma)
    idx = np.arange(t.n)
    syn = pd.DataFrame({"skeleton_vertex": np.r_[np.repeat(idx, pre), np.repeat(idx, post)],
                        "is_pre": np.r_[np.ones(pre.sum(), dtype=bool), np.zeros(post.sum(), dtype=bool)]})
    for v in cand[np.argsort(-si[cand], kind="stable")]:
        mask = t.subtree_mask(int(v))
        if c.apical is not None and (mask & c.apical).any():
            continue
        rec = audit_axon_mask(t.sk, syn, mask, c.apical, params)
        if rec["trusted"] and rec["n_out"] >= params.min_outputs:
            return mask, {**rec, "segregation": float(si[v]), "n_candidates": len(cand)}
    seg = axon_by_synapses(t, pre, post, "segregation")
    rec = audit_axon_mask(t.sk, syn, seg.mask, c.apical, params)
    return None, {**rec, "segregation": seg.segregation, "n_candidates": len(cand)}


def relabel_distrusted(cases: list, distrusted: set[str]) -> pd.DataFrame:
    """``train.py --axon-audit relabel``: every distrusted MICrONS mask is replaced by ``replacement_axon`` of its
    ``given+syn`` case (both modes of the cell get it); where no replacement passes, the axon is unknown (None, as
    ``--axon-audit drop``). Returns one row per distrusted cell."""
    rows, new = [], {}
    for c in cases:
        if c.source == "microns" and c.cell in distrusted and c.mode == "given+syn":
            new[c.cell], rec = replacement_axon(c)
            rows.append({"cell": c.cell, "replaced": new[c.cell] is not None, **rec})
    for c in cases:
        if c.source == "microns" and c.cell in distrusted:
            c.axon = new.get(c.cell)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=None, help="comma-separated train.py validation reports (json with rows)")
    ap.add_argument("--csv", type=Path, default=None, help="write the per-cell audit here")
    args = ap.parse_args(argv)
    pd.set_option("display.width", 250)
    audit = microns_audit()
    print(json.dumps(asdict(AuditParams())))
    cols = ["cell", "axon_um", "in_per_um_distal_axon", "in_per_um_dendrite", "input_ratio", "n_in_distal_axon",
            "n_out", "out_share_axon", "axon_inside_apical", "reasons"]
    print(audit[cols].round(3).to_string(index=False))
    print(independent_audit()[cols].round(3).to_string(index=False))
    if args.csv:
        audit.to_csv(args.csv, index=False)
    distrusted = set(audit.loc[~audit.trusted, "cell"])
    print(f"distrusted {len(distrusted)} of {len(audit)}")
    for p in (args.rows.split(",") if args.rows else []):
        rows = pd.DataFrame(json.loads(Path(p).read_text())["rows"])
        for val, r in rows.groupby("validation"):
            print(p, val, json.dumps(audited_axon_f1(r.assign(cell=r.cell.astype(str)), distrusted)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Evaluate compartment labelling on the real labelled MICrONS skeletons (one command, one core).

    python benchmarks/eval_compartments.py [--no-navis] [--out docs/compartments_eval.json]

- 53 ``microns_apical_labelled`` skeletons: per-cell per-vertex F1 for axon and apical. Source-label defects
  are handled as the data README says: where ``is_axon == is_apical`` the axon mask is not used (axon F1 not
  computed) and apical = ``is_apical``; elsewhere apical = ``is_apical and not is_axon``.
- NEURD's proofread excitatory SWC (types axon/basal/apical), morphsync and swdb2023 (axon labels) and the
  ossify basket cell (axon/dendrite; no apical expected): per-vertex agreement.
- Baselines in the same run: "apical = more than 30 µm above the soma" and navis synapse-flow-centrality axon
  split (navis is GPL: imported here only, never by the package; skipped with a note when missing).

The labeller's default is the learned models (``CompartmentParams(method="learned")``), trained on these 53
cells among others: their per-cell numbers here are **in-sample** for the models (the ``*_rules`` columns are the
hand-set rules, not fitted); the held-out (leave-cell-out / leave-source-out) numbers come from
``classifiers/compartments/train.py`` and are copied from the models' sidecars into the summary. NEURD's
proofread cell, morphsync, swdb2023, the basket cell and the ``make_neuron`` synthetic cells never enter
training: their numbers are held out.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from neurd_lite.compartments import AxonParams, CompartmentParams, label_compartments
from neurd_lite.data import data_path, manifest
from neurd_lite.io.skeletons import load_skeleton
from neurd_lite.neuron import Neuron
from neurd_lite.testing.scores import mask_f1

APICAL = ("apical_shaft", "apical_tuft", "oblique")
UP = (0.0, -1.0, 0.0)


f1 = mask_f1  # per-vertex F1 of boolean masks, 1.0 when both are empty (neurd_lite.testing.scores)


RULES = CompartmentParams(method="rules")


def run_labeller(sk, syn, params: CompartmentParams | None = None, up=UP, units="nm") -> tuple[np.ndarray, Neuron]:
    n = Neuron(name="eval", skeleton=sk, synapses=syn if syn is not None else pd.DataFrame())
    n.provenance["inputs"] = {"units": units}
    label_compartments(n, params, up=up)
    return n.skeleton_labels.astype(str), n


def navis_axon(sk, syn) -> np.ndarray | None:
    """navis synapse-flow-centrality axon mask per vertex, or None when navis is unavailable or fails."""
    try:
        import navis  # GPL: evaluation only
    except ImportError:
        return None
    par = sk.parent
    nodes = pd.DataFrame({"node_id": np.arange(sk.n_vertices), "parent_id": np.where(par >= 0, par, -1),
                          "x": sk.vertices[:, 0], "y": sk.vertices[:, 1], "z": sk.vertices[:, 2],
                          "radius": np.nan_to_num(sk.radius, nan=0.0)})
    ok = syn["skeleton_vertex"].to_numpy() >= 0
    conn = pd.DataFrame({"connector_id": np.arange(int(ok.sum())),
                         "node_id": syn.loc[ok, "skeleton_vertex"].to_numpy(),
                         "type": np.where(syn.loc[ok, "is_pre"].to_numpy(bool), 0, 1),
                         "x": syn.loc[ok, "x_nm"].to_numpy(), "y": syn.loc[ok, "y_nm"].to_numpy(),
                         "z": syn.loc[ok, "z_nm"].to_numpy()})
    try:
        tn = navis.TreeNeuron(nodes, units="1 nm", soma=int(sk.root))
        tn.connectors = conn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = navis.split_axon_dendrite(tn, metric="synapse_flow_centrality", label_only=True)
        comp = out.nodes.set_index("node_id")["compartment"].reindex(np.arange(sk.n_vertices))
        return comp.to_numpy().astype(str) == "axon"
    except Exception as e:  # a baseline failing on one cell is reported, not fatal
        print(f"  navis failed: {type(e).__name__}: {e}", file=sys.stderr)
        return None


def _post_density(sk, syn, mask: np.ndarray, edge_nm: np.ndarray) -> float:
    """Postsynapses per µm of cable on the vertices in ``mask`` (synapses by their mapped skeleton vertex)."""
    v = syn.loc[~syn["is_pre"].to_numpy(bool), "skeleton_vertex"].to_numpy()
    cable_um = float(edge_nm[mask].sum()) / 1000
    return float(np.isin(v, np.flatnonzero(mask)).sum()) / cable_um if cable_um > 0 else float("nan")


def eval_apical_labelled(use_navis: bool) -> pd.DataFrame:
    rows = []
    for rel in manifest()["datasets"]["microns_apical_labelled"]["files"]:
        sk, syn = load_skeleton(data_path(rel))
        ap, ax = sk.vertex_properties["is_apical"], sk.vertex_properties["is_axon"]
        same = bool(np.array_equal(ap, ax))
        truth_ap = ap if same else ap & ~ax
        labels, n = run_labeller(sk, syn)
        rules, _ = run_labeller(sk, syn, RULES)
        height = (sk.vertices - sk.vertices[sk.root]) @ np.asarray(UP)
        row = {"cell": Path(rel).name.split("_")[0], "defect": "axon==apical" if same else
               ("apical_covers_axon" if (ax <= ap).all() and ax.any() else ""),
               "n_vertices": sk.n_vertices, "apical_f1": f1(np.isin(labels, APICAL), truth_ap),
               "apical_f1_30um_rule": f1(height > 30_000, truth_ap),
               "apical_f1_rules": f1(np.isin(rules, APICAL), truth_ap),
               "axon_f1": np.nan if same else f1(labels == "axon", ax),
               "axon_f1_rules": np.nan if same else f1(rules == "axon", ax),
               "axon_method": n.provenance["compartments"]["axon_method"],
               "has_apical": n.provenance["compartments"]["has_apical"], "flags": ";".join(n.flags)}
        if not same:
            seg, _ = run_labeller(sk, syn, CompartmentParams(axon=AxonParams(method="segregation"), method="rules"))
            row["axon_f1_segregation"] = f1(seg == "axon", ax)
            lab_ax = ax & (sk.parent >= 0)
            edge = np.linalg.norm(sk.vertices - sk.vertices[np.maximum(sk.parent, 0)], axis=1)
            row["labelled_axon_post_per_um"] = _post_density(sk, syn, lab_ax, edge)
        if use_navis and not same:
            nav = navis_axon(sk, syn)
            row["axon_f1_navis"] = np.nan if nav is None else f1(nav, ax)
        rows.append(row)
        print(f"  {row['cell']} apical {row['apical_f1']:.3f} axon {row['axon_f1']:.3f} "
              f"navis {row.get('axon_f1_navis', np.nan):.3f} {row['defect']}", file=sys.stderr)
    return pd.DataFrame(rows)


LOO_GRID = {"min_height_um": (40.0, 60.0, 90.0), "twin_height_frac": (0.6, 0.8, 10.0),
            "twin_pole_cos": (0.4, 0.8)}


def eval_loo_params() -> pd.DataFrame:
    """Leave-one-cell-out choice of the apical rule's parameters: for each cell, the grid point with the best
    mean apical F1 on the other cells labels it (so its own labels never pick its parameters)."""
    import itertools
    from dataclasses import replace

    from neurd_lite.compartments import ApicalParams

    cells = []
    for rel in manifest()["datasets"]["microns_apical_labelled"]["files"]:
        sk, syn = load_skeleton(data_path(rel))
        ap, ax = sk.vertex_properties["is_apical"], sk.vertex_properties["is_axon"]
        cells.append((Path(rel).name.split("_")[0], sk, syn, ap if np.array_equal(ap, ax) else ap & ~ax))
    keys = list(LOO_GRID)
    grid = [dict(zip(keys, vals)) for vals in itertools.product(*LOO_GRID.values())]
    scores = np.zeros((len(grid), len(cells)))
    for gi, g in enumerate(grid):
        params = CompartmentParams(apical=replace(ApicalParams(), **g), method="rules")
        for ci, (_, sk, syn, truth) in enumerate(cells):
            labels, _ = run_labeller(sk, syn, params)
            scores[gi, ci] = f1(np.isin(labels, APICAL), truth)
        print(f"  grid {gi + 1}/{len(grid)} {g} mean apical F1 {scores[gi].mean():.3f}", file=sys.stderr)
    rows = []
    for ci, (cell, *_rest) in enumerate(cells):
        others = np.delete(scores, ci, axis=1).mean(axis=1)
        gi = int(np.argmax(others))
        rows.append({"cell": cell, "apical_f1_loo": scores[gi, ci], **{f"chosen_{k}": v for k, v in grid[gi].items()}})
    return pd.DataFrame(rows)


def _agreement(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(pred[mask] == truth[mask])) if mask.any() else float("nan")


def _code(labels: np.ndarray) -> np.ndarray:
    """Our labels as SWC-style codes: 1 soma, 2 axon, 3 basal/dendrite, 4 apical, 0 unknown."""
    out = np.zeros(len(labels), dtype=np.int64)
    out[labels == "soma"] = 1
    out[labels == "axon"] = 2
    out[np.isin(labels, ("basal", "dendrite"))] = 3
    out[np.isin(labels, APICAL)] = 4
    return out


def eval_other_cells(use_navis: bool) -> pd.DataFrame:
    cases = {
        "neurd_exc_864691134917511946 (SWC, no synapses)":
            "skeletons/microns_neurd_exc_864691134917511946/864691134917511946_proofread.swc",
        "morphsync_864691134918461194": "skeletons/microns_morphsync_864691134918461194/morph_info.json",
        "swdb2023_864691134940133219": "skeletons/microns_swdb2023_864691134940133219/864691134940133219_skel.h5",
        "ossify_BC_864691135101289504 (basket cell)": "skeletons/microns_ossify_BC_864691135101289504/skel.json",
    }
    rows = []
    for name, rel in cases.items():
        p = data_path(rel)
        sk, syn = load_skeleton(p.parent if rel.endswith("morph_info.json") else p)
        units = sk.units_in
        if "swc_type" in sk.vertex_properties:
            truth = sk.vertex_properties["swc_type"].copy()
        else:
            truth = np.where(sk.vertex_properties["is_axon"], 2, 3)
        runs = [("synapses", syn, None), ("geometry only", None, None), ("synapses, up=minnie65", syn, UP),
                ("geometry only, up=minnie65", None, UP), ("geometry only, rules", None, "rules"),
                ("synapses, rules", syn, "rules")]
        for mode, s, up in runs:
            if mode.startswith("synapses") and syn is None:
                continue
            if up == "rules":
                labels, n = run_labeller(sk, s, RULES, UP, units)
            else:
                labels, n = run_labeller(sk, s, None, up, units)
            code = _code(labels)
            scored = truth != 1
            t_axon, p_axon = truth == 2, code == 2
            row = {"cell": name, "input": mode, "n_vertices": sk.n_vertices,
                   "agreement": _agreement(np.where(code == 4, 4 if (truth == 4).any() else 3, code), truth,
                                           scored & (code != 1)),
                   "axon_f1": f1(p_axon & scored, t_axon),
                   "apical_f1": f1(code == 4, truth == 4) if (truth == 4).any() else np.nan,
                   "apical_vertices_found": int((code == 4).sum()),
                   "axon_method": n.provenance["compartments"]["axon_method"],
                   "up_used": "given" if up is not None else n.provenance["compartments"]["frame"]["method"],
                   "flags": ";".join(n.flags)}
            if use_navis and s is not None and up is None:
                nav = navis_axon(sk, s)
                row["axon_f1_navis"] = np.nan if nav is None else f1(nav & scored, t_axon)
            rows.append(row)
            print(f"  {name} [{mode}] agreement {row['agreement']:.3f} axon F1 {row['axon_f1']:.3f}",
                  file=sys.stderr)
    return pd.DataFrame(rows)


def eval_synthetic(seeds: range = range(3)) -> pd.DataFrame:
    """Per-face accuracy per true compartment on synthetic cells, from their true skeleton; faces are mapped to
    the nearest skeleton vertex and the true soma faces are given (soma detection is not evaluated here)."""
    from scipy.spatial import cKDTree

    from neurd_lite.neuron import Soma
    from neurd_lite.testing import make_neuron

    rows = []
    for kind in ("pyramidal", "interneuron"):
        for seed in seeds:
            sn = make_neuron(kind, seed=seed)
            centers = sn.mesh.triangles_center
            _, f2s = cKDTree(sn.skeleton.vertices).query(centers)
            soma_faces = np.flatnonzero(sn.face_compartment == "soma")
            sk = sn.skeleton.copy()
            sk.vertex_properties = {}  # the truth stays out of the labeller's reach
            modes = [("synapses", None), ("geometry only", None)]
            if kind == "interneuron":
                modes.append(("synapses, has_apical=False", False))
            for mode, has_apical in modes:
                syn = (sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy() if mode.startswith("synapses")
                       else pd.DataFrame())
                soma = Soma(sk.vertices[sk.root], float(sn.truth.get("soma_radius_nm", 0) or 0), faces=soma_faces)
                n = Neuron(name=f"{kind}_{seed}", mesh=sn.mesh, skeleton=sk, synapses=syn, somas=[soma])
                n.face_to_skeleton = f2s.astype(np.int64)
                label_compartments(n, CompartmentParams(has_apical=has_apical), up=UP)
                pred = n.face_compartment.astype(str)
                truth = sn.face_compartment.astype(str)
                row = {"kind": kind, "seed": seed, "input": mode, "face_accuracy": float(np.mean(pred == truth))}
                for comp in np.unique(truth):
                    row[f"acc_{comp}"] = float(np.mean(pred[truth == comp] == comp))
                rows.append(row)
                print(f"  synthetic {kind} {seed} [{mode}] face accuracy {row['face_accuracy']:.3f}", file=sys.stderr)
    return pd.DataFrame(rows)


def eval_synthetic_pipeline(seeds: range = range(3)) -> pd.DataFrame:
    """Per-face accuracy per true compartment on synthetic cells run through the whole pipeline
    (``nl.decompose``: its own soma, skeleton, graph and face map); interneurons also relabelled with
    ``has_apical=False`` as an E/I call would."""
    import neurd_lite as nl
    from neurd_lite.testing import make_neuron

    rows = []
    for kind, seed in ((k, s) for k in ("pyramidal", "interneuron") for s in seeds):
        sn = make_neuron(kind, seed=seed)
        t0 = time.time()
        n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy(), units="nm")
        seconds = time.time() - t0
        runs = [("decompose", None)] + ([("decompose, has_apical=False", False)] if kind == "interneuron" else [])
        for mode, has_apical in runs:
            if has_apical is not None:
                label_compartments(n, CompartmentParams(has_apical=has_apical), up=UP)
            pred, truth = n.face_compartment.astype(str), sn.face_compartment.astype(str)
            row = {"kind": kind, "seed": seed, "input": mode, "decompose_s": round(seconds, 1),
                   "face_accuracy": float(np.mean(pred == truth)),
                   "apical_f1": f1(np.isin(pred, APICAL), np.isin(truth, APICAL)),
                   "axon_f1": f1(pred == "axon", truth == "axon"),
                   "apical_faces_found": int(np.isin(pred, APICAL).sum())}
            row.update({f"acc_{c}": float(np.mean(pred[truth == c] == c)) for c in np.unique(truth)})
            rows.append(row)
            print(f"  synthetic pipeline {kind} [{mode}] face accuracy {row['face_accuracy']:.3f}", file=sys.stderr)
    return pd.DataFrame(rows)


def eval_family_pipeline(n_seeds: int = 1, classes: tuple[str, ...] | None = None,
                         seeds: tuple[int, ...] | None = None,
                         orientations: tuple[str, ...] = ("minnie", "random")) -> pd.DataFrame:
    """Held-out members of the synthetic family (``HELDOUT_SEEDS[:n_seeds]`` or ``seeds``, every class or
    ``classes``; the models were trained on tuning seeds) through ``nl.decompose``: per-face apical and axon F1.
    ``minnie`` members keep minnie65's frame (up inferred from the coordinates); ``random`` members are rotated at
    random and get their up."""
    import neurd_lite as nl
    from neurd_lite.testing import family

    rows = []
    for cls in classes or family.CLASSES:
        for seed in seeds or family.HELDOUT_SEEDS[:n_seeds]:
            for orient in orientations:
                sn = family.make_member(cls, seed, up=orient)
                t0 = time.time()
                n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy(), units="nm",
                                 up=None if orient == "minnie" else sn.up)
                pred, truth = n.face_compartment.astype(str), sn.face_compartment.astype(str)
                has_ap = bool(np.isin(truth, APICAL).any())
                row = {"class": cls, "seed": seed, "orientation": orient, "decompose_s": round(time.time() - t0, 1),
                       "apical_f1": f1(np.isin(pred, APICAL), np.isin(truth, APICAL)) if has_ap else np.nan,
                       "dendrite_faces_called_apical": float(np.isin(pred[np.isin(truth, ("basal", "dendrite"))],
                                                                     APICAL).mean()),
                       "axon_f1": f1(pred == "axon", truth == "axon"),
                       "frame": n.provenance["compartments"]["frame"]["method"],
                       "face_accuracy": float(np.mean(pred == truth))}
                rows.append(row)
                print(f"  family {cls} {seed} [{orient}] apical {row['apical_f1']:.3f} axon {row['axon_f1']:.3f}",
                      file=sys.stderr)
    return pd.DataFrame(rows)


def figure_real_cell(png: Path) -> dict:
    """Run the full pipeline on the real MICrONS cell and draw it coloured by compartment (x-y, pia up).
    Returns face counts per face label and per face compartment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import neurd_lite as nl
    from neurd_lite.viz import plot_mesh_projection
    from real_cell import MESH, SYNAPSES

    t0 = time.time()
    n = nl.decompose(data_path(MESH), synapses=data_path(SYNAPSES), units="nm")
    seconds = time.time() - t0
    comp, counts = np.unique(n.face_compartment.astype(str), return_counts=True)
    lab, lab_counts = np.unique(n.face_labels.astype(str), return_counts=True)
    fig, ax = plt.subplots(figsize=(8, 9))
    plot_mesh_projection(n, color_by="compartment", plane="xy", ax=ax)
    text = ", ".join(f"{c} {k:,}" for c, k in zip(comp, counts))
    ax.set_title(f"864691135510518224 by compartment (x-y, pia up)\nfaces: {text}", fontsize=8)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return {"png": str(png), "decompose_seconds": round(seconds, 1), "flags": n.flags,
            "face_compartment_counts": dict(zip(comp.tolist(), counts.tolist())),
            "face_label_counts": dict(zip(lab.tolist(), lab_counts.tolist())),
            "compartments_provenance": {k: v for k, v in n.provenance.get("compartments", {}).items()
                                        if k != "params"}}


def held_out_summary() -> dict:
    """Held-out numbers of the shipped models (from their sidecar, written by the training script)."""
    from neurd_lite.compartments.learned import AXON_MODEL, load_vertex_model, models_available

    if not models_available():
        return {}
    held = load_vertex_model(AXON_MODEL).meta.get("held_out_metrics", {})
    out = {}
    for key, short in (("leave_cell_out", "loco"), ("leave_source_out", "loso"), ("leave_all_external_out", "lxo")):
        for k, v in held.get(key, {}).items():
            out[f"{short}_{k}"] = v
    return out


def _md_table(rows: list[dict], cols: list[str]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return "–" if v != v else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(results: dict, md: Path) -> None:
    """Write the evaluation tables between ``<!-- eval:start -->`` and ``<!-- eval:end -->`` in ``md``."""
    s = results["summary"]
    loo = " --loo" if results.get("loo_params") else ""
    parts = [f"Produced by `python benchmarks/eval_compartments.py{loo} --figure "
             "docs/compartments_microns_864691135510518224.png --markdown docs/compartments.md` "
             f"({s['seconds']} s, one process on a shared 2-core machine).", "",
             "### Summary (53 `microns_apical_labelled` cells)", "",
             _md_table([{"metric": k, "value": v} for k, v in s.items() if k != "seconds"], ["metric", "value"]),
             "", "### Per cell", "",
             _md_table(results["apical_labelled"], ["cell", "defect", "n_vertices", "apical_f1",
                                                    "apical_f1_rules", "apical_f1_30um_rule", "axon_f1",
                                                    "axon_f1_rules", "axon_f1_navis",
                                                    "axon_f1_segregation", "labelled_axon_post_per_um",
                                                    "flags"])]
    if results.get("loo_params"):
        parts += ["", "### Apical parameters chosen leave-one-cell-out", "",
                  _md_table(results["loo_params"], list(results["loo_params"][0]))]
    parts += ["", "### Independently labelled cells (per-vertex agreement, soma vertices excluded)", "",
              _md_table(results["other_cells"], ["cell", "input", "n_vertices", "agreement", "axon_f1",
                                                 "axon_f1_navis", "apical_f1", "apical_vertices_found", "up_used",
                                                 "flags"]),
              "", "### Synthetic cells (per-face accuracy per true compartment; true skeleton, nearest-vertex "
              "face map, true soma faces given)", "",
              _md_table(results["synthetic"], list(results["synthetic"][0]))]
    if results.get("synthetic_pipeline"):
        parts += ["", "### Synthetic cells through the whole pipeline (`nl.decompose`, per-face accuracy)", "",
                  _md_table(results["synthetic_pipeline"], list(results["synthetic_pipeline"][0]))]
    if results.get("family_pipeline"):
        parts += ["", "### Held-out synthetic family members through `nl.decompose` (per-face F1)", "",
                  _md_table(results["family_pipeline"], list(results["family_pipeline"][0]))]
    fig = results.get("real_cell_figure")
    if fig:
        parts += ["", "### Real mesh 864691135510518224 through `nl.decompose`", "",
                  f"![compartments]({Path(fig['png']).name})", "",
                  f"decompose {fig['decompose_seconds']} s; flags: {', '.join(fig['flags']) or 'none'}", "",
                  _md_table([{"compartment": k, "faces (face_compartment)": v,
                              "faces (face_labels)": fig["face_label_counts"].get(k, 0)}
                             for k, v in fig["face_compartment_counts"].items()],
                            ["compartment", "faces (face_compartment)", "faces (face_labels)"]),
                  "", f"spine faces in face_labels: head {fig['face_label_counts'].get('spine_head', 0)}, "
                  f"neck {fig['face_label_counts'].get('spine_neck', 0)}"]
    text = md.read_text() if md.is_file() else "<!-- eval:start -->\n<!-- eval:end -->\n"
    head, rest = text.split("<!-- eval:start -->", 1)
    tail = rest.split("<!-- eval:end -->", 1)[1]
    md.write_text(head + "<!-- eval:start -->\n" + "\n".join(parts) + "\n<!-- eval:end -->" + tail)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-navis", action="store_true", help="skip the navis baseline")
    ap.add_argument("--out", default="docs/compartments_eval.json", help="where to write all numbers (JSON)")
    ap.add_argument("--figure", default="", help="also decompose the real cell 864691135510518224 and save "
                    "a compartment PNG here (e.g. docs/compartments_microns_864691135510518224.png)")
    ap.add_argument("--loo", action="store_true", help="also choose the apical parameters leave-one-cell-out "
                    "over a small grid (about 18 x 53 labellings)")
    ap.add_argument("--markdown", default="", help="fill the evaluation section of this markdown file")
    ap.add_argument("--from-json", default="", help="only render --markdown from a saved results JSON")
    args = ap.parse_args(argv)
    if args.from_json:
        render_markdown(json.loads(Path(args.from_json).read_text()), Path(args.markdown))
        return 0
    t0 = time.time()
    labelled = eval_apical_labelled(not args.no_navis)
    others = eval_other_cells(not args.no_navis)
    synthetic = eval_synthetic()
    synthetic_pipeline = eval_synthetic_pipeline()
    family_pipeline = eval_family_pipeline()
    loo = eval_loo_params() if args.loo else None
    figure = figure_real_cell(Path(args.figure)) if args.figure else None
    ax = labelled["axon_f1"].dropna()
    summary = {
        "apical_labelled_cells": len(labelled),
        "apical_f1_mean": float(labelled["apical_f1"].mean()), "apical_f1_median": float(labelled["apical_f1"].median()),
        "apical_f1_30um_rule_mean": float(labelled["apical_f1_30um_rule"].mean()),
        "apical_cells_used": int(labelled["apical_f1"].notna().sum()),
        "axon_f1_mean": float(ax.mean()), "axon_f1_median": float(ax.median()), "axon_cells_used": int(len(ax)),
        "axon_f1_segregation_method_mean": float(labelled["axon_f1_segregation"].mean()),
        "apical_f1_rules_mean": float(labelled["apical_f1_rules"].mean()),
        "axon_f1_rules_mean": float(labelled["axon_f1_rules"].dropna().mean()),
        **held_out_summary(),
        "family_decompose_apical_f1_mean": float(family_pipeline["apical_f1"].mean()),
        "family_decompose_axon_f1_mean": float(family_pipeline["axon_f1"].mean()),
        "seconds": round(time.time() - t0, 1),
    }
    if loo is not None:
        summary["apical_f1_loo_params_mean"] = float(loo["apical_f1_loo"].mean())
    if "axon_f1_navis" in labelled:
        nav = labelled["axon_f1_navis"].dropna()
        summary.update({"axon_f1_navis_mean": float(nav.mean()) if len(nav) else None,
                        "axon_cells_navis": int(len(nav))})
    print(json.dumps(summary, indent=1))
    if figure:
        print(json.dumps(figure, indent=1, default=str))
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(labelled.round(3).to_string(index=False))
        print(others.round(3).to_string(index=False))
        print(synthetic.round(3).to_string(index=False))
        print(synthetic_pipeline.round(3).to_string(index=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {"summary": summary, "apical_labelled": labelled.to_dict(orient="records"),
               "other_cells": others.to_dict(orient="records"), "synthetic": synthetic.to_dict(orient="records"),
               "synthetic_pipeline": synthetic_pipeline.to_dict(orient="records"),
               "family_pipeline": family_pipeline.to_dict(orient="records"),
               "loo_params": None if loo is None else loo.to_dict(orient="records"), "real_cell_figure": figure}
    out.write_text(json.dumps(results, indent=1, default=str))
    if args.markdown:
        render_markdown(json.loads(out.read_text()), Path(args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

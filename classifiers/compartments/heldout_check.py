"""Held-out checks of a candidate set of compartment models against the shipped one (session 14).

    python classifiers/compartments/heldout_check.py --candidate DIR family --seeds 1802,1803 --out rows.csv
    python classifiers/compartments/heldout_check.py --candidate DIR basket

``family``: members of the synthetic family (fresh held-out seeds; the 8 classes and four extra classes, minnie65
frame, ``up`` inferred) through ``nl.decompose``, each member made once and run with the shipped models and with
the candidate's (per-face apical / axon F1, faces called apical on members without a true apical); rows are
appended to ``--out`` as they finish. ``basket``: the basket cell's skeleton (ossify_BC_864691135101289504) through
``nl.label_skeleton`` with and without its synapses, ``up`` inferred: apical vertices per model set.
Model sets are switched by pointing ``compartments.learned.MODELS_DIR`` at the directory (nothing unpickled).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cells import APICAL_NAMES as APICAL  # noqa: E402
from train import f1, parse_params  # noqa: E402

from neurd_lite.compartments import learned  # noqa: E402
from neurd_lite.model.shipped import MODELS_DIR  # noqa: E402

EXTRA = ("pvalb_arbor", "sst_arbor", "ndnf_arbor", "pyr_local_axon")  # the extra classes scored
BASKET = "skeletons/microns_ossify_BC_864691135101289504/skel.json"


def use_models(directory: Path) -> None:
    """Point the compartment labeller at the model files in ``directory``."""
    learned.MODELS_DIR = Path(directory)


CANDIDATE_PARAMS: dict[str, float] = {}  # --candidate-params: CompartmentParams fields of the candidate set


def pipeline_params(name: str):
    """The pipeline parameters of model set ``name``: the defaults, the candidate's with ``CANDIDATE_PARAMS``."""
    from dataclasses import replace

    import neurd_lite as nl

    p = nl.PipelineParams()
    if name == "candidate" and CANDIDATE_PARAMS:
        p = replace(p, compartments=replace(p.compartments, **CANDIDATE_PARAMS))
    return p


WOULD_EXTEND: list[bool] = []  # --skip-unchanged: per axon decision of the shipped run, whether axon_thin_route acts


def watch_thin_route() -> None:
    """Record, at every axon decision, whether ``CompartmentParams.axon_thin_route`` would change it (session 16).
    The option acts only right after that decision, so a shipped run where it never would is, step by step, the
    candidate's run too (same skeleton, models and calls): ``--skip-unchanged`` then reuses its row."""
    from neurd_lite.compartments import label
    from neurd_lite.compartments.contacts import thin_route_axon

    orig = label.decide_axon

    def wrapped(tree, *args, **kwargs):
        axon, cut, how = orig(tree, *args, **kwargs)
        WOULD_EXTEND.append(bool(thin_route_axon(tree, axon, cut)[1]["extended"]))
        return axon, cut, how

    label.decide_axon = wrapped


def watch_veto(box: dict[str, float]) -> None:
    """Record, at every has-apical decision the gate passes (p >= 0.5, where ``label`` asks ``axon_vetoed``),
    whether the candidate's axon veto ``box`` would overturn it (session 20). The veto acts only there, so a shipped
    run where it never would is, step by step, the candidate's run too (``--skip-unchanged`` reuses its row)."""
    from neurd_lite.compartments import label
    from neurd_lite.compartments.gate import axon_vetoed

    orig = label.axon_vetoed

    def wrapped(row, veto):
        WOULD_EXTEND.append(axon_vetoed(row, box))
        return orig(row, veto)

    label.axon_vetoed = wrapped


def family_rows(cls: str, seed: int, sets: dict[str, Path], skip_unchanged: bool = False) -> list[dict]:
    """One member through ``decompose`` once per model set: per-face scores (one row per set). ``skip_unchanged``
    (candidate = shipped models + ``axon_thin_route``): the candidate's row is the shipped one when the option
    would not act on any of the shipped run's axon decisions (``same_as_shipped``)."""
    import neurd_lite as nl
    from neurd_lite.testing import family

    sn = family.make_member(cls, seed, up="minnie")
    truth = sn.face_compartment.astype(str)
    has_ap = bool(np.isin(truth, APICAL).any())
    rows = []
    for name, directory in sets.items():
        if skip_unchanged and name == "candidate" and rows and not any(WOULD_EXTEND):
            rows.append({**rows[-1], "models": name, "decompose_s": 0.0, "same_as_shipped": True})
            print(f"  {cls} {seed} [{name}] same as shipped (the option would not act)", file=sys.stderr, flush=True)
            continue
        WOULD_EXTEND.clear()
        use_models(directory)
        t0 = time.time()
        n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy(), units="nm",
                         params=pipeline_params(name))
        pred = n.face_compartment.astype(str)
        rec = n.provenance["compartments"]
        rows.append({"class": cls, "seed": seed, "models": name, "decompose_s": round(time.time() - t0, 1),
                     "true_apical": has_ap,
                     "apical_f1": f1(np.isin(pred, APICAL), np.isin(truth, APICAL)) if has_ap else np.nan,
                     "faces_called_apical": int(np.isin(pred, APICAL).sum()),
                     "dendrite_faces_called_apical": float(np.isin(pred[np.isin(truth, ("basal", "dendrite"))],
                                                                   APICAL).mean()),
                     "axon_f1": f1(pred == "axon", truth == "axon"), "p_has_apical": rec.get("p_has_apical"),
                     "frame": rec["frame"]["method"], "same_as_shipped": False})
        r = rows[-1]
        print(f"  {cls} {seed} [{name}] apical {r['apical_f1']:.3f} axon {r['axon_f1']:.3f} "
              f"apical faces {r['faces_called_apical']} p {r['p_has_apical']} {r['decompose_s']} s",
              file=sys.stderr, flush=True)
    return rows


def basket_rows(sets: dict[str, Path]) -> list[dict]:
    """The basket cell with and without synapses, ``up`` inferred: vertices called apical per model set."""
    import neurd_lite as nl
    from neurd_lite.data import data_path
    from neurd_lite.io.skeletons import load_skeleton

    path = data_path(BASKET)
    sk, _ = load_skeleton(path)  # nm; handed in as a Skeleton it carries no synapses
    rows = []
    for name, directory in sets.items():
        use_models(directory)
        for mode, src in (("synapses", path), ("geometry only", sk)):
            n = nl.label_skeleton(src, params=pipeline_params(name))
            labels = n.skeleton_labels.astype(str)
            rows.append({"models": name, "input": mode, "apical_vertices": int(np.isin(labels, APICAL).sum()),
                         "axon_vertices": int((labels == "axon").sum()),
                         "p_has_apical": n.provenance["compartments"].get("p_has_apical")})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidate", type=Path, required=True, help="directory of the candidate's model files")
    ap.add_argument("what", choices=("family", "basket"))
    ap.add_argument("--seeds", default="1802")
    ap.add_argument("--classes", default=None, help="comma-separated (default: the 8 classes and the extra ones)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--skip-unchanged", action="store_true",
                    help="family: reuse the shipped row for the candidate where the candidate's axon veto box (its "
                         "compartment_has_apical.json, session 20) or else axon_thin_route would not act")
    ap.add_argument("--until", default=None,
                    help="family: members not started by this UTC time (YYYY-MM-DDTHH:MM) are dropped")
    ap.add_argument("--candidate-params", default="",
                    help="comma-separated CompartmentParams field=number for the candidate set (e.g. "
                         "polarity_bayes_factor=1e4; session 15); --candidate then usually the shipped models' dir")
    args = ap.parse_args(argv)
    CANDIDATE_PARAMS.update(parse_params(args.candidate_params))
    sets = {"shipped": MODELS_DIR, "candidate": args.candidate}
    if args.what == "basket":
        print(pd.DataFrame(basket_rows(sets)).to_string(index=False))
        return 0
    from neurd_lite.testing.family import CLASSES

    if args.skip_unchanged:
        box = json.loads((args.candidate / "compartment_has_apical.json").read_text())["decision"].get("axon_veto")
        watch_veto(box) if box else watch_thin_route()

    classes = args.classes.split(",") if args.classes else list(CLASSES) + list(EXTRA)
    for seed in (int(s) for s in args.seeds.split(",")):
        for cls in classes:
            if args.until and time.strftime("%Y-%m-%dT%H:%M", time.gmtime()) >= args.until:
                print(f"  dropped (not started by {args.until} UTC): {cls} {seed}", file=sys.stderr, flush=True)
                continue
            df = pd.DataFrame(family_rows(cls, seed, sets, args.skip_unchanged))
            if args.out is not None:
                df.to_csv(args.out, mode="a", header=not args.out.is_file(), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Score cached family merges once with the hand score (arm ``default``: ``cut_model=None``, the default splitter
until session 15) and with learned cut models (``split_cut_dist`` is the default since session 15).

    python benchmarks/eval_cut_models.py /tmp/merge14/held /tmp/merge14/held_scores.json split_cut_faces split_cut

Merges come from ``classifiers/split_cut/capture.py make`` (slim decompositions with the true cell of every input
face). Per true cell: face accuracy = min(recall, precision) after ``find_cuts`` + ``face_owner``
(``classifiers/split_cut/train.py`` ``cell_scores``); merges with fewer than two somata found are left out. Prints,
per arm, cells >= 0.95, mean cell, mean worst cell per merge, and against the default the cells gained / lost
(crossing 0.95) and the cells rising / falling by > 0.02 (session 14: held-out 1620-1699). An arm ``NAME@M`` runs
model NAME with ``SplitParams.cut_model_margin = M`` (session 14 round 2: ``split_cut_faces@0.005``, seeds 1700-1759).
Session 15: ``... /tmp/merge15/held out.json split_cut_dist split_cut_faces split_cut`` (seeds 1760-1819).
"""
from __future__ import annotations

import glob
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "classifiers" / "split_cut"))

from train import cell_scores  # noqa: E402


def arm(name: str) -> tuple[str, float]:
    """``NAME`` or ``NAME@MARGIN`` -> (model name, cut_model_margin)."""
    model, _, margin = name.partition("@")
    return model, float(margin or 0.0)


def score(case_dir: str, models: list[str]) -> dict:
    """Per merge seed: fragmented, cells, somata found and per arm the accuracy of each true cell."""
    res = {}
    for f in sorted(glob.glob(f"{case_dir}/fam*[0-9].pkl"), key=lambda f: int(Path(f).stem[3:])):
        case = pickle.load(open(f, "rb"))
        res[int(Path(f).stem[3:])] = {"frag": bool(case["frag"]), "ncells": len(case["C"]),
                                      "somata": len(case["n"].somas), "default": cell_scores(case, None),
                                      **{m: cell_scores(case, *arm(m)) for m in models}}
    return res


def summary(res: dict, models: list[str]) -> list[str]:
    """One line per arm (the default first)."""
    base = np.array([x for r in res.values() if r["default"] is not None for x in r["default"]])
    lines = []
    for k in ["default", *models]:
        v = np.array([x for r in res.values() if r[k] is not None for x in r[k]])
        worst = [min(r[k]) for r in res.values() if r[k] is not None]
        lines.append(f"{k}: merges {len(worst)} cells {len(v)} >=0.95 {int((v >= .95).sum())} mean {v.mean():.4f} "
                     f"mean worst {np.mean(worst):.4f} gained {int(((v >= .95) & (base < .95)).sum())} "
                     f"lost {int(((v < .95) & (base >= .95)).sum())} falls>.02 {int((v < base - .02).sum())} "
                     f"rises>.02 {int((v > base + .02).sum())}")
    return lines


if __name__ == "__main__":
    case_dir, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    scores = score(case_dir, names)
    Path(out).write_text(json.dumps(scores))
    print("\n".join(summary(scores, names)))

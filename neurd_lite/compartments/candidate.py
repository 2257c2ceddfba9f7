"""Which primary dendrite is the apical candidate? Per-limb evidence for the ``compartment_apical_limb`` model.

One row per dendritic limb (process leaving the soma; axon and merged second somata removed by the caller).
Most columns need no frame: the limb's share of the dendrite's cable and tips, its reach against the cell's
field and the runner-up limb, stem radius against the other stems (NaN without radius), straightness, how long
it runs as one trunk before its first major bifurcation, whether its tips sit distally (a tuft), and the
frame inference's limb score (reach x sqrt(stem radius)). Orientation is a few columns among them: the cosine
of the limb's distal direction and of its trunk to ``up``, and its height along ``up`` in units of the field.
A learned model (trained in ``classifiers/compartments/limb_fit.py``) scores each row; the best-scoring limb is
the candidate, and when it is not the limb reaching highest along ``up`` and points away from the pia, the
cell's apical axis (the direction of that limb's distal half) may replace ``up`` for the apical decision (an
inverted pyramid, or ``up`` wrong; ``label.learned_decision`` also asks the has-apical model on that axis).
Inputs nm; outputs ratios, cosines and counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .frame import limb_scores, limb_table
from .gate import TRUNK_UM, _limb_cos, _trunk_end
from .tree import Tree

DISTAL_FRACTION = 0.6  # tips beyond this share of the limb's reach count as distal (tuft-like)
SWITCH_MAX_COS = 0.0   # the candidate's axis may replace up only when its distal direction's cosine to up is below

LIMB_FEATURES = [
    "n_limbs", "cable_share", "cable_vs_best_other", "reach_ext", "reach_vs_best_other", "tip_share",
    "tips_per_100um", "stem_vs_others", "straightness", "trunk_frac", "distal_tip_frac", "limb_score_rel",
    "rank_cable", "rank_reach", "dir_cos_up", "trunk_cos_up", "height_ext", "rank_height",
]


def _rank(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the smallest (over the given values)."""
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
    r = np.empty(len(values))
    r[order] = np.arange(len(values))
    return r / max(len(values) - 1, 1)


def limb_rows(tree: Tree, up: np.ndarray, dendrite: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """(one row of :data:`LIMB_FEATURES` per dendritic limb, the limbs' start vertices) for the ``dendrite``
    vertices (bool (N,)) of a soma-rooted tree; ``up``: (3,) pia direction (any length)."""
    sk = tree.sk
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    dend = dendrite & (tree.limb_start >= 0)
    limbs = [lb for lb in limb_table(tree, dend) if lb["cable_nm"] > 0]
    if not limbs:
        return pd.DataFrame(columns=LIMB_FEATURES), np.zeros(0, dtype=np.int64)
    starts = np.array([lb["start"] for lb in limbs], dtype=np.int64)
    ls = tree.limb_start
    rel = sk.vertices - sk.vertices[sk.root]
    dist = np.linalg.norm(rel, axis=1)
    h = rel @ u
    d = sk.distance_to_root_nm
    par = sk.parent
    edge = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0) * dend
    nkids = np.array([len(c) for c in tree.children])
    tip = dend & (nkids == 0)
    sub = tree.subtree_sum(edge)
    ext = max(float(np.percentile(dist[dend], 95)), 1.0)
    k = len(limbs)
    cable = np.array([lb["cable_nm"] for lb in limbs])
    reach = np.array([lb["reach_nm"] for lb in limbs])
    stem = np.array([lb["stem_radius_nm"] for lb in limbs])
    tips = np.zeros(k)
    rows = []
    for j, s in enumerate(starts):
        m = dend & (ls == s)
        tips[j] = float(tip[m].sum())
    total_cable, total_tips = max(float(cable.sum()), 1e-9), max(float(tips.sum()), 1.0)
    score = limb_scores(limbs)
    hmax = np.array([float(h[dend & (ls == s)].max()) for s in starts])
    for j, s in enumerate(starts):
        m = dend & (ls == s)
        idx = np.flatnonzero(m)
        far = idx[np.argmax(dist[idx])]
        other = np.arange(k) != j
        cen = limbs[j]["centroid"]
        cn = float(np.linalg.norm(cen))
        ltips = idx[tip[idx]]
        so = stem[other]
        end = _trunk_end(tree, int(s), m, sub)
        rows.append({
            "n_limbs": float(k), "cable_share": cable[j] / total_cable,
            "cable_vs_best_other": cable[j] / max(float(cable[other].max()), 1e-9) if k > 1 else np.nan,
            "reach_ext": reach[j] / ext,
            "reach_vs_best_other": reach[j] / max(float(reach[other].max()), 1e-9) if k > 1 else np.nan,
            "tip_share": tips[j] / total_tips, "tips_per_100um": tips[j] / max(cable[j], 1.0) * 1e5,
            "stem_vs_others": float(stem[j] / np.nanmedian(so)) if k > 1 and np.isfinite(stem[j])
            and np.isfinite(so).any() else np.nan,
            "straightness": float(dist[far] / max(d[far] - d[s] + dist[s], 1e-9)),
            "trunk_frac": float(dist[end] / max(reach[j], 1e-9)),
            "distal_tip_frac": float(np.mean(dist[ltips] >= DISTAL_FRACTION * reach[j])) if len(ltips) else np.nan,
            "limb_score_rel": float(score[j] / max(float(score.max()), 1e-9)),
            "dir_cos_up": float(cen @ u / cn) if cn > 0 else 0.0,
            "trunk_cos_up": _limb_cos(tree, int(s), u, TRUNK_UM * 1000),
            "height_ext": hmax[j] / ext,
        })
    out = pd.DataFrame(rows, columns=LIMB_FEATURES)
    out["rank_cable"] = _rank(cable)
    out["rank_reach"] = _rank(reach)
    out["rank_height"] = _rank(hmax)
    return out, starts


def limb_axis(tree: Tree, dendrite: np.ndarray, start: int) -> np.ndarray:
    """Unit vector from the soma to the cable centroid of the distal half of the limb starting at ``start``."""
    for lb in limb_table(tree, dendrite & (tree.limb_start == start)):
        if lb["start"] == start:
            c = np.asarray(lb["centroid"], dtype=float)
            nc = float(np.linalg.norm(c))
            if nc > 0:
                return c / nc
    raise ValueError(f"limb {start} has no dendrite vertices")




@dataclass
class LimbChoice:
    """The apical candidate among the dendritic limbs: start vertices, model probabilities (one per limb), the
    chosen limb, the limb reaching highest along ``up`` and the chosen limb's axis (unit vector, nm frame)."""

    starts: np.ndarray
    p: np.ndarray
    chosen: int
    highest: int
    axis: np.ndarray
    dir_cos_up: float

    @property
    def use_axis(self) -> bool:
        """The chosen limb is not the highest and does not point toward the pia: its axis replaces ``up``."""
        return self.chosen != self.highest and self.dir_cos_up < SWITCH_MAX_COS

    def gate_extra(self) -> dict[str, float]:
        """The limb model's evidence for the has-apical gate: best probability and its margin over the next."""
        srt = np.sort(self.p)[::-1]
        return {"limb_p_top": float(srt[0]), "limb_p_margin": float(srt[0] - (srt[1] if len(srt) > 1 else 0.0))}

    def as_dict(self) -> dict[str, Any]:
        j = int(np.flatnonzero(self.starts == self.chosen)[0])
        return {"limb_start": self.chosen, "p": round(float(self.p[j]), 4), "highest_limb_start": self.highest,
                "axis": [round(float(x), 4) for x in self.axis], "axis_cos_up": round(self.dir_cos_up, 4),
                "axis_used": self.use_axis}


def choose_candidate(tree: Tree, up: np.ndarray, dendrite: np.ndarray, model: Any) -> LimbChoice | None:
    """Score every dendritic limb with ``model`` (``predict(DataFrame) -> p``, e.g. the shipped
    ``compartment_apical_limb``) and pick the best; None without dendrite."""
    rows, starts = limb_rows(tree, up, dendrite)
    if not len(starts):
        return None
    p = np.asarray(model.predict(rows), dtype=float)
    j = int(np.argmax(p))
    return LimbChoice(starts, p, int(starts[j]), int(starts[int(np.argmin(rows["rank_height"].to_numpy()))]),
                      limb_axis(tree, dendrite, int(starts[j])), float(rows["dir_cos_up"].iloc[j]))


def candidate_top(tree: Tree, up: np.ndarray, dendrite: np.ndarray, model: Any) -> int:
    """The distal end of the apical candidate among the limbs of ``dendrite`` (:func:`choose_candidate`): its
    vertex reaching farthest along the limb's own axis (frame-free); -1 without dendrite."""
    choice = choose_candidate(tree, up, dendrite, model)
    if choice is None:
        return -1
    idx = np.flatnonzero(dendrite & (tree.limb_start == choice.chosen))
    rel = tree.sk.vertices[idx] - tree.sk.vertices[tree.sk.root]
    return int(idx[int(np.argmax(rel @ choice.axis))])

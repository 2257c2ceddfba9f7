"""The axon decision's threshold, chosen in inner folds on the training cells only.

The axon is the subtree maximising sum((p_axon - threshold) x cable) (``compartments.learned.axon_subtree``).
A vertex model meeting a source it never saw is less sure of the axon (session 7: held out with its whole
repository, the cajal cells' axons score p 0.1-0.35 on average while their dendrites stay near 0), so at 0.5
whole axons are lost although they still rank far above the dendrites. The threshold is picked from
``THRESHOLDS`` by the mean axon F1 of two inner validations on the training cases (3 folds by cell, and each
training source held out in turn, ``gate_fit.inner_folds`` / ``source_groups``); the held-out fold never
takes part.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from gate_fit import inner_folds, source_groups

from neurd_lite.compartments.learned import axon_subtree

THRESHOLDS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)
LEVELS: list[float] = list(THRESHOLDS)  # the menu choose_threshold picks from (train.py --axon-levels; session 19)


def case_f1s(c: Any, p_axon: np.ndarray, thresholds: tuple[float, ...] | None = None) -> list[float]:
    """Axon F1 of one case (scored vertices) at each threshold (default ``LEVELS``)."""
    t = c.prep.tree
    body = t.in_root_tree & ~t.soma
    truth = c.axon & c.scored
    out = []
    for th in LEVELS if thresholds is None else thresholds:
        pred = axon_subtree(t, p_axon, body, th)[0] & c.scored
        denom = pred.sum() + truth.sum()
        out.append(1.0 if denom == 0 else 2.0 * float((pred & truth).sum()) / float(denom))
    return out


def predict_axon(model: Any, c: Any) -> np.ndarray:
    """(N,) p_axon of one case's root-tree vertices (0 elsewhere)."""
    t = c.prep.tree
    body = t.in_root_tree & ~t.soma
    p = np.zeros(t.n)
    p[body] = model.predict(c.prep.features[body][model.feature_name()].to_numpy(dtype=float), num_threads=1)
    return p


def choose_threshold(cases: list[Any], fit: Callable, train_modes: set[str]) -> tuple[float, dict[str, list]]:
    """(threshold, inner scores) for an axon model trained on ``cases``; ``fit(cases, "axon")`` trains one."""
    use = [c for c in cases if c.mode in train_modes]
    per_split = []
    for split in (inner_folds(use), source_groups(use)):
        rows = []
        for held in split:
            model, _ = fit([c for c in use if c.cell not in held], "axon")
            rows += [case_f1s(c, predict_axon(model, c)) for c in use
                     if c.cell in held and c.axon is not None and (c.axon & c.scored).any()]
        per_split.append(np.mean(rows, axis=0))
    score = np.mean(per_split, axis=0)
    best = LEVELS[int(np.argmax(score))]
    return best, {"by_cell": [round(float(v), 4) for v in per_split[0]],
                  "by_source": [round(float(v), 4) for v in per_split[1]], "thresholds": list(LEVELS)}

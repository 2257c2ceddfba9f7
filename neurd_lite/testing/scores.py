"""Scores of pipeline output against synthetic truth: soma, spines, synapse targets, compartments, merges.

Every function takes plain arrays (per face, per synapse or per skeleton vertex, in the same order as the
truth); :func:`score_neuron` applies them all to a decomposed Neuron and the SyntheticNeuron it came from.
F1 is 2PR / (P + R), 0 when both P and R are 0; a class absent from both truth and prediction is left out of
macro averages.
"""
from __future__ import annotations

from typing import Any

import numpy as np

SYNAPSE_TARGETS = ("soma", "spine_head", "spine_neck", "shaft", "axon")
COMPARTMENTS = ("soma", "axon", "basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")


def prf(pred: np.ndarray, true: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float, float]:
    """(precision, recall, F1) of boolean predictions against boolean truth (weighted, e.g. by face area)."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    w = np.ones(len(pred)) if weights is None else np.asarray(weights, float)
    tp = float(w[pred & true].sum())
    p = tp / max(float(w[pred].sum()), 1e-12) if pred.any() else 0.0
    r = tp / max(float(w[true].sum()), 1e-12) if true.any() else 0.0
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def mask_f1(pred: np.ndarray, true: np.ndarray) -> float:
    """F1 of a boolean mask (per skeleton vertex or face) against a boolean truth, 1.0 when both are empty
    (nothing to find and nothing found: the convention of the compartment evaluations)."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    denom = float(pred.sum() + true.sum())
    return 1.0 if denom == 0 else 2 * float(np.sum(pred & true)) / denom


def _mask(faces_or_mask: np.ndarray, n: int) -> np.ndarray:
    a = np.asarray(faces_or_mask)
    if a.dtype == bool and len(a) == n:
        return a
    m = np.zeros(n, bool)
    m[a.astype(np.int64)] = True
    return m


def soma_face_f1(pred_soma_faces: np.ndarray, sn: Any, area_weighted: bool = False) -> float:
    """F1 of predicted soma faces (indices or a per-face mask) against the true soma faces of every cell."""
    n = len(sn.face_labels)
    w = face_areas(sn) if area_weighted else None
    return prf(_mask(pred_soma_faces, n), sn.face_labels.astype(str) == "soma", w)[2]


def soma_synapse_f1(pred_targets: np.ndarray, true_targets: np.ndarray) -> float:
    """F1 of the ``soma`` class among synapse targets (rows in the same order)."""
    pt, tt = np.asarray(pred_targets).astype(str), np.asarray(true_targets).astype(str)
    return prf(pt == "soma", tt == "soma")[2]


def spine_face_f1(pred_face_spine: np.ndarray, true_face_spine: np.ndarray, weights: np.ndarray | None = None
                  ) -> float:
    """F1 of 'face is on a spine' (spine id >= 0) per face."""
    return prf(np.asarray(pred_face_spine) >= 0, np.asarray(true_face_spine) >= 0, weights)[2]


def instance_scores(pred: np.ndarray, true: np.ndarray, weights: np.ndarray | None = None
                    ) -> tuple[float, float]:
    """Spine instance (precision, recall) from per-face instance ids (-1 = none): a detected spine matches a
    true one when they share more than half of each other's faces (area-weighted when ``weights``, e.g. face
    areas in nm², is given)."""
    tp, n_pred, n_true = _instance_matches(pred, true, weights)
    return tp / max(n_pred, 1), tp / max(n_true, 1)


def _instance_matches(pred: np.ndarray, true: np.ndarray, weights: np.ndarray | None) -> tuple[int, int, int]:
    pred, true = np.asarray(pred, dtype=np.int64), np.asarray(true, dtype=np.int64)
    w = np.ones(len(pred)) if weights is None else np.asarray(weights, dtype=float)
    both = (pred >= 0) & (true >= 0)
    tp = 0
    if both.any():
        pairs, inv = np.unique(np.column_stack([pred[both], true[both]]), axis=0, return_inverse=True)
        inter = np.bincount(inv.reshape(-1), weights=w[both], minlength=len(pairs))
        psize = np.bincount(pred[pred >= 0], weights=w[pred >= 0])
        tsize = np.bincount(true[true >= 0], weights=w[true >= 0])
        tp = int(np.count_nonzero((inter > 0.5 * psize[pairs[:, 0]]) & (inter > 0.5 * tsize[pairs[:, 1]])))
    return tp, len(np.unique(pred[pred >= 0])), len(np.unique(true[true >= 0]))


def false_spines_per_100um(pred_face_spine: np.ndarray, true_face_spine: np.ndarray, dendrite_cable_um: float,
                           weights: np.ndarray | None = None) -> float:
    """Predicted spines that match no true spine (see :func:`instance_scores`) per 100 µm of dendrite."""
    tp, n_pred, _ = _instance_matches(pred_face_spine, true_face_spine, weights)
    return 100.0 * (n_pred - tp) / max(dendrite_cable_um, 1e-9)


def class_f1(pred: np.ndarray, true: np.ndarray, classes: tuple[str, ...] | None = None,
             weights: np.ndarray | None = None) -> dict[str, float]:
    """Per-class F1 and their ``macro`` mean over the classes present in truth or prediction.

    classes: the classes to score (default: every label seen); rows whose truth is outside them still count
    as false positives of the predicted class.
    """
    p, t = np.asarray(pred).astype(str), np.asarray(true).astype(str)
    seen = classes or tuple(sorted(set(t) | set(p)))
    out = {c: prf(p == c, t == c, weights)[2] for c in seen if (p == c).any() or (t == c).any()}
    out["macro"] = float(np.mean(list(out.values()))) if out else 0.0
    return out


def synapse_target_f1(pred_targets: np.ndarray, true_targets: np.ndarray) -> dict[str, float]:
    """Per-class and macro F1 of synapse targets over ``SYNAPSE_TARGETS`` (truth ``unknown`` rows, far
    synapses, are left out)."""
    t = np.asarray(true_targets).astype(str)
    keep = t != "unknown"
    return class_f1(np.asarray(pred_targets).astype(str)[keep], t[keep], SYNAPSE_TARGETS)


def compartment_f1(pred: np.ndarray, true: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """Per-compartment and macro F1 over ``COMPARTMENTS``, per face or per skeleton vertex (``unknown`` truth,
    debris, left out; spine faces should be given their dendrite's compartment, as ``face_compartment`` is)."""
    t = np.asarray(true).astype(str)
    keep = t != "unknown"
    w = None if weights is None else np.asarray(weights)[keep]
    return class_f1(np.asarray(pred).astype(str)[keep], t[keep], COMPARTMENTS, w)


def merge_accuracy(pred_face_cell: np.ndarray, true_face_cell: np.ndarray, weights: np.ndarray | None = None
                   ) -> dict[str, Any]:
    """How well predicted cell ids split a merge: each true cell is matched to one predicted id (Hungarian, by
    shared faces); ``accuracy`` is the share of (non-debris) faces whose predicted id is their cell's match,
    ``per_cell`` the same per true cell (faces of a cell given to no or another id count as wrong).
    Predicted ids < 0 mean 'no cell'."""
    from scipy.optimize import linear_sum_assignment

    p, t = np.asarray(pred_face_cell, np.int64), np.asarray(true_face_cell, np.int64)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, float)
    keep = t >= 0
    p, t, w = p[keep], t[keep], w[keep]
    tc, pc = np.unique(t), np.unique(p[p >= 0])
    overlap = np.zeros((len(tc), len(pc)))
    for i, c in enumerate(tc):
        mine = (t == c) & (p >= 0)
        np.add.at(overlap[i], np.searchsorted(pc, p[mine]), w[mine])
    rows, cols = linear_sum_assignment(-overlap) if len(pc) else (np.zeros(0, int), np.zeros(0, int))
    match = {int(tc[r]): int(pc[c]) for r, c in zip(rows, cols)}
    ok = np.array([match.get(int(a), -10) == b for a, b in zip(t, p)]) if len(t) else np.zeros(0, bool)
    per = {int(c): float(w[(t == c) & ok].sum() / max(w[t == c].sum(), 1e-12)) for c in tc}
    return {"accuracy": float(w[ok].sum() / max(w.sum(), 1e-12)), "per_cell": per, "match": match,
            "n_pred_cells": int(len(pc))}


def face_areas(sn: Any, faces: np.ndarray | None = None) -> np.ndarray:
    """Face areas of ``sn.mesh`` (nm²): all faces, or the given face indices."""
    f = np.asarray(sn.mesh.faces)
    tri = np.asarray(sn.mesh.vertices)[f if faces is None else f[faces]]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def score_neuron(n: Any, sn: Any) -> dict[str, Any]:
    """Every score of a decomposed Neuron ``n`` against its SyntheticNeuron ``sn`` (same faces, same synapse
    order): soma found / centre error / face F1 / soma-synapse F1, spine face F1 and instance P/R, false spines
    per 100 µm, synapse-target F1 per class and macro, compartment face F1 per class and macro.
    Single cells: on a merge the soma centre is compared with cell 0 only (use :func:`merge_accuracy` there)."""
    out: dict[str, Any] = {"n_faces": int(len(sn.face_labels)), "class": sn.truth.get("class", sn.kind)}
    soma_faces = np.concatenate([np.asarray(s.faces, np.int64) for s in n.somas if s.faces is not None]) \
        if n.somas else np.zeros(0, np.int64)
    out["n_somas"] = len(n.somas)
    true_c = np.asarray(sn.truth["soma_center_nm"], float)
    if n.somas:
        d = min(float(np.linalg.norm(np.asarray(s.center_nm) - true_c)) for s in n.somas)
        out["soma_center_error_um"] = d / 1000.0
        out["soma_found"] = d <= sn.truth["soma_radius_nm"]
    else:
        out["soma_center_error_um"], out["soma_found"] = float("nan"), False
    out["soma_face_f1"] = soma_face_f1(soma_faces, sn)
    tt = sn.synapses["target"].to_numpy().astype(str)
    if n.synapses is not None and "target" in n.synapses and len(n.synapses) == len(tt):
        pt = n.synapses["target"].to_numpy().astype(str)
        out["soma_synapse_f1"] = soma_synapse_f1(pt[tt != "unknown"], tt[tt != "unknown"])
        out["synapse_target_f1"] = synapse_target_f1(pt, tt)
    if n.face_spine is not None:
        out["spine_face_f1"] = spine_face_f1(n.face_spine, sn.face_spine)
        out["spine_precision"], out["spine_recall"] = instance_scores(n.face_spine, sn.face_spine)
        cable = sn.truth["cable_length_nm"]
        dend_um = sum(v for k, v in cable.items() if k not in ("axon", "soma", "total")) / 1000.0
        out["false_spines_per_100um"] = false_spines_per_100um(n.face_spine, sn.face_spine, dend_um)
    if n.face_compartment is not None:
        out["compartment_f1"] = compartment_f1(n.face_compartment, sn.face_compartment)
    return out

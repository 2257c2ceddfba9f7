"""Probability calibration stored as plain JSON parameters (temperature scaling) and its scores.

A model's raw class probabilities ``p`` become ``softmax(log(p) / T)``; for two classes this is Platt scaling of
the log-odds with slope ``1/T`` and no offset. ``T`` is fitted on out-of-fold predictions by minimising the
log-loss. The stored form is ``{"method": "temperature", "temperature": T}``; ``{"method": "none"}`` is identity.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-9


def _as_matrix(proba: np.ndarray) -> np.ndarray:
    """(n,) binary P(class 1) or (n, k) probabilities -> (n, k) with k >= 2."""
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = np.c_[1.0 - p, p]
    return p


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities by a temperature (T > 1 softens, T < 1 sharpens); rows sum to 1."""
    p = _as_matrix(proba)
    logits = np.log(np.clip(p, _EPS, 1.0)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of integer labels ``y``."""
    p = _as_matrix(proba)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], _EPS, 1.0))))


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Temperature minimising log-loss on (out-of-fold) probabilities; golden-section search on log T."""
    y = np.asarray(y, dtype=int)
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = log_loss(apply_temperature(proba, np.exp(a)), y), log_loss(apply_temperature(proba, np.exp(b)), y)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = log_loss(apply_temperature(proba, np.exp(a)), y)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = log_loss(apply_temperature(proba, np.exp(b)), y)
    return {"method": "temperature", "temperature": float(np.exp((lo + hi) / 2))}


def calibrate(proba: np.ndarray, params: dict[str, Any] | None) -> np.ndarray:
    """Apply stored calibration parameters to raw probabilities -> (n, k) matrix."""
    if not params or params.get("method") == "none":
        return _as_matrix(proba)
    if params.get("method") == "temperature":
        return apply_temperature(proba, params["temperature"])
    raise ValueError(f"unknown calibration method {params.get('method')!r}")


def brier(proba: np.ndarray, y: np.ndarray) -> float:
    """Multiclass Brier score: mean over rows of the squared distance to the one-hot label (0 best, 2 worst)."""
    p = _as_matrix(proba)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), np.asarray(y, dtype=int)] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE of the top-class confidence over equal-width bins."""
    p = _as_matrix(proba)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    correct = (pred == np.asarray(y)).astype(float)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def reliability_curve(proba: np.ndarray, y: np.ndarray, n_bins: int = 10) -> dict[str, list[float]]:
    """Per-bin mean confidence, accuracy and count of the top class (for a reliability plot)."""
    p = _as_matrix(proba)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    correct = (pred == np.asarray(y)).astype(float)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    out: dict[str, list[float]] = {"confidence": [], "accuracy": [], "count": []}
    for b in range(n_bins):
        m = bins == b
        if m.any():
            out["confidence"].append(float(conf[m].mean()))
            out["accuracy"].append(float(correct[m].mean()))
            out["count"].append(float(m.sum()))
    return out

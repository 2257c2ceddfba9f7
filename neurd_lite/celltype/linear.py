"""A multinomial logistic regression stored as plain JSON (imputation medians, scaling, coefficients).

Blended with the LightGBM model as ``(1 - w) * P_lgbm + w * P_linear``; ``w`` is chosen by inner CV.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def fit_linear(x: pd.DataFrame | np.ndarray, y: np.ndarray, c: float = 1.0) -> dict[str, Any]:
    """Median-impute, standardize, class-balanced L2 logistic regression; returns JSON-ready parameters."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    med = np.nanmedian(x, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    xi = np.where(np.isfinite(x), x, med)
    mean, scale = xi.mean(axis=0), xi.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(max_iter=5000, class_weight="balanced", C=c)
    model.fit((xi - mean) / scale, y)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: two-class softmax form
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    return {"medians": med.tolist(), "means": mean.tolist(), "scales": scale.tolist(), "coef": coef.tolist(),
            "intercept": np.asarray(intercept).tolist(), "classes": [int(v) for v in model.classes_], "C": c}


def linear_proba(params: dict[str, Any], x: pd.DataFrame | np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) probabilities; classes absent from training get probability 0."""
    x = np.asarray(x, dtype=float)
    med = np.asarray(params["medians"])
    z = (np.where(np.isfinite(x), x, med) - np.asarray(params["means"])) / np.asarray(params["scales"])
    logits = z @ np.asarray(params["coef"]).T + np.asarray(params["intercept"])
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    out = np.zeros((len(x), n_classes))
    out[:, params["classes"]] = e / e.sum(axis=1, keepdims=True)
    return out

"""A multinomial logistic regression stored as plain JSON (imputation medians, scaling, coefficients).

Blended with the LightGBM model as ``(1 - w) * P_lgbm + w * P_linear``; ``w`` is chosen by inner CV.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _standardized(x: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(standardized inputs, column medians used for NaN, means, scales): median imputation (0 for an all-NaN
    column), then zero mean and unit scale (a constant column keeps scale 1)."""
    x = np.asarray(x, dtype=float)
    med = np.nanmedian(x, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    xi = np.where(np.isfinite(x), x, med)
    mean, scale = xi.mean(axis=0), xi.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (xi - mean) / scale, med, mean, scale


def fit_linear(x: pd.DataFrame | np.ndarray, y: np.ndarray, c: float = 1.0) -> dict[str, Any]:
    """Median-impute, standardize, class-balanced L2 logistic regression; returns JSON-ready parameters."""
    from sklearn.linear_model import LogisticRegression

    z, med, mean, scale = _standardized(x)
    model = LogisticRegression(max_iter=5000, class_weight="balanced", C=c)
    model.fit(z, y)
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


def fit_signed_logistic(x: pd.DataFrame | np.ndarray, y: np.ndarray, signs: list[int] | np.ndarray,
                        c: float = 1.0, offset: np.ndarray | None = None,
                        sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    """Binary class-balanced L2 logistic regression whose coefficients obey ``signs`` (+1: P(class 1) can only
    rise with the feature, -1: only fall, 0: free), on median-imputed standardized inputs.

    Objective: ``c * sum_i w_i logloss_i + ||beta||² / 2`` (sklearn's ``C`` convention, weights mean 1, intercept
    not penalised), solved by L-BFGS-B with sign bounds. Returns parameters in :func:`fit_linear`'s format (read by
    :func:`linear_proba`) plus ``signs``.

    ``offset`` (per-row log-odds, e.g. a fixed rule's): the model is ``offset + z @ beta + b0`` and the intercept is
    penalised too, so a strong penalty (small ``c``) gives back the offset model itself. The returned parameters
    then hold only the correction (``beta``, ``b0``); the caller adds the offset back (see ``anchored_params``).
    ``sample_weight`` (per row, default 1): rows count with these weights; the classes are balanced on the weighted
    sums (e.g. 50 truncated replicates of one cell with weight 1/50 each count as one cell).
    """
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=float)
    z, med, mean, scale = _standardized(x)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    n1 = max(float(sw @ y), 1e-12)
    n0 = max(float(sw.sum()) - n1, 1e-12)
    w = sw * np.where(y == 1, sw.sum() / (2 * n1), sw.sum() / (2 * n0))

    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    pen_b0 = 0.0 if offset is None else 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, b0 = theta[:-1], theta[-1]
        t = off + z @ beta + b0
        # log(1 + e^t) - y t, stable
        ll = np.logaddexp(0.0, t) - y * t
        p = 1.0 / (1.0 + np.exp(-t))
        g = w * (p - y)
        f = c * float(np.sum(w * ll)) + 0.5 * float(beta @ beta) + 0.5 * pen_b0 * b0 * b0
        grad = np.r_[c * (z.T @ g) + beta, c * g.sum() + pen_b0 * b0]
        return f, grad

    s = np.asarray(signs, dtype=int)
    bounds = [(0.0, None) if v > 0 else (None, 0.0) if v < 0 else (None, None) for v in s] + [(None, None)]
    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 5000})
    beta, b0 = res.x[:-1], float(res.x[-1])
    return {"medians": med.tolist(), "means": mean.tolist(), "scales": scale.tolist(),
            "coef": [[0.0] * len(beta), beta.tolist()], "intercept": [0.0, b0], "classes": [0, 1], "C": float(c),
            "signs": s.tolist()}


def raw_coefficients(params: dict[str, Any]) -> tuple[np.ndarray, float]:
    """Binary model's log-odds of class 1 as ``coef @ x + intercept`` in the original (unstandardized) units."""
    coef = np.asarray(params["coef"])[1] - np.asarray(params["coef"])[0]
    b0 = float(params["intercept"][1] - params["intercept"][0])
    raw = coef / np.asarray(params["scales"])
    return raw, b0 - float(raw @ np.asarray(params["means"]))


def anchored_params(correction: dict[str, Any], anchor_coef: np.ndarray | list[float],
                    anchor_intercept: float) -> dict[str, Any]:
    """A binary model ``anchor_coef @ x + anchor_intercept + correction`` (x in original units, same columns as
    the correction was fitted on; anchor coefficient 0 for columns the anchor does not use) in
    :func:`linear_proba`'s format, i.e. shippable as plain JSON. ``correction`` comes from
    :func:`fit_signed_logistic` with ``offset`` = the anchor's log-odds."""
    a = np.asarray(anchor_coef, dtype=float)
    scales, means = np.asarray(correction["scales"]), np.asarray(correction["means"])
    beta = np.asarray(correction["coef"])[1] + a * scales  # anchor in standardized units
    b0 = float(correction["intercept"][1]) + anchor_intercept + float(a @ means)
    return dict(correction, coef=[[0.0] * len(beta), beta.tolist()], intercept=[0.0, b0],
                anchor={"coef": a.tolist(), "intercept": float(anchor_intercept),
                        "correction_coef": list(np.asarray(correction["coef"])[1]),
                        "correction_intercept": float(correction["intercept"][1])})


def params_from_raw(coef: np.ndarray | list[float], intercept: float, x: pd.DataFrame | np.ndarray
                    ) -> dict[str, Any]:
    """A binary model with log-odds ``coef @ x + intercept`` (original units) in :func:`linear_proba`'s format,
    with imputation medians and scaling taken from the rows ``x`` (columns in ``coef`` order)."""
    _, med, mean, scale = _standardized(x)
    raw = np.asarray(coef, dtype=float)
    beta = raw * scale
    return {"medians": med.tolist(), "means": mean.tolist(), "scales": scale.tolist(),
            "coef": [[0.0] * len(beta), beta.tolist()], "intercept": [0.0, float(intercept + raw @ mean)],
            "classes": [0, 1]}


def log_probability_inputs(probs: list[np.ndarray] | tuple[np.ndarray, ...], floor: float = 1e-4) -> np.ndarray:
    """Inputs of a stacking meta-model: the log of each component's (n, k) class probabilities, clipped at
    ``floor`` (a component's 0 would give -inf), side by side ((n, k * len(probs)))."""
    return np.hstack([np.log(np.clip(np.asarray(p, dtype=float), floor, 1.0)) for p in probs])

"""Scores of detected spines against the synthetic truth."""
from __future__ import annotations

import numpy as np


def instance_scores(pred: np.ndarray, true: np.ndarray, weights: np.ndarray | None = None
                    ) -> tuple[float, float]:
    """Spine instance (precision, recall) from per-face instance ids (-1 = none): a detected spine matches a
    true one when they share more than half of each other's faces (area-weighted when ``weights``, e.g. face
    areas in nm², is given)."""
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
    n_pred, n_true = len(np.unique(pred[pred >= 0])), len(np.unique(true[true >= 0]))
    return tp / max(n_pred, 1), tp / max(n_true, 1)

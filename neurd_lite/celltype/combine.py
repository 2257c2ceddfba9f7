"""Decision rules that join model outputs; used identically in training evaluation and at prediction time.

- ``hierarchical``: subclass probabilities made consistent with a dedicated E/I model,
  ``P(s) = P_EI(group(s)) * P_sub(s) / sum_{s' in group(s)} P_sub(s')``.
- ``restrict_to_side``: subclass probabilities restricted to the side (E or I) already decided, renormalised.
- ``combine_ei``: perisomatic and dendritic E/I joined as the renormalised product of their calibrated
  probabilities (a naive-Bayes sum of log-odds; it assumes the two views err independently).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_EPS = 1e-12


def hierarchical(p_inhibitory: np.ndarray, p_sub: np.ndarray, classes: Sequence[str],
                 inhibitory: set[str] | frozenset[str]) -> np.ndarray:
    """(n, k) subclass probabilities whose E/I marginals equal ``p_inhibitory`` (n,)."""
    p_sub = np.asarray(p_sub, dtype=float)
    p_i = np.asarray(p_inhibitory, dtype=float).reshape(-1, 1)
    is_i = np.array([c in inhibitory for c in classes])
    out = np.zeros_like(p_sub)
    for mask, weight in ((is_i, p_i), (~is_i, 1.0 - p_i)):
        block = p_sub[:, mask]
        total = block.sum(axis=1, keepdims=True)
        share = np.where(total > _EPS, block / np.maximum(total, _EPS), 1.0 / max(mask.sum(), 1))
        out[:, mask] = share * weight
    return out


def restrict_to_side(p_sub: np.ndarray, inhibitory_call: np.ndarray, is_i: np.ndarray) -> np.ndarray:
    """(n, k) subclass probabilities restricted to the classes of each row's E/I call (``inhibitory_call`` (n,)
    bool; ``is_i`` (k,) bool per class) and renormalised; uniform over that side when it holds no mass."""
    keep = np.where(np.asarray(inhibitory_call)[:, None], is_i[None, :], ~is_i[None, :])
    out = np.where(keep, p_sub, 0.0)
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > _EPS, out / np.maximum(total, _EPS), keep / keep.sum(axis=1, keepdims=True))


def combine_ei(p_inhibitory_a: np.ndarray, p_inhibitory_b: np.ndarray) -> np.ndarray:
    """P(inhibitory) from two calibrated views: product of probabilities, renormalised over E and I."""
    a = np.clip(np.asarray(p_inhibitory_a, dtype=float), _EPS, 1 - _EPS)
    b = np.clip(np.asarray(p_inhibitory_b, dtype=float), _EPS, 1 - _EPS)
    inh, exc = a * b, (1 - a) * (1 - b)
    return inh / (inh + exc)

"""Training of the apical-limb model (``compartment_apical_limb``) and the apical frame of training cells (session 7).

- Rows: one per dendritic limb (``neurd_lite.compartments.candidate.limb_rows``) of every training case that has
  an apical, on the dendrite without the labelled axon, in the case's own ``up`` (given or inferred). Target: the
  limb holding the most labelled apical cable. Each case weighs 1 in total, each cell 1 over its input modes.
  No monotone constraint: orientation is one input among the frame-free ones, and an inverted pyramid's apical
  points away from the pia.
- Apical frame of a training case (``apical_frame``): when its main labelled apical limb is not the limb reaching
  highest along ``up`` and points away from the pia (the package's switch, ``LimbChoice.use_axis``, with the
  label in place of the model), its apical vertex rows and gate row are computed with that limb's axis as ``up``,
  as the package computes them at prediction time.
- ``oof_limb_extra``: the gate's limb-model inputs of each training case, each predicted by a limb model fitted
  without that cell (inner folds by cell), so the gate never trains on in-sample limb probabilities.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from neurd_lite.compartments.candidate import LIMB_FEATURES, SWITCH_MAX_COS, LimbChoice, limb_axis, limb_rows
from neurd_lite.compartments.label import CompartmentParams, other_somas, reframe
from neurd_lite.compartments.learned import VertexModel, edge_um

LIMB_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 10,
               "feature_fraction": 0.8, "lambda_l2": 1.0, "num_threads": 1, "deterministic": True,
               "force_row_wise": True, "seed": 0, "verbose": -1}
LIMB_ROUNDS = 200
_ROWS: dict[int, tuple[pd.DataFrame, np.ndarray, np.ndarray]] = {}  # id(case) -> (rows, starts, y)


def _dendrite(c: Any, axon: np.ndarray) -> np.ndarray:
    t = c.prep.tree
    return t.in_root_tree & ~t.soma & ~axon & ~other_somas(c.n, t)


def case_limbs(c: Any, axon: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(limb rows, start vertices, 1.0 for the limb with the most labelled apical cable) of a case in its own
    ``up``, on the dendrite without ``axon`` (cached per case)."""
    key = id(c)
    if key not in _ROWS:
        t = c.prep.tree
        dend = _dendrite(c, axon)
        rows, starts = limb_rows(t, c.prep.up, dend)
        y = np.zeros(len(starts))
        if c.apical is not None and c.apical.any() and len(starts):
            e = edge_um(t)
            cab = np.array([e[c.apical & dend & (t.limb_start == s)].sum() for s in starts])
            if cab.max() > 0:
                y[int(np.argmax(cab))] = 1.0
        _ROWS[key] = (rows, starts, y)
    return _ROWS[key]


def fit_limb(cases: list[Any], true_axon: Any) -> tuple[Any, int]:
    """(LightGBM limb model, number of limb rows) on the pyramidal training cases (``true_axon(case)`` -> bool
    mask of the labelled axon)."""
    import lightgbm as lgb

    xs, ys, ws, cells = [], [], [], []
    for c in cases:
        rows, _, y = case_limbs(c, true_axon(c))
        if not y.any():
            continue
        xs.append(rows[LIMB_FEATURES].to_numpy(dtype=float))
        ys.append(y)
        ws.append(np.full(len(y), 1.0 / len(y)))  # each case weighs 1
        cells.append(c.cell)
    n_modes = pd.Series(cells).value_counts()  # each cell weighs 1 over its input modes
    w = np.concatenate([wc / n_modes[cell] for wc, cell in zip(ws, cells)])
    ds = lgb.Dataset(np.vstack(xs), np.concatenate(ys), weight=w * len(w) / w.sum(), feature_name=list(LIMB_FEATURES),
                     free_raw_data=True)
    return lgb.train(LIMB_PARAMS, ds, num_boost_round=LIMB_ROUNDS), len(w)


def wrap(booster: Any) -> VertexModel:
    """A raw booster as the package's model (``predict(DataFrame)``, columns by the booster's feature names)."""
    return VertexModel("fold", booster, {"features": list(booster.feature_name()),
                                         "decision": {"axon_veto": getattr(booster, "axon_veto", None)}})


def oof_limb_extra(cases: list[Any], folds: list[set[str]], true_axon: Any) -> dict[int, dict[str, float]]:
    """id(case) -> the gate's limb inputs (``limb_p_top``, ``limb_p_margin``), out of fold over ``folds``."""
    out: dict[int, dict[str, float]] = {}
    for held in folds:
        model, _ = fit_limb([c for c in cases if c.cell not in held], true_axon)
        for c in cases:
            if c.cell not in held:
                continue
            rows, starts, _ = case_limbs(c, true_axon(c))
            if not len(starts):
                continue
            p = model.predict(rows[LIMB_FEATURES].to_numpy(dtype=float), num_threads=1)
            out[id(c)] = LimbChoice(starts, p, 0, 0, np.zeros(3), 1.0).gate_extra()
    return out


def apical_frame(c: Any, true_axon: Any) -> Any:
    """The case's preparation in its apical frame (see the module docstring), or its own when unchanged."""
    rows, starts, y = case_limbs(c, true_axon(c))
    if not y.any():
        return c.prep
    j = int(np.argmax(y))
    if float(rows["rank_height"].iloc[j]) == 0.0 or float(rows["dir_cos_up"].iloc[j]) >= SWITCH_MAX_COS:
        return c.prep
    axis = limb_axis(c.prep.tree, _dendrite(c, true_axon(c)), int(starts[j]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reframe(c.n, c.prep, CompartmentParams(), axis)

"""Shipped models: LightGBM text file + JSON sidecar (or a JSON-only logistic model), loaded without pickle.

``load_model(name)`` is the one loader for every shipped model (cell types, and the synapse-target model of
``spines/target_model.py``: ``load_model("synapse_target").booster`` / ``.meta``).

Probabilities: ``(1 - w) * P_lightgbm + w * P_logistic`` (the logistic component's parameters and ``w`` are plain
numbers in the sidecar under ``"linear"``), or, when the sidecar has ``"stack"``, a multinomial logistic
meta-model (plain numbers under ``"stack"``) applied to ``[log P_lightgbm, log P_logistic]`` (each clipped at
``stack["floor"]``); then temperature calibration (``"calibration"``). A sidecar with
``"kind": "logistic"`` has no ``.txt``: its probabilities are the logistic component alone (``w = 1``).

``neurd_lite/models`` is a symlink to ``classifiers/models`` so the files ship inside the wheel. Each model
``NAME`` is ``NAME.txt`` (``lightgbm.Booster.save_model``), ``NAME.json`` (features, classes, calibration,
metrics, data checksums, versions) and ``NAME.md`` (model card, repository only).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model.shipped import MODELS_DIR
from .calibration import calibrate
from .columns import DEPTH_HINGES, dendritic_derived, depth_hinges, derived
from .layers import LAYER_FEATURES, layer_features
from .linear import linear_proba, log_probability_inputs


def unit_of(feature: str) -> str:
    """Unit implied by a feature name's suffix (``_um3`` -> µm³ ...); ``"1"`` for counts and ratios."""
    for suffix, unit in (("_per_um2", "1/µm²"), ("_per_um", "1/µm"), ("_um3", "µm³"), ("_um2", "µm²"),
                         ("_um", "µm"), ("_nm", "nm")):
        if feature.endswith(suffix):
            return unit
    return "1"


@dataclass
class ShippedModel:
    """One loaded model: the booster, its sidecar metadata and a calibrated ``predict_proba``."""

    name: str
    booster: Any
    meta: dict[str, Any] = field(repr=False)

    @property
    def kind(self) -> str:
        """``"lightgbm"`` (booster + optional logistic blend) or ``"logistic"`` (JSON coefficients only)."""
        return str(self.meta.get("kind", "lightgbm"))

    @property
    def features(self) -> list[str]:
        return feature_names(self.meta)

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def required(self) -> list[str]:
        """Input (engine-named) features that must be present; the rest are derived from them."""
        return list(self.meta["required_features"])

    def design(self, feats: pd.DataFrame, names: list[str] | None = None) -> pd.DataFrame:
        """Model input matrix (columns ``names``, default the model's features, in training order) from an
        engine-named frame; derives ratios and the depth basis (``columns.depth_hinges``) when asked for."""
        names = self.features if names is None else list(names)
        base = feats.reindex(columns=["soma_volume_um3", "soma_area_um2", "nucleus_volume_um3", "nucleus_area_um2",
                                      "soma_n_synapses"])
        d = pd.concat([derived(base.astype(float)), dendritic_derived(feats)], axis=1)
        full = pd.concat([feats, d.drop(columns=[c for c in d.columns if c in feats.columns])], axis=1)
        if set(LAYER_FEATURES) & set(names) and not set(LAYER_FEATURES) <= set(full.columns):
            full = pd.concat([full, layer_features(full).drop(columns=[c for c in LAYER_FEATURES if c in full])],
                             axis=1)
        if set(DEPTH_HINGES) & set(names) and "cortical_depth_um" in full.columns:
            full = pd.concat([full.drop(columns=[c for c in DEPTH_HINGES if c in full]),
                              depth_hinges(full["cortical_depth_um"])], axis=1)
        missing = [f for f in names if f not in full.columns]
        for f in missing:
            full[f] = np.nan
        return full[names].astype(float)

    def _outside(self, feats: pd.DataFrame, key: str) -> list[dict[str, float]]:
        """Per row, ``{feature: value}`` of the inputs outside the sidecar's ``key`` bounds (NaN ignored)."""
        bounds = self.meta.get(key, {})
        x = self.design(feats)
        out: list[dict[str, float]] = [{} for _ in range(len(x))]
        for f in bounds:  # model inputs, or raw inputs they are derived from
            if f not in x.columns and f not in feats.columns:
                continue
            lo, hi = bounds[f]
            v = (x[f] if f in x.columns else feats[f]).to_numpy(dtype=float)
            for r in np.flatnonzero((v < lo) | (v > hi)):
                out[r][f] = float(v[r])
        return out

    def out_of_range(self, feats: pd.DataFrame) -> list[list[str]]:
        """Per row, the model inputs outside the training 0.5-99.5% range (``feature_ranges``; NaN ignored)."""
        return [list(row) for row in self._outside(feats, "feature_ranges")]

    def far_out_of_range(self, feats: pd.DataFrame) -> list[dict[str, float]]:
        """Per row, the inputs outside the full training extent [min, max] (``feature_extent``), as
        ``{feature: value}``. No training cell had such a value, so the model's answer there is a guess."""
        return self._outside(feats, "feature_extent")

    def predict_proba(self, feats: pd.DataFrame, calibrated: bool = True) -> np.ndarray:
        """(n, k) class probabilities in ``self.classes`` order (calibrated by the stored parameters)."""
        x = self.design(feats)
        linear = self.meta.get("linear")
        # the logistic component may have inputs of its own (``linear["features"]``, e.g. the depth basis)
        x_lin = self.design(feats, linear["features"]) if linear and linear.get("features") else x
        if self.booster is None:
            raw = linear_proba(linear, x_lin.to_numpy(), len(self.classes))
            return calibrate(raw, self.meta.get("calibration")) if calibrated else raw
        raw = np.asarray(self.booster.predict(x.to_numpy(), num_threads=1), dtype=float)
        if raw.ndim == 1:
            raw = np.c_[1.0 - raw, raw]
        stack = self.meta.get("stack")
        if stack:  # meta-model on both components' log-probabilities (see training.stack_inputs)
            p_lin = linear_proba(linear, x_lin.to_numpy(), raw.shape[1])
            z = log_probability_inputs((raw, p_lin), float(stack.get("floor", 1e-4)))
            raw = linear_proba(stack, z, raw.shape[1])
        elif linear and linear.get("weight", 0) > 0:
            w = float(linear["weight"])
            raw = (1 - w) * raw + w * linear_proba(linear, x_lin.to_numpy(), raw.shape[1])
        return calibrate(raw, self.meta.get("calibration")) if calibrated else raw


def feature_names(meta: dict[str, Any]) -> list[str]:
    """Input names of a sidecar whose ``features`` are ``[{"name": ..., "unit": ...}]`` or plain strings."""
    return [f["name"] if isinstance(f, dict) else str(f) for f in meta["features"]]


def _is_model(d: Path, stem: str) -> bool:
    if (d / f"{stem}.txt").is_file():
        return True
    try:
        return json.loads((d / f"{stem}.json").read_text()).get("kind") == "logistic"
    except (OSError, ValueError, AttributeError):
        return False


def model_names(directory: Path | None = None) -> list[str]:
    """Names of the models shipped in ``directory`` (default: the package's models folder)."""
    d = Path(directory) if directory is not None else MODELS_DIR
    return sorted(p.stem for p in d.glob("*.json") if _is_model(d, p.stem))


@lru_cache(maxsize=None)
def _load_cached(name: str, directory: str) -> ShippedModel:
    d = Path(directory)
    txt, side = d / f"{name}.txt", d / f"{name}.json"
    if not side.is_file():
        raise InputError(f"model {name!r} not found (no {side.name})", path=d,
                         hint=f"known models: {model_names(d)}; rebuild with python classifiers/train_all.py")
    try:
        meta = json.loads(side.read_text())
    except ValueError as err:
        raise InputError(f"model sidecar {side.name} is not valid JSON ({err})", path=side,
                         hint="rebuild with python classifiers/train_all.py") from err
    if meta.get("kind") == "logistic":
        if not meta.get("linear"):
            raise InputError(f"logistic model {name!r} has no 'linear' coefficients", path=side,
                             hint="rebuild with python classifiers/train_all.py")
        return ShippedModel(name=name, booster=None, meta=meta)
    if not txt.is_file():
        raise InputError(f"model {name!r} not found (no {txt.name})", path=d,
                         hint=f"known models: {model_names(d)}; rebuild with python classifiers/train_all.py")
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(txt))
    in_txt, in_side = list(booster.feature_name()), feature_names(meta)
    if in_txt != in_side:
        only_txt, only_side = sorted(set(in_txt) - set(in_side)), sorted(set(in_side) - set(in_txt))
        raise InputError(f"model file and sidecar {side.name} disagree on feature names (only in the model file: "
                         f"{only_txt}; only in the sidecar: {only_side}"
                         f"{'; same names, other order' if not only_txt and not only_side else ''})", path=txt,
                         hint="the two files come from different builds: rebuild both with python "
                         "classifiers/train_all.py")
    return ShippedModel(name=name, booster=booster, meta=meta)


def load_model(name: str, directory: str | Path | None = None) -> ShippedModel:
    """Load a shipped model by name: ``NAME.txt`` (LightGBM text) + ``NAME.json`` (sidecar), or a JSON-only
    logistic model; nothing is unpickled. ``directory`` defaults to the package's models folder. Cached per
    process; a missing or unreadable file raises ``InputError`` naming it."""
    return _load_cached(name, str(Path(directory) if directory is not None else MODELS_DIR))

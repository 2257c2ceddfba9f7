"""``classify(n)`` for one neuron and ``classify_perisomatic(df)`` for a table.

Models (``neurd_lite/models``): ``perisomatic_ei`` / ``perisomatic_subclass`` (v83 table input with per-process
columns), ``perisomatic_engine_ei`` / ``perisomatic_engine_subclass`` (engine features only) and
``dendritic_ei``. E/I comes from the dedicated E/I models (perisomatic and dendritic views joined by the product
of calibrated probabilities when both are available, ``combine.combine_ei``); the subclass is the arg-max of the
subclass model's calibrated probabilities (flat: it scored higher than rescaling by the E/I model). When the two
disagree (an inhibitory subclass for an excitatory call or the reverse) both are kept and a note says so.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .columns import ENGINE_DENDRITIC, PROCESS_FEATURES, to_engine
from .combine import combine_ei
from .models import ShippedModel, load_model

OK, EI_ONLY, INSUFFICIENT = "ok", "ei_only", "insufficient_features"


@dataclass
class ClassificationResult:
    """E/I and subclass of one neuron with calibrated probabilities, the models and features used.

    status: ``"ok"`` (E/I and subclass), ``"ei_only"`` (dendritic features only: no subclass) or
    ``"insufficient_features"`` (no prediction; ``missing`` lists what would be needed).
    out_of_range: per model, inputs outside its training 0.5-99.5% range (the call is then an extrapolation;
    when only one of the two E/I views is in range, E/I comes from that view alone).
    """

    status: str
    ei: str | None = None
    p_inhibitory: float | None = None
    subclass: str | None = None
    subclass_probabilities: dict[str, float] = field(default_factory=dict)
    ei_sources: dict[str, float] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    features_used: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    out_of_range: dict[str, list[str]] = field(default_factory=dict)

    @property
    def subclass_probability(self) -> float | None:
        return self.subclass_probabilities.get(self.subclass) if self.subclass else None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _missing(row: pd.Series, names: list[str]) -> list[str]:
    return [f for f in names if f not in row.index or not np.isfinite(row[f])]


def _as_feature_frame(n: Any, nucleus: Any = None) -> tuple[pd.DataFrame, list[str]]:
    """One-row engine-named frame from a Neuron (via ``nl.features``), a dict/Series or a one-row DataFrame."""
    notes: list[str] = []
    if isinstance(n, pd.DataFrame):
        if len(n) != 1:
            raise InputError(f"classify takes one neuron (a one-row table); got {len(n)} rows",
                             hint="use classify_perisomatic(df) for tables")
        df = n
    elif isinstance(n, pd.Series):
        df = n.to_frame().T
    elif isinstance(n, Mapping):
        df = pd.DataFrame([dict(n)])
    elif hasattr(n, "somas") and hasattr(n, "mesh"):
        from ..feature import features

        df = features(n, nucleus=nucleus)
        for name, why in df.attrs.get("missing", {}).items():
            if name in _ALL_INPUTS:
                notes.append(f"{name}: {why}")
    else:
        raise InputError(f"classify expects a Neuron, a dict/Series of features or a one-row DataFrame; "
                         f"got {type(n).__name__}")
    return to_engine(df.reset_index(drop=True)), notes


_ALL_INPUTS = set(ENGINE_DENDRITIC) | set(PROCESS_FEATURES) | {
    "soma_volume_um3", "soma_area_um2", "soma_area_to_volume_per_um", "soma_n_processes", "soma_n_synapses",
    "soma_synapse_density_per_um2", "nucleus_volume_um3", "nucleus_area_um2", "nucleus_area_to_volume_per_um",
    "nucleus_fold_area_um2", "nucleus_fraction_folded", "cortical_depth_um"}


PERISOMATIC_VARIANTS = ("perisomatic", "perisomatic_engine", "perisomatic_soma")


def _perisomatic_pair(row: pd.Series, directory: Path | None) -> tuple[ShippedModel, ShippedModel] | None:
    """The first variant (table, engine, soma-only) whose required features are all present, else None."""
    for variant in PERISOMATIC_VARIANTS:
        ei = load_model(f"{variant}_ei", directory)
        if not _missing(row, ei.required):
            return ei, load_model(f"{variant}_subclass", directory)
    return None


def classify(n: Any, models_dir: str | Path | None = None, use_dendritic: bool = True,
             nucleus: Any = None) -> ClassificationResult:
    """Excitatory/inhibitory and subclass of one neuron with calibrated probabilities.

    E/I rule: the product of the perisomatic and dendritic calibrated probabilities when both views are
    available and inside their training ranges; a view whose inputs fall outside its training range is reported
    in ``ei_sources`` but left out of the decision when the other view is in range.

    n: a Neuron (features computed by ``nl.features``), or a dict / Series / one-row DataFrame of features in
    engine or v83-table names. nucleus: optional nucleus mesh (nm) passed to ``nl.features``. The perisomatic
    model is the first of table / engine / soma-only whose inputs are all present. Never guesses: without the
    perisomatic or the dendritic inputs the status is ``"insufficient_features"`` and ``missing`` names them.
    """
    directory = Path(models_dir) if models_dir is not None else None
    feats, notes = _as_feature_frame(n, nucleus)
    row = feats.iloc[0]
    pair = _perisomatic_pair(row, directory)
    dend = load_model("dendritic_ei", directory) if use_dendritic else None
    dend_ok = dend is not None and not _missing(row, dend.required)
    if pair is None and not dend_ok:
        engine_req = load_model("perisomatic_engine_ei", directory).required
        need = _missing(row, engine_req) + (_missing(row, dend.required) if dend is not None else [])
        return ClassificationResult(status=INSUFFICIENT, missing=need, notes=notes + [
            "need all perisomatic engine features or all dendritic features"])
    sources: dict[str, float] = {}
    models: list[str] = []
    used: list[str] = []
    out_of_range: dict[str, list[str]] = {}
    for model in ([pair[0]] if pair is not None else []) + ([dend] if dend_ok else []):
        sources[model.name] = float(model.predict_proba(feats)[0, 1])
        models.append(model.name)
        used += model.required
        oor = model.out_of_range(feats)[0]
        if oor:
            out_of_range[model.name] = oor
            notes.append(f"{model.name}: inputs outside the training 0.5-99.5% range: {', '.join(oor)}")
    trusted = [k for k in sources if k not in out_of_range] or list(sources)
    if len(trusted) < len(sources):
        notes.append(f"E/I from {trusted[0]} only: the other view's inputs are outside its training range")
    p_i = float(combine_ei(*(sources[k] for k in trusted))) if len(trusted) == 2 else sources[trusted[0]]
    result = ClassificationResult(status=OK if pair is not None else EI_ONLY,
                                  ei="inhibitory" if p_i >= 0.5 else "excitatory", p_inhibitory=p_i,
                                  ei_sources=sources, models=models,
                                  features_used={f: float(row[f]) for f in used}, notes=notes,
                                  out_of_range=out_of_range)
    if pair is not None:
        sub = pair[1]
        p = sub.predict_proba(feats)[0]
        result.subclass_probabilities = {c: float(v) for c, v in zip(sub.classes, p)}
        result.subclass = sub.classes[int(np.argmax(p))]
        result.models.append(sub.name)
        if sub.out_of_range(feats)[0]:
            result.notes.append(f"{sub.name}: subclass is an extrapolation (inputs outside the training range)")
        if (result.subclass in sub.meta["inhibitory_classes"]) != (result.ei == "inhibitory"):
            result.notes.append(f"E/I call ({result.ei}) and subclass ({result.subclass}) disagree")
    else:
        result.missing = _missing(row, load_model("perisomatic_engine_ei", directory).required)
        result.notes.append("no subclass: perisomatic features missing")
    return result


def _route(feats: pd.DataFrame, directory: Path | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per row: the variant to use, its status and the missing engine inputs (";"-joined)."""
    variant = np.full(len(feats), "", dtype=object)
    status = np.full(len(feats), INSUFFICIENT, dtype=object)
    for v in PERISOMATIC_VARIANTS:
        req = load_model(f"{v}_ei", directory).required
        complete = feats.reindex(columns=req).notna().all(axis=1).to_numpy() & (variant == "")
        variant[complete] = v
        status[complete] = OK
    engine_req = load_model("perisomatic_engine_ei", directory).required
    miss = feats.reindex(columns=engine_req).isna()
    partial = (variant == "") & (miss.sum(axis=1).to_numpy() <= len(engine_req) // 2)
    variant[partial] = "perisomatic_engine"
    status[partial] = "partial_features"
    missing = [";".join(miss.columns[m]) for m in miss.to_numpy()]
    return variant, status, missing


def classify_perisomatic(df: pd.DataFrame, models_dir: str | Path | None = None) -> pd.DataFrame:
    """Perisomatic E/I and subclass for every row of a table (v83 or engine column names), same index.

    Each row uses the first model whose inputs it has in full: the table model (per-process list columns
    present), the engine model, the soma-only model. Rows missing some engine inputs (at most half) use the engine
    model with LightGBM's missing-value branches (``status="partial_features"``); rows missing more get
    ``status="insufficient_features"`` and NaN predictions. Output columns: ``ei``, ``p_inhibitory``,
    ``subclass``, ``subclass_probability``, ``p_<class>`` per subclass, ``ei_subclass_agree``, ``model``,
    ``status``, ``missing_features`` (engine inputs that were missing), ``out_of_range_features`` (inputs outside
    the subclass model's training 0.5-99.5% range).
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"classify_perisomatic expects a pandas DataFrame, got {type(df).__name__}")
    directory = Path(models_dir) if models_dir is not None else None
    feats = to_engine(df.reset_index(drop=True))  # positional index: duplicate labels are safe
    classes = load_model("perisomatic_engine_subclass", directory).classes
    pcols = [f"p_{c}" for c in classes]
    out = pd.DataFrame(index=feats.index, columns=["ei", "p_inhibitory", "subclass", "subclass_probability"]
                       + pcols + ["ei_subclass_agree", "model", "status", "missing_features",
                                 "out_of_range_features"])
    out = out.astype({c: float for c in ["p_inhibitory", "subclass_probability"] + pcols})
    variant, status, missing = _route(feats, directory)
    out["status"], out["missing_features"] = status, missing
    for v in PERISOMATIC_VARIANTS:
        rows = variant == v
        if not rows.any():
            continue
        good = feats[rows]
        ei_model, sub_model = load_model(f"{v}_ei", directory), load_model(f"{v}_subclass", directory)
        p_i = ei_model.predict_proba(good)[:, 1]
        p_sub = sub_model.predict_proba(good)
        sub_is_i = np.isin(np.asarray(classes)[p_sub.argmax(axis=1)], sub_model.meta["inhibitory_classes"])
        gidx = good.index
        out.loc[gidx, "p_inhibitory"] = p_i
        out.loc[gidx, "ei"] = np.where(p_i >= 0.5, "inhibitory", "excitatory")
        out.loc[gidx, pcols] = p_sub
        out.loc[gidx, "subclass"] = np.asarray(classes, dtype=object)[p_sub.argmax(axis=1)]
        out.loc[gidx, "subclass_probability"] = p_sub.max(axis=1)
        out.loc[gidx, "ei_subclass_agree"] = sub_is_i == (p_i >= 0.5)
        out.loc[gidx, "model"] = v
        out.loc[gidx, "out_of_range_features"] = [";".join(o) for o in sub_model.out_of_range(good)]
    out.index = df.index
    return out

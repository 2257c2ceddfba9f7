"""``classify(n)`` for one neuron and ``classify_perisomatic(df)`` for a table.

Models (``neurd_lite/models``): ``perisomatic_ei`` / ``perisomatic_subclass`` (v83 table input with per-process
columns), ``perisomatic_engine_ei`` / ``perisomatic_engine_subclass`` (engine features without any area-derived
input: the engine's soma area is not the table's), ``perisomatic_soma_*`` (no nucleus) and ``dendritic_ei``. E/I
comes from the dedicated E/I models (perisomatic and dendritic views joined by the product of calibrated
probabilities when both are available and in range, ``combine.combine_ei``); the subclass is then chosen among the
decided E/I side's classes only (renormalised), so the two never disagree. Inputs outside a model's full training
extent make that model's answer unusable: ``status`` / ``subclass_status`` say ``out_of_range`` instead of a guess.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .columns import ENGINE_DENDRITIC, PROCESS_FEATURES, to_engine
from .combine import combine_ei, restrict_to_side
from .models import ShippedModel, load_model

OK, EI_ONLY, INSUFFICIENT, OUT_OF_RANGE = "ok", "ei_only", "insufficient_features", "out_of_range"
OK_WITH_FLAGS = "ok_with_flags"

#: Neuron flags (by their name before ":") that put the whole call in doubt: a merge of cells, no soma, a synapse
#: table or mesh in the wrong units, a cell outside the minnie65 cortex frame the models were trained in.
DOUBT_FLAGS = ("multi_soma", "no_soma", "synapses_far", "units_suspect", "frame_not_minnie65_cortex")


@dataclass
class ClassificationResult:
    """E/I and subclass of one neuron with calibrated probabilities, the models and features used.

    status: ``"ok"`` (E/I and subclass), ``"ok_with_flags"`` (E/I and subclass, but the neuron carries a flag of
    ``DOUBT_FLAGS``, e.g. ``multi_soma``: the prediction is made but should not be trusted as one cell's),
    ``"ei_only"`` (E/I but no subclass: dendritic features only, or the subclass model's inputs out of range),
    ``"out_of_range"`` (no view usable) or ``"insufficient_features"`` (no prediction; ``missing`` lists what
    would be needed).
    flags: the neuron's quality flags (``n.flags``, verbatim; empty when classifying a feature table); those of
    ``DOUBT_FLAGS`` are repeated in ``notes`` and set ``doubtful`` whatever the status.
    subclass_status: ``"ok"``, ``"out_of_range"`` or ``"insufficient_features"`` (the subclass alone).
    out_of_range: per model, inputs outside its training 0.5-99.5% range (the call is then an extrapolation;
    when only one of the two E/I views is in range, E/I comes from that view alone).
    out_of_range_detail: per model, inputs outside the full training extent with their values (not used).
    subclass_probabilities: restricted to the decided E/I side and renormalised (``subclass_rule``);
    ``subclass_probabilities_unrestricted`` is the subclass model's own 11-class output.
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
    subclass_status: str | None = None
    subclass_rule: str | None = None
    subclass_probabilities_unrestricted: dict[str, float] = field(default_factory=dict)
    ei_decided_by: list[str] = field(default_factory=list)
    out_of_range_detail: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    doubtful: bool = False

    @property
    def subclass_probability(self) -> float | None:
        return self.subclass_probabilities.get(self.subclass) if self.subclass else None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _missing(row: pd.Series, names: list[str]) -> list[str]:
    return [f for f in names if f not in row.index or not np.isfinite(row[f])]


def _as_feature_frame(n: Any, nucleus: Any = None, up: Any = None) -> tuple[pd.DataFrame, list[str]]:
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

        df = features(n, nucleus=nucleus) if up is None else features(n, nucleus=nucleus, up=up)
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


def _restrict_to_side(p: np.ndarray, classes: list[str], inhibitory: set[str], ei: str) -> dict[str, float]:
    """Subclass probabilities of the side ``ei`` only, renormalised to sum to 1 (uniform if that side has 0)."""
    is_i = np.array([c in inhibitory for c in classes])
    share = restrict_to_side(np.asarray(p, dtype=float)[None, :], np.array([ei == "inhibitory"]), is_i)[0]
    side = is_i if ei == "inhibitory" else ~is_i
    return {c: float(v) for c, v in zip(np.asarray(classes)[side], share[side])}


def _far_text(model: ShippedModel, far: dict[str, float]) -> str:
    ext = model.meta.get("feature_extent", {})
    return "; ".join(f"{f} = {v:.4g} outside the training extent [{ext[f][0]:.4g}, {ext[f][1]:.4g}]"
                     for f, v in far.items())


def doubt_flags(flags: list[str]) -> list[str]:
    """The flags among ``flags`` whose name (text before ":") is one of :data:`DOUBT_FLAGS`."""
    return [f for f in flags if str(f).split(":", 1)[0].strip() in DOUBT_FLAGS]


def classify(n: Any, models_dir: str | Path | None = None, use_dendritic: bool = True,
             nucleus: Any = None, up: Any = None) -> ClassificationResult:
    """Excitatory/inhibitory and subclass of one neuron with calibrated probabilities.

    up: pia direction for a Neuron's features (None: the one its compartment labelling used, given or inferred).

    E/I rule: the product of the perisomatic and dendritic calibrated probabilities when both views are
    available and inside their training 0.5-99.5% ranges; a view whose inputs fall outside that range is reported
    in ``ei_sources`` but left out of the decision when the other view is in range. A view whose inputs fall
    outside the full training extent (no training cell had such a value) is never used for the decision; when it
    is the only view, E/I is refused (``status="out_of_range"``).

    Subclass rule (consistent with E/I): the subclass model's calibrated probabilities restricted to the classes
    of the decided E/I side and renormalised (``subclass_rule`` says so; ``subclass_probabilities_unrestricted``
    keeps the model's own 11-class output). When the subclass model's inputs fall outside its training extent the
    subclass is refused: ``subclass_status="out_of_range"`` and ``out_of_range_detail`` says which inputs.

    n: a Neuron (features computed by ``nl.features``), or a dict / Series / one-row DataFrame of features in
    engine or v83-table names. nucleus: optional nucleus mesh (nm) passed to ``nl.features``. The perisomatic
    model is the first of table / engine / soma-only whose inputs are all present. Never guesses: without the
    perisomatic or the dendritic inputs the status is ``"insufficient_features"`` and ``missing`` names them.
    A Neuron's flags are carried into ``flags``; a flag of ``DOUBT_FLAGS`` (a merge of several cells, no soma,
    synapses or mesh in the wrong units, not a minnie65 cortex frame) sets ``doubtful``, is noted, and turns
    ``"ok"`` into ``"ok_with_flags"``.
    """
    result = _classify(n, models_dir, use_dendritic, nucleus, up)
    flags = [str(f) for f in getattr(n, "flags", None) or []] if hasattr(n, "somas") else []
    result.flags = flags
    doubt = doubt_flags(flags)
    if doubt:
        result.doubtful = True
        result.notes = [f"neuron flag: {f}" for f in doubt] + result.notes
        if result.status == OK:
            result.status = OK_WITH_FLAGS
    return result


def _classify(n: Any, models_dir: str | Path | None, use_dendritic: bool, nucleus: Any,
              up: Any = None) -> ClassificationResult:
    directory = Path(models_dir) if models_dir is not None else None
    feats, notes = _as_feature_frame(n, nucleus, up)
    row = feats.iloc[0]
    pair = _perisomatic_pair(row, directory)
    dend = load_model("dendritic_ei", directory) if use_dendritic else None
    dend_ok = dend is not None and not _missing(row, dend.required)
    if pair is None and not dend_ok:
        engine_req = load_model("perisomatic_engine_ei", directory).required
        need = _missing(row, engine_req) + (_missing(row, dend.required) if dend is not None else [])
        return ClassificationResult(status=INSUFFICIENT, missing=need, subclass_status=INSUFFICIENT, notes=notes + [
            "need all perisomatic engine features or all dendritic features"])
    sources: dict[str, float] = {}
    models: list[str] = []
    used: list[str] = []
    out_of_range: dict[str, list[str]] = {}
    far: dict[str, str] = {}
    for model in ([pair[0]] if pair is not None else []) + ([dend] if dend_ok else []):
        sources[model.name] = float(model.predict_proba(feats)[0, 1])
        models.append(model.name)
        used += model.required
        oor = model.out_of_range(feats)[0]
        if oor:
            out_of_range[model.name] = oor
            notes.append(f"{model.name}: inputs outside the training 0.5-99.5% range: {', '.join(oor)}")
        bad = model.far_out_of_range(feats)[0]
        if bad:
            far[model.name] = _far_text(model, bad)
    in_range = [k for k in sources if k not in out_of_range]
    usable = [k for k in sources if k not in far]
    trusted = in_range or usable
    result = ClassificationResult(status=OK if pair is not None else EI_ONLY, ei_sources=sources, models=models,
                                  features_used={f: float(row[f]) for f in used}, notes=notes,
                                  out_of_range=out_of_range, out_of_range_detail=dict(far))
    if not trusted:
        result.status, result.subclass_status = OUT_OF_RANGE, OUT_OF_RANGE
        result.notes.append("no E/I: every available view's inputs are outside its training extent")
        return result
    if len(trusted) < len(sources):
        result.notes.append(f"E/I from {trusted[0]} only: the other view's inputs are outside its training range")
    p_i = float(combine_ei(*(sources[k] for k in trusted))) if len(trusted) == 2 else sources[trusted[0]]
    result.p_inhibitory, result.ei = p_i, "inhibitory" if p_i >= 0.5 else "excitatory"
    result.ei_decided_by = list(trusted)
    if pair is None:
        result.missing = _missing(row, load_model("perisomatic_engine_ei", directory).required)
        result.subclass_status = INSUFFICIENT
        result.notes.append("no subclass: perisomatic features missing")
        return result
    sub = pair[1]
    result.models.append(sub.name)
    p = sub.predict_proba(feats)[0]
    result.subclass_probabilities_unrestricted = {c: float(v) for c, v in zip(sub.classes, p)}
    bad = sub.far_out_of_range(feats)[0]
    if bad:
        result.out_of_range_detail[sub.name] = _far_text(sub, bad)
        result.status, result.subclass_status = EI_ONLY, OUT_OF_RANGE
        result.notes.append(f"no subclass: {sub.name} inputs outside the training extent ({_far_text(sub, bad)})")
        return result
    inhibitory = set(sub.meta["inhibitory_classes"])
    own = sub.classes[int(np.argmax(p))]
    result.subclass_probabilities = _restrict_to_side(p, sub.classes, inhibitory, result.ei)
    result.subclass = max(result.subclass_probabilities, key=result.subclass_probabilities.get)
    result.subclass_status = OK
    side_mass = float(sum(v for c, v in zip(sub.classes, p) if (c in inhibitory) == (result.ei == "inhibitory")))
    result.subclass_rule = (f"restricted to the {result.ei} classes (E/I decided by {' x '.join(trusted)}), "
                            f"renormalised; the subclass model put {side_mass:.3g} of its mass on them")
    if own != result.subclass:
        result.notes.append(f"{sub.name} alone would say {own} ({p.max():.3g}); it is on the other E/I side "
                            f"than the decided {result.ei}, so the subclass is the best {result.ei} class")
    if sub.out_of_range(feats)[0]:
        result.notes.append(f"{sub.name}: subclass is an extrapolation (inputs outside the training range)")
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


def classify_perisomatic(df: pd.DataFrame, models_dir: str | Path | None = None,
                         restrict: bool | None = None) -> pd.DataFrame:
    """Perisomatic E/I and subclass for every row of a table (v83 or engine column names), same index.

    Each row uses the first model whose inputs it has in full: the table model (per-process list columns
    present), the engine model, the soma-only model. Rows missing some engine inputs (at most half) use the engine
    model with LightGBM's missing-value branches (``status="partial_features"``); rows missing more get
    ``status="insufficient_features"`` and NaN predictions. Output columns: ``ei``, ``p_inhibitory``,
    ``subclass``, ``subclass_probability``, ``p_<class>`` per subclass, ``ei_subclass_agree``, ``model``,
    ``status``, ``missing_features`` (engine inputs that were missing), ``out_of_range_features`` (inputs outside
    the subclass model's training 0.5-99.5% range), ``outside_training_extent`` (inputs outside the full training
    [min, max]: the row is still predicted, but no training cell looked like it).

    restrict: True restricts the subclass probabilities to the E/I side decided by the E/I model and renormalises
    them (as ``classify`` does; ``ei_subclass_agree`` is then always True); False gives the subclass model's own
    11-class output; None (default) uses the rule that scored higher out-of-fold for that model (sidecar
    ``table_decision_rule``, see its card).
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"classify_perisomatic expects a pandas DataFrame, got {type(df).__name__}")
    directory = Path(models_dir) if models_dir is not None else None
    feats = to_engine(df.reset_index(drop=True))  # positional index: duplicate labels are safe
    classes = load_model("perisomatic_engine_subclass", directory).classes
    pcols = [f"p_{c}" for c in classes]
    out = pd.DataFrame(index=feats.index, columns=["ei", "p_inhibitory", "subclass", "subclass_probability"]
                       + pcols + ["ei_subclass_agree", "model", "status", "missing_features",
                                 "out_of_range_features", "outside_training_extent"])
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
        rule = sub_model.meta.get("table_decision_rule", "flat")
        if restrict if restrict is not None else rule == "restricted":
            is_i = np.isin(np.asarray(classes), sub_model.meta["inhibitory_classes"])
            p_sub = restrict_to_side(p_sub, p_i >= 0.5, is_i)
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
        out.loc[gidx, "outside_training_extent"] = [";".join(o) for o in sub_model.far_out_of_range(good)]
    out.index = df.index
    return out

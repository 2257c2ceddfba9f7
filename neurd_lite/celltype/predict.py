"""``classify(n)`` for one neuron, ``classify_perisomatic(df)`` and ``classify_dendritic(df)`` for tables.

Models (``neurd_lite/models``): ``perisomatic_ei`` / ``perisomatic_subclass`` (v83 table input with per-process
columns), ``perisomatic_engine_ei`` / ``perisomatic_engine_subclass`` (engine features without any area-derived
input: the engine's soma area is not the table's), ``perisomatic_soma_*`` (no nucleus) and ``dendritic_ei``
(NEURD's rule blended with spines per shaft synapse). E/I comes from the dedicated E/I models (perisomatic and
dendritic views joined by the product of calibrated probabilities when both are usable, ``combine.combine_ei``); the subclass is then chosen
among the decided E/I side's classes only (renormalised), so the two never disagree. Every answer carries one
``status`` (``result.py``: ok / doubtful / views_disagree / out_of_range / insufficient_features) and a
``status_detail`` listing every reason.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .columns import ENGINE_DENDRITIC, PROCESS_FEATURES, SPINE_SHAFT_RATIO, dendritic_derived, to_engine
from .combine import combine_ei, restrict_to_side
from .models import ShippedModel, load_model
from .result import (DOUBTFUL, EI_CONFIDENCE, INSUFFICIENT, OK, OUT_OF_RANGE, VIEWS_DISAGREE,
                     ClassificationResult, table_status)

#: Neuron flags (by their name before ":") that put the whole call in doubt: a merge of cells, no soma, a synapse
#: table or mesh in the wrong units, a cell outside the minnie65 cortex frame the models were trained in.
DOUBT_FLAGS = ("multi_soma", "no_soma", "synapses_far", "units_suspect", "frame_not_minnie65_cortex")
__all__ = ["ClassificationResult", "DOUBT_FLAGS", "classify", "classify_dendritic", "classify_perisomatic"]


def _missing(row: pd.Series, names: list[str]) -> list[str]:
    return [f for f in names if f not in row.index or not np.isfinite(row[f])]


def _as_feature_frame(n: Any, nucleus: Any = None, params: Any = None, up: Any = None
                      ) -> tuple[pd.DataFrame, list[str]]:
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

        df = features(n, nucleus=nucleus, params=params, up=up)
        by_reason: dict[str, list[str]] = {}  # one note per reason, naming every input it removed
        for name, why in df.attrs.get("missing", {}).items():
            if name in _ALL_INPUTS:
                by_reason.setdefault(str(why), []).append(name)
        notes += [f"{', '.join(names)}: {why}" for why, names in by_reason.items()]
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
    return {str(c): float(v) for c, v in zip(np.asarray(classes)[side], share[side])}


def _range_text(model: ShippedModel, feats: pd.DataFrame, key: str) -> dict[str, str]:
    """``{input: "= value outside [lo, hi] (which range)"}`` for the first row's inputs outside ``key`` bounds."""
    bounds = model.meta.get(key, {})
    label = model.meta.get(f"{key}_label", "training extent" if key == "feature_extent" else
                           "training 0.5-99.5% range")
    return {f: f"= {v:.4g} outside [{bounds[f][0]:.4g}, {bounds[f][1]:.4g}] ({label})"
            for f, v in model._outside(feats, key)[0].items()}


def doubt_flags(flags: list[str]) -> list[str]:
    """The flags among ``flags`` whose name (text before ":") is one of :data:`DOUBT_FLAGS`."""
    return [f for f in flags if str(f).split(":", 1)[0].strip() in DOUBT_FLAGS]


def classify(n: Any, models_dir: str | Path | None = None, use_dendritic: bool = True,
             nucleus: Any = None, params: Any = None, up: Any = None) -> ClassificationResult:
    """Excitatory/inhibitory and subclass of one neuron with calibrated probabilities and one ``status``.

    up: pia direction for a Neuron's features (None: the one its compartment labelling used, given or inferred).

    E/I rule: the product of the perisomatic and dendritic calibrated probabilities when both views are usable.
    A view whose inputs fall outside its training range is left out when the other view is in range, and is used
    (as an extrapolation) only when it is the best left; a view outside its training extent (the dendritic
    model: outside the plausible density range) is never used; with no usable view E/I is refused. Any of these
    sets ``status="out_of_range"``; views on opposite sides set ``views_disagree``; an E/I probability below
    ``EI_CONFIDENCE`` for the called side or a neuron flag of ``DOUBT_FLAGS`` sets ``doubtful``
    (``status_detail`` lists every reason; see ``result.py``).

    Subclass rule (consistent with E/I): the subclass model's calibrated probabilities restricted to the classes
    of the decided E/I side and renormalised (``subclass_rule``; ``subclass_probabilities_unrestricted`` keeps the
    model's own output). Subclass inputs outside the training extent refuse the subclass
    (``subclass_status="out_of_range"``); without perisomatic inputs ``subclass_status="insufficient_features"``.

    n: a Neuron (features computed by ``nl.features``), or a dict / Series / one-row DataFrame of features in
    engine, v83-table or NEURD-table names (densities per µm). nucleus: optional nucleus mesh (nm) passed to
    ``nl.features``. Never guesses: without the perisomatic or the dendritic inputs the status is
    ``"insufficient_features"`` and ``missing`` names them. params: a ``PipelineParams`` for ``nl.features``
    (a Neuron input).
    """
    result = _classify(n, models_dir, use_dendritic, nucleus, params, up)
    result.flags = [str(f) for f in getattr(n, "flags", None) or []] if hasattr(n, "somas") else []
    for f in doubt_flags(result.flags):
        result.flag(DOUBTFUL, f"neuron flag {f}")
    return result


def _views(feats: pd.DataFrame, models: list[ShippedModel], result: ClassificationResult) -> list[str]:
    """Score each E/I view; record out-of-range inputs; return the names of the views the decision may use."""
    in_range, usable = [], []
    for model in models:
        result.ei_sources[model.name] = float(model.predict_proba(feats)[0, 1])
        result.models.append(model.name)
        far = _range_text(model, feats, "feature_extent")
        near = {f: t for f, t in _range_text(model, feats, "feature_ranges").items() if f not in far}
        if far or near:
            result.out_of_range[model.name] = {**far, **near}
        if not far:
            usable.append(model.name)
            if not near:
                in_range.append(model.name)
    trusted = in_range or usable
    for name, feats_out in result.out_of_range.items():
        what = ", ".join(feats_out)
        if name not in usable:
            result.flag(OUT_OF_RANGE, f"{name} not used: {what} outside the range it can answer for")
        elif name not in trusted:
            result.flag(OUT_OF_RANGE, f"{name} left out of E/I: {what} outside its training range")
        else:
            result.flag(OUT_OF_RANGE, f"{name} extrapolates: {what} outside its training range")
    return trusted


def _classify(n: Any, models_dir: str | Path | None, use_dendritic: bool, nucleus: Any,
              params: Any = None, up: Any = None) -> ClassificationResult:
    directory = Path(models_dir) if models_dir is not None else None
    feats, notes = _as_feature_frame(n, nucleus, params, up)
    row = feats.iloc[0]
    pair = _perisomatic_pair(row, directory)
    dend = load_model("dendritic_ei", directory) if use_dendritic else None
    dend_ok = dend is not None and not _missing(row, dend.required)
    peri_missing = _missing(row, load_model("perisomatic_engine_ei", directory).required)
    if pair is None and not dend_ok:
        need = peri_missing + (_missing(row, dend.required) if dend is not None else [])
        result = ClassificationResult(status=OK, missing=need, subclass_status=INSUFFICIENT, notes=notes)
        result.flag(INSUFFICIENT, "need all perisomatic engine features or all dendritic features")
        return result
    result = ClassificationResult(status=OK, notes=notes)
    views = ([pair[0]] if pair is not None else []) + ([dend] if dend_ok else [])
    result.features_used = {f: float(row[f]) for m in views for f in m.required}
    trusted = _views(feats, views, result)
    if not trusted:
        result.subclass_status = OUT_OF_RANGE
        result.flag(OUT_OF_RANGE, "no E/I: no view is usable")
        return result
    p_i = float(combine_ei(*(result.ei_sources[k] for k in trusted))) if len(trusted) == 2 else \
        result.ei_sources[trusted[0]]
    result.p_inhibitory, result.ei = p_i, "inhibitory" if p_i >= 0.5 else "excitatory"
    result.ei_decided_by = list(trusted)
    sides = {k: result.ei_sources[k] >= 0.5 for k in trusted}
    if len(set(sides.values())) > 1:
        result.flag(VIEWS_DISAGREE, " vs ".join(
            f"{k} says {'inhibitory' if v else 'excitatory'} ({result.ei_sources[k]:.3f})" for k, v in sides.items())
            + f"; their product gives {result.ei} ({p_i:.3f})")
    if max(p_i, 1 - p_i) < EI_CONFIDENCE:
        result.flag(DOUBTFUL, f"E/I probability {max(p_i, 1 - p_i):.3f} for {result.ei} is below {EI_CONFIDENCE}")
    if pair is None:
        result.missing = peri_missing
        result.subclass_status = INSUFFICIENT
        result.notes.append("no subclass: perisomatic features missing (E/I from the dendritic view alone)")
        return result
    _subclass(pair[1], feats, result, trusted)
    return result


def _subclass(sub: ShippedModel, feats: pd.DataFrame, result: ClassificationResult, trusted: list[str]) -> None:
    """Subclass restricted to the decided E/I side, or refused when its inputs are outside the training extent."""
    result.models.append(sub.name)
    p = sub.predict_proba(feats)[0]
    result.subclass_probabilities_unrestricted = {c: float(v) for c, v in zip(sub.classes, p)}
    far = _range_text(sub, feats, "feature_extent")
    near = {f: t for f, t in _range_text(sub, feats, "feature_ranges").items() if f not in far}
    if far or near:
        result.out_of_range[sub.name] = {**far, **near}
    if far:
        result.subclass_status = OUT_OF_RANGE
        result.flag(OUT_OF_RANGE, f"no subclass: {sub.name} inputs {', '.join(far)} outside its training extent")
        return
    if near:
        result.flag(OUT_OF_RANGE, f"subclass extrapolates: {sub.name} inputs {', '.join(near)} outside its "
                                  "training range")
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
    status[partial] = DOUBTFUL
    names = np.asarray(miss.columns, dtype=object)
    missing = [";".join(names[m]) for m in miss.to_numpy()]
    return variant, status, missing


def classify_perisomatic(df: pd.DataFrame, models_dir: str | Path | None = None,
                         restrict: bool | None = None) -> pd.DataFrame:
    """Perisomatic E/I and subclass for every row of a table (v83 or engine column names), same index.

    Each row uses the first model whose inputs it has in full: the table model (per-process list columns
    present), the engine model, the soma-only model. Rows missing some engine inputs (at most half) use the engine
    model with LightGBM's missing-value branches (``status="doubtful"``); rows missing more get
    ``status="insufficient_features"`` and NaN predictions. Output columns: ``ei``, ``p_inhibitory``,
    ``subclass``, ``subclass_probability``, ``p_<class>`` per subclass, ``ei_subclass_agree``, ``model``,
    ``status`` and ``status_detail`` (the scheme of ``ClassificationResult``: ``out_of_range`` when an E/I or
    subclass input is outside its model's training range - the row is still predicted, as an extrapolation;
    ``views_disagree`` when the subclass is on the other E/I side than the E/I call; ``doubtful`` for missing
    inputs or an E/I probability below ``EI_CONFIDENCE``), ``missing_features`` (engine inputs that were
    missing), ``out_of_range_features`` (inputs outside the E/I or subclass model's training 0.5-99.5% range),
    ``outside_training_extent`` (inputs outside the full training [min, max]).

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
                                 "out_of_range_features", "outside_training_extent", "status_detail"])
    out = out.astype({c: float for c in ["p_inhibitory", "subclass_probability"] + pcols})
    variant, status, missing = _route(feats, directory)
    out["status"], out["missing_features"] = status, missing
    out["out_of_range_features"] = out["outside_training_extent"] = ""
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
        out.loc[gidx, "out_of_range_features"] = [";".join(dict.fromkeys(a + b)) for a, b in zip(
            ei_model.out_of_range(good), sub_model.out_of_range(good))]
        out.loc[gidx, "outside_training_extent"] = [";".join(dict.fromkeys(list(a) + list(b))) for a, b in zip(
            ei_model.far_out_of_range(good), sub_model.far_out_of_range(good))]
    out["status"], out["status_detail"] = _table_status(out)
    out.index = df.index
    return out


def _table_status(out: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (status, status_detail) of classify_perisomatic, same scheme as ``ClassificationResult``."""
    miss = out["missing_features"].astype(str).to_numpy()
    far, near = out["outside_training_extent"].to_numpy(), out["out_of_range_features"].to_numpy()
    p = out["p_inhibitory"].to_numpy(dtype=float)
    conf = np.maximum(p, 1 - p)
    ei, sub = out["ei"].astype(str).to_numpy(), out["subclass"].astype(str).to_numpy()
    agree = out["ei_subclass_agree"].fillna(True).astype(bool).to_numpy()
    return table_status(len(out), [
        (INSUFFICIENT, out["status"].to_numpy() == INSUFFICIENT, [f"missing {m}" for m in miss]),
        (DOUBTFUL, out["status"].to_numpy() == DOUBTFUL,
         [f"missing {m} (LightGBM missing-value branches)" for m in miss]),
        (OUT_OF_RANGE, far != "", [f"{f} outside the training extent" for f in far]),
        (OUT_OF_RANGE, (far == "") & (near != ""), [f"{f} outside the training 0.5-99.5% range" for f in near]),
        (VIEWS_DISAGREE, ~agree, [f"E/I model says {e}, the subclass {c} is on the other side" for e, c in zip(ei, sub)]),
        (DOUBTFUL, conf < EI_CONFIDENCE, [f"E/I probability {c:.3f} for {e} is below {EI_CONFIDENCE}"
                                          for c, e in zip(conf, ei)]),
    ])


def classify_dendritic(df: pd.DataFrame, models_dir: str | Path | None = None) -> pd.DataFrame:
    """Dendritic E/I for every row of a table (same index) from spine and shaft-synapse densities per µm.

    Columns accepted: NEURD's (``syn_density_shaft``, ``spine_density``; ``syn_density_post`` / ``_head`` /
    ``_neck`` are accepted and not needed) or the engine's (``neurd_syn_density_shaft_per_um``,
    ``neurd_spine_density_per_um``). Output columns: ``ei``, ``p_inhibitory`` (calibrated),
    ``spines_per_shaft_synapse`` (the model's input, dimensionless), ``status`` / ``status_detail`` (scheme of
    ``ClassificationResult``: ``insufficient_features`` when a density is missing, ``out_of_range`` - no answer -
    when a density is negative or beyond the plausible range, ``doubtful`` when the E/I probability is below
    ``EI_CONFIDENCE``) and ``model``.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"classify_dendritic expects a pandas DataFrame, got {type(df).__name__}",
                         hint="columns syn_density_shaft and spine_density (per µm of dendrite)")
    model = load_model("dendritic_ei", Path(models_dir) if models_dir is not None else None)
    feats = to_engine(df.reset_index(drop=True))
    req = feats[model.required].astype(float)
    out = pd.DataFrame(index=feats.index)
    out["ei"] = pd.Series([None] * len(feats), index=feats.index, dtype=object)
    out["p_inhibitory"] = np.nan
    out["spines_per_shaft_synapse"] = np.nan
    out["model"] = model.name
    have = req.notna().all(axis=1).to_numpy()
    far = model._outside(feats, "feature_extent")
    bounds = model.meta.get("feature_extent", {})
    bad = np.array([bool(f) for f in far]) & have
    good = have & ~bad
    if good.any():
        p = model.predict_proba(feats[good])[:, 1]
        out.loc[good, "p_inhibitory"] = p
        out.loc[good, "ei"] = np.where(p >= 0.5, "inhibitory", "excitatory")
        out.loc[good, "spines_per_shaft_synapse"] = np.exp(dendritic_derived(feats[good])[SPINE_SHAFT_RATIO])
    p = out["p_inhibitory"].to_numpy(dtype=float)
    conf = np.maximum(p, 1 - p)
    missing = [", ".join(f for f, v in zip(model.required, row) if not np.isfinite(v)) for row in req.to_numpy()]
    far_text = ["; ".join(f"{f} = {v:.4g} outside the plausible range [{bounds[f][0]:.4g}, {bounds[f][1]:.4g}]"
                          for f, v in row.items()) for row in far]
    out["status"], out["status_detail"] = table_status(len(out), [
        (INSUFFICIENT, ~have, [f"missing {m}" for m in missing]),
        (OUT_OF_RANGE, bad, far_text),
        (DOUBTFUL, good & (conf < EI_CONFIDENCE),
         [f"E/I probability {c:.3f} for {e} is below {EI_CONFIDENCE}" for c, e in zip(conf, out["ei"])]),
    ])
    out.index = df.index
    return out

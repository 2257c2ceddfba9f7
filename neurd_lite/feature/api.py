"""``features(n)`` and ``branch_features(n)``: evaluate the registry on one neuron."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, NeurdLiteWarning
from . import morphometry, perisomatic, spines, synapses  # noqa: F401  (register the families)
from .cache import CACHE_KEY, state_key
from .context import FeatureContext
from .params import MorphometryParams
from .registry import COMPARTMENT_GROUPS, REGISTRY, Missing, compartment_column


def _evaluate(name: str, call: Any, missing: dict[str, str]) -> float:
    try:
        value = call()
    except Missing as e:
        missing[name] = str(e)
        return np.nan
    except (TimeoutError, MemoryError):  # a batch limit: the neuron fails, its features are never silently NaN
        raise
    except Exception as e:  # a bug or an input we did not foresee: NaN with the reason, never a crash
        missing[name] = f"failed: {type(e).__name__}: {e}"
        warnings.warn(f"feature {name!r} failed ({type(e).__name__}: {e}); set to NaN", NeurdLiteWarning,
                      stacklevel=3)
        return np.nan
    return np.nan if value is None else float(value)


def _context(n: Any, nucleus: Any, up: Any, params: Any) -> FeatureContext:
    """The context of one call: ``params`` (a ``PipelineParams``) gives the feature parameters, the depth range
    and, when ``up`` is None and the frame sets one, the pia direction (else the labeller's, see FeatureContext)."""
    if params is None:
        return FeatureContext(n, nucleus=nucleus, up=up)
    registered = tuple(float(r) for r in MorphometryParams().sholl_radii_um)
    if tuple(float(r) for r in params.features.morphometry.sholl_radii_um) != registered:
        raise InputError(f"features.morphometry.sholl_radii_um must be {registered} (the registered Sholl columns)")
    if up is None and params.frame.up is not None:
        up = params.frame.resolved_up()
    return FeatureContext(n, nucleus=nucleus, up=up,
                          params=params.features, depth_range_um=params.frame.depth_range_um)


def features(n: Any, nucleus: Any = None, up: Any = None, params: Any = None) -> pd.DataFrame:
    """One row of neuron- and compartment-level features (index = ``n.name``), lengths reported in µm.

    n: a :class:`neurd_lite.Neuron` (coordinates nm). nucleus: optional nucleus mesh in nm (a trimesh, or a
    ``(vertices, faces)`` pair); defaults to ``n.nucleus``. up: direction toward pia in the mesh frame
    (minnie65: ``(0, -1, 0)``); None = ``params.frame.up`` when set, else the one the compartment labeller used
    (given or inferred, in ``n.provenance["compartments"]["up"]``), else minnie65's. params: a
    :class:`neurd_lite.PipelineParams` (its ``features`` and ``frame``; None: defaults). Features that cannot be
    computed are NaN and ``df.attrs["missing"]`` maps each of them to the reason; ``df.attrs["notes"]`` records
    fallbacks that were used. The row is cached on the Neuron (``n.cache["features_row"]``, keyed by the content
    of the Neuron and the arguments, see ``feature/cache.py``): a repeated call, e.g. by ``classify(n)``, on an
    unchanged Neuron returns a copy without recomputing.
    """
    store = getattr(n, "cache", None)
    key = keep = None
    if isinstance(store, dict) and hasattr(n, "somas"):
        key, keep = state_key(n, nucleus, up, params)
        hit = store.get(CACHE_KEY)
        if hit is not None and hit[0] == key:
            return _copy_row(hit[2])
    df = _compute_features(n, nucleus, up, params)
    if key is not None:
        store[CACHE_KEY] = (key, keep, _copy_row(df))
    return df


def _copy_row(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = {k: dict(v) for k, v in df.attrs.items()}
    return out


def _compute_features(n: Any, nucleus: Any, up: Any, params: Any) -> pd.DataFrame:
    ctx = _context(n, nucleus, up, params)
    row: dict[str, float] = {}
    missing: dict[str, str] = {}
    for f in REGISTRY.at_level("neuron", "compartment"):
        if f.level == "neuron":
            row[f.name] = _evaluate(f.name, lambda: f.func(ctx), missing)
        else:
            for g in COMPARTMENT_GROUPS:
                col = compartment_column(g, f.name)
                row[col] = _evaluate(col, lambda: f.func(ctx, g), missing)
    df = pd.DataFrame([row], index=pd.Index([n.name], name="name"))
    df.attrs["missing"] = missing
    df.attrs["notes"] = dict(ctx.notes)
    return df


def branch_features(n: Any, up: Any = None, params: Any = None) -> pd.DataFrame:
    """One row per branch (index = branch node id of ``n.graph``) with ``limb``, ``compartment``, ``parent``
    and every branch-level feature (lengths in µm); ``up`` / ``params`` as in :func:`features`. Reasons for NaN
    columns are in ``df.attrs["missing"]``."""
    ctx = _context(n, None, up, params)
    missing: dict[str, str] = {}
    try:
        b = ctx.branches
    except Missing as e:
        b = pd.DataFrame(columns=["limb", "parent", "compartment"]).rename_axis("branch")
        missing["*"] = str(e)
    out = b[["limb", "parent", "compartment"]].copy() if len(b) else pd.DataFrame(
        index=b.index, columns=["limb", "parent", "compartment"])
    for f in REGISTRY.at_level("branch"):
        if not len(b):
            out[f.name] = np.nan
            missing.setdefault(f.name, missing.get("*", "neuron has no branches"))
            continue
        try:
            values = pd.Series(f.func(ctx), dtype=float).reindex(b.index)
        except Missing as e:
            values = pd.Series(np.nan, index=b.index)
            missing[f.name] = str(e)
        out[f.name] = values.to_numpy()
    out.attrs["missing"] = missing
    out.attrs["notes"] = dict(ctx.notes)
    return out

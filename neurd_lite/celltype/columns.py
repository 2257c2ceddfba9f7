"""The one place where table columns become model features.

Two vocabularies reach the cell-type models:

- **engine names** (``soma_volume_um3`` ...), produced by ``nl.features(n)`` from a mesh;
- **v83 table names** (``soma_volume`` in nm³ ...), the MICrONS perisomatic feature table
  (``labels/microns_perisomatic_features_v83.csv.gz``, Elabbady et al.).

``to_engine(df)`` maps either onto engine names (engine columns already present win). Conventions:

- ``soma_area_to_volume_per_um`` and ``nucleus_area_to_volume_per_um`` are area / volume (µm²/µm³, µm⁻¹),
  recomputed from the table's area and volume columns. The table's own ``*_area_to_volume`` columns are the
  dimensionless index area / ((36π)^(1/3) volume^(2/3)) (see ``neurd_lite/feature/perisomatic.py``); the
  models get the same information as ``soma_sphericity`` / ``nucleus_sphericity`` (its inverse, ``derived``).
- ``soma_synapse_density_per_um2`` = ``n_soma_syn`` / soma area in µm² (the table's ``soma_syn_density`` is
  exactly the same ratio per nm²; it is 0 only where ``n_soma_syn`` is 0, 9 of 69,461 rows).
- ``cortical_depth_um`` = ``yr_um_translated`` (depth below pia along the rotated y axis, µm).

Table-only process features (``process_*``) come from the per-process list columns ``avg_sdf`` (shape-diameter
function of each process leaving the soma, nm, sorted ascending), ``orients`` (|cos| of each process direction
with the vertical axis) and ``vectors`` (unit process directions; +y points to white matter). Each list is in the
same process order. The engine does not compute these yet, so only the table model uses them.

Columns that are other models' outputs (``cell_type_pred``, ``cell_type_pred_num``, ``predict``, ``umapx``,
``umapy``) are never features: ``FORBIDDEN_INPUTS`` lists them and the model builders check it.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import InputError

ENGINE_PERISOMATIC: tuple[str, ...] = (
    "soma_volume_um3", "soma_area_um2", "soma_area_to_volume_per_um", "soma_n_processes", "soma_n_synapses",
    "soma_synapse_density_per_um2", "nucleus_volume_um3", "nucleus_area_um2", "nucleus_area_to_volume_per_um",
    "nucleus_fold_area_um2", "nucleus_fraction_folded", "cortical_depth_um", "soma_x_nm", "soma_y_nm",
    "soma_z_nm",
)
ENGINE_DENDRITIC: tuple[str, ...] = (
    "neurd_syn_density_post_per_um", "neurd_syn_density_head_per_um", "neurd_syn_density_neck_per_um",
    "neurd_syn_density_shaft_per_um", "neurd_spine_density_per_um",
)
# NEURD's E/I table (labels/neurd_e_i_manual_proofread.csv) -> engine names (both per µm of dendrite).
NEURD_TABLE_TO_ENGINE: dict[str, str] = {
    "syn_density_post": "neurd_syn_density_post_per_um", "syn_density_head": "neurd_syn_density_head_per_um",
    "syn_density_neck": "neurd_syn_density_neck_per_um", "syn_density_shaft": "neurd_syn_density_shaft_per_um",
    "spine_density": "neurd_spine_density_per_um",
}
FORBIDDEN_INPUTS: frozenset[str] = frozenset(
    {"cell_type_pred", "cell_type_pred_num", "predict", "umapx", "umapy", "cell_type", "label"})
PROCESS_FEATURES: tuple[str, ...] = (
    "process_sdf_max_um", "process_sdf_second_um", "process_sdf_mean_um", "process_sdf_sum_um",
    "process_sdf_cv", "process_thickest_vertical_cos", "process_thickest_up", "process_orient_mean",
    "process_n_vertical", "process_n_up", "process_n_down",
)

_TABLE_RULES: dict[str, tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]] = {
    "soma_volume_um3": (("soma_volume",), lambda d: d["soma_volume"] / 1e9),
    "soma_area_um2": (("soma_area",), lambda d: d["soma_area"] / 1e6),
    "soma_n_processes": (("num_processes",), lambda d: d["num_processes"]),
    "soma_n_synapses": (("n_soma_syn",), lambda d: d["n_soma_syn"]),
    "nucleus_volume_um3": (("nucleus_volume",), lambda d: d["nucleus_volume"]),
    "nucleus_area_um2": (("nucleus_area",), lambda d: d["nucleus_area"]),
    "nucleus_fold_area_um2": (("nucleus_fold_area",), lambda d: d["nucleus_fold_area"]),
    "nucleus_fraction_folded": (("nucleus_fract_fold",), lambda d: d["nucleus_fract_fold"]),
    "cortical_depth_um": (("yr_um_translated",), lambda d: d["yr_um_translated"]),
    "soma_x_nm": (("soma_x",), lambda d: d["soma_x"]),
    "soma_y_nm": (("soma_y",), lambda d: d["soma_y"]),
    "soma_z_nm": (("soma_z",), lambda d: d["soma_z"]),
}


def _numeric(s: pd.Series, name: str) -> pd.Series:
    """Column as float; non-numeric entries become NaN (flagged by the caller through missing counts)."""
    out = pd.to_numeric(s, errors="coerce").astype(float)
    return out.replace([np.inf, -np.inf], np.nan).rename(name)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.where(den > 0)
    return num / den


def to_engine(df: pd.DataFrame | dict[str, Any]) -> pd.DataFrame:
    """Engine-named feature frame (one row per input row, same index) from engine or v83-table columns.

    Missing features are NaN columns; nothing is dropped. Process features are added when the list columns are
    present (or when ``process_*`` columns are given directly).
    """
    if isinstance(df, dict):
        df = pd.DataFrame([df])
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame or a dict of features, got {type(df).__name__}")
    out = pd.DataFrame(index=df.index)
    for name in ENGINE_PERISOMATIC + ENGINE_DENDRITIC + PROCESS_FEATURES:
        if name in df.columns:
            out[name] = _numeric(df[name], name)
    for name, (needs, rule) in _TABLE_RULES.items():
        if name not in out.columns and all(c in df.columns for c in needs):
            cols = pd.DataFrame({c: _numeric(df[c], c) for c in needs})
            out[name] = rule(cols)
    for table, engine in NEURD_TABLE_TO_ENGINE.items():
        if engine not in out.columns and table in df.columns:
            out[engine] = _numeric(df[table], engine)
    if "soma_area_to_volume_per_um" not in out.columns and {"soma_area_um2", "soma_volume_um3"} <= set(out):
        out["soma_area_to_volume_per_um"] = _ratio(out["soma_area_um2"], out["soma_volume_um3"])
    if "nucleus_area_to_volume_per_um" not in out.columns and {"nucleus_area_um2", "nucleus_volume_um3"} <= set(out):
        out["nucleus_area_to_volume_per_um"] = _ratio(out["nucleus_area_um2"], out["nucleus_volume_um3"])
    if "soma_synapse_density_per_um2" not in out.columns and {"soma_n_synapses", "soma_area_um2"} <= set(out):
        out["soma_synapse_density_per_um2"] = _ratio(out["soma_n_synapses"], out["soma_area_um2"])
    if not set(PROCESS_FEATURES) & set(out.columns) and {"avg_sdf", "orients", "vectors"} <= set(df.columns):
        proc = process_features(df["avg_sdf"], df["orients"], df["vectors"])
        out = out.join(proc)
    for name in ENGINE_PERISOMATIC + ENGINE_DENDRITIC:
        if name not in out.columns:
            out[name] = np.nan
    return out


def _parse_list(value: Any) -> list | None:
    """A list cell: a JSON string ``"[1, 2]"``, a list/array, or None/NaN when absent or unreadable."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _process_row(sdf: list | None, orients: list | None, vectors: list | None) -> dict[str, float]:
    """Per-process summaries of one soma (NaN where the lists are missing or inconsistent)."""
    nan = {k: np.nan for k in PROCESS_FEATURES}
    if sdf is None or orients is None or vectors is None:
        return nan
    try:
        s = np.asarray(sdf, dtype=float) / 1000.0
        o = np.asarray(orients, dtype=float)
        v = np.asarray(vectors, dtype=float).reshape(-1, 3) if len(vectors) else np.zeros((0, 3))
    except (TypeError, ValueError):
        return nan
    if not (len(s) == len(o) == len(v)):
        return nan
    if len(s) == 0:
        return {**nan, "process_n_vertical": 0.0, "process_n_up": 0.0, "process_n_down": 0.0,
                "process_sdf_sum_um": 0.0}
    order = np.argsort(s)
    thick = order[-1]
    return {
        "process_sdf_max_um": float(s[thick]),
        "process_sdf_second_um": float(s[order[-2]]) if len(s) > 1 else 0.0,
        "process_sdf_mean_um": float(s.mean()),
        "process_sdf_sum_um": float(s.sum()),
        "process_sdf_cv": float(s.std() / s.mean()) if s.mean() > 0 else np.nan,
        "process_thickest_vertical_cos": float(o[thick]),
        "process_thickest_up": float(-v[thick, 1]),
        "process_orient_mean": float(o.mean()),
        "process_n_vertical": float((o > 0.7).sum()),
        "process_n_up": float((v[:, 1] < -0.7).sum()),
        "process_n_down": float((v[:, 1] > 0.7).sum()),
    }


def process_features(avg_sdf: pd.Series, orients: pd.Series, vectors: pd.Series) -> pd.DataFrame:
    """Process summaries from the v83 list columns (one row per input row, same index)."""
    rows = [_process_row(_parse_list(a), _parse_list(o), _parse_list(v))
            for a, o, v in zip(avg_sdf, orients, vectors)]
    return pd.DataFrame(rows, index=avg_sdf.index, columns=list(PROCESS_FEATURES))


def derived(feat: pd.DataFrame) -> pd.DataFrame:
    """Ratios the models use, computed from engine features only (sphericities and the volume ratio are
    dimensionless; ``soma_synapses_per_volume23_per_um2`` is per µm² of volume^(2/3))."""
    out = pd.DataFrame(index=feat.index)
    out["nucleus_to_soma_volume_ratio"] = _ratio(feat["nucleus_volume_um3"], feat["soma_volume_um3"])
    out["soma_sphericity"] = _ratio(np.pi ** (1 / 3) * (6 * feat["soma_volume_um3"]) ** (2 / 3),
                                    feat["soma_area_um2"])
    out["nucleus_sphericity"] = _ratio(np.pi ** (1 / 3) * (6 * feat["nucleus_volume_um3"]) ** (2 / 3),
                                       feat["nucleus_area_um2"])
    if "soma_n_synapses" in feat.columns:
        # soma synapses per (volume^(2/3)), µm⁻²: a surface density that needs no surface area (the engine's
        # decimated-mesh soma area is ~2.7x smaller than the table's, its volume within ~10-20%)
        out["soma_synapses_per_volume23_per_um2"] = _ratio(feat["soma_n_synapses"],
                                                           feat["soma_volume_um3"] ** (2 / 3))
    return out


#: Depth knots (µm below pia, ``cortical_depth_um``): the median depth, over the 68,438 unlabelled v83 somata (no
#: label used), where the minnie65 layer file puts the L1|L23, L23|L4, L4|L5, L5|L6a, L6a|L6b and L6b|WM boundaries
#: and the mid-planes of L23, L4, L5 and L6a (rounded to 5 µm).
DEPTH_KNOTS_UM: tuple[int, ...] = (55, 115, 190, 255, 325, 400, 480, 560, 635, 680)
DEPTH_HINGES: tuple[str, ...] = tuple(f"depth_below_{k}_um" for k in DEPTH_KNOTS_UM)


def depth_hinges(depth_um: pd.Series) -> pd.DataFrame:
    """``depth_below_<k>_um`` = max(0, depth - k) (µm) for every knot of ``DEPTH_KNOTS_UM``: a piecewise-linear
    depth basis with knots at layer boundaries and mid-layers. A linear model sees depth only as one slope; with
    this basis it can express a class confined to a band (6P-CT is concentrated in mid-L6a, 545-635 µm, while 6P-IT
    sits at both L6 edges, including L6b below 635 µm). Trees do not need it (they split depth directly)."""
    d = pd.to_numeric(depth_um, errors="coerce").astype(float)
    return pd.DataFrame({name: np.maximum(0.0, d - k) for name, k in zip(DEPTH_HINGES, DEPTH_KNOTS_UM)},
                        index=depth_um.index)


#: Added to both densities before the ratio (per µm) so a dendrite with no spines or no shaft synapses stays finite.
DENSITY_OFFSET_PER_UM = 0.01
SPINE_SHAFT_RATIO = "neurd_log_spines_per_shaft_synapse"


def dendritic_derived(feat: pd.DataFrame) -> pd.DataFrame:
    """``neurd_log_spines_per_shaft_synapse`` = ln((spine density + 0.01) / (shaft synapse density + 0.01)), both
    per µm (dimensionless). The ratio of two densities over the same dendrite does not depend on how much dendrite
    was measured nor on an overall detection efficiency; excitatory cells carry many spines per shaft synapse."""
    out = pd.DataFrame(index=feat.index)
    spine = feat.get("neurd_spine_density_per_um", pd.Series(np.nan, index=feat.index)).astype(float)
    shaft = feat.get("neurd_syn_density_shaft_per_um", pd.Series(np.nan, index=feat.index)).astype(float)
    out[SPINE_SHAFT_RATIO] = np.log((spine + DENSITY_OFFSET_PER_UM) / (shaft + DENSITY_OFFSET_PER_UM))
    return out

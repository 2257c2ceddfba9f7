"""Spine features: counts, densities per µm of cable and spine volume per µm, per compartment and branch.

``n.spines`` is one row per spine. A spine is placed on the skeleton through ``skeleton_vertex``, ``face``,
``base_x_nm/...`` or ``x_nm/y_nm/z_nm`` columns (see :meth:`FeatureContext.locate`), or through the faces labelled with its id in
``n.face_spine``. Volume is read from ``volume_nm3`` (or ``volume_um3``). An empty table WITH columns means
detection ran and found none (a real 0); a table without columns means spines were not detected (NaN).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..neuron import Neuron
from ..units import nm_to_um
from .context import FeatureContext, spines_per_branch, spines_table
from .registry import COMPARTMENT_GROUPS, Missing, register

FAMILY = "spines"


def spine_volumes_nm3(sp: pd.DataFrame) -> np.ndarray:
    """Spine volumes in nm³ from ``volume_nm3`` or ``volume_um3`` (raises Missing when neither exists)."""
    if "volume_nm3" in sp:
        return sp["volume_nm3"].to_numpy(dtype=float)
    if "volume_um3" in sp:
        return sp["volume_um3"].to_numpy(dtype=float) * 1e9
    raise Missing("spine table has no volume_nm3 column")


def _group_spines(ctx: FeatureContext, group: str) -> pd.DataFrame:
    ctx.vertex_mask(group)  # raises Missing without compartment labels
    sp = spines_table(ctx)
    if group == "neuron":
        return sp[sp["compartment"].astype(str) != "soma"]
    return sp[sp["compartment"].astype(str).isin(COMPARTMENT_GROUPS[group])]


@register("n_spines", "compartment", "1", "number of spines", FAMILY)
def n_spines(ctx: FeatureContext, group: str) -> float:
    return len(_group_spines(ctx, group))


@register("spine_density_per_um", "compartment", "per_um", "spines per µm of skeleton cable", FAMILY)
def spine_density_per_um(ctx: FeatureContext, group: str) -> float:
    count = len(_group_spines(ctx, group))
    return count / nm_to_um(ctx.require_length_nm(group))


@register("spine_volume_density_um3_per_um", "compartment", "um3_per_um",
          "total spine volume per µm of skeleton cable", FAMILY)
def spine_volume_density_um3_per_um(ctx: FeatureContext, group: str) -> float:
    vol = spine_volumes_nm3(_group_spines(ctx, group))
    return nm_to_um(float(np.nansum(vol)), 3) / nm_to_um(ctx.require_length_nm(group))


@register("spine_volume_median_um3", "compartment", "um3", "median spine volume", FAMILY)
def spine_volume_median_um3(ctx: FeatureContext, group: str) -> float:
    vol = spine_volumes_nm3(_group_spines(ctx, group))
    if not np.any(np.isfinite(vol)):
        raise Missing(f"no {group} spines with a volume")
    return nm_to_um(float(np.nanmedian(vol)), 3)


@register("n_spines_branch", "branch", "1", "number of spines on the branch", FAMILY)
def n_spines_branch(ctx: FeatureContext) -> pd.Series:
    return spines_per_branch(ctx)


@register("spine_density_branch_per_um", "branch", "per_um", "spines per µm of the branch", FAMILY)
def spine_density_branch_per_um(ctx: FeatureContext) -> pd.Series:
    length_um = nm_to_um(ctx.branches["length_nm"].astype(float))
    return spines_per_branch(ctx) / length_um.where(length_um > 0)


def dendritic_spine_density_per_um(n: Neuron) -> tuple[float, float]:
    """(spines per µm of dendrite, dendritic cable in µm) of the ``dendrite_all`` group, by the feature code
    (``dendrite_all_spine_density_per_um`` and ``dendrite_all_cable_length_um``, one definition; the input of
    ``compartments.refine_by_spines``): cable counts each skeleton edge at its distal vertex, edges leaving a
    soma vertex excluded; spines count by their table ``compartment`` (else the compartment of their skeleton vertex). NaN density
    when there is no dendritic cable or the spine table cannot be read (spines not detected)."""
    if n.skeleton is None or n.skeleton_labels is None:
        return float("nan"), 0.0
    ctx = FeatureContext(n)
    try:
        cable_um = nm_to_um(ctx.cable_length_nm("dendrite_all"))
    except Missing:  # no compartment labels
        return float("nan"), 0.0
    if cable_um <= 0:
        return float("nan"), 0.0
    try:
        return float(spine_density_per_um(ctx, "dendrite_all")), cable_um
    except Missing:
        return float("nan"), cable_um

"""Spine features: counts, densities per µm of cable and spine volume per µm, per compartment and branch.

``n.spines`` is one row per spine. A spine is placed on the skeleton through ``skeleton_vertex``, ``face``,
``base_x_nm/...`` or ``x_nm/y_nm/z_nm`` columns (see :meth:`FeatureContext.locate`), or through the faces labelled with its id in
``n.face_spine``. Volume is read from ``volume_nm3`` (or ``volume_um3``). An empty table WITH columns means
detection ran and found none (a real 0); a table without columns means spines were not detected (NaN).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..units import nm_to_um
from .context import NON_COMPARTMENT, FeatureContext
from .registry import COMPARTMENT_GROUPS, Missing, register

FAMILY = "spines"


def spines_table(ctx: FeatureContext) -> pd.DataFrame:
    """``n.spines`` with ``skeleton_vertex`` and ``compartment`` columns added (raises Missing when absent)."""
    if "spines" in ctx.cache:
        return ctx.cache["spines"]
    sp = ctx.n.spines
    if sp is None or (len(sp) == 0 and len(sp.columns) == 0):
        raise Missing("spines not detected (n.spines is empty; run spine detection)")
    sp = sp.copy()
    if len(sp) == 0:
        sp["skeleton_vertex"] = np.zeros(0, dtype=np.int64)
    elif {"skeleton_vertex", "face", "x_nm", "base_x_nm"} & set(sp.columns):
        sp["skeleton_vertex"] = ctx.locate(sp, "spines")
    else:
        sp["skeleton_vertex"] = _vertex_from_face_spine(ctx, sp)
    v = sp["skeleton_vertex"].to_numpy(dtype=np.int64)
    comp = np.full(len(sp), "unlabelled", dtype=object)
    ok = v >= 0
    comp[ok] = ctx.vertex_compartment[v[ok]]
    if "compartment" in sp:  # keep the table's label where it names a compartment (detection may predate labels)
        given = sp["compartment"].astype(str).to_numpy()
        comp = np.where(np.isin(given, NON_COMPARTMENT), comp, given)
    sp["compartment"] = comp
    branch = np.where(ok, ctx.vertex_branch[np.maximum(v, 0)], -1)
    if "branch" in sp:
        given_b = pd.to_numeric(sp["branch"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
        branch = np.where(given_b >= 0, given_b, branch)
    sp["branch"] = branch
    ctx.cache["spines"] = sp
    return sp


def _vertex_from_face_spine(ctx: FeatureContext, sp: pd.DataFrame) -> np.ndarray:
    """Skeleton vertex of each spine from its faces (the most common face_to_skeleton among them)."""
    fs, f2s = ctx.n.face_spine, ctx.n.face_to_skeleton
    ids = sp["spine_id"].to_numpy() if "spine_id" in sp else np.arange(len(sp))
    if fs is None or f2s is None:
        raise Missing("cannot place spines on the skeleton: no position columns and no face_spine map")
    fs, f2s = np.asarray(fs), np.asarray(f2s)
    out = np.full(len(sp), -1, dtype=np.int64)
    on = (fs >= 0) & (f2s >= 0)
    df = pd.DataFrame({"spine": fs[on], "v": f2s[on]})
    mode = df.groupby("spine")["v"].agg(lambda x: x.value_counts().index[0]) if len(df) else pd.Series(dtype=int)
    for i, s in enumerate(ids):
        if s in mode.index:
            out[i] = int(mode[s])
    return out


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


def spines_per_branch(ctx: FeatureContext) -> pd.Series:
    """Number of spines on each branch (0 where none)."""
    counts = spines_table(ctx)["branch"].value_counts()
    return counts.reindex(ctx.branches.index).fillna(0)


@register("n_spines_branch", "branch", "1", "number of spines on the branch", FAMILY)
def n_spines_branch(ctx: FeatureContext) -> pd.Series:
    return spines_per_branch(ctx)


@register("spine_density_branch_per_um", "branch", "per_um", "spines per µm of the branch", FAMILY)
def spine_density_branch_per_um(ctx: FeatureContext) -> pd.Series:
    length_um = nm_to_um(ctx.branches["length_nm"].astype(float))
    return spines_per_branch(ctx) / length_um.where(length_um > 0)

"""Synapse features: pre/post counts, densities per µm by target (spine head, neck, shaft), and NEURD's
dendritic E/I features.

``n.synapses`` rows carry ``is_pre`` and, once targets are assigned, ``target`` in
``neuron.SYNAPSE_TARGETS``. A synapse's compartment is its ``compartment`` column, else the compartment of the
skeleton vertex it is placed on (:meth:`FeatureContext.locate`).

NEURD E/I features (``neurd_*``) follow NEURD's definition: postsynaptic dendrite near the soma = dendritic
(non-axon) branches whose proximal end lies within 110 µm path distance of the soma and whose median width
(spines excluded) is 140-520 nm; densities are counts on those branches divided by their summed skeletal
length (µm). NEURD's table column ``skeletal_length_processed_syn`` is that summed length in nm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..units import nm_to_um
from .context import FeatureContext
from .registry import COMPARTMENT_GROUPS, Missing, register

FAMILY = "synapses"


@dataclass(frozen=True)
class NeurdEIParams:
    """Branch filter of NEURD's E/I features: path distance of the branch start from the soma, width window."""

    max_soma_distance_um: float = 110.0
    min_width_nm: float = 140.0
    max_width_nm: float = 520.0


EI_PARAMS = NeurdEIParams()


def synapse_table(ctx: FeatureContext) -> pd.DataFrame:
    """``n.synapses`` with boolean ``is_pre`` and a ``compartment`` and ``branch`` column (Missing if none)."""
    if "synapses" in ctx.cache:
        return ctx.cache["synapses"]
    syn = ctx.n.synapses
    if syn is None or (len(syn) == 0 and len(syn.columns) == 0):
        raise Missing("no synapses given")
    if "is_pre" not in syn:
        raise Missing("synapse table has no is_pre column")
    syn = syn.copy()
    syn["is_pre"] = syn["is_pre"].astype(bool)
    try:
        v = ctx.locate(syn, "synapses") if len(syn) else np.zeros(0, dtype=np.int64)
    except Missing:
        v = np.full(len(syn), -1, dtype=np.int64)
    ok = v >= 0
    if "compartment" not in syn:
        comp = np.full(len(syn), "unlabelled", dtype=object)
        if ctx.n.skeleton is not None:
            comp[ok] = ctx.vertex_compartment[v[ok]]
        if "target" in syn:
            comp[syn["target"].astype(str).to_numpy() == "soma"] = "soma"
        syn["compartment"] = comp
    branch = np.full(len(syn), -1, dtype=np.int64)
    if ctx.n.skeleton is not None and np.any(ok):
        branch[ok] = ctx.vertex_branch[v[ok]]
    syn["branch"] = branch
    ctx.cache["synapses"] = syn
    return syn


def _targets(syn: pd.DataFrame) -> np.ndarray:
    if "target" not in syn:
        raise Missing("synapse targets not assigned (no target column; run spine/synapse-target labelling)")
    return syn["target"].astype(str).to_numpy()


def _group_synapses(ctx: FeatureContext, group: str) -> pd.DataFrame:
    ctx.vertex_mask(group)  # raises Missing without compartment labels
    syn = synapse_table(ctx)
    comp = syn["compartment"].astype(str)
    if group == "neuron":
        return syn[comp != "soma"]
    return syn[comp.isin(COMPARTMENT_GROUPS[group])]


@register("n_synapses_pre", "neuron", "1", "number of presynaptic (output) synapses", FAMILY)
def n_synapses_pre(ctx: FeatureContext) -> float:
    return int(synapse_table(ctx)["is_pre"].sum())


@register("n_synapses_post", "neuron", "1", "number of postsynaptic (input) synapses, soma included", FAMILY)
def n_synapses_post(ctx: FeatureContext) -> float:
    return int((~synapse_table(ctx)["is_pre"]).sum())


@register("n_syn_pre", "compartment", "1", "presynaptic synapses on the compartment's cable", FAMILY)
def n_syn_pre(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_pre"].sum())


@register("n_syn_post", "compartment", "1", "postsynaptic synapses on the compartment's cable", FAMILY)
def n_syn_post(ctx: FeatureContext, group: str) -> float:
    return int((~_group_synapses(ctx, group)["is_pre"]).sum())


@register("syn_density_pre_per_um", "compartment", "per_um", "presynaptic synapses per µm of cable", FAMILY)
def syn_density_pre_per_um(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_pre"].sum()) / nm_to_um(ctx.require_length_nm(group))


@register("syn_density_post_per_um", "compartment", "per_um", "postsynaptic synapses per µm of cable", FAMILY)
def syn_density_post_per_um(ctx: FeatureContext, group: str) -> float:
    return int((~_group_synapses(ctx, group)["is_pre"]).sum()) / nm_to_um(ctx.require_length_nm(group))


def _target_density(ctx: FeatureContext, group: str, target: str) -> float:
    syn = _group_synapses(ctx, group)
    count = int(np.count_nonzero((_targets(syn) == target) & ~syn["is_pre"].to_numpy()))
    return count / nm_to_um(ctx.require_length_nm(group))


@register("syn_density_head_per_um", "compartment", "per_um", "spine-head synapses per µm of cable", FAMILY)
def syn_density_head_per_um(ctx: FeatureContext, group: str) -> float:
    return _target_density(ctx, group, "spine_head")


@register("syn_density_neck_per_um", "compartment", "per_um", "spine-neck synapses per µm of cable", FAMILY)
def syn_density_neck_per_um(ctx: FeatureContext, group: str) -> float:
    return _target_density(ctx, group, "spine_neck")


@register("syn_density_shaft_per_um", "compartment", "per_um", "shaft synapses per µm of cable", FAMILY)
def syn_density_shaft_per_um(ctx: FeatureContext, group: str) -> float:
    return _target_density(ctx, group, "shaft")


# ---- NEURD's dendritic E/I features --------------------------------------------------------------------
def neurd_ei_branches(ctx: FeatureContext, params: NeurdEIParams = EI_PARAMS) -> pd.Index:
    """Branches NEURD's E/I features are measured on (see module docstring)."""
    if "neurd_branches" in ctx.cache:
        return ctx.cache["neurd_branches"]
    b = ctx.branches
    if not len(b):
        raise Missing("neuron has no branches")
    comp = b["compartment"].astype(str)
    if ctx.has_compartments:
        dend = comp.isin(COMPARTMENT_GROUPS["dendrite_all"])
    else:
        dend = comp != "soma"
        ctx.notes["neurd_ei"] = "no compartment labels: the axon is excluded by the width window only"
    from .morphometry import branch_width_um, distance_to_soma_um

    start_um = distance_to_soma_um(ctx).reindex(b.index)
    width_nm = branch_width_um(ctx).reindex(b.index) * 1000.0
    keep = (dend & (start_um <= params.max_soma_distance_um) & (width_nm >= params.min_width_nm)
            & (width_nm <= params.max_width_nm))
    ctx.cache["neurd_branches"] = b.index[keep.to_numpy()]
    return ctx.cache["neurd_branches"]


def _neurd_length_um(ctx: FeatureContext) -> float:
    length = float(ctx.branches.loc[neurd_ei_branches(ctx), "length_nm"].sum())
    if length <= 0:
        raise Missing("no dendritic branch within 110 µm of the soma with width 140-520 nm")
    return nm_to_um(length)


def _neurd_post(ctx: FeatureContext) -> pd.DataFrame:
    syn = synapse_table(ctx)
    return syn[~syn["is_pre"] & syn["branch"].isin(neurd_ei_branches(ctx))]


@register("neurd_skeletal_length_um", "neuron", "um",
          "summed length of NEURD's E/I branches (dendrite starting within 110 µm of the soma, width 140-520 nm)",
          FAMILY)
def neurd_skeletal_length_um(ctx: FeatureContext) -> float:
    return _neurd_length_um(ctx)


@register("neurd_syn_density_post_per_um", "neuron", "per_um",
          "NEURD syn_density_post: postsynapses on NEURD's E/I branches per µm of them", FAMILY)
def neurd_syn_density_post_per_um(ctx: FeatureContext) -> float:
    return len(_neurd_post(ctx)) / _neurd_length_um(ctx)


def _neurd_target_density(ctx: FeatureContext, target: str) -> float:
    post = _neurd_post(ctx)
    return int(np.count_nonzero(_targets(post) == target)) / _neurd_length_um(ctx)


@register("neurd_syn_density_head_per_um", "neuron", "per_um", "NEURD syn_density_head (spine-head synapses)",
          FAMILY)
def neurd_syn_density_head_per_um(ctx: FeatureContext) -> float:
    return _neurd_target_density(ctx, "spine_head")


@register("neurd_syn_density_neck_per_um", "neuron", "per_um", "NEURD syn_density_neck (spine-neck synapses)",
          FAMILY)
def neurd_syn_density_neck_per_um(ctx: FeatureContext) -> float:
    return _neurd_target_density(ctx, "spine_neck")


@register("neurd_syn_density_shaft_per_um", "neuron", "per_um", "NEURD syn_density_shaft (shaft synapses)",
          FAMILY)
def neurd_syn_density_shaft_per_um(ctx: FeatureContext) -> float:
    return _neurd_target_density(ctx, "shaft")


@register("neurd_spine_density_per_um", "neuron", "per_um", "NEURD spine_density: spines on NEURD's E/I branches "
          "per µm of them", FAMILY)
def neurd_spine_density_per_um(ctx: FeatureContext) -> float:
    from .spines import spines_table

    sp = spines_table(ctx)
    return int(sp["branch"].isin(neurd_ei_branches(ctx)).sum()) / _neurd_length_um(ctx)


# ---- branch level --------------------------------------------------------------------------------------
def _branch_counts(ctx: FeatureContext, mask_fn) -> pd.Series:
    syn = synapse_table(ctx)
    sel = syn[mask_fn(syn)]
    return sel["branch"].value_counts().reindex(ctx.branches.index).fillna(0)


@register("n_syn_post_branch", "branch", "1", "postsynaptic synapses on the branch", FAMILY)
def n_syn_post_branch(ctx: FeatureContext) -> pd.Series:
    return _branch_counts(ctx, lambda s: ~s["is_pre"])


@register("n_syn_pre_branch", "branch", "1", "presynaptic synapses on the branch", FAMILY)
def n_syn_pre_branch(ctx: FeatureContext) -> pd.Series:
    return _branch_counts(ctx, lambda s: s["is_pre"])


def _branch_target_feature(target: str, short: str) -> None:
    @register(f"n_syn_{short}_branch", "branch", "1", f"{target.replace('_', '-')} synapses on the branch", FAMILY)
    def count(ctx: FeatureContext) -> pd.Series:
        return _branch_counts(ctx, lambda s: (_targets(s) == target) & ~s["is_pre"].to_numpy())


for _t, _s in (("spine_head", "head"), ("spine_neck", "neck"), ("shaft", "shaft")):
    _branch_target_feature(_t, _s)

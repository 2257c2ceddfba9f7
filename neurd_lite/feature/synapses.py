"""Synapse features: pre/post counts, densities per µm by target (spine head, neck, shaft), and NEURD's
dendritic E/I features.

``n.synapses`` rows carry ``is_pre`` and, once targets are assigned, ``target`` in
``neuron.SYNAPSE_TARGETS``. A synapse's compartment is its ``compartment`` column, else the compartment of the
skeleton vertex it is placed on (:meth:`FeatureContext.locate`).

Synapses the synapse stage marked ``is_far`` (farther than ``SynapseParams.max_distance_nm``, 1.5 µm, from the
mesh: usually a table in the wrong units) are counted by no feature but ``n_syn_far``; when every synapse is far,
all synapse features are NaN with that reason (not 0). A synapse whose polarity is unknown (``is_pre`` <NA>) is
counted neither pre nor post (noted in ``df.attrs["notes"]``); when no synapse has a known polarity the synapse
features are NaN with that reason.

NEURD E/I features (``neurd_*``) follow NEURD's branch filter (cell_type_utils.postsyn_branches_near_soma):
a dendritic (non-axon) branch counts when it has more than 2 postsynapses and more than 80 % of its synapses are
postsynaptic, its proximal end lies less than 110 µm (path) from the soma, its NEURD width with spines excluded
is between 140 and 520 nm, and, for spine density, it has more than 2 spines and is longer than 15 µm. For the
synapse densities NEURD loosens the spine and length limits through module globals whose values are not in its
public source; we use the values of its commented "special" branch (no spine minimum, longer than 5 µm).
NEURD's branch "width" is a radius: per 1 µm skeleton slice, the mean distance of the slice's face midpoints from
the slice's centre across the skeleton direction, then the median over slices. Our branch ``width_um`` is a
diameter (2 x median face distance from the cross-section axis), so the window is applied to ``width_um / 2``.
Densities are counts on the selected branches divided by their summed skeletal length (µm); NEURD's table
columns ``skeletal_length_processed_syn`` / ``_spine`` are those summed lengths in nm.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..units import nm_to_um
from .context import (FeatureContext, branch_distance_to_soma_nm, branch_width_nm, far_mask, spines_per_branch,
                      spines_table, synapse_table)
from .params import NeurdEIParams  # noqa: F401 - re-exported (moved to feature/params.py)
from .registry import COMPARTMENT_GROUPS, Missing, register

FAMILY = "synapses"


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


@register("n_synapses_pre", "neuron", "1", "number of presynaptic (output) synapses (is_far ones excluded)",
          FAMILY)
def n_synapses_pre(ctx: FeatureContext) -> float:
    return int(synapse_table(ctx)["is_pre"].sum())


@register("n_synapses_post", "neuron", "1",
          "number of postsynaptic (input) synapses, soma included (is_far ones excluded)", FAMILY)
def n_synapses_post(ctx: FeatureContext) -> float:
    return int((synapse_table(ctx)["is_post"]).sum())


@register("n_syn_far", "neuron", "1",
          "synapses farther than 1.5 µm (SynapseParams.max_distance_nm) from the mesh (is_far); no other synapse "
          "feature counts them", FAMILY)
def n_syn_far(ctx: FeatureContext) -> float:
    syn = ctx.n.synapses
    if syn is None or (len(syn) == 0 and len(syn.columns) == 0):
        raise Missing("no synapses given")
    if "is_far" not in syn:
        raise Missing("synapses not mapped to the mesh (no is_far column; the synapse stage did not run)")
    return int(far_mask(syn).sum())


@register("n_syn_pre", "compartment", "1", "presynaptic synapses on the compartment's cable", FAMILY)
def n_syn_pre(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_pre"].sum())


@register("n_syn_post", "compartment", "1", "postsynaptic synapses on the compartment's cable", FAMILY)
def n_syn_post(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_post"].sum())


@register("syn_density_pre_per_um", "compartment", "per_um", "presynaptic synapses per µm of cable", FAMILY)
def syn_density_pre_per_um(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_pre"].sum()) / nm_to_um(ctx.require_length_nm(group))


@register("syn_density_post_per_um", "compartment", "per_um", "postsynaptic synapses per µm of cable", FAMILY)
def syn_density_post_per_um(ctx: FeatureContext, group: str) -> float:
    return int(_group_synapses(ctx, group)["is_post"].sum()) / nm_to_um(ctx.require_length_nm(group))


def _target_density(ctx: FeatureContext, group: str, target: str) -> float:
    syn = _group_synapses(ctx, group)
    count = int(np.count_nonzero((_targets(syn) == target) & syn["is_post"].to_numpy()))
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
def neurd_ei_branches(ctx: FeatureContext, kind: str) -> pd.Index:
    """Branches NEURD's E/I features are measured on; ``kind`` is ``"syn"`` or ``"spine"`` (module docstring)."""
    key = f"neurd_branches_{kind}"
    if key in ctx.cache:
        return ctx.cache[key]
    b = ctx.branches
    if not len(b):
        raise Missing("neuron has no branches")
    comp = b["compartment"].astype(str)
    if ctx.has_compartments:
        dend = comp.isin(COMPARTMENT_GROUPS["dendrite_all"])
    else:
        dend = comp != "soma"
        ctx.notes["neurd_ei"] = "no compartment labels: the axon is excluded by the synapse and width filters only"
    params = ctx.params.neurd_ei
    syn = synapse_table(ctx)
    n_post = syn[syn["is_post"]]["branch"].value_counts().reindex(b.index).fillna(0)
    n_all = syn["branch"].value_counts().reindex(b.index).fillna(0)
    post_frac = n_post / n_all.where(n_all > 0)
    start_um = branch_distance_to_soma_nm(ctx).reindex(b.index) / 1000.0
    neurd_width_nm = branch_width_nm(ctx).reindex(b.index) / 2.0  # diameter -> NEURD's radius
    length_um = b["length_nm"].astype(float) / 1000.0
    keep = (dend & (n_post > params.min_post_synapses) & (post_frac > params.min_post_fraction)
            & (start_um < params.max_soma_distance_um)
            & (neurd_width_nm > params.min_neurd_width_nm) & (neurd_width_nm < params.max_neurd_width_nm))
    if kind == "spine":
        keep &= (spines_per_branch(ctx) > params.min_spines_spine) & (length_um > params.min_length_spine_um)
    else:
        if params.min_spines_syn >= 0:
                keep &= spines_per_branch(ctx) > params.min_spines_syn
        keep &= length_um > params.min_length_syn_um
    ctx.cache[key] = b.index[keep.to_numpy()]
    return ctx.cache[key]


def _neurd_length_um(ctx: FeatureContext, kind: str) -> float:
    length = float(ctx.branches.loc[neurd_ei_branches(ctx, kind), "length_nm"].sum())
    if length <= 0:
        raise Missing(f"no branch passes NEURD's E/I {kind} filter (dendrite within 110 µm of the soma, "
                      "radius 140-520 nm, mostly postsynaptic)")
    return nm_to_um(length)


def _neurd_post(ctx: FeatureContext) -> pd.DataFrame:
    syn = synapse_table(ctx)
    return syn[syn["is_post"] & syn["branch"].isin(neurd_ei_branches(ctx, "syn"))]


@register("neurd_skeletal_length_syn_um", "neuron", "um",
          "summed length of the branches NEURD's E/I synapse densities use (NEURD skeletal_length_processed_syn)",
          FAMILY)
def neurd_skeletal_length_syn_um(ctx: FeatureContext) -> float:
    return _neurd_length_um(ctx, "syn")


@register("neurd_skeletal_length_spine_um", "neuron", "um",
          "summed length of the branches NEURD's E/I spine density uses (NEURD skeletal_length_processed_spine)",
          FAMILY)
def neurd_skeletal_length_spine_um(ctx: FeatureContext) -> float:
    return _neurd_length_um(ctx, "spine")


@register("neurd_syn_density_post_per_um", "neuron", "per_um",
          "NEURD syn_density_post: postsynapses per µm on NEURD's E/I synapse branches", FAMILY)
def neurd_syn_density_post_per_um(ctx: FeatureContext) -> float:
    return len(_neurd_post(ctx)) / _neurd_length_um(ctx, "syn")


def _neurd_target_density(ctx: FeatureContext, target: str) -> float:
    post = _neurd_post(ctx)
    return int(np.count_nonzero(_targets(post) == target)) / _neurd_length_um(ctx, "syn")


for _short, _target, _what in (("head", "spine_head", "spine-head"), ("neck", "spine_neck", "spine-neck"),
                               ("shaft", "shaft", "shaft")):  # NEURD's per-target synapse densities
    register(f"neurd_syn_density_{_short}_per_um", "neuron", "per_um",
             f"NEURD syn_density_{_short} ({_what} synapses)", FAMILY)(
        lambda ctx, target=_target: _neurd_target_density(ctx, target))


@register("neurd_spine_density_per_um", "neuron", "per_um",
          "NEURD spine_density: spines per µm on NEURD's E/I spine branches", FAMILY)
def neurd_spine_density_per_um(ctx: FeatureContext) -> float:
    branches = neurd_ei_branches(ctx, "spine")
    return int(spines_table(ctx)["branch"].isin(branches).sum()) / _neurd_length_um(ctx, "spine")


# ---- branch level --------------------------------------------------------------------------------------
def _branch_counts(ctx: FeatureContext, mask_fn) -> pd.Series:
    syn = synapse_table(ctx)
    sel = syn[mask_fn(syn)]
    return sel["branch"].value_counts().reindex(ctx.branches.index).fillna(0)


@register("n_syn_post_branch", "branch", "1", "postsynaptic synapses on the branch", FAMILY)
def n_syn_post_branch(ctx: FeatureContext) -> pd.Series:
    return _branch_counts(ctx, lambda s: s["is_post"])


@register("n_syn_pre_branch", "branch", "1", "presynaptic synapses on the branch", FAMILY)
def n_syn_pre_branch(ctx: FeatureContext) -> pd.Series:
    return _branch_counts(ctx, lambda s: s["is_pre"])


def _branch_target_feature(target: str, short: str) -> None:
    @register(f"n_syn_{short}_branch", "branch", "1", f"{target.replace('_', '-')} synapses on the branch", FAMILY)
    def count(ctx: FeatureContext) -> pd.Series:
        return _branch_counts(ctx, lambda s: (_targets(s) == target) & s["is_post"].to_numpy())


for _t, _s in (("spine_head", "head"), ("spine_neck", "neck"), ("shaft", "shaft")):
    _branch_target_feature(_t, _s)

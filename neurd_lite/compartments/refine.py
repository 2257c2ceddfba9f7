"""Second look at compartments once spines are known: aspiny cells have no apical dendrite.

Pyramidal cells are spiny; most interneurons are nearly aspiny. On NEURD's 210 proofread cells
(``labels/neurd_e_i_manual_proofread.csv``) a spine density below 0.2 per µm of dendrite keeps 125 of 126
excitatory cells above the line and puts 60 of 84 inhibitory cells below it. An apical found on a cell
below the line is therefore more likely a mistake than a real apical dendrite, and the dendrites are
relabelled ``dendrite`` (the axon is unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from ..neuron import Neuron
from ..units import nm_to_um
from .label import CompartmentParams, label_compartments

_GROUP = "dendrite_all"  # neurd_lite.feature.registry.COMPARTMENT_GROUPS: basal, apical_*, oblique, dendrite


@dataclass(frozen=True)
class RefineParams:
    """max_spine_density_per_um: below this a cell counts as aspiny (no apical); min_dendrite_um: the
    dendritic cable needed before the density is trusted."""

    max_spine_density_per_um: float = 0.2
    min_dendrite_um: float = 100.0


def dendritic_spine_density_per_um(n: Neuron) -> tuple[float, float]:
    """(spines per µm of dendrite, dendritic cable in µm) of the ``dendrite_all`` group, by the feature code
    (``neurd_lite.feature``: ``dendrite_all_spine_density_per_um`` and ``dendrite_all_cable_length_um``, one
    definition): cable counts each skeleton edge at its distal vertex, edges leaving a soma vertex excluded;
    spines count by their table ``compartment`` (else the compartment of their skeleton vertex). NaN density
    when there is no dendritic cable or the spine table cannot be read (spines not detected)."""
    from ..feature.context import FeatureContext
    from ..feature.registry import Missing
    from ..feature.spines import spine_density_per_um

    if n.skeleton is None or n.skeleton_labels is None:
        return float("nan"), 0.0
    ctx = FeatureContext(n)
    try:
        cable_um = nm_to_um(ctx.cable_length_nm(_GROUP))
    except Missing:  # no compartment labels
        return float("nan"), 0.0
    if cable_um <= 0:
        return float("nan"), 0.0
    try:
        return float(spine_density_per_um(ctx, _GROUP)), cable_um
    except Missing:
        return float("nan"), cable_um


def refresh_spine_compartments(n: Neuron) -> None:
    """Set ``n.spines["compartment"]`` again from the current ``n.face_compartment``, as spine detection does:
    the most common compartment among each spine's faces (``n.face_spine``; ties go to the first name in
    sorted order). Spines without faces keep their label. Call after the compartments were relabelled."""
    sp = n.spines
    if sp is None or len(sp) == 0 or "compartment" not in sp or "spine_id" not in sp or n.face_spine is None:
        return
    fs = np.asarray(n.face_spine)
    on = np.flatnonzero(fs >= 0)
    if len(on) == 0:
        return
    names, comp = np.unique(np.asarray(n.face_compartment, dtype=str)[on], return_inverse=True)
    n_ids = max(int(fs.max()), int(sp["spine_id"].max())) + 1
    votes = np.zeros((n_ids, len(names)), dtype=np.int64)
    np.add.at(votes, (fs[on], comp.reshape(-1)), 1)
    ids = sp["spine_id"].to_numpy(dtype=np.int64)
    has = (ids >= 0) & (votes[np.maximum(ids, 0)].sum(axis=1) > 0)
    new = sp["compartment"].to_numpy(dtype=object).copy()
    new[has] = names[np.argmax(votes[ids[has]], axis=1)]
    n.spines = sp.assign(compartment=new)


def refine_by_spines(n: Neuron, params: RefineParams | None = None, up: Sequence[float] = (0, -1, 0),
                     compartment_params: CompartmentParams | None = None, **label_kwargs: Any) -> bool:
    """Relabel an aspiny cell's apical/basal dendrites as ``dendrite``; returns True when it relabelled.

    A relabelled cell's spine table takes the new compartments (:func:`refresh_spine_compartments`).
    ``compartment_params`` and ``label_kwargs`` (``depth_range_um``, ``soma_reach_factor``) are those of the
    compartment stage, used again to relabel.

    Needs spine detection to have run (``n.provenance["spines"]`` or a spine table); otherwise does nothing.
    Records the density and the decision in ``n.provenance["compartments"]["spine_check"]``.
    """
    params = params or RefineParams()
    if n.skeleton_labels is None or "spines" not in n.provenance.get("timings_s", {}):
        return False
    labels = np.asarray(n.skeleton_labels, dtype=str)
    has_apical = bool(np.isin(labels, ("apical_shaft", "apical_tuft", "oblique")).any())
    density, cable_um = dendritic_spine_density_per_um(n)
    aspiny = cable_um >= params.min_dendrite_um and density < params.max_spine_density_per_um
    check = {"spine_density_per_um": density, "dendrite_um": cable_um, "aspiny": bool(aspiny),
             "threshold_per_um": params.max_spine_density_per_um, "relabelled": bool(aspiny and has_apical)}
    if check["relabelled"]:
        base = compartment_params or CompartmentParams()
        label_compartments(n, replace(base, has_apical=False), up=up, **label_kwargs)
        refresh_spine_compartments(n)
        n.flag(f"no_apical_aspiny: {density:.3f} spines/µm of dendrite < {params.max_spine_density_per_um}")
    n.provenance.setdefault("compartments", {})["spine_check"] = check
    return check["relabelled"]

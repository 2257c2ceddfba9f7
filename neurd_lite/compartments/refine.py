"""Second look at compartments once spines are known: aspiny cells have no apical dendrite, spiny ones are
excitatory.

Pyramidal cells are spiny; most interneurons are nearly aspiny. On NEURD's 210 proofread cells
(``labels/neurd_e_i_manual_proofread.csv``) a spine density below 0.2 per µm of dendrite keeps 125 of 126
excitatory cells above the line and puts 60 of 84 inhibitory cells below it. An apical found on a cell
below the line is therefore more likely a mistake than a real apical dendrite, and the dendrites are
relabelled ``dendrite`` (the axon is unchanged). A cell above the line is taken as excitatory: when the
has-apical model (which judges the shape alone, and whose negatives are mostly interneurons) turned its apical
away, the cell is labelled again with ``CompartmentParams(excitatory=True)``, so the apical rule's test (a
primary dendrite rising ``ApicalParams.min_height_um`` above the soma) decides (flag ``apical_from_spines``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from ..geometry.stats import group_mode
from ..neuron import Neuron
from .label import APICAL_LABELS, CompartmentParams, label_compartments

@dataclass(frozen=True)
class RefineParams:
    """max_spine_density_per_um: below this a cell counts as aspiny (no apical); min_dendrite_um: the
    dendritic cable needed before the density is trusted."""

    max_spine_density_per_um: float = 0.2
    min_dendrite_um: float = 100.0


def refresh_spine_compartments(n: Neuron) -> None:
    """Set ``n.spines["compartment"]`` again from the current ``n.face_compartment`` by spine detection's vote
    (``geometry.stats.group_mode``: the most common compartment among each spine's faces in ``n.face_spine``;
    ties go to the first name in sorted order). Spines without faces keep their label. Call after the
    compartments were relabelled."""
    sp = n.spines
    if sp is None or len(sp) == 0 or "compartment" not in sp or "spine_id" not in sp or n.face_spine is None:
        return
    fs = np.asarray(n.face_spine)
    on = fs >= 0
    if not on.any():
        return
    n_ids = max(int(fs.max()), int(sp["spine_id"].max())) + 1
    vote = group_mode(fs[on], np.asarray(n.face_compartment, dtype=str)[on], n_ids, "")  # "": no faces
    ids = sp["spine_id"].to_numpy(dtype=np.int64)
    has = (ids >= 0) & (vote[np.maximum(ids, 0)].astype(str) != "")
    new = sp["compartment"].to_numpy(dtype=object).copy()
    new[has] = vote[ids[has]]
    n.spines = sp.assign(compartment=new)


def refine_by_spines(n: Neuron, params: RefineParams | None = None, up: Sequence[float] | None = (0, -1, 0),
                     compartment_params: CompartmentParams | None = None, *,
                     spine_density: tuple[float, float], **label_kwargs: Any) -> bool:
    """Relabel an aspiny cell's apical/basal dendrites as ``dendrite``, or a spiny cell whose apical the
    has-apical model turned away as an excitatory cell; returns True when it relabelled.

    spine_density: (spines per µm of dendrite, dendritic cable in µm) as the features define them
    (``neurd_lite.feature.spines.dendritic_spine_density_per_um(n)``; the caller computes it, so this stage does
    not import the feature layer).

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
    has_apical = bool(np.isin(labels, APICAL_LABELS).any())
    density, cable_um = spine_density
    trusted = cable_um >= params.min_dendrite_um
    aspiny = trusted and density < params.max_spine_density_per_um
    base = compartment_params or CompartmentParams()
    rec = n.provenance.get("compartments", {})
    spiny_turned_away = (trusted and not aspiny and not has_apical and base.has_apical is None
                         and not base.excitatory and rec.get("has_apical_source") == "has-apical model")
    check = {"spine_density_per_um": density, "dendrite_um": cable_um, "aspiny": bool(aspiny),
             "threshold_per_um": params.max_spine_density_per_um, "relabelled": bool(aspiny and has_apical)}
    if check["relabelled"]:
        label_compartments(n, replace(base, has_apical=False), up=up, **label_kwargs)
        refresh_spine_compartments(n)
        n.flag(f"no_apical_aspiny: {density:.3f} spines/µm of dendrite < {params.max_spine_density_per_um}")
    elif spiny_turned_away:
        p_shape = rec.get("p_has_apical")
        label_compartments(n, replace(base, excitatory=True), up=up, **label_kwargs)
        now = bool(np.isin(np.asarray(n.skeleton_labels, dtype=str), APICAL_LABELS).any())
        check.update({"relabelled": now, "excitatory": True, "p_has_apical_shape": p_shape})
        if now:
            refresh_spine_compartments(n)
            n.flag(f"apical_from_spines: {density:.3f} spines/µm of dendrite >= {params.max_spine_density_per_um} "
                   f"(excitatory); the shape alone gave p(apical) {p_shape}")
    n.provenance.setdefault("compartments", {})["spine_check"] = check
    return check["relabelled"]

"""Second look at compartments once spines are known: aspiny cells have no apical dendrite, spiny ones are
excitatory.

Pyramidal cells are spiny; most interneurons are nearly aspiny. On NEURD's 210 proofread cells
(``labels/neurd_e_i_manual_proofread.csv``) a spine density below 0.2 per µm of dendrite keeps 125 of 126
excitatory cells above the line and puts 60 of 84 inhibitory cells below it. An apical found on a cell
below the line is therefore more likely a mistake than a real apical dendrite, and the dendrites are
relabelled ``dendrite`` (the axon is unchanged).

A cell above the line is more likely excitatory: on the same cells being spiny is (125/126) / (24/84) = 3.5
times as likely for an excitatory as for an inhibitory cell. When the has-apical model (shape alone, trained
with both classes weighted equally, so its odds p / (1 - p) are the shape's likelihood ratio) turned the apical
away, the spines' ratio multiplies those odds; at posterior odds >= 1 (p >= 0.22) the cell is labelled again
with ``CompartmentParams(excitatory=True)``, so the apical rule's test (a primary dendrite rising
``ApicalParams.min_height_um`` above the soma) decides (flag ``apical_from_spines``). A cell the shape calls
an interneuron with confidence stays one however spiny (sparsely spiny Martinotti cells).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ..geometry.stats import group_mode
from ..neuron import Neuron
from .label import APICAL_LABELS, label_compartments
from .params import CompartmentParams, RefineParams  # noqa: F401 - re-exported (moved to params.py)

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
    has_apical = _has_apical(n)
    density, cable_um = spine_density
    trusted = cable_um >= params.min_dendrite_um
    aspiny = trusted and density < params.max_spine_density_per_um
    base = compartment_params or CompartmentParams()
    floor = params.second_look_min_density_per_um
    spiny = not aspiny and (floor is None or density >= floor)
    spiny_open = trusted and spiny and not has_apical and base.has_apical is None and not base.excitatory
    check = {"spine_density_per_um": density, "dendrite_um": cable_um, "aspiny": bool(aspiny),
             "threshold_per_um": params.max_spine_density_per_um, "relabelled": bool(aspiny and has_apical)}
    if check["relabelled"]:
        label_compartments(n, replace(base, has_apical=False), up=up, **label_kwargs)
        refresh_spine_compartments(n)
        n.flag(f"no_apical_aspiny: {density:.3f} spines/µm of dendrite < {params.max_spine_density_per_um}")
    elif spiny_open:
        check.update(_spiny_second_look(n, base, params, up, label_kwargs))
        if check["relabelled"]:
            refresh_spine_compartments(n)
    n.provenance.setdefault("compartments", {})["spine_check"] = check
    return check["relabelled"]


def _spiny_second_look(n: Neuron, base: CompartmentParams, params: RefineParams, up: Sequence[float] | None,
                       label_kwargs: dict[str, Any]) -> dict[str, Any]:
    """A spiny cell left without an apical: the dense-proximal-input veto assumes an aspiny interneuron (shaft
    input), so on a spiny cell it is lifted and the has-apical model decides; when that model turns the apical
    away, the spines' likelihood ratio may still overturn it (:func:`_spiny_posterior`). Relabels in place;
    returns what it did for ``spine_check``."""
    out: dict[str, Any] = {"relabelled": False}
    p = base
    if n.provenance["compartments"].get("has_apical_source") == "given or rules" and \
            any(f.startswith("no_apical_dense_proximal_input") for f in n.flags):
        p = replace(base, apical=replace(base.apical, interneuron_input_per_um=float("inf")))
        label_compartments(n, p, up=up, **label_kwargs)
        out["dense_input_veto_lifted"] = True
        n.flag("dense_input_veto_lifted: the cell is spiny, so its dense proximal input is not an aspiny "
               "interneuron's")
    rec = n.provenance["compartments"]
    p_shape = rec.get("p_has_apical")
    if not _has_apical(n) and rec.get("has_apical_source") == "has-apical model" and p_shape is not None:
        post = _spiny_posterior(float(p_shape), params)
        out.update({"p_has_apical_shape": p_shape, "p_has_apical_with_spines": round(post, 4)})
        if post >= 0.5:
            label_compartments(n, replace(p, excitatory=True), up=up, **label_kwargs)
            out["excitatory"] = True
            if _has_apical(n):
                n.flag(f"apical_from_spines: p(apical) {p_shape} from the shape, {post:.2f} with the spines "
                       f"(spiny cells are {params.spiny_excitatory_fraction / params.spiny_inhibitory_fraction:.1f}"
                       " times as likely excitatory)")
    out["relabelled"] = bool(out.get("dense_input_veto_lifted") or out.get("excitatory")) and _has_apical(n)
    return out


def _has_apical(n: Neuron) -> bool:
    return bool(np.isin(np.asarray(n.skeleton_labels, dtype=str), APICAL_LABELS).any())


def _spiny_posterior(p_shape: float, params: RefineParams) -> float:
    """P(apical) after a spiny verdict: the shape model's odds times the spines' likelihood ratio (E vs I)."""
    p = min(max(p_shape, 1e-6), 1 - 1e-6)
    odds = p / (1 - p) * params.spiny_excitatory_fraction / params.spiny_inhibitory_fraction
    return odds / (1 + odds)

"""Label every skeleton vertex, branch node and mesh face of a Neuron with its compartment.

Reads ``n.skeleton`` (nm, rooted at the soma), ``n.synapses`` (``x_nm, y_nm, z_nm, is_pre``) when present,
``n.graph`` branch nodes and the per-face maps when present. Writes ``n.skeleton_labels``, the graph node
attribute ``compartment``, ``n.face_compartment`` / ``n.face_labels`` and ``n.provenance["compartments"]``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..geometry.depth import depth_range_problem, linear_depth_um
from ..model.frame import DEPTH_RANGE_UM, MINNIE65_UP
from ..model.soma_extent import SomaExtentParams
from ..neuron import Neuron, synapse_polarity
from .apical import label_dendrites, proximal_input_density_per_um
from .axon import AxonResult, axon_by_synapses, find_axon
from .apical import _label_apical_limb
from .contacts import thin_route_axon
from .candidate import LimbChoice, candidate_top, choose_candidate
from .faces import label_faces, label_graph
from .features import vertex_features
from .frame import UNCERTAIN, FrameResult, infer_up, minnie65_frame
from .gate import axon_vetoed, gate_row
from .polarity import polarity_moves
from .axon_l2 import with_l2
from .axon_shape import with_shape
from .learned import APICAL_MODEL, AXON_L2_MODEL, AXON_MODEL, AXON_SHAPE_MODEL, CELL_MODEL, LIMB_MODEL, \
    MIN_APICAL_FRAC, VertexModel, apical_limbs, apical_segments, axon_subtree, edge_um, load_vertex_model, \
    models_available, off_axon_limbs
from .params import AxonParams, ApicalParams, CompartmentParams  # noqa: F401 - re-exported (moved to params.py)
from .tree import Tree, synapse_counts


def label_skeleton_vertices(n: Neuron, params: CompartmentParams | None = None,
                            up: Sequence[float] | None = (0, -1, 0), units: Any = None,
                            depth_range_um: tuple[float, float] = DEPTH_RANGE_UM) -> np.ndarray:
    """Compartment of each skeleton vertex (object array of names from ``neurd_lite.neuron.COMPARTMENTS``).

    up: pia direction, or None to infer it (:mod:`neurd_lite.compartments.frame`; ``units`` = the units the
    input was read in, default ``n.provenance["inputs"]["units"]``). Synapses count at their anchor
    (``n.synapses["skeleton_vertex"]``, written by the pipeline's anchor stage; -1 = far, not counted); a table
    without anchors is anchored to the nearest skeleton vertex within ``model.anchors.SKELETON_FAR_NM``.
    depth_range_um: the frame's plausible soma depths (µm). Records the decision (method, frame, axon method,
    apical height in µm) in ``n.provenance["compartments"]`` and flags the neuron when a part could not be found
    or ``up`` was inferred.
    """
    params = params or CompartmentParams()
    prep = prepare(n, params, up, units, depth_range_um=depth_range_um)
    if params.method == "learned" and prep.features is not None:
        labels = learned_decision(n, prep, params)
    else:
        labels = prep.rule_labels.copy()
    n.provenance["compartments"]["method"] = "learned" if prep.features is not None and \
        params.method == "learned" else "rules"
    return labels


@dataclass
class Prepared:
    """Everything the learned decision needs: tree, synapse counts, frame, rule labels and features."""

    tree: Tree
    pre: np.ndarray
    post: np.ndarray
    up: np.ndarray
    frame: FrameResult
    rule_labels: np.ndarray
    has_apical: bool | None  # forced or decided by a rule (frame, dense input); None = open
    features: pd.DataFrame | None


def prepare(n: Neuron, params: CompartmentParams, up: Sequence[float] | None, units: Any = None,
            with_features: bool | None = None, depth_range_um: tuple[float, float] = DEPTH_RANGE_UM) -> Prepared:
    """Tree, synapse counts, the pia direction (given or inferred), the rule labels (with their provenance and
    flags) and, for ``method="learned"`` when the models are shipped, the vertex features."""
    sk = n.skeleton
    soma_r = params.soma_radius_nm
    if soma_r is None:
        soma_r = float(n.somas[0].radius_nm) if n.somas else 0.0
    tree = Tree.from_skeleton(sk, soma_r)
    syn = n.synapses if n.synapses is not None and len(n.synapses) else None
    pre, post = synapse_counts(sk, syn)
    z = np.zeros(tree.n)
    dendrites = tree.in_root_tree & ~tree.soma & ~find_axon(tree, z, z, params.axon).mask
    shape = infer_up(tree, dendrites, "um")  # the shape's answer (µm: never the coordinate rule)
    if up is None:
        if units is None:
            units = n.provenance.get("inputs", {}).get("units")
        frame = infer_up(tree, dendrites, units) if minnie65_frame(tree.sk.vertices[tree.sk.root], units) else shape
        n.flag(f"up_inferred: up=({', '.join(f'{x:.2f}' for x in frame.up)}) from {frame.method}, "
               f"confidence {frame.confidence:.2f}")
        if frame.confidence < UNCERTAIN:
            n.flag("up_uncertain: no dominant primary dendrite; apical/basal labels may be wrong (pass up=)")
    else:
        u = np.asarray(up, dtype=float).reshape(-1)
        frame = FrameResult(u / np.linalg.norm(u), "given", 1.0)
    frame.details["limb_dominance"] = round(float(shape.confidence), 4)  # an input of the has-apical model
    if with_features is None:
        with_features = params.method == "learned" and models_available()
    labels, has_apical = _rule_labels(n, tree, pre, post, syn, frame, params, with_features, depth_range_um)
    feats = None
    if with_features:
        feats = vertex_features(tree, frame.up, pre if syn is not None else None,
                                post if syn is not None else None, labels)
    n.provenance["compartments"]["frame"] = frame.as_dict()
    return Prepared(tree, pre, post, frame.up, frame, labels, has_apical, feats)


def _rule_labels(n: Neuron, tree: Tree, pre: np.ndarray, post: np.ndarray, syn: pd.DataFrame | None,
                 frame: FrameResult, params: CompartmentParams, learned: bool = False,
                 depth_range_um: tuple[float, float] = DEPTH_RANGE_UM) -> tuple[np.ndarray, bool | None]:
    """The hand-set rules (axon by synapse flow or radius, apical by height): labels and the has_apical
    decision that rules made (forced, frame problem, dense proximal input; None when open). ``learned``: the
    models decide next (the rule's ``axon_not_found`` flag is left to them)."""
    sk = tree.sk
    n_unknown = _n_unknown_polarity(syn)
    if syn is not None and n_unknown > UNKNOWN_POLARITY_FLAG_FRACTION * len(syn):
        n.flag(f"synapse_polarity_unknown: {n_unknown} of {len(syn)} synapses have no pre/post (not used for "
               "the axon split)")
    axon = find_axon(tree, pre, post, params.axon)
    up_arr = frame.up
    body = tree.in_root_tree & ~tree.soma
    has_apical = params.has_apical
    problem, centred = _frame_problem(n, sk, up_arr, depth_range_um) if frame.method == "given" else ("", False)
    if problem:
        if params.outside_cortex == "dendrite" and has_apical is None and not centred:
            has_apical = False
            problem += "; dendrites labelled 'dendrite' (no apical/basal)"
        n.flag(f"frame_not_minnie65_cortex: {problem}")
    density = proximal_input_density_per_um(tree, body & ~axon.mask, post, params.apical.proximal_window_um)
    if has_apical is None and post.sum() > 0 and density > params.apical.interneuron_input_per_um:
        has_apical = False
        n.flag("no_apical_dense_proximal_input")
    if axon.method == "synapses" and has_apical is not False:
        axon = _guard_apical(n, tree, pre, post, axon, up_arr, params, has_apical)
    dendrite = body & ~axon.mask
    dend = label_dendrites(tree, dendrite, up_arr, params.apical, has_apical)
    labels = np.full(sk.n_vertices, "unknown", dtype=object)
    labels[dendrite] = dend.labels[dendrite]
    labels[axon.mask] = "axon"
    _label_somas(n, tree, labels)
    if axon.method == "none" and not learned:
        n.flag("axon_not_found")
    elif axon.method == "synapses" and axon.segregation < params.axon.min_segregation:
        n.flag("axon_split_uncertain")
    if (~tree.in_root_tree).any():
        n.flag("skeleton_pieces_not_connected_to_soma")
    n.provenance["compartments"] = {
        "axon_method": axon.method, "axon_segregation_index": axon.segregation,
        "n_presynapses_mapped": int(pre.sum()), "n_postsynapses_mapped": int(post.sum()),
        "n_synapses_unknown_polarity": n_unknown, "frame_problem": problem,
        "has_apical": dend.has_apical, "proximal_input_per_um": density, "apical_height_um": dend.apical_height_um,
        "apical_initial_cos": dend.initial_cos, "n_apical_limbs": dend.n_apical_limbs,
        "params": asdict(params), "up": [float(x) for x in up_arr],
    }
    return labels, has_apical


def other_somas(n: Neuron, tree: Tree) -> np.ndarray:
    """Bool (N,) skeleton vertices inside a merged second (third, ...) soma of the neuron."""
    near = np.zeros(tree.n, dtype=bool)
    for other in n.somas[1:]:
        near |= np.linalg.norm(tree.sk.vertices - other.center_nm, axis=1) <= max(other.radius_nm, 0.0)
    return near


def _label_somas(n: Neuron, tree: Tree, labels: np.ndarray) -> None:
    """Soma vertices of the tree, and of any merged second cell (its soma region, whatever path reached it)."""
    labels[tree.soma] = "soma"
    labels[other_somas(n, tree)] = "soma"


APICAL_LABELS = ("apical_shaft", "apical_tuft", "oblique")


def axon_threshold(params: CompartmentParams) -> float:
    """The axon decision's p_axon level: ``params.axon_threshold``, else the shipped axon model's sidecar
    (``decision.axon_threshold``, chosen in inner folds by ``classifiers/compartments/train.py``), else 0.5."""
    if params.axon_threshold is not None:
        return float(params.axon_threshold)
    meta = load_vertex_model(axon_model_name(params)).meta if models_available() else {}
    return float(meta.get("decision", {}).get("axon_threshold", 0.5))


def axon_model_name(params: CompartmentParams) -> str:
    """The axon model's file name: the shipped one, with ``axon_l2_model`` the one with level-2 side nodes, with
    ``axon_shape_model`` the one with branch shape."""
    return AXON_L2_MODEL if params.axon_l2_model else AXON_SHAPE_MODEL if params.axon_shape_model else AXON_MODEL


def learned_decision(n: Neuron, prep: Prepared, params: CompartmentParams,
                     p_axon: np.ndarray | None = None, p_apical: np.ndarray | None = None,
                     cell_model: VertexModel | None = None, limb_model: VertexModel | None = None,
                     apical_model: VertexModel | None = None) -> np.ndarray:
    """Labels from the models (probabilities computed here unless given; ``*_model`` default to the shipped
    ones), in four steps:

    1. :func:`decide_axon`: the axon = the best-scoring subtree;
    2. :func:`apical_frame`: the apical candidate = the dendritic limb the limb model (``limb_model``,
       :mod:`.candidate`) scores highest; when it is not the limb reaching highest along ``up``, points away
       from the pia and the has-apical model sees an apical on its axis, that axis replaces ``up`` for
       everything apical (features recomputed, ``p_apical`` then from ``apical_model``; flag
       ``apical_axis_not_up``);
    3. :func:`decide_has_apical`: forced or ruled out by the caller / the rules (frame, dense input), else for a
       known excitatory cell (``params.excitatory``) the apical rule's test, else the has-apical model
       (``cell_model``) on :func:`~neurd_lite.compartments.gate.gate_features` of the dendrite plus the limb
       model's evidence;
    4. :func:`compose_labels`: apical = segments voted apical (or the rule's apical when the vertex model finds
       under ``MIN_APICAL_FRAC`` of the dendrite), shaft / tuft / oblique split by the rule, the rest basal.
    """
    tree = prep.tree
    body = tree.in_root_tree & ~tree.soma
    cell_model = cell_model or load_vertex_model(CELL_MODEL)
    others = other_somas(n, tree)
    limb_model = limb_model or load_vertex_model(LIMB_MODEL)
    axon, cut, how = decide_axon(tree, prep, body, params, p_axon, limb_model, body & ~others,
                                 expect_axon=bool(n.somas))
    if params.axon_thin_route:  # the cut landed where the axon meets a thicker neurite (contacts.py)
        axon, rec = thin_route_axon(tree, axon, cut)
        n.provenance["compartments"]["axon_thin_route"] = rec
        if rec["extended"]:
            n.flag(f"axon_extended_through_contact: {rec['route_um']} µm of thin route up from the cut")
    if params.polarity_bayes_factor > 0:  # pieces the synapses place on the other side (polarity.py)
        axon, moved = polarity_moves(tree, body & ~others, axon, prep.pre, prep.post, params.polarity_bayes_factor,
                                     dendrite_contact_nm=np.inf if params.polarity_far_to_dendrite else None)
        n.provenance["compartments"]["axon_polarity_moves"] = moved
        if moved["to_axon_pieces"] or moved["to_dendrite_pieces"]:
            n.flag(f"axon_pieces_moved_by_synapse_polarity: {moved['to_axon_pieces']} to the axon "
                   f"({moved['to_axon_um']} µm), {moved['to_dendrite_pieces']} to the dendrite "
                   f"({moved['to_dendrite_um']} µm)")
    dendrite = body & ~axon
    gate_dend = dendrite & ~others
    aprep, choice, p_apical = apical_frame(n, prep, params, gate_dend, cell_model, limb_model, p_apical, axon)
    if p_apical is None:
        p_apical = np.zeros(tree.n)
        p_apical[dendrite] = (apical_model or load_vertex_model(APICAL_MODEL)).predict(aprep.features[dendrite])
    rule_apical = np.isin(aprep.rule_labels.astype(str), APICAL_LABELS) & dendrite
    apical = apical_segments(tree, p_apical, dendrite)
    if params.apical_off_axon_limb:
        height = (tree.sk.vertices - tree.sk.vertices[tree.sk.root]) @ aprep.up
        apical = off_axon_limbs(tree, apical, axon, height, params.apical_off_axon_limb_spare_above)
    e = edge_um(tree)
    frac = float(e[apical].sum() / max(e[dendrite].sum(), 1e-9))
    has, source = decide_has_apical(n, prep, aprep, params, gate_dend, choice, cell_model, rule_apical, axon)
    if has and frac < MIN_APICAL_FRAC:  # the vertex model finds (almost) no apical: the rule's
        apical = rule_apical
        source += "; apical from the rule"
        if not apical.any() and prep.has_apical is None:
            has = False
    labels, n_limbs = compose_labels(n, tree, axon, dendrite, apical if has else None, aprep.up, params)
    if not axon.any():
        n.flag("axon_not_found")
    n.provenance["compartments"].update({
        "learned_axon_cut_vertex": cut, "learned_axon_decision": how, "learned_apical_cable_frac": frac,
        "has_apical": bool(has), "has_apical_source": source, "n_apical_limbs": n_limbs})
    return labels


def decide_axon(tree: Tree, prep: Prepared, body: np.ndarray, params: CompartmentParams,
                p_axon: np.ndarray | None = None, limb_model: VertexModel | None = None,
                limbs: np.ndarray | None = None, expect_axon: bool = True) -> tuple[np.ndarray, int, str]:
    """(axon mask, cut vertex or -1, how it was decided): the subtree maximising the cable-weighted sum of
    ``p_axon - 0.5``; when none passes and ``expect_axon`` (a whole cell, with a soma, has an axon somewhere), of
    ``p_axon - axon_threshold(params)`` (a source the model never saw: under-confident). A piece without a soma
    (``expect_axon=False``: a cut-out dendrite need hold no axon at all) keeps only a subtree that passes 0.5.
    The fallback (``params.fallback_keeps_apical``, session 8) never takes the distal end of the apical
    candidate (the limb of ``limbs``, bool (N,), default ``body``, that ``limb_model`` ranks first) unless the
    subtree is thinner than the rest of the cell (median radius): a weakly scored process that is the cell's
    best apical and as thick as its dendrites is its apical, not its axon. ``p_axon`` (N,)
    is computed with the shipped axon model unless given."""
    if p_axon is None:
        p_axon = np.zeros(tree.n)
        feats = with_l2(prep.features, tree) if params.axon_l2_model else \
            with_shape(prep.features, tree) if params.axon_shape_model else prep.features
        p_axon[body] = load_vertex_model(axon_model_name(params)).predict(feats[body])
    axon, cut, _ = axon_subtree(tree, p_axon, body)
    level = axon_threshold(params)
    if cut >= 0 or level >= 0.5 or not expect_axon:
        return axon, cut, "level 0.5"
    how = f"fallback level {level:g}"
    axon, cut, _ = axon_subtree(tree, p_axon, body, level)
    if cut >= 0 and params.fallback_keeps_apical and prep.has_apical is not False \
            and not _thinner(tree, axon, body & ~axon):
        keep = candidate_top(tree, prep.up, body if limbs is None else limbs,
                             limb_model or load_vertex_model(LIMB_MODEL))
        if keep >= 0 and axon[keep]:
            axon, cut, _ = axon_subtree(tree, p_axon, body, level, keep)
            how += "; apical candidate kept out"
    return axon, cut, how


def _thinner(tree: Tree, part: np.ndarray, rest: np.ndarray) -> bool:
    """Whether the median radius of ``part`` is below that of ``rest`` (False without radii)."""
    r = tree.sk.radius
    if r is None:
        return False
    a, b = r[part], r[rest]
    a, b = a[np.isfinite(a) & (a > 0)], b[np.isfinite(b) & (b > 0)]
    return bool(len(a) and len(b) and np.median(a) < np.median(b))


def apical_frame(n: Neuron, prep: Prepared, params: CompartmentParams, gate_dend: np.ndarray,
                 cell_model: VertexModel, limb_model: VertexModel | None = None,
                 p_apical: np.ndarray | None = None,
                 axon: np.ndarray | None = None) -> tuple[Prepared, LimbChoice | None, np.ndarray | None]:
    """(the preparation the apical decision uses, the apical candidate or None, ``p_apical``): ``prep`` and the
    given ``p_apical`` unless the candidate limb's axis replaces ``up`` (then the reframed preparation and None,
    so ``p_apical`` is recomputed on it). Records ``apical_candidate`` in the provenance; flags
    ``apical_axis_not_up`` when the axis is used. No candidate when the cell has no apical by force or rule.
    ``axon``: bool (N,) the decided axon (the gate's axon inputs)."""
    if prep.has_apical is False:
        return prep, None, p_apical
    choice = choose_candidate(prep.tree, prep.up, gate_dend, limb_model or load_vertex_model(LIMB_MODEL))
    if choice is None:
        return prep, None, p_apical
    n.provenance["compartments"]["apical_candidate"] = cand = choice.as_dict()
    if not choice.use_axis:
        return prep, choice, p_apical
    alt = reframe(n, prep, params, choice.axis)  # accepted when the has-apical model, on that axis, sees one
    p_alt = float(cell_model.predict(gate_row(prep.tree, alt.up, gate_dend, choice.gate_extra(), axon))[0])
    cand.update(p_has_apical_on_axis=round(p_alt, 4), axis_used=p_alt >= 0.5)
    if p_alt < 0.5:
        return prep, choice, p_apical
    n.flag(f"apical_axis_not_up: the apical candidate limb points "
           f"{np.degrees(np.arccos(np.clip(choice.dir_cos_up, -1, 1))):.0f} deg from up (pia); apical "
           "labels use its axis (an inverted or deep-layer pyramid, or up is wrong: pass up= or has_apical=)")
    return alt, choice, None


def decide_has_apical(n: Neuron, prep: Prepared, aprep: Prepared, params: CompartmentParams,
                      gate_dend: np.ndarray, choice: LimbChoice | None, cell_model: VertexModel,
                      rule_apical: np.ndarray, axon: np.ndarray | None = None) -> tuple[bool, str]:
    """(has an apical, why): forced or decided by the rules (``prep.has_apical``), else the apical rule's test for
    a known excitatory cell, else the has-apical model on the gate row in ``aprep``'s frame (its probability and
    evidence go to the provenance), unless the model's sidecar carries an axon veto (``decision.axon_veto``, session
    10: :func:`~neurd_lite.compartments.gate.axon_vetoed`) that this cell's axon meets; ``axon``: bool (N,) the
    decided axon (the gate's axon inputs)."""
    if prep.has_apical is not None:
        return bool(prep.has_apical), "given or rules"
    if params.excitatory:
        return bool(rule_apical.any()), "excitatory: apical rule"
    row = gate_row(prep.tree, aprep.up, gate_dend, choice.gate_extra() if choice else None, axon)
    p_cell = float(cell_model.predict(row)[0])
    rec = n.provenance["compartments"]
    rec["p_has_apical"] = round(p_cell, 4)
    rec["has_apical_evidence"] = {k: round(float(v), 4) if np.isfinite(v) else None for k, v in row.iloc[0].items()}
    veto = ((getattr(cell_model, "meta", None) or {}).get("decision") or {}).get("axon_veto")
    if p_cell >= 0.5 and axon_vetoed(row.iloc[0], veto):
        rec["axon_veto"] = dict(veto)
        n.flag(f"no_apical_axon_veto: the axon rises {row.iloc[0]['axon_height_ext']:.2f} fields above the soma "
               f"with {row.iloc[0]['axon_cable_rel']:.1f} x the dendrite's cable (an interneuron's), although the "
               f"dendrite's shape gave p(apical) {p_cell:.2f}")
        return False, "axon veto"
    return p_cell >= 0.5, "has-apical model"


def compose_labels(n: Neuron, tree: Tree, axon: np.ndarray, dendrite: np.ndarray, apical: np.ndarray | None,
                   up: np.ndarray, params: CompartmentParams) -> tuple[np.ndarray, int]:
    """(vertex labels, number of apical limbs): ``dendrite`` is basal with the ``apical`` vertices' limbs split
    into shaft / tuft / oblique by the rule along ``up`` (``apical`` None: no apical, dendrite is
    ``dendrite``), then the axon and the somata."""
    labels = np.full(tree.n, "unknown", dtype=object)
    labels[dendrite] = "basal" if apical is not None else "dendrite"
    limbs = []
    if apical is not None:
        height = (tree.sk.vertices - tree.sk.vertices[tree.sk.root]) @ up
        limbs = apical_limbs(tree, apical, height)
        for limb, top in limbs:
            _label_apical_limb(tree, limb, top, height, params.apical, labels)
            labels[limb & (labels == "basal")] = "oblique"
    labels[axon] = "axon"
    _label_somas(n, tree, labels)
    return labels, len(limbs)


def reframe(n: Neuron, prep: Prepared, params: CompartmentParams, axis: np.ndarray) -> Prepared:
    """``prep`` recomputed (rule labels, vertex features) with ``axis`` as the pia direction; the neuron's
    compartment provenance and flags are left as they were."""
    rec, flags = n.provenance.get("compartments"), list(n.flags)
    out = prepare(n, params, axis, with_features=True)
    n.provenance["compartments"], n.flags[:] = rec, flags
    return out


SOMA_CENTRED_NM = 1000.0  # a soma this close to the origin: a soma-centred export, its axes kept (labels kept)


def _frame_problem(n: Neuron, sk, up: np.ndarray, depth_range_um: tuple[float, float]) -> tuple[str, bool]:
    """Why the neuron does not sit in minnie65 cortex although ``up`` is minnie65's pia direction ("" if it
    does), and whether its soma is at the origin (a soma-centred export, e.g. NEURD's SWC, whose axes may
    still be minnie65's).

    The soma (soma 0's centre, else the skeleton root) must lie within ``depth_range_um`` (the frame's range,
    which the depth features accept too: ``geometry.depth.depth_range_problem`` on the linear minnie65 depth).
    With another ``up`` the caller has set its own frame and nothing is checked."""
    if up.shape != (3,) or not np.allclose(up / np.linalg.norm(up), MINNIE65_UP):
        return "", False
    centre = np.asarray(n.somas[0].center_nm if n.somas else sk.vertices[int(sk.root or 0)], dtype=float)
    problem = depth_range_problem(float(linear_depth_um(centre.reshape(1, 3))[0]), depth_range_um)
    if not problem:
        return "", False
    if np.linalg.norm(centre) <= SOMA_CENTRED_NM:
        return ("soma at the origin (a soma-centred frame?): cortical depth unknown; apical/basal labels assume "
                "up=(0, -1, 0) points to the pia"), True
    return f"{problem} of the depth features, so up=(0, -1, 0) is not known to point to the pia", False


UNKNOWN_POLARITY_FLAG_FRACTION = 0.1  # flag the neuron when more synapses than this have no pre/post


def _n_unknown_polarity(syn: pd.DataFrame | None) -> int:
    """Synapses whose ``is_pre`` is <NA> (or all of them when the column is absent)."""
    if syn is None or len(syn) == 0:
        return 0
    is_pre, is_post = synapse_polarity(syn)
    return int((~(is_pre | is_post)).sum())


def _guard_apical(n: Neuron, tree: Tree, pre: np.ndarray, post: np.ndarray, axon: AxonResult, up: np.ndarray,
                  params: CompartmentParams, has_apical: bool | None) -> AxonResult:
    """A synapse split that swallows the process the apical rule picks (looked for among all processes) is
    replaced by the maximal-segregation split when that one leaves the apical alone."""
    body = tree.in_root_tree & ~tree.soma
    probe = label_dendrites(tree, body, up, params.apical, has_apical)
    top = probe.top_vertex
    if not probe.has_apical or top < 0 or not axon.mask[top]:
        return axon
    alt = axon_by_synapses(tree, pre, post, "segregation")
    if alt.mask.any() and not alt.mask[top]:
        n.flag("axon_flow_split_took_apical")
        return alt
    return axon


def label_compartments(n: Neuron, params: CompartmentParams | None = None,
                       up: Sequence[float] | None = None, units: Any = None,
                       depth_range_um: tuple[float, float] = DEPTH_RANGE_UM,
                       soma_reach_factor: float = SomaExtentParams.reach_factor,
                       face_centroids: np.ndarray | None = None) -> None:
    """Fill ``n.skeleton_labels``, graph node ``compartment`` and, for mesh neurons, face labels.

    up: direction of the pia in the mesh frame (minnie65: (0, -1, 0)), or None to infer it (minnie65 from nm
    coordinates inside its volume, else from the apical-like primary dendrite; recorded in
    ``n.provenance["compartments"]["frame"]`` and flagged ``up_inferred``). units: the units the input was
    read in (default: ``n.provenance["inputs"]["units"]``); µm input is never taken for minnie65.
    depth_range_um: the frame's plausible soma depths (µm). soma_reach_factor: faces labelled soma through the
    skeleton beyond this many soma radii are neurite (``model.soma_extent``). Positions are nm. A neuron without
    a skeleton is flagged ``no_skeleton`` and left unlabelled. face_centroids: (F, 3) input-face centroids (nm)
    already computed (e.g. by the decimation), or None to compute those needed. Spine face labels already set are kept;
    soma faces stay ``soma``.
    """
    if n.skeleton is None or n.skeleton.n_vertices == 0:
        n.flag("no_skeleton")
        return
    up_arr = None if up is None else np.asarray(up, dtype=float).reshape(-1)
    if up_arr is not None and (up_arr.size != 3 or not np.all(np.isfinite(up_arr)) or np.linalg.norm(up_arr) == 0):
        raise InputError(f"up must be a non-zero 3-vector or None, got {up!r}", hint="minnie65 uses up=(0, -1, 0)")
    labels = label_skeleton_vertices(n, params, up_arr, units, depth_range_um)
    n.skeleton_labels = labels
    label_graph(n, labels)
    label_faces(n, labels, soma_reach_factor, face_centroids)

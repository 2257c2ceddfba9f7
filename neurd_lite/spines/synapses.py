"""Synapses onto the mesh: exact nearest surface point, far-synapse flag, target compartment (nm inside).

Each synapse is mapped to the closest point on the mesh surface: a KD-tree over face centroids proposes
``k_candidates`` faces per synapse, the exact point-triangle distance picks the closest, and a second ball query
covers the synapses where a face outside the candidates could still be closer (vectorised; no Python loop over
synapses, only over the ball lists of the few uncertain ones). Synapses farther than ``max_distance_nm`` are
kept, flagged ``is_far`` and get target ``unknown``. Targets by rule: soma faces -> soma; presynapses -> axon (boutons); postsynapses on axon
faces -> axon; on spine faces (or within ``spine_tolerance_nm`` of one) -> spine_head / spine_neck; else
shaft. ``method="model"`` uses the shipped LightGBM synapse-target classifier instead, ``"hybrid"`` (default)
keeps the rules' axon calls and lets it decide the rest, soma included (``soma_by="rules"``: the rules' soma
calls stay too; see ``target_model.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..checks import check_params
from ..errors import InputError
from ..geometry.nearest import closest_faces  # noqa: F401 - re-exported (moved to geometry/nearest.py)
from ..model.anchors import FAR_NM, SKELETON_FAR_NM, Anchors, anchor_to_mesh
from ..model.facemap import FaceMap
from ..model.soma_extent import SomaExtentParams
from ..neuron import Neuron, synapse_polarity
from .eligible import soma_face_mask

TARGET_MODELS = ("synapse_target_profile", "synapse_target_ring", "synapse_target")  # shipped in neurd_lite/models


@dataclass(frozen=True)
class SynapseParams:
    """How synapses are anchored to the mesh and given a target (lengths in nm). Each entry: what it does (unit;
    default); why. History of the defaults: docs/architecture.md "Parameter history".

    max_distance_nm (nm; 1500, ``model.anchors.FAR_NM``): synapses farther than this from the mesh are
        ``is_far`` (target unknown). Why: MICrONS synapse centroids sit within a few hundred nm of the
        postsynaptic surface (the shared cell: median 115 nm, max 572 nm). The one far-synapse limit of every stage.
    k_candidates (faces; 16): faces, nearest by centroid, checked exactly per synapse (a ball query then covers
        the synapses a face outside them could still be nearer). Why: exact distances to a few faces, no loop.
    method (``"rules"`` / ``"model"`` / ``"hybrid"``; ``"hybrid"``): who picks the target: the face labels, the
        shipped LightGBM model on local geometry (every target), or the model except for the rules' axon calls
        (and soma calls with ``soma_by="rules"``). Why: per-member macro F1 rules .869 -> hybrid .913 on the
        family (docs/spines.md "Session 8").
    soma_by (``"model"`` / ``"rules"``; ``"model"``): under ``"model"`` / ``"hybrid"``, whether the model decides
        soma vs not on every postsynapse or the soma face mask's call is final. Why: the mask reaches up to
        ~1.5 µm past the soma.
    target_model (a shipped model name, :data:`TARGET_MODELS`; ``"synapse_target_profile"``): the model file
        under ``"model"`` / ``"hybrid"``; ``"synapse_target_profile"`` also reads where the site sits on its
        spine's axis profile (``spines/axis_profile.py``), ``"synapse_target_ring"`` has the same inputs captured
        on the ring detector, ``"synapse_target"`` is the first model (classifiers/synapse_target/MODEL_CARD.md).
        Why: the best held-out macro F1 of the three (.949; MODEL_CARD).
    profile_sample_nm (nm; 40): surface sample spacing of the spine axis profiles the profile model reads
        (``AxisProfileParams.sample_nm``). Why: 4x fewer samples than the 20 nm it was captured at, held-out F1
        not lower; 20 restores the captured spacing.
    spine_tolerance_nm (nm; 20): a synapse whose closest face is plain shaft moves to a spine face at most this
        much farther (the rules only). Why: the membrane is known only to a few tens of nm, so a spine that close is
        as likely the contact, and a spine detected only in part keeps its synapses.
    max_skeleton_distance_nm (nm; 5000, ``model.anchors.SKELETON_FAR_NM``): skeleton-only neurons anchor
        synapses to the nearest skeleton vertex within this. Why: a skeleton vertex sits inside its process,
        up to a radius from the surface the synapse lies on.
    """

    max_distance_nm: float = FAR_NM
    k_candidates: int = 16
    method: str = "hybrid"
    soma_by: str = "model"
    target_model: str = "synapse_target_profile"
    profile_sample_nm: float = 40.0
    spine_tolerance_nm: float = 20.0
    max_skeleton_distance_nm: float = SKELETON_FAR_NM

    def __post_init__(self) -> None:
        check_params(self, choices={"method": ("rules", "model", "hybrid"), "soma_by": ("rules", "model"),
                                    "target_model": TARGET_MODELS},
                     ranges={"k_candidates": ">= 1", "profile_sample_nm": "> 0"})


def spine_within_tolerance(n: Neuron, pts: np.ndarray, face: np.ndarray, dist: np.ndarray, skip: np.ndarray,
                           tolerance_nm: float, soma: np.ndarray) -> np.ndarray:
    """``face`` with each synapse whose closest face is plain dendrite (not spine, soma or axon; ``skip``
    excluded) moved to its closest spine face when that is at most ``tolerance_nm`` farther than ``dist``.
    ``soma``: the (F,) soma face mask (``spines.eligible.soma_face_mask``)."""
    import trimesh

    sp_f = np.flatnonzero(n.face_spine >= 0)
    if len(sp_f) == 0:
        return face
    lab = n.face_labels[face].astype(str)
    comp = n.face_compartment[face].astype(str)
    plain = (n.face_spine[face] < 0) & ~np.isin(lab, ("soma", "axon")) & ~np.isin(comp, ("soma", "axon"))
    plain &= ~skip & ~soma[face]
    idx = np.flatnonzero(plain)
    if len(idx) == 0:
        return face
    # only synapses with a spine face centroid near enough can qualify (a face's closest point lies at most its
    # circumradius from its centroid); the exact search then runs on the spine faces alone
    tri = np.asarray(n.mesh.triangles)[sp_f]
    cen = tri.mean(1)
    reach = float(np.linalg.norm(tri - cen[:, None, :], axis=2).max())
    dc, _ = cKDTree(cen).query(pts[idx])
    idx = idx[dc <= dist[idx] + tolerance_nm + reach]
    if len(idx) == 0:
        return face
    sub = trimesh.Trimesh(np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)[sp_f], process=False)
    f2, d2, _ = closest_faces(sub, pts[idx])
    take = d2 <= dist[idx] + tolerance_nm
    out = face.copy()
    out[idx[take]] = sp_f[f2[take]]
    return out


def rule_targets(n: Neuron, face: np.ndarray, is_pre: np.ndarray, is_far: np.ndarray, soma: np.ndarray
                 ) -> np.ndarray:
    """Target of each synapse by the labels of its face (see module docstring); ``soma``: the (F,) soma face
    mask (``spines.eligible.soma_face_mask``)."""
    comp = n.face_compartment[face].astype(str)
    lab = n.face_labels[face].astype(str)
    spine = n.face_spine[face] >= 0
    target = np.where(spine, np.where(lab == "spine_neck", "spine_neck", "spine_head"), "shaft").astype(object)
    target[(comp == "axon") | (lab == "axon")] = "axon"
    target[soma[face]] = "soma"
    target[is_pre] = "axon"
    target[is_far] = "unknown"
    return target


def anchor_on_neuron(n: Neuron, params: SynapseParams) -> Anchors:
    """Anchors of ``n.synapses`` on ``n.mesh`` (no decimation: working faces are input faces)."""
    syn = n.synapses
    return anchor_to_mesh(syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64), np.asarray(n.mesh.triangles),
                          FaceMap.identity(n.n_faces), np.asarray(n.mesh.triangles_center), n.face_to_skeleton,
                          n.face_branch, params.max_distance_nm, params.k_candidates)


def attach_synapses(n: Neuron, params: SynapseParams | None = None, soma_extent: SomaExtentParams | None = None,
                    anchors: Anchors | None = None, shaft_field: Any = None) -> None:
    """Map ``n.synapses`` (x_nm, y_nm, z_nm, is_pre) to the mesh and label targets, in place.

    Adds ``face``, ``distance_to_mesh_nm``, ``is_far``, ``target``, ``compartment``, ``spine_id``, ``branch``.
    Never drops rows. Requires a mesh; run ``detect_spines`` first for spine targets. anchors: the synapses'
    anchors on ``n.mesh`` (``working_face`` and distance are read; computed here when None). soma_extent: the
    soma extent (faces of a soma given without faces). shaft_field: the field ``detect_spines`` returned (needed
    by ``method="model"`` and ``"hybrid"``; ``"hybrid"`` without it runs the rules, and
    ``provenance["synapses"]["method"]`` says which ran).
    """
    p = params or SynapseParams()
    syn = n.synapses
    if syn is None or len(syn) == 0:
        return
    missing = [c for c in ("x_nm", "y_nm", "z_nm") if c not in syn.columns]
    if missing:
        raise InputError(f"synapse table lacks columns {missing}", hint="positions must be x_nm, y_nm, z_nm (nm)")
    if n.mesh is None or n.n_faces == 0:
        raise InputError("attach_synapses needs a neuron with a mesh")
    if p.method not in ("rules", "model", "hybrid"):
        raise InputError(f"unknown synapse target method {p.method!r}", hint="use 'rules', 'model' or 'hybrid'")
    if p.soma_by not in ("rules", "model"):
        raise InputError(f"unknown soma_by {p.soma_by!r}", hint="use 'rules' or 'model'")
    pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    finite = np.isfinite(pts).all(axis=1)
    anchors = anchors if anchors is not None else anchor_on_neuron(n, p)
    face = np.maximum(anchors.working_face, 0)
    dist = anchors.distance_nm
    is_far = anchors.is_far
    is_pre, _ = synapse_polarity(syn)  # unknown polarity (<NA>) is placed like a postsynapse
    soma = soma_face_mask(n, (soma_extent or SomaExtentParams()).core_factor)
    if p.spine_tolerance_nm > 0:
        face = spine_within_tolerance(n, pts, face, dist, is_pre | is_far | ~finite, p.spine_tolerance_nm, soma)
    syn = syn.copy()
    syn["face"] = np.where(finite, face, -1)
    syn["distance_to_mesh_nm"] = dist
    syn["is_far"] = is_far
    syn["compartment"] = np.where(is_far, "unknown", n.face_compartment[face].astype(str)).astype(object)
    syn["spine_id"] = np.where(is_far, -1, n.face_spine[face])
    syn["branch"] = np.where(is_far, -1, n.face_branch[face])
    target = rule_targets(n, face, is_pre, is_far, soma)
    method = p.method
    if method == "hybrid" and (shaft_field is None or n.face_spine is None or len(syn) == 0):
        method = "rules"  # no spine stage ran (no shaft field): the rules alone, recorded in provenance
    if method in ("model", "hybrid"):
        from .target_model import predict_targets

        target = predict_targets(n, syn, shaft_field, anchors, soma, rule_target=target,
                                 dendritic_only=method == "hybrid", model_soma=p.soma_by == "model",
                                 name=p.target_model, profile_sample_nm=p.profile_sample_nm)
        target[is_pre & ~is_far] = "axon"
        target[is_far] = "unknown"
    syn["target"] = pd.Series(target, index=syn.index, dtype=object)
    n.synapses = syn
    if (~finite).any():
        n.flag(f"{int((~finite).sum())} synapses with non-finite positions (target unknown)")
    n.provenance["synapses"] = {"method": method, "soma_by": p.soma_by if method != "rules" else "rules",
                                "model": p.target_model if method != "rules" else None,
                                "max_distance_nm": p.max_distance_nm,
                                "n_far": int(is_far.sum())}

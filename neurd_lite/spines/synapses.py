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

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geometry.nearest import closest_faces  # noqa: F401 - re-exported (moved to geometry/nearest.py)
from ..model.anchors import Anchors, anchor_to_mesh
from ..model.facemap import FaceMap
from ..model.soma_extent import SomaExtentParams
from ..neuron import Neuron, synapse_polarity
from .eligible import soma_face_mask
from .rimless import main_spine_ids, rimless_view
from .params import TARGET_MODELS, SynapseParams  # noqa: F401 - moved to params.py, re-exported

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
    core = rimless_view(n)  # targets on the spines without the junction rim when the rim ran (``rimless.py``)
    if p.spine_tolerance_nm > 0:
        face = spine_within_tolerance(core, pts, face, dist, is_pre | is_far | ~finite, p.spine_tolerance_nm, soma)
    syn = syn.copy()
    syn["face"] = np.where(finite, face, -1)
    syn["distance_to_mesh_nm"] = dist
    syn["is_far"] = is_far
    syn["compartment"] = np.where(is_far, "unknown", n.face_compartment[face].astype(str)).astype(object)
    spine_id = core.face_spine[face]
    if core is not n:  # the id of the same spine with its rim
        spine_id = main_spine_ids(spine_id, core.face_spine, n.face_spine)
    syn["spine_id"] = np.where(is_far, -1, spine_id)
    syn["branch"] = np.where(is_far, -1, n.face_branch[face])
    target = rule_targets(core, face, is_pre, is_far, soma)
    method = p.method
    if method == "hybrid" and (shaft_field is None or n.face_spine is None or len(syn) == 0):
        method = "rules"  # no spine stage ran (no shaft field): the rules alone, recorded in provenance
    if method in ("model", "hybrid"):
        from .target_model import predict_targets

        target = predict_targets(core, syn, shaft_field, anchors, soma, rule_target=target,
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

"""Synapses onto the mesh: exact nearest surface point, far-synapse flag, target compartment (nm inside).

Each synapse is mapped to the closest point on the mesh surface: a KD-tree over face centroids proposes
``k_candidates`` faces per synapse, the exact point-triangle distance picks the closest, and a second ball query
covers the synapses where a face outside the candidates could still be closer (vectorised; no Python loop over
synapses, only over the ball lists of the few uncertain ones). Synapses farther than ``max_distance_nm`` are
kept, flagged ``is_far`` and get target ``unknown``. Targets by rule: soma faces -> soma; presynapses -> axon (boutons); postsynapses on axon
faces -> axon; on spine faces (or within ``spine_tolerance_nm`` of one) -> spine_head / spine_neck; else
shaft. ``method="model"`` uses the shipped
LightGBM synapse-target classifier instead (see ``target_model.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import InputError
from ..neuron import Neuron, synapse_polarity
from .detect import SpineParams, soma_face_mask


@dataclass(frozen=True)
class SynapseParams:
    """max_distance_nm: synapses farther than this from the mesh are ``is_far`` (target unknown); MICrONS
    synapse centroids sit within a few hundred nm of the postsynaptic surface (on the shared cell: median 115 nm,
    max 572 nm). k_candidates: faces (by centroid)
    checked exactly per synapse. method: ``"rules"`` or ``"model"`` (LightGBM on local geometry)."""

    max_distance_nm: float = 1500.0
    k_candidates: int = 16
    method: str = "rules"
    spine_tolerance_nm: float = 20.0


def _exact_best(tri: np.ndarray, pts: np.ndarray, owner: np.ndarray, cand: np.ndarray, n_pts: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point the candidate triangle with the smallest exact distance (candidates given as flat pairs)."""
    import trimesh

    cp = trimesh.triangles.closest_point(tri[cand], pts[owner])
    d = np.linalg.norm(cp - pts[owner], axis=1)
    order = np.lexsort((d, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    face = np.zeros(n_pts, np.int64)
    dist = np.full(n_pts, np.inf)
    point = np.zeros((n_pts, 3))
    face[owner[first]], dist[owner[first]], point[owner[first]] = cand[first], d[first], cp[first]
    return face, dist, point


def closest_faces(mesh, points_nm: np.ndarray, k: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest surface point of each point (nm) -> (face index (N,), distance nm (N,), closest point (N, 3)).

    Exact: the ``k`` faces with the nearest centroids are checked first; where a face outside that set could
    still be closer (its centroid within best distance + the largest face circumradius), every face in that
    ball is checked too.
    """
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    tri = np.asarray(mesh.triangles, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
    cen = tri.mean(1)
    reach = float(np.linalg.norm(tri - cen[:, None, :], axis=2).max())
    tree = cKDTree(cen)
    k = int(min(max(k, 1), len(tri)))
    dk, cand = tree.query(pts, k=k)
    dk, cand = dk.reshape(len(pts), k), cand.reshape(len(pts), k)
    owner = np.repeat(np.arange(len(pts)), k)
    face, dist, point = _exact_best(tri, pts, owner, cand.reshape(-1), len(pts))
    unsure = np.flatnonzero((dk[:, -1] < dist + reach) & (k < len(tri)))
    if len(unsure):
        balls = tree.query_ball_point(pts[unsure], dist[unsure] + reach)
        counts = np.array([len(b) for b in balls])
        extra = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
        f2, d2, p2 = _exact_best(tri, pts[unsure], np.repeat(np.arange(len(unsure)), counts), extra, len(unsure))
        better = d2 < dist[unsure]
        face[unsure[better]], dist[unsure[better]], point[unsure[better]] = f2[better], d2[better], p2[better]
    return face, dist, point


def spine_within_tolerance(n: Neuron, pts: np.ndarray, face: np.ndarray, dist: np.ndarray, skip: np.ndarray,
                           tolerance_nm: float, soma: np.ndarray | None = None) -> np.ndarray:
    """``face`` with each synapse whose closest face is plain dendrite (not spine, soma or axon; ``skip``
    excluded) moved to its closest spine face when that is at most ``tolerance_nm`` farther than ``dist``.
    ``soma``: the (F,) soma face mask when already computed."""
    import trimesh

    sp_f = np.flatnonzero(n.face_spine >= 0)
    if len(sp_f) == 0:
        return face
    soma = soma_face_mask(n, SpineParams().soma_margin) if soma is None else soma
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


def rule_targets(n: Neuron, face: np.ndarray, is_pre: np.ndarray, is_far: np.ndarray,
                 soma: np.ndarray | None = None) -> np.ndarray:
    """Target of each synapse by the labels of its face (see module docstring); ``soma``: the (F,) soma face
    mask when already computed."""
    comp = n.face_compartment[face].astype(str)
    lab = n.face_labels[face].astype(str)
    spine = n.face_spine[face] >= 0
    target = np.where(spine, np.where(lab == "spine_neck", "spine_neck", "spine_head"), "shaft").astype(object)
    target[(comp == "axon") | (lab == "axon")] = "axon"
    soma = soma_face_mask(n, SpineParams().soma_margin) if soma is None else soma
    target[soma[face]] = "soma"
    target[is_pre] = "axon"
    target[is_far] = "unknown"
    return target


def attach_synapses(n: Neuron, params: SynapseParams | None = None) -> None:
    """Map ``n.synapses`` (x_nm, y_nm, z_nm, is_pre) to the mesh and label targets, in place.

    Adds ``face``, ``distance_to_mesh_nm``, ``is_far``, ``target``, ``compartment``, ``spine_id``, ``branch``.
    Never drops rows. Requires a mesh; run ``detect_spines`` first for spine targets.
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
    pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    finite = np.isfinite(pts).all(axis=1)
    face = np.zeros(len(pts), dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    f_ok, d_ok, _ = closest_faces(n.mesh, pts[finite], p.k_candidates)
    face[finite], dist[finite] = f_ok, d_ok
    is_far = ~(dist <= p.max_distance_nm)
    is_pre, _ = synapse_polarity(syn)  # unknown polarity (<NA>) is placed like a postsynapse
    if p.method not in ("rules", "model"):
        raise InputError(f"unknown synapse target method {p.method!r}", hint="use 'rules' or 'model'")
    if p.method == "rules":
        soma = soma_face_mask(n, SpineParams().soma_margin)
        if p.spine_tolerance_nm > 0:
            face = spine_within_tolerance(n, pts, face, dist, is_pre | is_far | ~finite, p.spine_tolerance_nm, soma)
    syn = syn.copy()
    syn["face"] = np.where(finite, face, -1)
    syn["distance_to_mesh_nm"] = dist
    syn["is_far"] = is_far
    syn["compartment"] = np.where(is_far, "unknown", n.face_compartment[face].astype(str)).astype(object)
    syn["spine_id"] = np.where(is_far, -1, n.face_spine[face])
    syn["branch"] = np.where(is_far, -1, n.face_branch[face])
    if p.method == "model":
        from .target_model import predict_targets

        target = predict_targets(n, syn)
        target[is_pre & ~is_far] = "axon"
        target[is_far] = "unknown"
    else:
        target = rule_targets(n, face, is_pre, is_far, soma)
    syn["target"] = pd.Series(target, index=syn.index, dtype=object)
    n.synapses = syn
    if (~finite).any():
        n.flag(f"{int((~finite).sum())} synapses with non-finite positions (target unknown)")
    n.provenance["synapses"] = {"method": p.method, "max_distance_nm": p.max_distance_nm,
                                "n_far": int(is_far.sum())}

"""Cropped pieces of synthetic neurons: the faces within a ball, with their truth (nm).

A crop far from the soma is a somaless dendrite or axon piece, the kind of mesh a soma detector must flag
rather than guess on; truth arrays, spines and synapses follow the kept faces.
"""
from __future__ import annotations

import copy

import numpy as np

from .synthetic import SyntheticNeuron


def crop(sn: SyntheticNeuron, center_nm: np.ndarray, radius_nm: float) -> SyntheticNeuron:
    """The faces of ``sn`` whose centroid lies within ``radius_nm`` of ``center_nm`` (nm), as a new
    SyntheticNeuron: unused vertices dropped, per-face truth, seams, spines (rows with a kept face) and synapses
    (those on kept faces, ``face`` renumbered) follow. ``truth["has_soma"]`` says whether soma faces remain;
    ``truth["crop"]`` records the ball. Skeletons are kept whole (the cell's truth)."""
    import trimesh

    c = np.asarray(center_nm, float)
    faces = np.asarray(sn.mesh.faces)
    verts = np.asarray(sn.mesh.vertices)
    keep = np.flatnonzero(np.linalg.norm(verts[faces].mean(axis=1) - c, axis=1) <= radius_nm)
    if not len(keep):
        raise ValueError(f"no face within {radius_nm} nm of {c.tolist()}")
    new_face = np.full(len(faces), -1, np.int64)
    new_face[keep] = np.arange(len(keep))
    used, inv = np.unique(faces[keep], return_inverse=True)
    mesh = trimesh.Trimesh(verts[used], inv.reshape(-1, 3), process=False)
    out = copy.copy(sn)
    out.mesh = mesh
    for name in ("face_compartment", "face_labels", "face_spine", "face_skeleton", "face_cell", "face_bouton"):
        a = getattr(sn, name)
        if a is not None:
            setattr(out, name, a[keep])
    out.boundary_faces = {k: new_face[v][new_face[v] >= 0] for k, v in (sn.boundary_faces or {}).items()}
    syn = sn.synapses[(sn.synapses["face"] >= 0) & (new_face[np.maximum(sn.synapses["face"], 0)] >= 0)].copy()
    syn["face"] = new_face[syn["face"].to_numpy()]
    out.synapses = syn.reset_index(drop=True)
    kept_spines = np.unique(out.face_spine[out.face_spine >= 0])
    out.spines = sn.spines[sn.spines["spine_id"].isin(kept_spines)].reset_index(drop=True)
    if sn.boutons is not None:
        kept_b = np.unique(out.face_bouton[out.face_bouton >= 0]) if out.face_bouton is not None else []
        out.boutons = sn.boutons[sn.boutons["bouton_id"].isin(kept_b)].reset_index(drop=True)
    out.truth = dict(sn.truth)
    out.truth["has_soma"] = bool(np.any(out.face_labels.astype(str) == "soma"))
    out.truth["crop"] = {"center_nm": c, "radius_nm": float(radius_nm)}
    out.truth["n_synapses_by_target"] = {str(k): int(v) for k, v in out.synapses["target"].value_counts().items()}
    out.info = {**sn.info, "n_faces": len(keep), "cropped_from_faces": len(faces)}
    return out

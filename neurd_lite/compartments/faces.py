"""Skeleton labels onto the branch graph and the mesh faces (the last step of ``label.label_compartments``).

A branch node takes the majority label of its skeleton vertices; a face takes its branch's compartment (else its
skeleton vertex's); faces that reached ``soma`` only through the skeletonizer's soma collapse but lie beyond the
soma's reach take the nearest neurite label. Spine face labels already set are kept. Positions in nm.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..geometry.meshes import face_centroids_nm
from ..geometry.stats import unique_inverse
from ..model.soma_extent import within_any_soma
from ..neuron import COMPARTMENTS, SPINE_LABELS, Neuron, is_label, label_array
from .contacts import faces_off_route


def label_graph(n: Neuron, labels: np.ndarray) -> None:
    """Branch node ``compartment`` = majority label of its skeleton vertices (soma vertices left out)."""
    for node, data in n.graph.nodes(data=True):
        if data.get("kind") == "soma":
            data["compartment"] = "soma"
            continue
        verts = np.asarray(data.get("skeleton_vertices", []), dtype=np.int64)
        verts = verts[(verts >= 0) & (verts < len(labels))]
        votes = Counter(str(x) for x in labels[verts] if x != "soma")
        data["compartment"] = votes.most_common(1)[0][0] if votes else "unknown"


def label_faces(n: Neuron, labels: np.ndarray, soma_reach_factor: float,
                 face_centroids: np.ndarray | None = None) -> None:
    """Face compartments from the branch graph (or the nearest skeleton vertex); spine labels are kept."""
    nf = n.n_faces
    if not nf or n.face_to_skeleton is None:
        return
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    comp = label_array(nf, "unknown")  # one shared string, not nf copies (345 MB at 5M faces)
    ok = (f2s >= 0) & (f2s < len(labels))
    comp[ok] = labels[f2s[ok]]
    if n.face_branch is not None and len(n.graph):  # a face takes its branch's compartment when it has one
        fb = np.asarray(n.face_branch, dtype=np.int64)
        sub = np.flatnonzero(fb >= 0)
        ids, inv = unique_inverse(fb[sub])
        names = np.array([n.graph.nodes[int(i)].get("compartment") if int(i) in n.graph else None for i in ids],
                         dtype=object)
        hit = np.isin(names.astype(str), COMPARTMENTS)[inv]
        comp[sub[hit]] = names[inv[hit]]
    _relabel_far_soma_faces(n, comp, labels, soma_reach_factor, face_centroids)
    route = n.provenance.get("compartments", {}).get("axon_thin_route")
    if route:  # CompartmentParams.axon_thin_route: faces of the thick neurite the axon's route crosses
        route["faces_off_route"] = faces_off_route(n, comp, labels, route, face_centroids)
    for s in n.somas:
        comp[s.faces[(s.faces >= 0) & (s.faces < nf)]] = "soma"
    n.face_compartment = comp
    old = n.face_labels if n.face_labels is not None else label_array(nf, "")
    keep = is_label(old, SPINE_LABELS)
    new = comp.copy()
    new[keep] = old[keep]
    n.face_labels = new


def _relabel_far_soma_faces(n: Neuron, comp: np.ndarray, labels: np.ndarray, reach: float,
                            face_centroids: np.ndarray | None = None) -> None:
    """Faces that reached ``soma`` only through their skeleton vertex (the soma collapse of the skeletonizer)
    but lie beyond ``reach`` soma radii of every soma centre take the label of the nearest non-soma
    skeleton vertex: stems leaving the soma are neurite, not soma. In place on ``comp``."""
    if not n.somas or n.mesh is None:
        return
    cand = np.flatnonzero(comp == "soma")
    if not cand.size:
        return
    if face_centroids is not None and len(face_centroids) == len(comp):  # the same sums, already made
        centres = face_centroids[cand]
    else:  # in blocks; not trimesh's cached (F, 3, 3) triangles of the whole input mesh
        centres = face_centroids_nm(n.mesh.vertices, np.asarray(n.mesh.faces)[cand])
    near = within_any_soma(centres, n.somas, reach)
    far = cand[~near]
    other = np.flatnonzero(pd.Series(labels, copy=False).isin(COMPARTMENTS).to_numpy() & (labels != "soma"))
    if not far.size or not other.size:
        return
    from scipy.spatial import cKDTree

    _, idx = cKDTree(n.skeleton.vertices[other]).query(centres[~near])
    comp[far] = labels[other[idx]]

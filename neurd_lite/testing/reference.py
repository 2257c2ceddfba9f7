"""The ground truth of a synthetic neuron as a fully labelled :class:`~neurd_lite.neuron.Neuron` (nm).

Stages and features can be checked against it: it has what a perfect pipeline would produce (soma, skeleton,
branch graph with compartments, per-face labels, spines, synapses with targets).
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from ..neuron import Neuron, Soma
from ..skeleton.model import Skeleton
from .synthetic import SyntheticNeuron


def skeleton_branches(sk: Skeleton) -> list[tuple[int, int, np.ndarray]]:
    """Unbranched runs of a rooted skeleton: (parent branch index or -1, limb, vertices proximal to distal).

    A run starts after the root or after a branch point (a vertex with >= 2 children) and ends at a tip or at
    the next branch point, which belongs to the run it ends. ``limb`` numbers the root's children.
    """
    kids = sk.children()
    out: list[tuple[int, int, np.ndarray]] = []
    stack = [(int(c), -1, limb) for limb, c in enumerate(kids[sk.root])]
    while stack:
        v, parent, limb = stack.pop()
        run = [v]
        while len(kids[run[-1]]) == 1:
            run.append(int(kids[run[-1]][0]))
        out.append((parent, limb, np.asarray(run, dtype=np.int64)))
        me = len(out) - 1
        stack.extend((int(c), me, limb) for c in kids[run[-1]])
    return out


def reference_neuron(sn: SyntheticNeuron, cell: int = 0) -> Neuron:
    """A Neuron holding the synthetic truth: graph, labels, spines and synapses as a perfect pipeline would.

    Branch ``length_nm`` counts the edge from the parent branch's last vertex (edges from the soma centre are
    left out, as in ``truth["cable_length_nm"]["soma"]``); ``radius_nm`` is the median true radius.
    In a merge (``sn.face_cell`` with several cells) it describes ``cell``: the other cells' faces get no
    branch, and only that cell's soma, spines and synapses are kept (on the whole merged mesh).
    """
    multi = sn.face_cell is not None and len(sn.skeletons) > 1
    sk = sn.skeletons[cell] if multi else sn.skeleton
    comp = sk.vertex_properties["compartment"].astype(object)
    branches = skeleton_branches(sk)
    branch_of_vertex = np.full(sk.n_vertices, -1, dtype=np.int64)
    for b, (_, _, verts) in enumerate(branches):
        branch_of_vertex[verts] = b
    fs = np.where(sn.face_cell == cell, sn.face_skeleton, -1) if multi else sn.face_skeleton
    face_branch = np.where(fs >= 0, branch_of_vertex[np.maximum(fs, 0)], -1)
    n_faces = np.bincount(face_branch[face_branch >= 0], minlength=len(branches))
    par = sk.parent
    g = nx.DiGraph()
    g.add_node("soma_0", kind="soma")
    for b, (parent, limb, verts) in enumerate(branches):
        prev = par[verts[0]]
        path = verts if prev == sk.root else np.concatenate([[prev], verts])
        length = float(np.linalg.norm(np.diff(sk.vertices[path], axis=0), axis=1).sum())
        g.add_node(b, kind="branch", limb=limb, skeleton_vertices=verts, length_nm=length,
                   radius_nm=float(np.median(sk.radius[verts])), n_faces=int(n_faces[b]),
                   compartment=str(comp[verts[-1]]))
        g.add_edge("soma_0" if parent < 0 else parent, b)
    is_soma = sn.face_compartment.astype(str) == "soma"
    truth, syn, spines, face_spine = sn.truth, sn.synapses.copy(), sn.spines.copy(), sn.face_spine.copy()
    if multi:
        is_soma &= sn.face_cell == cell
        truth = sn.truth["cells"][cell]
        syn = syn[syn["cell"] == cell].reset_index(drop=True)
        spines = spines[spines["cell"] == cell].reset_index(drop=True)
        face_spine = np.where(sn.face_cell == cell, face_spine, -1)
    soma = Soma(truth["soma_center_nm"], truth["soma_radius_nm"], faces=np.flatnonzero(is_soma), method="truth")
    return Neuron(name=f"synthetic_{sn.kind}_{sn.seed}_truth", mesh=sn.mesh, skeleton=sk, somas=[soma], graph=g,
                  face_labels=sn.face_labels.copy(), face_compartment=sn.face_compartment.copy(),
                  face_branch=face_branch, face_to_skeleton=fs.copy(), face_spine=face_spine,
                  skeleton_labels=comp.copy(), synapses=syn, spines=spines,
                  provenance={"source": "neurd_lite.testing.synthetic", "kind": sn.kind, "seed": sn.seed,
                              "cell": cell})

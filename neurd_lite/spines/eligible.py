"""Where spines are searched: the faces that are neither soma nor axon, and the input check."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..model.soma_extent import within_soma
from ..neuron import Neuron, is_label

NON_DENDRITIC = ("axon", "soma")


def check_neuron(n: Neuron) -> None:
    """InputError unless ``n`` has a mesh with faces and a skeleton of at least two vertices."""
    if n.mesh is None or n.n_faces == 0:
        raise InputError("detect_spines needs a neuron with a mesh", hint="n.mesh is empty")
    if n.skeleton is None or n.skeleton.n_vertices < 2:
        raise InputError("detect_spines needs a skeleton with at least 2 vertices",
                         hint="run the skeleton stage first or use neurd_lite.spines.adapters.neuron_from_mesh")


def soma_face_mask(n: Neuron, margin: float) -> np.ndarray:
    """(F,) bool soma faces: by compartment or label, by each soma's face list, or (a soma without faces) face
    centroids within ``margin`` x its radius (nm) of its centre (``SomaExtentParams.core_factor``)."""
    mask = is_label(n.face_compartment, ("soma",)) | is_label(n.face_labels, ("soma",))  # no (F,) string copies
    centroids = None
    for s in n.somas:
        if len(s.faces):
            mask[s.faces[(s.faces >= 0) & (s.faces < n.n_faces)]] = True
        else:
            if centroids is None:
                centroids = np.asarray(n.mesh.triangles_center)
            mask |= within_soma(centroids, s.center_nm, s.radius_nm, margin)
    return mask


def ineligible_faces(n: Neuron, soma_core_factor: float) -> np.ndarray:
    """(F,) bool: soma and axon faces (by compartment, label or soma face list; a soma without faces reaches
    ``soma_core_factor`` radii), where spines are not searched."""
    bad = is_label(n.face_compartment, NON_DENDRITIC)
    bad |= is_label(n.face_labels, NON_DENDRITIC)
    return bad | soma_face_mask(n, soma_core_factor)

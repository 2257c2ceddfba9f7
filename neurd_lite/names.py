"""Names shared by every layer: compartments, spine parts, synapse targets, and the decoder of synapse polarity.

``neurd_lite.neuron`` re-exports them; modules that must not import the Neuron (``io``) read them here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COMPARTMENTS = ("soma", "axon", "basal", "apical_shaft", "apical_tuft", "oblique", "dendrite", "unknown")
SPINE_LABELS = ("spine_head", "spine_neck")
UNLABELLED = "unlabelled"
SYNAPSE_TARGETS = ("soma", "spine_head", "spine_neck", "shaft", "axon", "unknown")
# per-face arrays of a Neuron (one entry per input-mesh face)
FACE_ARRAYS = ("face_labels", "face_compartment", "face_branch", "face_to_skeleton", "face_spine")
# SWC type code of each compartment (1 soma, 2 axon, 3 basal/dendrite, 4 apical); others are 0 (undefined)
SWC_TYPE = {"soma": 1, "axon": 2, "basal": 3, "dendrite": 3, "apical_shaft": 4, "apical_tuft": 4, "oblique": 4}


def synapse_polarity(synapses: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(is_pre, is_post) bool arrays of a synapse table. ``is_pre`` may be pandas' nullable boolean: <NA> (a table
    without a pre/post column) is neither pre nor post, as is every row when the column is absent."""
    if synapses is None or "is_pre" not in synapses.columns:
        n = 0 if synapses is None else len(synapses)
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    pol = pd.array(synapses["is_pre"], dtype="boolean")
    return pol.fillna(False).to_numpy(dtype=bool), (~pol).fillna(False).to_numpy(dtype=bool)

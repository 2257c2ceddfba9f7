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


def synapse_polarity(synapses: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(is_pre, is_post) bool arrays of a synapse table. ``is_pre`` may be pandas' nullable boolean: <NA> (a table
    without a pre/post column) is neither pre nor post, as is every row when the column is absent."""
    if synapses is None or "is_pre" not in synapses.columns:
        n = 0 if synapses is None else len(synapses)
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    pol = pd.array(synapses["is_pre"], dtype="boolean")
    return pol.fillna(False).to_numpy(dtype=bool), (~pol).fillna(False).to_numpy(dtype=bool)

"""Spines (detection, head/neck, measurements) and synapse target compartments.

``detect_spines(n)`` fills ``n.face_spine``, spine ``n.face_labels`` and ``n.spines``; ``attach_synapses(n)``
maps synapses to the mesh and labels their target (soma, spine_head, spine_neck, shaft, axon, unknown).
"""
from __future__ import annotations

from .detect import SpineParams, detect_spines

__all__ = ["SpineParams", "detect_spines", "attach_synapses", "SynapseParams"]


def __getattr__(name: str):
    if name in ("attach_synapses", "SynapseParams"):
        from . import synapses

        return getattr(synapses, name)
    raise AttributeError(name)

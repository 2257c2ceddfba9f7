"""Spines (detection, head/neck, measurements) and synapse target compartments.

``detect_spines(n)`` fills ``n.face_spine``, spine ``n.face_labels`` and ``n.spines``; ``attach_synapses(n)``
maps synapses to the mesh and labels their target (soma, spine_head, spine_neck, shaft, axon, unknown).
Names load on first use, so importing the parameters (``spines.params``) does not load the stage code.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SpineParams", "detect_spines", "attach_synapses", "SynapseParams"]

_LAZY = {"SpineParams": "params", "detect_spines": "detect", "attach_synapses": "synapses", "SynapseParams": "params"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

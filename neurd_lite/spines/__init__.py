"""Spines (detection, head/neck, measurements) and synapse target compartments.

``detect_spines(n)`` fills ``n.face_spine``, spine ``n.face_labels`` and ``n.spines``; ``attach_synapses(n)``
maps synapses to the mesh and labels their target (soma, spine_head, spine_neck, shaft, axon, unknown).
Names load on first use, so importing the parameters (``spines.params``) does not load the stage code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_dir as _lazy_dir
from ..lazy import lazy_getattr as _lazy_getattr

__all__ = ["SpineParams", "detect_spines", "attach_synapses", "SynapseParams"]

__getattr__ = _lazy_getattr(globals(), {".params": ("SpineParams", "SynapseParams"), ".detect": ("detect_spines",),
                                        ".synapses": ("attach_synapses",)})
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from .detect import detect_spines
    from .params import SpineParams, SynapseParams
    from .synapses import attach_synapses

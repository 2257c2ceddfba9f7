"""Test helpers: synthetic neurons with known ground truth (``make_neuron``) and their files (``to_files``)."""
from __future__ import annotations

from .synthetic import KINDS, SyntheticNeuron, count_components, make_neuron, to_files

__all__ = ["KINDS", "SyntheticNeuron", "count_components", "make_neuron", "to_files"]

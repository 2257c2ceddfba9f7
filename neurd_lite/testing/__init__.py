"""Test helpers: synthetic neurons with known ground truth (``make_neuron``; the randomised family of cortical
classes in :mod:`neurd_lite.testing.family`), the truth as a labelled Neuron (``reference_neuron``) and input
files (``to_files``)."""
from __future__ import annotations

from .reference import reference_neuron
from .synthetic import KINDS, SyntheticNeuron, count_components, make_neuron, to_files

__all__ = ["KINDS", "SyntheticNeuron", "count_components", "make_neuron", "reference_neuron", "to_files"]

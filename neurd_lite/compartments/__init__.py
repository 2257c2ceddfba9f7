"""Compartment labelling: soma, axon, basal, apical shaft / tuft / oblique, dendrite (interneurons).

``label_compartments(n, params=None, up=(0, -1, 0))`` fills skeleton, graph and face labels of a Neuron.
Names load on first use, so importing the parameters (``compartments.params``) does not load the stage code.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["label_compartments", "label_skeleton_vertices", "CompartmentParams", "AxonParams", "ApicalParams",
           "refine_by_spines", "RefineParams"]

_LAZY = {"label_compartments": "label", "label_skeleton_vertices": "label", "refine_by_spines": "refine",
         "CompartmentParams": "params", "AxonParams": "params", "ApicalParams": "params", "RefineParams": "params"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Compartment labelling: soma, axon, basal, apical shaft / tuft / oblique, dendrite (interneurons).

``label_compartments(n, params=None, up=(0, -1, 0))`` fills skeleton, graph and face labels of a Neuron.
Names load on first use, so importing the parameters (``compartments.params``) does not load the stage code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_dir as _lazy_dir
from ..lazy import lazy_getattr as _lazy_getattr

__all__ = ["label_compartments", "label_skeleton_vertices", "CompartmentParams", "AxonParams", "ApicalParams",
           "refine_by_spines", "RefineParams"]

__getattr__ = _lazy_getattr(globals(), {".label": ("label_compartments", "label_skeleton_vertices"),
                                        ".refine": ("refine_by_spines",),
                                        ".params": ("CompartmentParams", "AxonParams", "ApicalParams",
                                                    "RefineParams")})
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from .label import label_compartments, label_skeleton_vertices
    from .params import ApicalParams, AxonParams, CompartmentParams, RefineParams
    from .refine import refine_by_spines

"""Compartment labelling: soma, axon, basal, apical shaft / tuft / oblique, dendrite (interneurons).

``label_compartments(n, params=None, up=(0, -1, 0))`` fills skeleton, graph and face labels of a Neuron.
"""
from .apical import ApicalParams
from .axon import AxonParams
from .label import CompartmentParams, label_compartments, label_skeleton_vertices
from .refine import RefineParams, refine_by_spines

__all__ = ["label_compartments", "label_skeleton_vertices", "CompartmentParams", "AxonParams", "ApicalParams",
           "refine_by_spines", "RefineParams"]

"""neurd_lite.feature: the feature registry and feature families.

``features(n)`` gives one row per neuron, ``branch_features(n)`` one row per branch; ``REGISTRY`` lists every
feature with its level, unit and definition (rendered into docs/features.md by ``python -m
neurd_lite.feature.docs``). Importing this package registers all families.
"""
from __future__ import annotations

from . import morphometry, perisomatic, spines, synapses  # noqa: F401  (register the families)
from .api import branch_features, features
from .registry import COMPARTMENT_GROUPS, REGISTRY, Feature, Missing, register

__all__ = ["features", "branch_features", "REGISTRY", "COMPARTMENT_GROUPS", "Feature", "Missing", "register"]

"""neurd_lite.feature: the feature registry and feature families.

``features(n)`` gives one row per neuron, ``branch_features(n)`` one row per branch; ``REGISTRY`` lists every
feature with its level, unit and definition (rendered into docs/features.md by ``python -m
neurd_lite.feature.docs``). The names load on first use (``api`` registers all families when it loads), so
importing the parameters (``feature.params``) loads neither the families nor their dependencies.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_dir as _lazy_dir
from ..lazy import lazy_getattr as _lazy_getattr

__all__ = ["features", "branch_features", "REGISTRY", "COMPARTMENT_GROUPS", "Feature", "Missing", "register"]

__getattr__ = _lazy_getattr(
    globals(), {".api": ("features", "branch_features"),
                ".registry": ("REGISTRY", "COMPARTMENT_GROUPS", "Feature", "Missing", "register")},
    submodules=("api", "cache", "context", "docs", "morphometry", "params", "perisomatic", "registry", "spines",
                "synapses"),
    first=".api")  # api registers the families before REGISTRY is read
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from . import (api, cache, context, docs, morphometry, params, perisomatic, registry, spines,
                   synapses)
    from .api import branch_features, features
    from .registry import COMPARTMENT_GROUPS, REGISTRY, Feature, Missing, register

"""neurd_lite.feature: the feature registry and feature families.

``features(n)`` gives one row per neuron, ``branch_features(n)`` one row per branch; ``REGISTRY`` lists every
feature with its level, unit and definition (rendered into docs/features.md by ``python -m
neurd_lite.feature.docs``). The names load on first use (``api`` registers all families when it loads), so
importing the parameters (``feature.params``) loads neither the families nor their dependencies.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["features", "branch_features", "REGISTRY", "COMPARTMENT_GROUPS", "Feature", "Missing", "register"]

_LAZY = {"features": "api", "branch_features": "api", "REGISTRY": "registry", "COMPARTMENT_GROUPS": "registry",
         "Feature": "registry", "Missing": "registry", "register": "registry"}
_SUBMODULES = {"api", "cache", "context", "docs", "morphometry", "params", "perisomatic", "registry", "spines",
               "synapses"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        importlib.import_module(f"{__name__}.api")  # registers the families before REGISTRY is read
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

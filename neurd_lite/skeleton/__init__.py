"""Skeletons: the Skeleton model, skeletonization backends, radius and face-to-skeleton maps."""
from .model import Skeleton

__all__ = ["Skeleton", "skeletonize", "SkeletonResult", "SkeletonParams", "build_branch_graph", "GraphParams"]

_LAZY = {"skeletonize": "skeletonizer", "SkeletonResult": "skeletonizer", "SkeletonParams": "skeletonizer",
         "build_branch_graph": "graph", "GraphParams": "graph"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Skeletons: the Skeleton model, skeletonization backends, radius and face-to-skeleton maps.

Names load on first use, so importing the parameters (``skeleton.params``) does not load scipy or the stages."""

__all__ = ["Skeleton", "skeletonize", "SkeletonResult", "SkeletonParams", "build_branch_graph", "GraphParams"]

_LAZY = {"Skeleton": "model", "skeletonize": "skeletonizer", "SkeletonResult": "skeletonizer",
         "SkeletonParams": "params", "build_branch_graph": "graph", "GraphParams": "params"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

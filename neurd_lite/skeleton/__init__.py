"""Skeletons: the Skeleton model, skeletonization backends, radius and face-to-skeleton maps.

Names load on first use, so importing the parameters (``skeleton.params``) does not load scipy or the stages."""
from ..lazy import lazy_getattr as _lazy_getattr

__all__ = ["Skeleton", "skeletonize", "SkeletonResult", "SkeletonParams", "build_branch_graph", "GraphParams"]

__getattr__ = _lazy_getattr(globals(), {".model": ("Skeleton",), ".params": ("SkeletonParams", "GraphParams"),
                                        ".skeletonizer": ("skeletonize", "SkeletonResult"),
                                        ".graph": ("build_branch_graph",)})

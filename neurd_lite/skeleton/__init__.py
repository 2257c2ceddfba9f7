"""Skeletons: the Skeleton model, skeletonization backends, radius and face-to-skeleton maps.

Names load on first use, so importing the parameters (``skeleton.params``) does not load scipy or the stages."""
from typing import TYPE_CHECKING

from ..lazy import lazy_dir as _lazy_dir
from ..lazy import lazy_getattr as _lazy_getattr

__all__ = ["Skeleton", "skeletonize", "SkeletonResult", "SkeletonParams", "build_branch_graph", "GraphParams"]

__getattr__ = _lazy_getattr(globals(), {".model": ("Skeleton",), ".params": ("SkeletonParams", "GraphParams"),
                                        ".skeletonizer": ("skeletonize", "SkeletonResult"),
                                        ".graph": ("build_branch_graph",)})
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from .graph import build_branch_graph
    from .model import Skeleton
    from .params import GraphParams, SkeletonParams
    from .skeletonizer import SkeletonResult, skeletonize

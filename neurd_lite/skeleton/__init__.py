"""Skeletons: the Skeleton model, skeletonization backends, radius and face-to-skeleton maps."""
from .model import Skeleton

__all__ = ["Skeleton"]

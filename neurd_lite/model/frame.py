"""The frame of a neuron's coordinates: which way is pia (``up``) and which cortical depths are plausible."""
from __future__ import annotations

from dataclasses import dataclass

from ..checks import check_params
from ..geometry.depth import MINNIE65_DEPTH_RANGE_UM as DEPTH_RANGE_UM  # linear minnie65 depth of cortex (µm)

MINNIE65_UP = (0.0, -1.0, 0.0)


@dataclass(frozen=True)
class FrameParams:
    """up: direction toward pia in the mesh frame (minnie65: (0, -1, 0)); None (default) = infer it
    (``compartments.frame``: minnie65's for nm coordinates inside its volume, else from the apical-like primary
    dendrite; recorded in ``n.provenance["compartments"]["frame"]`` and flagged ``up_inferred``).
    depth_range_um: linear minnie65 depths (µm) a soma may have for ``up`` to be trusted and for the depth
    features."""

    up: tuple[float, float, float] | None = None
    depth_range_um: tuple[float, float] = DEPTH_RANGE_UM

    def __post_init__(self) -> None:
        check_params(self, ranges={"depth_range_um": None})  # signed depths

    def resolved_up(self) -> tuple[float, float, float]:
        """``up``, or minnie65's when not given (where no inferred frame is at hand)."""
        return MINNIE65_UP if self.up is None else tuple(float(x) for x in self.up)  # type: ignore[return-value]

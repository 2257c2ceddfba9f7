"""Pictures of spine labels: moved to :mod:`neurd_lite.viz` (one place for pictures); these names stay
importable from here."""
from __future__ import annotations

from ..viz import SPINE_COLORS, _view_basis, plot_spines

COLOURS = SPINE_COLORS

__all__ = ["plot_spines", "COLOURS", "SPINE_COLORS"]

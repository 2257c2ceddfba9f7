"""The synapse anchoring limits (nm): the defaults of ``SynapseParams.max_distance_nm`` and
``max_skeleton_distance_nm``; kept apart from ``anchors.py`` (which re-exports them) so that the parameter tree
reads them without loading the anchoring code."""
from __future__ import annotations

FAR_NM = 1500.0           # default limit to the mesh (SynapseParams.max_distance_nm)
SKELETON_FAR_NM = 5000.0  # default limit to the skeleton for skeleton-only neurons

"""The shaft field fitted again without the spines found (nm; ``SpineParams.refit_shaft``, opt-in).

Where spines hold about half of a chunk's surface (densely spiny thin dendrite), the chunk's radius quantile lands
in the spines and the shaft model sits too far out; fitting again without the faces of the spines found reads the
shaft itself.
"""
from __future__ import annotations

import numpy as np

from ..skeleton.model import Skeleton
from .shaft import ShaftField, ShaftParams, shaft_field


def refit_field(first: ShaftField, verts: np.ndarray, faces: np.ndarray, skel: Skeleton, skip_faces: np.ndarray,
                params: ShaftParams) -> ShaftField:
    """The shaft field (axis, distances, radii; nm) fitted without ``skip_faces`` (ineligible and spine faces);
    vertices whose chunk lost all its surface keep the first field's radius."""
    fld = shaft_field(verts, faces, skel, ~skip_faces, params)
    lost = ~np.isfinite(fld.radius_nm)
    fld.radius_nm[lost] = first.radius_nm[lost]
    return fld

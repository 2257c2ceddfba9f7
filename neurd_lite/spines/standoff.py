"""Spines that do not stand off their base (nm; ``SpineParams.min_standoff_rel``, default 0.2; 0: off).

A spine is a protrusion: its surface rises out of the shaft, so the area-weighted centroid of its surface lies
well off the plane of its base ring, on the far side from the shaft. A patch of shaft wall that the labels took
(a relief bump of a noisy or fragmented surface, a skirt the vertex model or the junction rim spread along the
wall) is not: its surface runs along the wall, and its centroid sits near the base ring's own centre. The standoff
is the distance from the base centre to the spine's surface centroid; measured in units of the base radius it
does not depend on the scale of the cell or the resolution of the mesh (a spherical cap of height h over a base of
radius a stands off h / 2, i.e. h / 2a base radii: a dome as high as a fifth of its width reads 0.1). The base
is the one ``process_end.spine_bases`` finds (the part of the attachment ring on the largest free surface piece),
so the test reads only the mesh and the labels, not the shaft axis. It runs on the final labels (after the
junction rim when the rim is on) because the earlier height test (``min_height_to_extent``, against the shaft
axis) judged the grown candidates before the vertex model and the rim reshaped them. Tune diagnosis and numbers:
docs/spines.md, "Session 28".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .process_end import spine_bases, without_ids


def standoff_ratio(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                   surface: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(n_spines,) per spine of ``label`` (V,) the distance from its base centre to its area-weighted surface
    centroid divided by its base radius (:func:`process_end.spine_bases`; NaN where the spine has no base of 3
    vertices on ``surface``). verts nm (V, 3), vert_area nm² (V,), ring: ``spine, v``, edges (E, 2)."""
    n_lab = int(label.max()) + 1 if (label >= 0).any() else 0
    out = np.full(n_lab, np.nan)
    for s, _, _, _, standoff, rho, _ in spine_bases(verts, vert_area, label, ring, surface, edges):
        if rho > 0:
            out[s] = standoff / rho
    return out


def drop_flat_patches(verts: np.ndarray, vert_area: np.ndarray, label: np.ndarray, ring: pd.DataFrame,
                      surface: np.ndarray, edges: np.ndarray, min_rel: float, pass_counts: dict,
                      also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(V,) spine labels without the spines that stand off their base by less than ``min_rel`` base radii
    (:func:`standoff_ratio`), and ``also`` (another (V,) labelling with the same ids, e.g. the rimless one; None:
    none) without the same spines. Ids are kept (gaps); the count goes to ``pass_counts["flat_patch_dropped"]``."""
    ratio = standoff_ratio(verts, vert_area, label, ring, surface, edges)
    drop = np.isfinite(ratio) & (ratio < min_rel)
    pass_counts["flat_patch_dropped"] = int(drop.sum())
    return without_ids(label, drop), (None if also is None else without_ids(also, drop))

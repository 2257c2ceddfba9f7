"""Shape tests of spine candidates against the shaft axis (nm): a spine stands on one side of its shaft and
out of it; a varicosity, bouton or flare surrounds the process or runs along it (used by ``detect``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .shaft import ShaftField


def angular_coverage(verts: np.ndarray, comp: np.ndarray, fld: ShaftField, bins: int) -> pd.Series:
    """Per component id (``comp`` >= 0), the fraction of ``bins`` equal sectors around the shaft axis that its
    vertices occupy (a spine covers a few sectors on one side; a swelling of the whole process covers all)."""
    idx = np.flatnonzero(comp >= 0)
    if len(idx) == 0:
        return pd.Series(dtype=float)
    sector = np.minimum((fld.vertex_angle(verts, idx) / (2 * np.pi) * bins).astype(np.int64), bins - 1)
    pairs = np.unique(comp[idx] * bins + sector)
    return pd.Series(pairs // bins).value_counts() / bins


def axial_extent(verts: np.ndarray, comp: np.ndarray, hn: np.ndarray, fld: ShaftField) -> pd.Series:
    """Per component id (``comp`` >= 0): the spread (nm) of its vertices along the shaft axis, measured along
    the axis tangent at the sample nearest to its highest vertex."""
    idx = np.flatnonzero(comp >= 0)
    if len(idx) == 0 or fld.sample_tangent is None:
        return pd.Series(dtype=float)
    c = comp[idx]
    top = pd.Series(hn[idx]).groupby(c).idxmax()
    tang = pd.DataFrame(fld.sample_tangent[fld.sample_index[idx[top.to_numpy()]]], index=top.index)
    t = tang.reindex(c).to_numpy()
    along = (verts[idx] * t).sum(1)
    g = pd.Series(along).groupby(c)
    return g.max() - g.min()

"""Side branches much thicker than the neurite they hang on go to the other cell (``SplitParams.side_calibre_ratio``).

A neurite's children are thinner than their parent (Rall), so a branch at least ``ratio`` times as thick as the
path arm it leaves from (the arm towards its owner's soma, which would be its parent) is not that neurite's child:
where a thick dendrite of one cell touches a thin neurite of the other, the skeleton can hang pieces of the thick
one on the thin one a few µm from the cut (session 13, tune merge fam136: a pyramid's dendrites on a
neurogliaform's, 34k faces, one with growth votes 0.42 / 0.40, one growing away from the wrong soma). The
threshold is the one of the ``merge_width_jump`` flag (``flags.py``: a child at least twice as thick as its
parent), not tuned here. Calibre is the branch radius (median of each branch of the branch graph) over ``arm_nm``
of the side branch and of the parent arm.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .growth import side_branches

if TYPE_CHECKING:
    from .split import _Forest


def _median(r: np.ndarray) -> float:
    r = r[np.isfinite(r) & (r > 0)]
    return float(np.median(r)) if len(r) else float("nan")


def calibre_moves(forest: _Forest, path: list[int], s: np.ndarray, k: int, zone: set, avoid: set,
                  branch_r: np.ndarray, ratio: float, limit_nm: float, arm_nm: float,
                  min_side_nm: float) -> list[tuple[int, int, int, float]]:
    """Off-path branches of ``path`` (cut after position ``k``; arclength ``s`` nm) leaving outside the contact
    ``zone`` within ``limit_nm`` of the cut whose calibre is at least ``ratio`` times their parent arm's: (root,
    first vertex, new side 0 = A / 1 = B, calibre ratio) each. branch_r: (N,) branch radius per skeleton vertex
    (nm). Branches holding a vertex of ``avoid`` (somata), bristles (shorter than ``min_side_nm``) and the path's
    end vertices are skipped."""
    pa = np.asarray(path)
    out = []
    for q, v, u, side, _, far in side_branches(forest, path, s, k, zone, avoid, limit_nm):
        if far < min_side_nm:
            continue
        back = (s[q] - s) if side == 0 else (s - s[q])  # along the parent arm, towards the owner's soma
        parent = _median(branch_r[pa[(back > 500.0) & (back <= arm_nm)]])
        r_side = _median(branch_r[forest.reach(u, v, arm_nm)[0]])
        if np.isfinite(parent) and np.isfinite(r_side) and r_side >= ratio * parent:
            out.append((v, u, 1 - side, r_side / parent))
    return out

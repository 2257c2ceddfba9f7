"""Pieces much thicker than the neurite they were healed onto go to another cell (``SplitParams.bridge_calibre_ratio``).

A fragmented mesh is healed by proximity (``mesh.heal``): a piece of cell A's dendrite lying beside cell B's thin
neurite can be linked to it, and with it every piece healed on beyond, far from any cut (tune fam602: 21k faces of
an l56 IT dendrite, branch radius ~1.1 µm, hung on a neurogliaform's 0.2 µm dendrites 18-144 µm from the cut,
growth votes -0.07 to +0.36: no growth rule can tell). A neurite's children are thinner than their parent (Rall;
``proofread.calibre`` applies this to the soma path's side branches near the cut), so a subtree entered through a
skeleton edge that leaves its mesh piece (:func:`.bridges._crosses`) whose calibre is at least ``ratio`` times the
arm it hangs on (towards its owner's soma) is not that neurite's child: it moves to the nearest vertex owned by
another soma, if that vertex lies within healing's farthest reach (``HealParams.far_max_gap_nm``, 15 µm: the piece
was linked to the wrong cell because both lay within reach) and the subtree is not also ``ratio`` times thicker
than the new parent's arm (the move must remove the calibre jump, not move it; tune fam674: a pyramid's own thick
pieces hung on its thin branches, no thinner neurite of the other cell nearby). Round 2: nor when the other cell's
vertex lies closer to the piece's root than the two calibres together: the surfaces touch there, a contact, whose
piece change is the fused contact rather than a heal link (tune fam938, 962 and held-out fam2304: wrong moves onto
a neurite 0.3-1.7 µm away); the contact zone's vote judges those. Calibre is the branch radius (median of each
branch of the branch graph, as in ``calibre.py``) over ``arm_nm`` of the subtree and of the parent arm; the ratio 2
is the ``merge_width_jump`` flag's (``flags.py``).
Bridges are taken nearest their owner's soma first; a moved subtree is not judged again. nm throughout.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .bridges import bridge_walk
from .calibre import _median

if TYPE_CHECKING:
    from .split import _Forest

HEAL_REACH_NM = 15000.0  # healing's farthest link (``HealParams.far_max_gap_nm`` default), nm


def _parent_arm(forest: _Forest, par: np.ndarray, v: int, arm_nm: float) -> np.ndarray:
    """Vertices from ``v`` towards the tree root (``par``: parent per vertex, -1 at the root) within ``arm_nm``."""
    arm, w, d = [v], v, 0.0
    while par[w] >= 0:
        nxt = int(par[w])
        d += float(np.linalg.norm(forest.x[nxt] - forest.x[w]))
        if d > arm_nm:
            break
        arm.append(nxt)
        w = nxt
    return np.asarray(arm, dtype=np.int64)


def calibre_bridge_moves(forest: _Forest, owner: np.ndarray, sv: list[int], piece: np.ndarray,
                         branch_r: np.ndarray, ratio: float, arm_nm: float, min_side_nm: float,
                         reach_nm: float, faced: bool = False) -> list[dict]:
    """Re-hang every subtree entered through a bridge edge whose calibre is at least ``ratio`` times its parent
    arm's on the nearest vertex owned by another soma (module doc). owner: (N,) soma index per vertex before the
    moves; sv: soma vertices; piece: (N,) :func:`.bridges.skeleton_pieces`; branch_r: (N,) branch radius (nm).
    A subtree moves only when the other cell's nearest vertex lies within ``reach_nm`` of its root but farther
    than the two calibres together (the surfaces do not touch), and the subtree is thinner than ``ratio`` times
    that vertex's arm (over ``arm_nm`` of its own cell): the new parent must lie within healing reach, apart from
    the piece, and fit it. Subtrees holding a soma or reaching less than ``min_side_nm`` are
    left. Returns the moves (the forest is changed in place)."""
    x = forest.x
    soma_set = set(sv)
    moved: list[dict] = []
    taken = np.zeros(len(x), dtype=bool)
    members = {k: set(np.flatnonzero(owner == k).tolist()) for k in range(len(sv))}
    for own, host, tree, par, v, u in bridge_walk(forest, owner, sv, piece, faced, taken):
        near, far = forest.reach(u, v, arm_nm)
        if far < min_side_nm:
            continue
        parent = _median(branch_r[_parent_arm(forest, par, v, arm_nm)])
        r_sub = _median(branch_r[near])
        if not (np.isfinite(parent) and np.isfinite(r_sub) and r_sub >= ratio * parent):
            continue
        gap, q = tree.query(x[u])
        end = int(host[q])
        if gap > reach_nm:
            continue
        r_host = _median(branch_r[sorted(forest.within({end}, arm_nm, members[int(owner[end])]))])
        if not r_sub < ratio * r_host or gap <= r_sub + r_host:
            continue
        sub, _ = forest.reach(u, v, np.inf)
        if soma_set.intersection(sub.tolist()):
            continue
        forest.cut(v, u)
        forest.join(end, u)
        taken[sub] = True
        moved.append({"kind": "bridge_calibre", "vertex": u, "attached_at": v, "from_soma": int(own),
                      "to_soma": int(owner[end]), "new_attach": end, "ratio": round(float(r_sub / parent), 3),
                      "vertices": int(len(sub)), "applied": True})
    return moved

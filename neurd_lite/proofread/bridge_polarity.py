"""Axon pieces healed onto another cell's dendrite go to another cell (``SplitParams.bridge_axon_polarity``).

A fragmented mesh is healed by proximity (``mesh.heal``): where one cell's axon runs past another cell's dendrite,
the axon's fragments beyond the contact can be linked to that dendrite, and every fragment healed on beyond with
them, far from the cut (tune fam411: 7-11k faces of a bipolar's axon, 56-63 output synapses and almost no inputs,
hung through heal links on an l23 pyramid's dendrite whose last 20 µm carry 17-49 inputs and no output; no growth
or calibre rule separates them, both are thin). An axon leaves its soma or a proximal dendrite (within
``axon_origin_nm``, as ``flags.merge_axon_on_dendrite`` reads it), not a dendrite far from the soma, and a heal
link carries no membrane. So a subtree entered through a skeleton edge that leaves its mesh piece
(:func:`.bridges._crosses`) more than ``origin_nm`` from its owner's soma (along the skeleton), whose first
``window_nm`` carries outputs (share >= ``purity`` of >= ``min_synapses`` synapses) while the arm it hangs on
(``window_nm`` towards its owner's soma) carries inputs (share >= ``purity``, >= ``min_synapses``), moves to the
nearest vertex of another soma's cell within healing's farthest reach of the subtree's root
(``bridge_calibre.HEAL_REACH_NM``) whose neurite is not a dendrite by the same purity (input share < ``purity``
of >= ``min_synapses``): the piece continues an axon, so the move must end the clash (tune fam411: the bipolar's
axon there reads 7 outputs, 3 inputs; without this clause tune fam422 moved a third cell's axon piece onto the
nearest other cell's dendrite, and fam423, fam443 a cell's own axon pieces healed onto its own dendrite, with no
other axon within reach). Polarity only, never labels: a merged object's compartment labels are often wrong near a
contact (docs/proofreading.md, ``synapse_change``). Bridges are taken nearest their owner's soma
first; a moved subtree is not judged again. Runs only after an applied soma-path cut (single cells are never
touched). nm throughout.

The mirror (``SplitParams.bridge_dendrite_polarity``, session 28, ``axon=False``): a dendrite does not leave an
axon (the premise of ``flags.merge_dendrite_on_axon``), so a subtree entered through a heal bridge whose first
``window_nm`` carries inputs (output share <= 1 - ``purity``) while the arm it hangs on carries outputs (share >=
``purity``) moves to the nearest vertex of another soma's cell within reach whose neurite is not an axon (output
share < ``purity`` of >= ``min_synapses``), by the same walk and the same numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .bridge_calibre import _parent_arm
from .bridges import bridge_walk

if TYPE_CHECKING:
    from .split import _Forest


def _share(outputs: np.ndarray, inputs: np.ndarray, verts: np.ndarray, min_synapses: int) -> float:
    """Output-synapse share over skeleton vertices ``verts``; NaN with fewer than ``min_synapses`` synapses."""
    o, i = float(outputs[verts].sum()), float(inputs[verts].sum())
    return o / (o + i) if o + i >= max(min_synapses, 1) else float("nan")


def _axon_host(forest: _Forest, tree: cKDTree, host: np.ndarray, owner: np.ndarray, members: dict,
               point: np.ndarray, synapses: tuple[np.ndarray, np.ndarray], purity: float, window_nm: float,
               min_synapses: int, reach_nm: float, max_checks: int = 64, axon: bool = True
               ) -> tuple[int, float] | None:
    """The nearest vertex of another soma's cell within ``reach_nm`` of ``point`` whose neurite (its own cell's
    skeleton within ``window_nm``, >= ``min_synapses`` synapses) is not a dendrite by the same ``purity`` (input
    share < ``purity``): an axon piece continues an axon, so the move must end the polarity clash, not move it
    (checked on the ``max_checks`` nearest vertices). ``axon=False``: not an axon (output share < ``purity``), for
    a dendrite piece. (vertex, distance nm) or None."""
    idx = tree.query_ball_point(point, reach_nm)
    if not idx:
        return None
    d = np.linalg.norm(forest.x[host[idx]] - point, axis=1)
    for q in np.asarray(idx)[np.argsort(d)][:max_checks]:
        end = int(host[q])
        near = np.asarray(sorted(forest.within({end}, window_nm, members[int(owner[end])])), dtype=np.int64)
        share = _share(synapses[0], synapses[1], near, min_synapses)
        if (share > 1.0 - purity) if axon else (share < purity):
            return end, float(np.linalg.norm(forest.x[end] - point))
    return None


def _own_host_nearer(forest: _Forest, owner: np.ndarray, members: dict, own: int, sub: np.ndarray,
                     point: np.ndarray, gap_nm: float, synapses: tuple[np.ndarray, np.ndarray], purity: float,
                     window_nm: float, min_synapses: int, max_checks: int = 64) -> bool:
    """Whether the piece's own cell (soma ``own``, outside the subtree ``sub``) has a non-axonal neurite (output
    share < ``purity`` over ``window_nm``, >= ``min_synapses`` synapses) nearer to ``point`` than ``gap_nm``: a
    fragment of a cell's own dendrite healed onto its own axon reads the same as another cell's (tune fam443, 439),
    and then nothing says it is not the cell's own."""
    mine = members[own] - set(sub.tolist())
    cand = np.fromiter(mine, dtype=np.int64, count=len(mine))
    if not len(cand):
        return False
    d = np.linalg.norm(forest.x[cand] - point, axis=1)
    for q in np.argsort(d)[:max_checks]:
        if d[q] >= gap_nm:
            return False
        near = np.asarray(sorted(forest.within({int(cand[q])}, window_nm, mine)), dtype=np.int64)
        if _share(synapses[0], synapses[1], near, min_synapses) < purity:
            return True
    return False


def polarity_bridge_moves(forest: _Forest, owner: np.ndarray, sv: list[int], piece: np.ndarray,
                          synapses: tuple[np.ndarray, np.ndarray], purity: float, window_nm: float,
                          origin_nm: float, min_synapses: int, reach_nm: float, faced: bool = False,
                          axon: bool = True) -> list[dict]:
    """Re-hang every output-carrying subtree entered through a bridge edge on an input-carrying arm, farther than
    ``origin_nm`` from its owner's soma, on the nearest non-dendritic vertex of another soma's cell within
    ``reach_nm`` of its root (:func:`_axon_host`; module doc). owner: (N,) soma index per vertex before the
    moves; sv: soma vertices; piece: (N,) :func:`.bridges.skeleton_pieces`; synapses: (N,) output and (N,)
    input synapse counts per skeleton vertex; axon=False: the mirror (input-carrying subtrees on output-carrying
    arms, onto a non-axonal neurite; kind ``bridge_dendrite_polarity``). Returns the moves (the forest is changed
    in place)."""
    outputs, inputs = synapses
    x = forest.x
    soma_set = set(sv)
    moved: list[dict] = []
    taken = np.zeros(len(x), dtype=bool)
    members = {k: set(np.flatnonzero(owner == k).tolist()) for k in range(len(sv))}
    for own, host, tree, par, v, u in bridge_walk(forest, owner, sv, piece, faced, taken, origin_nm):
        near, _ = forest.reach(u, v, window_nm)
        s_sub = _share(outputs, inputs, near, min_synapses)
        if not (s_sub >= purity if axon else 1.0 - s_sub >= purity):
            continue
        s_arm = _share(outputs, inputs, _parent_arm(forest, par, v, window_nm), min_synapses)
        if not (1.0 - s_arm >= purity if axon else s_arm >= purity):
            continue
        found = _axon_host(forest, tree, host, owner, members, x[u], (outputs, inputs), purity, window_nm,
                           min_synapses, reach_nm, axon=axon)
        if found is None:
            continue
        sub, _ = forest.reach(u, v, np.inf)
        if soma_set.intersection(sub.tolist()):
            continue
        end, gap = found
        if not axon and _own_host_nearer(forest, owner, members, own, sub, x[u], gap, (outputs, inputs), purity,
                                         window_nm, min_synapses):
            continue
        forest.cut(v, u)
        forest.join(end, u)
        taken[sub] = True
        kind = "bridge_polarity" if axon else "bridge_dendrite_polarity"
        moved.append({"kind": kind, "vertex": u, "attached_at": v, "from_soma": int(own),
                      "to_soma": int(owner[end]), "new_attach": end, "output_share": round(s_sub, 3),
                      "arm_output_share": round(s_arm, 3), "gap_nm": round(float(gap), 1),
                      "vertices": int(len(sub)), "applied": True})
    return moved

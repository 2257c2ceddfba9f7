"""Synapse polarity moves whole pieces between axon and dendrite after the axon decision (session 15; default
``CompartmentParams(polarity_bayes_factor=1e4)``, 0 turns it off).

Why: where a cell's own axon touches its own dendrite the mesh is fused there, and the skeleton (a tree) routes
the neurite beyond the contact through the other one: a millimetre of local axon can hang off a basal dendrite
25 µm from the soma, or a dendrite tip off an axon collateral. The axon decision takes one subtree, and the
vertex model reads limb context, so such a piece keeps its host's label although its synapses say otherwise.

How (only with synapses of known polarity): the cell's own decided axon and dendrite give the share of
presynapses among their synapses (half a synapse of pseudo-count each way); given where the synapses are, each
synapse's polarity is a Bernoulli draw, so a vertex's log-likelihood ratio "axon vs dendrite" is
``pre * log(fa / fd) + post * log((1 - fa) / (1 - fd))`` (fa, fd: the axon's and dendrite's presynapse shares).
Cable without synapses carries no evidence either way (synapse density varies along a neurite). A subtree lying
wholly inside the dendrite whose summed log ratio exceeds log(``bayes_factor``) becomes axon (greedy: the best
first, the rest re-scored, at most ``max_pieces``), and a subtree wholly inside the axon below
-log(``bayes_factor``) becomes dendrite, in both cases only a piece that comes within ``contact_nm`` of the side
it joins or of a piece moved before it (where the skeleton broke the loop the two routes meet). A piece far
from the cell's own axon that carries only presynapses (a merged foreign axon on a proofread MICrONS dendrite)
stays where it is. No threshold is fitted: the shares are the cell's own and the bar is a Bayes factor.
"""
from __future__ import annotations

import numpy as np

from .learned import edge_um
from .tree import Tree

PSEUDO_COUNT = 0.5  # synapses added to each rate's count (a compartment without any synapse of one kind)
CONTACT_NM = 12000.0  # a piece moves only if it comes this close to the side it joins: the skeletonizer's
#                       invalidation distance (SkeletonParams.invalidation_d_nm), how far apart two routes can stop


def polarity_llr(axon: np.ndarray, dendrite: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray | None:
    """(N,) per-vertex log-likelihood ratio, axon vs dendrite, of the polarity of the vertex's synapses (``pre`` /
    ``post``: counts per vertex), with presynapse shares from the ``axon`` and ``dendrite`` masks; None when the
    cell has no synapses of known polarity, no axon or no dendrite."""
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    if not axon.any() or not dendrite.any() or pre.sum() + post.sum() == 0:
        return None
    fa, fd = ((float(pre[m].sum()) + PSEUDO_COUNT) / (float(pre[m].sum() + post[m].sum()) + 2 * PSEUDO_COUNT)
              for m in (axon, dendrite))
    return pre * np.log(fa / fd) + post * np.log((1.0 - fa) / (1.0 - fd))


def _touching(tree: Tree, inside: np.ndarray, other: np.ndarray, contact_nm: float) -> np.ndarray:
    """Bool (N,): vertices of ``inside`` within ``contact_nm`` of a vertex of ``other``."""
    out = np.zeros(tree.n, dtype=bool)
    if inside.any() and other.any():
        from scipy.spatial import cKDTree

        d, _ = cKDTree(tree.sk.vertices[other]).query(tree.sk.vertices[inside], distance_upper_bound=contact_nm)
        out[np.flatnonzero(inside)] = np.isfinite(d)
    return out


def _pieces(tree: Tree, inside: np.ndarray, score: np.ndarray, bar: float, max_pieces: int, other: np.ndarray,
            contact_nm: float) -> np.ndarray:
    """Bool (N,): up to ``max_pieces`` disjoint subtrees lying wholly in ``inside`` whose summed ``score`` exceeds
    ``bar``, the best first, each touching (a vertex within ``contact_nm`` of) ``other`` or a piece taken before
    it (both arms of a neurite that passes through a contact: the arm that meets the other side's skeleton where
    the loop was broken goes first, the arm leaving the contact touches it)."""
    mask = inside.copy()
    picked = np.zeros(tree.n, dtype=bool)
    for _ in range(max_pieces):
        s = tree.subtree_sum(np.where(mask, score, 0.0))
        touches = tree.subtree_sum(_touching(tree, mask, other | picked, contact_nm).astype(float)) > 0
        pure = mask & touches & (tree.subtree_sum((~mask).astype(float)) == 0)
        if not pure.any():
            break
        v = int(np.argmax(np.where(pure, s, -np.inf)))
        if s[v] <= bar:
            break
        sub = tree.subtree_mask(v)
        picked |= sub
        mask &= ~sub
    return picked


def polarity_moves(tree: Tree, body: np.ndarray, axon: np.ndarray, pre: np.ndarray, post: np.ndarray,
                   bayes_factor: float, max_pieces: int = 20, contact_nm: float = CONTACT_NM,
                   dendrite_contact_nm: float | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """(new axon mask, record): pieces of the dendrite (``body & ~axon``) whose synapses favour the axon by more
    than ``bayes_factor`` join the axon, pieces of the axon favouring the dendrite leave it (see the module
    docstring). ``pre`` / ``post``: per-vertex synapse counts; ``body``: the vertices that can be labelled (bool
    (N,)). ``dendrite_contact_nm``: the contact distance for pieces leaving the axon (None: ``contact_nm``; inf: a
    piece of the axon carrying postsynapses joins the dendrite wherever it lies, e.g. a dendrite fragment the
    skeleton bridged to the axon across a mesh gap). Record: pieces and cable (µm) moved each way; the axon
    unchanged when nothing passes."""
    dendrite = body & ~axon
    llr = polarity_llr(axon, dendrite, pre, post)
    record = {"to_axon_pieces": 0, "to_axon_um": 0.0, "to_dendrite_pieces": 0, "to_dendrite_um": 0.0}
    if llr is None or bayes_factor <= 0:
        return axon, record
    bar = float(np.log(bayes_factor))
    ax = axon & body
    to_axon = _pieces(tree, dendrite, llr, bar, max_pieces, ax, contact_nm)
    to_dend = _pieces(tree, ax, -llr, bar, max_pieces, dendrite,
                      contact_nm if dendrite_contact_nm is None else dendrite_contact_nm)
    e = edge_um(tree)
    par = tree.parent
    for key, m in (("to_axon", to_axon), ("to_dendrite", to_dend)):
        tops = m & ((par < 0) | ~m[np.maximum(par, 0)])
        record[f"{key}_pieces"] = int(tops.sum())
        record[f"{key}_um"] = round(float(e[m].sum()), 1)
    return (axon | to_axon) & ~to_dend, record


__all__ = ["polarity_llr", "polarity_moves"]

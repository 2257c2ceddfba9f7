"""The axon fallback (a lower p_axon level when no subtree passes 0.5) keeps the apical candidate (session 8).

Fast: one synthetic pyramid, hand-set vertex probabilities and a stand-in limb model (no shipped model needed).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from neurd_lite.compartments.candidate import candidate_top
from neurd_lite.compartments.label import CompartmentParams, decide_axon
from neurd_lite.compartments.learned import axon_subtree
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton

UP = np.array([0.0, -1.0, 0.0])
APICAL = ("apical_shaft", "apical_tuft", "oblique")


class HighestLimb:
    """Stand-in for the apical-limb model: the limb reaching highest along up scores 0.9, the others 0.1."""

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.where(rows["rank_height"].to_numpy() == 0, 0.9, 0.1)


def _pyramid(thin_apical: bool = False) -> tuple[Tree, np.ndarray, np.ndarray, np.ndarray]:
    """(tree, body, labelled apical, labelled axon) of a synthetic pyramid in minnie65's frame (nm); its apical
    as thick as the median basal dendrite (its tuft is thinner in the grown cell), or far thinner."""
    sk0 = tree_to_skeleton(grow_pyramidal(np.random.default_rng(9), np.array([600e3, 800e3, 850e3])))
    truth = np.asarray(sk0.vertex_properties["compartment"]).astype(str)
    radius = np.asarray(sk0.radius, dtype=float).copy()
    apical = np.isin(truth, APICAL)
    basal = np.isin(truth, ("basal", "dendrite"))
    radius[apical] = 0.3 * np.nanmin(radius[basal]) if thin_apical else np.nanmedian(radius[basal])
    t = Tree.from_skeleton(Skeleton(sk0.vertices, sk0.edges, radius, sk0.root), 7000.0)
    body = t.in_root_tree & ~t.soma
    return t, body, apical & body, (truth == "axon") & body


def _decide(t: Tree, body: np.ndarray, p: np.ndarray, expect_axon: bool = True, **kw
            ) -> tuple[np.ndarray, int, str]:
    prep = SimpleNamespace(up=UP, has_apical=None, features=None)
    return decide_axon(t, prep, body, CompartmentParams(axon_threshold=0.05, **kw), p, HighestLimb(),
                       expect_axon=expect_axon)


def test_keep_vertex_blocks_every_cut_on_its_path():
    t, body, apical, _ = _pyramid()
    p = np.where(apical, 0.2, 0.01)
    top = candidate_top(t, UP, body, HighestLimb())
    assert apical[top]  # the distal end of the highest limb is apical
    free = axon_subtree(t, p, body, 0.05)[0]
    kept = axon_subtree(t, p, body, 0.05, keep=top)[0]
    assert free[top] and not kept[top]
    assert not kept[t.path_to_root(top)].any()


def test_fallback_does_not_take_a_thick_apical_but_finds_a_weak_thin_axon():
    """A source the model never saw: the apical scores p 0.2 (no subtree passes 0.5). As thick as the
    dendrites and the best apical candidate, it is kept out of the fallback axon (session 7's fallback took
    it); switched off, the old behaviour comes back. A weak axon thinner than the dendrites is still found."""
    t, body, apical, axon = _pyramid()
    p = np.where(apical, 0.2, 0.01)
    got, cut, how = _decide(t, body, p)
    old, _, how_old = _decide(t, body, p, fallback_keeps_apical=False)
    e_ap = apical.sum()
    assert (old & apical).sum() > 0.9 * e_ap and "kept out" not in how_old
    assert (got & apical).sum() < 0.5 * e_ap and "apical candidate kept out" in how
    weak_axon = np.where(axon, 0.2, 0.01)
    got_ax, _, how_ax = _decide(t, body, weak_axon)
    tp = float((got_ax & axon).sum())
    assert 2 * tp / (got_ax.sum() + axon.sum()) > 0.95 and "kept out" not in how_ax


def test_fallback_takes_the_candidate_when_it_is_thinner_than_the_dendrites():
    """A thin weakly scored process is taken as the axon even when the limb model ranks it first."""
    t, body, apical, _ = _pyramid(thin_apical=True)
    p = np.where(apical, 0.2, 0.01)
    got, _, how = _decide(t, body, p)
    assert (got & apical).sum() > 0.9 * apical.sum() and "kept out" not in how


def test_piece_without_soma_keeps_only_a_confident_axon():
    """A piece without a soma (a cut-out dendrite need hold no axon) gets no fallback axon: a weak thin axon
    (p 0.2) is left dendrite, a confident one (p 0.9) is still taken (session 15: the 9.4 µm Harris dendrite
    lost its upper half to a fallback axon at p 0.05-0.24, and with it 26 spines)."""
    t, body, _, axon = _pyramid()
    got, cut, how = _decide(t, body, np.where(axon, 0.2, 0.01), expect_axon=False)
    assert not got.any() and cut < 0 and how == "level 0.5"
    sure, _, _ = _decide(t, body, np.where(axon, 0.9, 0.01), expect_axon=False)
    assert 2 * float((sure & axon).sum()) / (sure.sum() + axon.sum()) > 0.95

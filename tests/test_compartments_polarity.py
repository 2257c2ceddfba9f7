"""Synapse polarity moves misrouted pieces between axon and dendrite (``compartments/polarity.py``, session 15)."""
from __future__ import annotations

import warnings

from dataclasses import replace

import numpy as np

import neurd_lite as nl
from neurd_lite.compartments.polarity import polarity_llr, polarity_moves
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton


def _chain(start: np.ndarray, step: np.ndarray, n: int, first: int, parent: int) -> tuple[np.ndarray, list]:
    pts = start + step * np.arange(1, n + 1)[:, None]
    edges = [(parent, first)] + [(first + i, first + i + 1) for i in range(n - 1)]
    return pts, edges


def _cell(piece_offset_um: float) -> tuple[Tree, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Soma at the origin; a dendrite along +x (60 µm, vertex every µm) with postsynapses, an axon along -x with
    presynapses, and a 30 µm piece with presynapses only hanging off the dendrite's vertex 20 and running
    toward the axon side: its end comes within ``piece_offset_um`` of the axon. Returns tree, decided axon, body,
    pre, post."""
    v = [np.zeros(3)]
    edges: list = []
    d, e = _chain(np.zeros(3), np.array([1000.0, 0, 0]), 60, 1, 0)
    v += list(d); edges += e
    a, e = _chain(np.zeros(3), np.array([-1000.0, 0, 0]), 60, 61, 0)
    v += list(a); edges += e
    host = 20  # dendrite vertex 20 µm out; the piece runs in y, then bends back to end above the axon
    end = np.array([-20_000.0, piece_offset_um * 1000.0, 0.0])
    pts = np.linspace(np.asarray(v[host]) + [0, 3000.0, 0], end, 30)
    first = len(v)
    v += list(pts)
    edges += [(host, first)] + [(first + i, first + i + 1) for i in range(29)]
    sk = Skeleton(np.array(v), np.array(edges), np.full(len(v), 300.0), 0)
    t = Tree.from_skeleton(sk, 0.0)
    n = t.n
    axon = np.zeros(n, dtype=bool)
    axon[61:121] = True
    body = t.in_root_tree & ~t.soma
    pre, post = np.zeros(n), np.zeros(n)
    post[1:61] = 1.0        # the dendrite: one postsynapse per µm
    pre[61:121:2] = 1.0     # the axon: a presynapse every 2 µm
    pre[first::2] = 1.0     # the piece: presynapses only
    return t, axon, body, pre, post


def test_a_presynaptic_piece_near_the_axon_joins_it_and_a_far_one_stays():
    t, axon, body, pre, post = _cell(piece_offset_um=5.0)
    new, rec = polarity_moves(t, body, axon, pre, post, 1e4)
    assert rec["to_axon_pieces"] == 1 and new[121:].all() and new[61:121].all() and not new[1:61].any()
    assert rec["to_dendrite_pieces"] == 0
    far = _cell(piece_offset_um=40.0)
    new_far, rec_far = polarity_moves(far[0], far[2], far[1], far[3], far[4], 1e4)
    assert rec_far["to_axon_pieces"] == 0 and np.array_equal(new_far, far[1])


def test_nothing_moves_without_synapses_or_with_the_option_off():
    t, axon, body, pre, post = _cell(piece_offset_um=5.0)
    assert polarity_llr(axon, body & ~axon, np.zeros(t.n), np.zeros(t.n)) is None
    assert np.array_equal(polarity_moves(t, body, axon, np.zeros(t.n), np.zeros(t.n), 1e4)[0], axon)
    assert np.array_equal(polarity_moves(t, body, axon, pre, post, 0.0)[0], axon)


def test_a_skeleton_without_synapses_gets_the_same_labels_with_the_option():
    """External SWC carry no synapses: the option cannot change their labels (leave-source-out unchanged)."""
    sk = tree_to_skeleton(grow_pyramidal(np.random.default_rng(21), np.array([600e3, 800e3, 850e3])))
    sk.vertex_properties = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = nl.PipelineParams()
        a = nl.label_skeleton(sk, units="nm", up=(0, -1, 0), params=replace(
            p, compartments=replace(p.compartments, polarity_bayes_factor=0.0))).skeleton_labels
        b = nl.label_skeleton(sk, units="nm", up=(0, -1, 0), params=replace(
            p, compartments=replace(p.compartments, polarity_bayes_factor=1e4))).skeleton_labels
    assert np.array_equal(np.asarray(a).astype(str), np.asarray(b).astype(str))
    assert (np.asarray(a).astype(str) == "axon").any()


def test_a_postsynaptic_piece_far_from_the_dendrite_leaves_the_axon_only_with_the_far_option():
    """The mirror case (session 16, fragmented aspiny members): a piece carrying postsynapses only hangs off the
    decided axon > 12 µm from any dendrite vertex (a dendrite fragment bridged to the axon)."""
    t, dend_as_axon, body, pre, post = _cell(piece_offset_um=40.0)
    first = 121
    axon = np.zeros(t.n, dtype=bool)
    axon[1:61] = True          # the +x chain is the axon here, with the piece hanging off it
    axon[first:] = True
    pre, post = np.zeros(t.n), np.zeros(t.n)
    pre[1:61:2] = 1.0
    post[61:121] = 1.0         # the -x chain: the dendrite
    post[first:] = 1.0         # the piece: postsynapses only
    near, rec = polarity_moves(t, body, axon, pre, post, 1e4)
    assert rec["to_dendrite_pieces"] == 0 and np.array_equal(near, axon)
    far, rec_far = polarity_moves(t, body, axon, pre, post, 1e4, dendrite_contact_nm=np.inf)
    assert rec_far["to_dendrite_pieces"] == 1 and not far[first:].any() and far[1:61].all()

"""The splitter's ``taper`` cue reads a running median radius (``SplitParams.taper_smooth_nm``, session 10 round 2):
a skeleton junction vertex with a near-zero radius is not a taper minimum."""
from __future__ import annotations

import numpy as np

import neurd_lite as nl
from neurd_lite.neuron import Neuron, Soma
from neurd_lite.proofread import SplitParams, find_cuts, path_scores
from neurd_lite.skeleton.graph import build_branch_graph
from neurd_lite.skeleton.model import Skeleton

STEP = 500.0  # nm between path vertices


def _crossing_path(contact_nm: float = 70e3, length_nm: float = 140e3, own_nm: float = 15e3):
    """Soma A's dendrite runs along +x and tapers (1400 -> 500 nm) to a contact at ``contact_nm``, where soma B's
    dendrite (500 -> 1400 nm toward B) meets it side-on and the path turns 90 degrees; the skeleton runs through
    the contact without a branch point. A's own branch point at ``own_nm`` is a junction whose vertex carries a
    5 nm radius (skeletonisers often give a junction vertex a near-zero radius). Returns positions (nm), radii
    (nm), the junction mask and arclength (nm)."""
    s = np.arange(0.0, length_nm + STEP / 2, STEP)
    x = np.zeros((len(s), 3))
    x[:, 0] = np.minimum(s, contact_nm)
    x[:, 1] = np.maximum(s - contact_nm, 0.0)
    r = np.where(s <= contact_nm, 1400.0 - 900.0 * s / contact_nm,
                 500.0 + 900.0 * (s - contact_nm) / (length_nm - contact_nm))
    junction = np.zeros(len(s), bool)
    k = int(np.argmin(np.abs(s - own_nm)))
    junction[k] = True
    r[k] = 5.0
    return x, r, junction, s


def test_dendrite_dendrite_crossing_without_branch_point_is_cut_at_the_crossing():
    """Default: the cut is at the crossing (taper 1 + turn there). With the raw vertex radius the 5 nm junction
    vertex is the taper fit's perfect minimum, and the own branch point (junction + taper 1) wins."""
    x, r, junction, s = _crossing_path()
    args = (x, r, np.zeros(len(s), bool), junction, (x[0], 5000.0), (x[-1], 5000.0))
    raw = path_scores(*args, SplitParams(taper_smooth_nm=0.0))
    smooth = path_scores(*args, SplitParams())
    assert abs(s[np.argmax(raw["score"])] - 15e3) <= 1000 and raw["taper"][np.argmax(raw["score"])] > 0.99
    assert abs(s[np.argmax(smooth["score"])] - 70e3) <= 3000
    assert abs(s[np.argmax(smooth["taper"])] - 70e3) <= 3000


def test_taper_smoothing_keeps_a_contact_branch_point_and_a_clean_taper():
    """Without junction artefacts the smoothed taper still peaks at the calibre minimum (the contact)."""
    x, r, junction, s = _crossing_path()
    r[junction] = 1400.0 - 900.0 * s[junction] / 70e3  # the junction vertex has its branch's radius
    sc = path_scores(x, r, np.zeros(len(s), bool), np.zeros(len(s), bool), (x[0], 5000.0), (x[-1], 5000.0),
                     SplitParams())
    assert abs(s[np.argmax(sc["taper"])] - 70e3) <= 2000


def test_single_cell_with_a_thick_proximal_branch_point_is_not_cut():
    """One soma; its thick trunk (1500 nm) branches 10 µm out into two thin children (400 nm) and the junction
    vertex carries a 3 nm radius: no soma-to-soma path, so no cut and one cell."""
    pts, edges, rad = [], [], []

    def line(a, b, r0, r1, join=None):
        a, b = np.asarray(a, float), np.asarray(b, float)
        k = max(int(np.linalg.norm(b - a) // STEP), 1)
        start = len(pts)
        for i, t in enumerate(np.linspace(0, 1, k + 1)):
            pts.append(a + (b - a) * t)
            rad.append(r0 + (r1 - r0) * t)
            if i:
                edges.append((start + i - 1, start + i))
        if join is not None:
            edges.append((join, start))
        return start, start + k

    root, fork = line((0, 0, 0), (10e3, 0, 0), 1500.0, 1400.0)
    rad[fork] = 3.0
    line((10.5e3, 500, 0), (60e3, 30e3, 0), 400.0, 300.0, join=fork)
    line((10.5e3, -500, 0), (60e3, -30e3, 0), 400.0, 300.0, join=fork)
    sk = Skeleton(np.asarray(pts), np.asarray(edges), np.asarray(rad), root=root)
    somas = [Soma((0.0, 0.0, 0.0), 6000.0)]
    g, _ = build_branch_graph(sk, somas)
    n = Neuron(name="single", skeleton=sk, somas=somas, graph=g)
    owner, cuts = find_cuts(n, SplitParams())
    assert cuts == [] and np.all(owner == 0)
    out = nl.split(n)
    assert len(out) == 1 and out.report["cuts"] == []

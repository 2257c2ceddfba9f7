"""Interneuron variants with real-sized local axons (session 11): extra classes of the synthetic family.

The eight original classes carry axons of at most ~1.35 x their dendrite's cable; real cortical interneurons
(the 17 traced external_labelled ones) carry 1.1-11 x, arborising densely around and above their soma (8-17
branch points per mm), and several have one dominant dendrite (cable share 0.7-0.86) that looks like an apical.
These classes are only used where asked for by name (the compartment models' training set); they are not in
:data:`~neurd_lite.testing.classes.CLASSES`, so every existing member stays byte-identical.

- ``pvalb_arbor``: basket-like, 5-9 dendrites, a dense axon arbor centred near the soma;
- ``sst_arbor``: Martinotti-like, the axon arbor centred 0.3-1.5 dendritic fields above the soma;
- ``ndnf_arbor``: neurogliaform / L1-Ndnf-like, small soma, many short dendrites, often one dominant ascending
  dendrite, a very dense arbor around and above the soma;
- ``pyr_arbor``: an L2/3-L4 pyramid (apical, basals) whose local axon arborises around and above the soma with
  1.2-4 x the dendrite's cable, as the traced cajal Cux2 / Nr5a1 / Oxtr pyramids do (so a big rising axon is not
  an interneuron's mark alone);
- ``pyr_local_axon`` (session 12): a pyramid whose local axon is 0.2-4 x the dendrite's cable (uniform), spread
  over an arbor centred 0.5 fields below to 0.6 above the soma: from the family's pyramids (0.2-0.3 x) to cajal's
  L4 cells (1.2-3.7 x), so that the compartment models cannot read "big local axon" as "no apical".

Lengths in nm inside the tree (µm in the ranges).
"""
from __future__ import annotations

import numpy as np

from . import exactvec as ev
from .morphology import PIA, PIA_Y_NM, MorphologyParams, Tree, _add, _at_angle, _branching, axon_origin

ARBOR_CENTRE_UP = {"pvalb_arbor": (-0.3, 0.4), "sst_arbor": (0.3, 1.5), "ndnf_arbor": (0.0, 0.8),
                   "pyr_arbor": (-0.4, 0.6), "pyr_local_axon": (-0.5, 0.6)}
"""Where the axon arbor is centred, in dendritic fields above the soma (along the pia direction)."""
ARBOR_REACH = (1.2, 2.2)  # arbor radius in dendritic fields (real: axon extent 1-2.5 x the dendrites)
BRANCH_UM = (30.0, 110.0)  # axon branch lengths (mean 70 µm: ~14 branch points per mm, as the real ones)


def draw_extra(rng: np.random.Generator, cls: str, axon_ratio: tuple[float, float], dominant_p: float
               ) -> dict:
    """The extra draws of an arbor member (after every ordinary draw, so ordinary classes are untouched):
    axon / dendrite cable ratio, arbor centre and reach (dendritic fields), and the dominant dendrite."""
    dominant = bool(rng.random() < dominant_p)
    return {"axon_ratio": float(rng.uniform(*axon_ratio)),
            "centre_up": float(rng.uniform(*ARBOR_CENTRE_UP[cls])), "reach": float(rng.uniform(*ARBOR_REACH)),
            "dominant": dominant, "dominant_up": bool(rng.random() < 0.6),
            "dominant_scale": float(rng.uniform(1.8, 2.8)), "dominant_len": float(rng.uniform(2.0, 3.5))}


def arbor_dendrites(tree: Tree, rng: np.random.Generator, p: MorphologyParams, m, cr, dirs: list[np.ndarray]
                    ) -> None:
    """Dendrites along ``dirs``; with ``m.extra['dominant']`` the first becomes one thick, long, deeper-branching
    limb (pointing to the pia with ``dominant_up``), as in the Ndnf / Sst / Vip cells that look pyramidal."""
    ex = m.extra
    child = (cr.child_um[0] * 1000.0, cr.child_um[1] * 1000.0)
    for k, d in enumerate(dirs):
        r0 = m.dendrite_radius_nm * rng.uniform(0.85, 1.15)
        stem, ch, depth = rng.uniform(*cr.stem_um) * 1000.0, child, cr.branch_depth
        bias, weight = None, 0.0
        if k == 0 and ex.get("dominant"):
            if ex["dominant_up"]:
                d = ev.unit(PIA + rng.normal(0, 0.25, 3))
                bias, weight = PIA, 0.02
            r0 *= ex["dominant_scale"]
            stem *= ex["dominant_len"]
            ch = (child[0] * 1.6, child[1] * 2.0)
            depth += 1
        _branching(tree, rng, p, "dendrite", -1, ev.unit(d + rng.normal(0, 0.05, 3)), stem, ch, r0, m.tip_radius_nm,
                   depth, cr.p_more, bias, weight)


def _cable_nm(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def arbor_axon(tree: Tree, rng: np.random.Generator, p: MorphologyParams, m) -> None:
    """A dense local axon of ``axon_ratio`` x the dendrite's cable: a main axon from the soma (or a proximal
    dendrite, p 0.3) toward the arbor centre, then branches of 30-110 µm leaving existing axon at wide angles
    (57-109°) until the cable is reached, turned back toward the centre when they leave the arbor."""
    ex = m.extra
    soma = tree.soma_center
    dend = [s for s in tree.sections if s.compartment != "axon"]
    dcable = sum(_cable_nm(s.points) + p.step_nm for s in dend)
    pts = np.concatenate([s.points for s in dend])
    field = float(np.percentile(np.linalg.norm(pts - soma, axis=1), 95))
    room = max(soma[1] - PIA_Y_NM - 20_000.0, 0.0)  # keep the arbor's centre below the pia
    centre = soma + PIA * min(ex["centre_up"] * field, room)
    reach = ex["reach"] * field
    target = ex["axon_ratio"] * dcable
    to_centre = centre - soma
    far = ev.norm(to_centre) > 0.3 * reach
    direction = ev.unit(to_centre) if far else ev.unit(rng.normal(size=3))
    direction = ev.unit(direction + rng.normal(0, 0.25, 3))
    hosts = [i for i, s in enumerate(tree.sections) if s.parent < 0 and len(s.points) > 8]
    parent, pp, direction = axon_origin(tree, rng, hosts, direction)
    length = float(ev.norm(to_centre)) + rng.uniform(0.3, 0.8) * reach
    main = _add(tree, rng, p, "axon", parent, pp, direction, length, (250.0, 130.0),
                ev.unit(to_centre) if far else None, 0.05)
    axon = [main]
    total = _cable_nm(tree.sections[main].points)
    start_skip = int(20_000.0 / p.step_nm)  # no branch on the first 20 µm (the initial segment)
    tries = 0
    while total < target and tries < 20_000:
        tries += 1
        sizes = np.array([len(tree.sections[i].points) for i in axon], float)
        i = axon[int(rng.choice(len(axon), p=sizes / sizes.sum()))]
        sp = tree.sections[i].points
        lo = start_skip if i == main else 2
        if len(sp) - 2 <= lo:
            continue
        j = int(rng.integers(lo, len(sp) - 2))
        out = sp[j] - centre
        dist = float(ev.norm(out))
        if dist > 1.3 * reach:
            continue
        d = _at_angle(ev.unit(sp[j] - sp[j - 1]), rng.uniform(1.0, 1.9), rng)
        if dist > reach:
            d = ev.unit(d - ev.unit(out))
        bias = ev.unit(-out) if dist > 0.8 * reach else None
        s = _add(tree, rng, p, "axon", i, j, d, rng.uniform(*BRANCH_UM) * 1000.0, (130.0, 100.0), bias, 0.06)
        axon.append(s)
        total += _cable_nm(tree.sections[s].points) + p.step_nm


__all__ = ["arbor_axon", "arbor_dendrites", "draw_extra"]

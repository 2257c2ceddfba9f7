"""The has-apical decision: cell-level gate evidence, the shipped gate model, spines as excitatory evidence and
the real MICrONS cell's apical (a regression of session 4: no apical through ``decompose``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurd_lite as nl
from neurd_lite.testing.soma_shapes import random_rotation
from neurd_lite.compartments.gate import GATE_FEATURES, axon_features, gate_features
from neurd_lite.compartments.learned import CELL_MODEL, load_vertex_model, models_available
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.morphology import grow_interneuron, grow_pyramidal, tree_to_skeleton

APICAL = ("apical_shaft", "apical_tuft", "oblique")
CENTRE = np.array([600e3, 800e3, 850e3])


def _rotation(seed: int) -> np.ndarray:
    return random_rotation(np.random.default_rng(seed))


def _gate(kind: str, seed: int, rot: np.ndarray | None = None) -> dict[str, float]:
    """Gate features of a synthetic cell (``testing.morphology``, not the training family), true axon removed
    (and read by the axon inputs, as the package does with its decided axon)."""
    grow = grow_pyramidal if kind == "pyramidal" else grow_interneuron
    sk0 = tree_to_skeleton(grow(np.random.default_rng(seed), CENTRE))
    rot = np.eye(3) if rot is None else rot
    sk = Skeleton((sk0.vertices - CENTRE) @ rot.T, sk0.edges, sk0.radius, sk0.root)
    t = Tree.from_skeleton(sk, 7000.0)
    axon = np.asarray(sk0.vertex_properties["compartment"]).astype(str) == "axon"
    up, dend = rot @ np.array([0.0, -1.0, 0.0]), t.in_root_tree & ~t.soma & ~axon
    return {**gate_features(t, up, dend), **axon_features(t, up, dend, axon)}


def test_gate_features_do_not_depend_on_the_frame():
    a = _gate("pyramidal", 11)
    b = _gate("pyramidal", 11, _rotation(5))
    assert list(a) == GATE_FEATURES
    np.testing.assert_allclose([a[k] for k in GATE_FEATURES], [b[k] for k in GATE_FEATURES], rtol=1e-6, atol=1e-9)


def test_axon_inputs_read_the_axon_and_are_nan_without_one():
    """A pyramid's axon descends (negative mean height over the field); without an axon both inputs are NaN."""
    pyr = [_gate("pyramidal", s) for s in (21, 22, 23)]
    assert all(g["axon_height_ext"] < 0 and 0 < g["axon_cable_rel"] < 10 for g in pyr)
    sk0 = tree_to_skeleton(grow_pyramidal(np.random.default_rng(21), CENTRE))
    t = Tree.from_skeleton(sk0, 7000.0)
    body = t.in_root_tree & ~t.soma
    none = axon_features(t, np.array([0.0, -1.0, 0.0]), body, np.zeros(t.n, dtype=bool))
    assert np.isnan(none["axon_height_ext"]) and np.isnan(none["axon_cable_rel"])
    assert np.isnan(axon_features(t, np.array([0.0, -1.0, 0.0]), body, None)["axon_cable_rel"])


def test_axon_start_cos_is_the_direction_the_axon_leaves_in():
    """A pyramid's axon leaves toward the white matter (cosine to up near -1); flipping ``up`` flips the sign; no
    axon: NaN (session 15)."""
    pyr = [_gate("pyramidal", s) for s in (21, 22, 23)]
    assert all(g["axon_start_cos"] < -0.5 for g in pyr)
    sk0 = tree_to_skeleton(grow_pyramidal(np.random.default_rng(21), CENTRE))
    t = Tree.from_skeleton(sk0, 7000.0)
    axon = np.asarray(sk0.vertex_properties["compartment"]).astype(str) == "axon"
    dend = t.in_root_tree & ~t.soma & ~axon
    down = axon_features(t, np.array([0.0, -1.0, 0.0]), dend, axon)["axon_start_cos"]
    flip = axon_features(t, np.array([0.0, 1.0, 0.0]), dend, axon)["axon_start_cos"]
    assert down == pytest.approx(-flip)
    assert np.isnan(axon_features(t, np.array([0.0, -1.0, 0.0]), dend, np.zeros(t.n, dtype=bool))["axon_start_cos"])


def test_gate_candidate_dominates_in_a_pyramid_not_in_an_interneuron():
    pyr = [_gate("pyramidal", s) for s in (21, 22, 23)]
    inter = [_gate("interneuron", s) for s in (21, 22, 23)]
    assert min(g["reach_ratio"] for g in pyr) > max(g["reach_ratio"] for g in inter)
    assert all(g["cand_cos0"] > 0.8 and g["height_gap_ext"] > 0.4 for g in pyr)
    # a pyramid's candidate rises as one trunk before it splits, and no other limb shares the high dendrite
    assert min(g["cand_trunk_frac"] for g in pyr) > max(g["cand_trunk_frac"] for g in inter)
    assert all(g["others_top_share"] == 0.0 for g in pyr) and all(g["others_top_share"] > 0.05 for g in inter)


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_shipped_gate_model_separates_pyramids_from_interneurons():
    m = load_vertex_model(CELL_MODEL)
    assert set(m.features) <= set(GATE_FEATURES)  # the feature set chosen in inner folds (gate_fit.GATE_SETS)
    assert m.meta["held_out_metrics"]["leave_cell_out"]
    for kind, want in (("pyramidal", True), ("interneuron", False)):
        for seed in (31, 32):
            p = float(m.predict(pd.DataFrame([_gate(kind, seed)], columns=GATE_FEATURES))[0])
            assert (p >= 0.5) == want, (kind, seed, p)


class _Constant:
    """A has-apical model that always answers ``p`` (to test what the spines add to it)."""

    features = GATE_FEATURES

    def __init__(self, p: float) -> None:
        self.p = p

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.full(len(x), self.p)


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
@pytest.mark.parametrize("p_shape, apical_after", [(0.3, True), (0.05, False)])
def test_spines_overturn_an_unsure_shape_verdict_only(monkeypatch, p_shape, apical_after, pyramidal0):
    """A spiny cell the shape model turned away (p < 0.5) gets its apical when the spines' likelihood ratio
    (NEURD's cells: 3.5) lifts it over 0.5 (p 0.3 -> 0.6), not when the shape was sure (p 0.05 -> 0.16)."""
    from neurd_lite.compartments import label as label_mod
    from neurd_lite.compartments import label_compartments, refine_by_spines
    from neurd_lite.feature.spines import dendritic_spine_density_per_um
    from neurd_lite.testing.reference import reference_neuron

    real_load = label_mod.load_vertex_model
    monkeypatch.setattr(label_mod, "load_vertex_model",
                        lambda name, *a: _Constant(p_shape) if name == CELL_MODEL else real_load(name, *a))
    n = reference_neuron(pyramidal0())  # make_neuron("pyramidal", seed=0)
    n.provenance["timings_s"] = {"spines": 0.0}  # spine detection "ran"
    label_compartments(n, up=(0, -1, 0))
    assert not np.isin(n.skeleton_labels.astype(str), APICAL).any()
    assert n.provenance["compartments"]["has_apical_source"] == "has-apical model"
    density = dendritic_spine_density_per_um(n)
    assert density[0] >= 0.2
    assert refine_by_spines(n, up=(0, -1, 0), spine_density=density) == apical_after
    assert ("apical_shaft" in set(n.skeleton_labels.astype(str))) == apical_after
    assert any(f.startswith("apical_from_spines") for f in n.flags) == apical_after
    if apical_after:
        assert n.provenance["compartments"]["spine_check"]["p_has_apical_with_spines"] > 0.5
        assert n.provenance["compartments"]["has_apical_source"].startswith("excitatory")


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_real_cell_keeps_its_apical_through_decompose(microns_cell_paths):
    """864691135510518224 (a 4P pyramid merged with a second cell, mesh cut ~87 µm above the soma; never in
    training): session 4's has-apical model read its small extent as an interneuron and gave it no apical
    (the rules: 4,706 apical-shaft faces). Without synapses too (no dense-input veto, same shape)."""
    for syn in (microns_cell_paths["synapses"], None):
        n = nl.decompose(microns_cell_paths["mesh"], synapses=syn, units="nm")
        fc = np.asarray(n.face_compartment, dtype=str)
        assert (fc == "apical_shaft").sum() > 1000
        assert (fc == "axon").sum() > 1000
        assert n.provenance["compartments"]["has_apical"]


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
@pytest.mark.parametrize("margin, apical_after", [(0.1, False), (-0.01, True)])
def test_second_look_density_floor(monkeypatch, margin, apical_after, pyramidal0):
    """``RefineParams.second_look_min_density_per_um`` (session 16, opt-in): a cell less dense than the floor keeps
    the shape model's "no apical" (p 0.3), one at or above it is overturned as before."""
    from neurd_lite.compartments import label as label_mod
    from neurd_lite.compartments import RefineParams, label_compartments, refine_by_spines
    from neurd_lite.feature.spines import dendritic_spine_density_per_um
    from neurd_lite.testing.reference import reference_neuron

    real_load = label_mod.load_vertex_model
    monkeypatch.setattr(label_mod, "load_vertex_model",
                        lambda name, *a: _Constant(0.3) if name == CELL_MODEL else real_load(name, *a))
    n = reference_neuron(pyramidal0())
    n.provenance["timings_s"] = {"spines": 0.0}
    label_compartments(n, up=(0, -1, 0))
    density = dendritic_spine_density_per_um(n)
    params = RefineParams(second_look_min_density_per_um=density[0] + margin)
    assert refine_by_spines(n, params, up=(0, -1, 0), spine_density=density) == apical_after
    assert any(f.startswith("apical_from_spines") for f in n.flags) == apical_after
    assert ("p_has_apical_with_spines" in n.provenance["compartments"]["spine_check"]) == apical_after

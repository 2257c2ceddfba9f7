"""Learned per-vertex spine refinement (``SpineParams.vertex_model``, ``spines/vertex_model.py``): the shipped
model loads without pickle, features are named and finite, the relabelling keeps / joins / drops as documented,
a low dome the rules miss is found and a varicose tube stays spine-free (seconds)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_spines_seed import _domed_tube

from neurd_lite.model.shipped import MODELS_DIR
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import beaded_tube
from neurd_lite.spines.vertex_model import FEATURES, MODEL_NAME, load_model, relabel

VM = SpineParams(vertex_model=True)


def test_shipped_model_is_text_plus_json_trained_on_tune_members_only():
    booster, meta = load_model(None)
    assert (MODELS_DIR / f"{MODEL_NAME}.txt").read_text().startswith("tree")
    assert json.loads((MODELS_DIR / f"{MODEL_NAME}.json").read_text())["features"] == meta["features"]
    assert list(booster.feature_name()) == meta["features"] and set(meta["features"]) <= set(FEATURES)
    seeds = [int(m.split("_")[-2]) for m in meta["train_members"]]
    assert len(seeds) >= 40 and max(seeds) < 1000  # TUNE_SEEDS only (held-out members are 1000-1999)
    assert 0 < meta["threshold"] < 1 and meta["min_area_nm2"] > 0


def test_features_are_named_and_finite_on_a_spiny_tube():
    mesh, skel = _domed_tube(500.0, [420.0, 450.0, 150.0], seed=3)
    n = Neuron(mesh=mesh, skeleton=skel)
    n.cache["spine_vertex_sink"] = []
    detect_spines(n)
    s = n.cache["spine_vertex_sink"][0]
    x = s["features"]
    assert tuple(x.columns) == FEATURES and len(x) == len(s["idx"]) > 100
    maybe_nan = {"near_spine_peak_nm", "near_spine_area_nm2", "spread_rel"}
    assert np.isfinite(x[[c for c in FEATURES if c not in maybe_nan]].to_numpy()).all()
    assert (x.in_rule_spine > 0).sum() > 0 and np.isfinite(x.near_spine_peak_nm[x.in_rule_spine > 0]).all()


def test_relabel_keeps_joins_adds_and_drops():
    # a path graph 0-1-...-9: rule spine 0 on vertices 1-2; model spine vertices 1,2,3 (3 joins spine 0),
    # 6,7 (a new group of area 2) and 9 (a new group of area 1)
    e = np.array([[i, i + 1] for i in range(9)])
    label = np.full(10, -1)
    label[[1, 2]] = 0
    prob = np.zeros(10)
    prob[[1, 2, 3, 6, 7, 9]] = 0.9
    out = relabel(prob, np.arange(10), label, e, np.ones(10), 0.5, 1.0, 2.0)
    assert (out[[1, 2, 3]] == 0).all() and out[6] == out[7] == 1 and out[9] == -1 and out[[0, 4, 5, 8]].max() == -1
    # min area 4 drops both (the rule spine now holds 3 vertices)
    assert (relabel(prob, np.arange(10), label, e, np.ones(10), 0.5, 4.0, 2.0) < 0).all()


def test_refinement_finds_low_domes_the_rules_miss():
    """Four domes 125-145 nm high on a r 900 nm dendrite (the family's low stubby spines on wide shafts)."""
    mesh, skel = _domed_tube(900.0, [130.0, 140.0, 125.0, 145.0], seed=2)
    rules = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(rules)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, VM)
    assert len(rules.spines) <= 1 and len(n.spines) >= 3, (len(rules.spines), len(n.spines))


@pytest.mark.parametrize("radius_nm,height,half_width_nm", [(400.0, 0.8, 900.0), (900.0, 0.3, 1200.0)])
def test_refinement_keeps_varicose_dendrites_spine_free(radius_nm, height, half_width_nm):
    bumps = [(z, height * radius_nm, half_width_nm) for z in (-3500.0, 0.0, 3000.0)]
    mesh, skel = beaded_tube(radius_nm, 12000.0, bumps, noise_nm=10.0, seed=1)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, VM)
    assert len(n.spines) == 0

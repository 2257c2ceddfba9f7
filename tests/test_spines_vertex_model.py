"""Learned per-vertex spine refinement (``SpineParams.vertex_model``, ``spines/vertex_model.py``): the shipped
model loads without pickle, features are named and finite, the relabelling keeps / joins / drops as documented,
a low dome the rules miss is found and a varicose tube stays spine-free (seconds)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_spines_seed import _domed_tube

from neurd_lite.model.shipped import MODELS_DIR
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import varicose_dendrite
from neurd_lite.spines.vertex_model import FEATURES, MODEL_NAME, load_model, relabel

VM = SpineParams(vertex_model=True)


def test_shipped_model_is_text_plus_json_trained_on_tune_members_only():
    booster, meta = load_model(None)
    assert (MODELS_DIR / f"{MODEL_NAME}.txt").read_text().startswith("tree")
    assert json.loads((MODELS_DIR / f"{MODEL_NAME}.json").read_text())["features"] == meta["features"]
    assert list(booster.feature_name()) == meta["features"] and set(meta["features"]) <= set(FEATURES)
    seeds = [int(re.sub(r"_x\d+$", "", m).split("_")[-2]) for m in meta["train_members"]]  # NAME_x4: subdivided
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
    """Four domes 125-145 nm high on a r 900 nm dendrite (the family's low stubby spines on wide shafts). The
    metric-neighbourhood model (session 10 round 2) finds 2 of 4 here (the 1-2 ring model found 4 of 4)."""
    mesh, skel = _domed_tube(900.0, [130.0, 140.0, 125.0, 145.0], seed=2)
    rules = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(rules)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, VM)
    assert len(rules.spines) <= 1 and len(n.spines) >= 2, (len(rules.spines), len(n.spines))


@pytest.mark.parametrize("radius_nm,height,half_width_nm", [(400.0, 0.8, 900.0), (900.0, 0.3, 1200.0)])
def test_refinement_keeps_varicose_dendrites_spine_free(radius_nm, height, half_width_nm):
    n = varicose_dendrite(radius_nm, height, half_width_nm)
    detect_spines(n, VM)
    assert len(n.spines) == 0


def test_neighbourhood_statistics_do_not_depend_on_the_tessellation():
    """Ball convexity is 1 / R on a sphere at any subdivision; the area-weighted ball mean / max of a smooth
    bump on a plane sampled at 100 nm and at 25 nm agree (the old ring statistics covered 16x less area)."""
    import trimesh

    from neurd_lite.spines.vertex_model import NEAR_NM, _ball, _ball_convexity, _ball_max, _ball_mean

    for sub in (3, 5):
        s = trimesh.creation.icosphere(subdivisions=sub, radius=1500.0)
        v = np.asarray(s.vertices)
        nrm = v / np.linalg.norm(v, axis=1)[:, None]
        k = _ball_convexity(_ball(v, nrm, np.ones(len(v)), NEAR_NM), v, nrm)
        assert np.allclose(k, 1 / 1500.0, rtol=1e-6), sub
    got = []
    for step in (100.0, 25.0):
        g = np.arange(-1500.0, 1500.0 + step / 2, step)
        xx, yy = np.meshgrid(g, g)
        v = np.c_[xx.ravel(), yy.ravel(), np.zeros(xx.size)]
        h = 300.0 * np.exp(-(v[:, 0] ** 2 + v[:, 1] ** 2) / (2 * 400.0 ** 2)) * (1 + 0.02 * np.sin(v[:, 0]))
        w = _ball(v, np.tile([0.0, 0.0, 1.0], (len(v), 1)), np.full(len(v), step * step), NEAR_NM)
        at = np.flatnonzero((np.abs(v[:, 0] - 500.0) < 1) & (np.abs(v[:, 1]) < 1))[0]  # 500 nm off the peak
        got.append((_ball_mean(w, h)[at], _ball_max(w, h)[at], _ball_mean(w, _ball_mean(w, h))[at]))
    assert np.allclose(got[0], got[1], rtol=0.07), got  # the max moves with where the samples fall

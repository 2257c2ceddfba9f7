"""Synapse-site features beyond the spine detector's yes/no (neurd_lite.spines.target_features) and the
rule-aware synapse-target model path."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from neurd_lite.errors import InputError
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SynapseParams, attach_synapses, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.target_features import spine_tips
from neurd_lite.spines.target_model import synapse_site_features


@pytest.fixture(scope="module")
def toy():
    mesh, truth, skel = spiny_cylinder(n_spines=4, seed=5)
    n = Neuron(mesh=mesh, skeleton=skel)
    n.face_compartment[:] = "basal"
    fld = detect_spines(n)
    return n, truth, fld


def _syn(points: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x_nm": points[:, 0], "y_nm": points[:, 1], "z_nm": points[:, 2],
                         "is_pre": np.zeros(len(points), bool)})


def _sites(truth: pd.DataFrame) -> np.ndarray:
    """Top of spine 0's head, the middle of its neck surface, and a shaft point beyond the spines (nm)."""
    r0 = truth.iloc[0]
    d = np.array([r0.dir_x, r0.dir_y, 0.0])
    head = truth[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()[0] + d * r0.head_radius_nm
    base = truth[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()[0]
    neck = base + d * (60 + r0.neck_length_nm / 2) + np.cross(d, [0, 0, 1.0]) * r0.neck_radius_nm
    shaft = np.array([0.0, -500.0, 4200.0]) if abs(r0.dir_y) < 0.9 else np.array([-500.0, 0.0, 4200.0])
    return np.stack([head, neck, shaft])


def test_spine_context_places_sites_along_the_spine(toy):
    n, truth, fld = toy
    x = synapse_site_features(n, _syn(_sites(truth)), fld)
    head, neck, shaft = x.iloc[0], x.iloc[1], x.iloc[2]
    assert head.distance_to_spine_face_nm < 120 and neck.distance_to_spine_face_nm < 120  # to face centroids
    assert head.near_spine_axis_fraction > 0.7
    assert neck.near_spine_axis_fraction < head.near_spine_axis_fraction
    assert shaft.distance_to_spine_face_nm > 400
    assert head.height_over_radius > 1.0 > shaft.height_over_radius
    tips = spine_tips(n)
    assert tips.shape == (len(n.spines), 3) and np.isfinite(tips).all()


def test_model_with_rule_features_needs_rule_targets(toy, tmp_path):
    import lightgbm as lgb

    from neurd_lite.spines import target_model as tm

    n, truth, fld = toy
    feats = ["protrusion_nm", "rules_spine_head"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = np.arange(60) % len(tm.CLASSES)
    b = lgb.train({"objective": "multiclass", "num_class": len(tm.CLASSES), "verbose": -1, "num_threads": 1,
                   "min_data_in_leaf": 2}, lgb.Dataset(x, y, feature_name=feats), num_boost_round=2)
    b.save_model(str(tmp_path / f"{tm.MODEL_NAME}.txt"))
    (tmp_path / f"{tm.MODEL_NAME}.json").write_text(json.dumps({"features": feats, "classes": list(tm.CLASSES),
                                                                 "keep_rule_targets": ["soma"]}))
    syn = _syn(_sites(truth))
    with pytest.raises(InputError, match="rule targets"):
        tm.predict_targets(n, syn, fld, folder=str(tmp_path))
    rule = np.array(["spine_head", "soma", "shaft"], dtype=object)
    pred = tm.predict_targets(n, syn, fld, folder=str(tmp_path), rule_target=rule)
    assert pred[1] == "soma"  # the rules keep their soma call
    tm.load_model.cache_clear()


@pytest.mark.parametrize("name", ["synapse_target", "synapse_target_profile", "synapse_target_ring",
                                  "synapse_target_even"])
def test_shipped_model_trained_on_tune_members_only(name):
    from neurd_lite.spines.target_model import CLASSES, load_model

    booster, meta = load_model(None, name)
    assert tuple(meta["classes"]) == CLASSES and booster.num_feature() == len(meta["features"])
    train, held = set(meta["train_members"]), set(meta["heldout_members"])
    assert train and held and train.isdisjoint(held)
    # tune seeds (< 1000) of every class (session 12: martinotti seeds 0-2 are tune members too; held-out seeds
    # are >= 1000)
    assert all(int(re.search(r"_(\d+)_(random|default|frag)", m).group(1)) >= 1000 for m in held)
    assert all(int(re.search(r"_(\d+)_(random|default|frag)", m).group(1)) < 1000 for m in train)
    assert "distance_to_mesh_nm" not in meta["features"]


@pytest.mark.parametrize("name", ["synapse_target_profile", "synapse_target_ring", "synapse_target_even"])
def test_model_method_runs_through_attach_synapses(toy, name):
    n, truth, fld = toy
    m = Neuron(mesh=n.mesh, skeleton=n.skeleton)
    m.face_compartment[:] = "basal"
    f2 = detect_spines(m)
    m.synapses = _syn(_sites(truth))
    attach_synapses(m, SynapseParams(method="model", target_model=name), shaft_field=f2)
    assert m.synapses.target.iloc[0] == "spine_head" and m.synapses.target.iloc[2] == "shaft"


def test_hybrid_keeps_rule_soma_and_axon_calls(toy):
    n, truth, _ = toy
    m = Neuron(mesh=n.mesh, skeleton=n.skeleton)
    m.face_compartment[:] = "basal"
    m.face_compartment[:60] = "soma"
    fld = detect_spines(m)
    pts = np.vstack([_sites(truth), m.mesh.triangles_center[:2]])
    syn = _syn(pts)
    syn.loc[4, "is_pre"] = True
    m.synapses = syn
    attach_synapses(m, SynapseParams(method="rules"))
    rules = m.synapses.target.to_numpy()
    m.synapses = syn
    attach_synapses(m, SynapseParams(method="hybrid", soma_by="rules"), shaft_field=fld)
    hyb = m.synapses.target.to_numpy()
    assert rules[3] == "soma" and hyb[3] == "soma" and hyb[4] == "axon"
    assert set(hyb[:3]) <= {"shaft", "spine_head", "spine_neck"}


def test_axis_position_measures_along_the_spine_axis():
    from neurd_lite.spines.target_features import axis_position

    base = np.zeros((3, 3))
    axis = np.array([[0.0, 0.0, 900.0]] * 3)  # base -> tip along +z (any length)
    cp = np.array([[0.0, 0.0, 300.0], [60.0, 0.0, 400.0], [0.0, 200.0, 700.0]])  # neck axis, neck wall, head wall
    out = axis_position(cp, base, axis, np.array([500.0, 500.0, 500.0]), np.array([500.0, 500.0, 0.0]))
    assert np.allclose(out["near_spine_axis_radius_nm"], [0.0, 60.0, 200.0])
    assert np.allclose(out["near_spine_axis_radius_rel"], [0.0, 0.24, 0.8])
    assert np.allclose(out["near_spine_split_offset_nm"][:2], [-200.0, -100.0])
    assert np.isnan(out["near_spine_split_offset_nm"][2])  # no neck: no split


def test_soma_by_model_lets_the_model_overrule_rule_soma(toy, tmp_path):
    import lightgbm as lgb

    from neurd_lite.spines import target_model as tm

    n, truth, fld = toy
    feats = ["protrusion_nm", "rules_soma"]
    rng = np.random.default_rng(1)
    y = np.where(np.arange(80) < 70, tm.CLASSES.index("shaft"), np.arange(80) % len(tm.CLASSES))
    b = lgb.train({"objective": "multiclass", "num_class": len(tm.CLASSES), "verbose": -1, "num_threads": 1,
                   "min_data_in_leaf": 2}, lgb.Dataset(rng.normal(size=(80, 2)), y, feature_name=feats),
                  num_boost_round=3)
    b.save_model(str(tmp_path / f"{tm.MODEL_NAME}.txt"))
    (tmp_path / f"{tm.MODEL_NAME}.json").write_text(json.dumps({"features": feats, "classes": list(tm.CLASSES),
                                                                 "keep_rule_targets": ["soma", "axon"]}))
    syn = _syn(_sites(truth))
    rule = np.array(["axon", "soma", "shaft"], dtype=object)
    kw = {"folder": str(tmp_path), "rule_target": rule, "dendritic_only": True}
    assert list(tm.predict_targets(n, syn, fld, **kw)) == ["axon", "soma", "shaft"]
    assert list(tm.predict_targets(n, syn, fld, model_soma=True, **kw)) == ["axon", "shaft", "shaft"]
    tm.load_model.cache_clear()
    with pytest.raises(InputError, match="soma_by"):
        attach_synapses(Neuron(mesh=n.mesh, skeleton=n.skeleton, synapses=syn), SynapseParams(soma_by="mask"))


def test_profile_sample_spacing_reaches_the_axis_profiles(toy):
    """``profile_sample_nm`` is the axis profiles' sample spacing: 20 nm (the feature functions' default,
    AxisProfileParams') gives the captured features, a coarser spacing (the pipeline's 80 nm) other values."""
    from neurd_lite.spines.axis_profile import AxisProfileParams, PROFILE_FEATURES

    n, truth, fld = toy
    assert AxisProfileParams().sample_nm == 20.0 and SynapseParams().profile_sample_nm == 80.0
    syn = _syn(_sites(truth))
    cols = list(PROFILE_FEATURES)
    default = synapse_site_features(n, syn, fld, profile=True)[cols].to_numpy()
    same = synapse_site_features(n, syn, fld, profile=True, profile_sample_nm=20.0)[cols].to_numpy()
    np.testing.assert_array_equal(default, same)
    coarse = synapse_site_features(n, syn, fld, profile=True, profile_sample_nm=60.0)[cols].to_numpy()
    assert np.isfinite(coarse[0]).sum() > 0
    assert not np.array_equal(np.nan_to_num(default, nan=-1.0), np.nan_to_num(coarse, nan=-1.0))

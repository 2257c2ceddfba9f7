"""Mesh-ring feature set of the spine-vertex model (``SpineParams.vertex_feature_set="rings"``,
``spines/ring_features.py``): ring statistics on small graphs, the umbrella convexity on a sphere, the feature
set's columns through ``detect_spines`` and the error on an unknown set (seconds)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from test_spines_seed import _domed_tube

from neurd_lite.errors import InputError
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.ring_features import RING_COLUMNS, ring_adjacency, ring_columns, ring_max, ring_mean
from neurd_lite.spines.vertex_model import RING_FEATURES, feature_names, load_model


def test_ring_mean_and_max_on_a_path():
    e = np.array([[0, 1], [1, 2], [2, 3]])
    x = np.array([1.0, np.nan, 5.0, 2.0])
    a = ring_adjacency(e, 4)
    assert np.allclose(ring_mean(a, x), [1.0, 3.0, 3.5, 3.5])  # NaN ignored
    assert np.allclose(ring_max(e, x), [1.0, 5.0, 5.0, 5.0])
    assert np.isnan(ring_mean(a, np.full(4, np.nan))).all()


@pytest.mark.parametrize("subdivisions", [3, 4])
def test_convexity_is_radius_over_sphere_radius_at_any_tessellation(subdivisions):
    # a sphere of radius R = 1000 nm whose centre is the "axis point": the umbrella convexity is l² / (2R) / l²,
    # so convexity_rel = r / (2R) = 0.25 for r = 500 nm at any edge length l; |normal . radial| = 1
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1000.0)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    cols = ring_columns(v, f, np.asarray(s.edges_unique), np.zeros(len(v)), np.full(len(v), 500.0),
                        np.zeros_like(v))
    assert set(cols) == set(RING_COLUMNS)
    assert np.allclose(cols["radial_cos"], 1.0, atol=1e-3)
    assert np.median(cols["convexity_rel"]) == pytest.approx(0.25, rel=0.05)
    assert np.allclose(cols["h_max2_nm"], 0.0) and np.allclose(cols["h_minus_mean2_nm"], 0.0)


def test_rings_feature_set_through_detect_spines():
    mesh, skel = _domed_tube(500.0, [420.0, 450.0, 150.0], seed=3)
    n = Neuron(mesh=mesh, skeleton=skel)
    n.cache["spine_vertex_sink"] = []
    detect_spines(n, SpineParams(vertex_feature_set="rings"))
    x = n.cache["spine_vertex_sink"][0]["features"]
    assert tuple(x.columns) == RING_FEATURES and len(x) > 100
    maybe_nan = {"near_spine_peak_nm", "near_spine_area_nm2", "spread_rel"}
    assert np.isfinite(x[[c for c in RING_FEATURES if c not in maybe_nan]].to_numpy()).all()
    # the highest vertex of a spine is a ring maximum of protrusion: h_max1 >= h everywhere
    assert (x.h_max1_nm >= x.h_nm - 1e-9).all() and (x.h_max2_nm >= x.h_max1_nm - 1e-9).all()


def test_unknown_feature_set_is_an_input_error():
    with pytest.raises(InputError):
        feature_names("voxels")
    with pytest.raises(InputError):
        load_model(None, "voxels")


RINGS = SpineParams(vertex_model=True, vertex_feature_set="rings", normalise_edge_nm=300.0)


def test_shipped_rings_model_is_text_plus_json_trained_on_tune_members_only():
    import json
    import re

    from neurd_lite.model.shipped import MODELS_DIR

    booster, meta = load_model(None, "rings")
    assert (MODELS_DIR / "spine_vertex_rings.txt").read_text().startswith("tree")
    assert json.loads((MODELS_DIR / "spine_vertex_rings.json").read_text())["features"] == meta["features"]
    assert meta["feature_set"] == "rings" and tuple(meta["features"]) == RING_FEATURES
    assert list(booster.feature_name()) == meta["features"]
    seeds = [int(re.sub(r"_x\d+$", "", m).split("_")[-2]) for m in meta["train_members"]]
    assert len(seeds) >= 20 and max(seeds) < 1000  # TUNE seeds only (held-out members are 1000-1999)


@pytest.mark.parametrize("radius_nm,height,half_width_nm", [(400.0, 0.8, 900.0), (900.0, 0.3, 1200.0)])
def test_rings_model_keeps_varicose_dendrites_spine_free(radius_nm, height, half_width_nm):
    from neurd_lite.spines.adapters import varicose_dendrite

    n = varicose_dendrite(radius_nm, height, half_width_nm)
    detect_spines(n, RINGS)
    assert len(n.spines) == 0

"""Synapses onto the mesh and their target compartments (neurd_lite.spines.synapses / target_model)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurd_lite.errors import InputError
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SynapseParams, attach_synapses, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.synapses import closest_faces


@pytest.fixture(scope="module")
def toy():
    mesh, truth, skel = spiny_cylinder(n_spines=4, seed=5)
    n = Neuron(mesh=mesh, skeleton=skel)
    n.face_compartment[:] = "basal"
    detect_spines(n)
    return n, truth


def test_closest_faces_match_exact_trimesh_query(toy):
    import trimesh

    n, _ = toy
    rng = np.random.default_rng(0)
    pts = n.mesh.vertices[rng.choice(len(n.mesh.vertices), 200)] + rng.normal(0, 150, (200, 3))
    face, dist, cp = closest_faces(n.mesh, pts)
    ref_cp, ref_d, _ = trimesh.proximity.closest_point(n.mesh, pts)
    assert np.allclose(dist, ref_d, atol=1e-6)
    assert np.allclose(cp, ref_cp, atol=1e-6)
    assert face.shape == (200,)


def _synapses_at(points: np.ndarray, is_pre: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x_nm": points[:, 0], "y_nm": points[:, 1], "z_nm": points[:, 2], "is_pre": is_pre})


def test_rule_targets_head_neck_shaft_pre_and_far(toy):
    n, truth = toy
    r0 = truth.iloc[0]
    d = np.array([r0.dir_x, r0.dir_y, 0.0])
    head_c = truth[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()[0]
    top_of_head = head_c + d * (r0.head_radius_nm + 20)
    base = truth[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()[0]
    mid_neck = base + d * (60 + r0.neck_length_nm / 2) + np.cross(d, [0, 0, 1.0]) * (r0.neck_radius_nm + 15)
    # 20 nm off the shaft at z = 4.2 µm, beyond the last spine (spines sit at |z| <= 3.5 µm)
    shaft = np.array([0.0, -520.0, 4200.0]) if abs(r0.dir_y) < 0.9 else np.array([-520.0, 0.0, 4200.0])
    far = np.array([0.0, 0.0, 50_000.0])
    pts = np.stack([top_of_head, mid_neck, shaft, top_of_head, far])
    n.synapses = _synapses_at(pts, np.array([False, False, False, True, False]))
    attach_synapses(n)
    s = n.synapses
    assert s.target.tolist() == ["spine_head", "spine_neck", "shaft", "axon", "unknown"]
    assert s.is_far.tolist() == [False, False, False, False, True]
    assert len(s) == 5  # far synapses are kept
    assert s.spine_id.iloc[0] >= 0 and s.spine_id.iloc[0] == s.spine_id.iloc[1] and s.spine_id.iloc[2] == -1
    assert (s.compartment.iloc[:3] == "basal").all()
    assert s.distance_to_mesh_nm.iloc[0] == pytest.approx(20.0, abs=15.0)


def test_soma_faces_and_axon_faces(toy):
    n, _ = toy
    m = Neuron(mesh=n.mesh, skeleton=n.skeleton)
    m.face_compartment[:] = "axon"
    m.face_compartment[:100] = "soma"
    pts = np.vstack([n.mesh.triangles_center[:1], n.mesh.triangles_center[500:501]])
    m.synapses = _synapses_at(pts, np.array([False, False]))
    attach_synapses(m)
    assert m.synapses.target.tolist() == ["soma", "axon"]


def test_bad_synapse_tables(toy):
    n, _ = toy
    m = Neuron(mesh=n.mesh, skeleton=n.skeleton)
    m.synapses = pd.DataFrame({"x": [0.0], "y": [0.0], "z": [0.0]})
    with pytest.raises(InputError, match="x_nm"):
        attach_synapses(m)
    m.synapses = pd.DataFrame(columns=["x_nm", "y_nm", "z_nm", "is_pre"])
    attach_synapses(m)  # empty table: nothing to do, no error
    m.synapses = _synapses_at(np.array([[np.nan, 0.0, 0.0], [0.0, 520.0, 0.0]]), np.array([False, False]))
    attach_synapses(m)
    assert m.synapses.target.iloc[0] == "unknown" and m.flags
    with pytest.raises(InputError, match="method"):
        attach_synapses(m, SynapseParams(method="guess"))


def test_shipped_model_loads_and_names_its_features():
    from neurd_lite.spines.target_model import CLASSES, load_model

    booster, meta = load_model()
    assert tuple(meta["classes"]) == CLASSES
    assert booster.num_feature() == len(meta["features"])
    held = meta["metrics_heldout"]
    assert held["model"]["member_macro_mean"] >= 0.9
    assert set(meta["heldout_members"]).isdisjoint(meta["train_members"])


@pytest.mark.slow
def test_synthetic_heldout_cell_targets_rules_and_model():
    """A cell whose seed is in neither the training nor the model's test list: macro F1 of both labellers."""
    from sklearn.metrics import f1_score

    from neurd_lite.spines.adapters import neuron_from_synthetic
    from neurd_lite.testing.synthetic import make_neuron

    sn = make_neuron("pyramidal", seed=77, fragment=True, noise_nm=20, debris=True, target_faces=60000)
    n = neuron_from_synthetic(sn)
    fld = detect_spines(n)
    attach_synapses(n)
    truth = sn.synapses["target"].to_numpy()
    f1_rules = f1_score(truth, n.synapses.target.to_numpy(), average="macro")
    attach_synapses(n, SynapseParams(method="model"), shaft_field=fld)
    f1_model = f1_score(truth, n.synapses.target.to_numpy(), average="macro")
    assert f1_rules >= 0.85, f1_rules
    assert f1_model >= 0.9, f1_model
    assert (n.synapses.target[n.synapses.is_far] == "unknown").all()


@pytest.mark.slow
@pytest.mark.realdata
def test_microns_cell_synapses_attach(microns_cell_paths):
    """All 965 MICrONS synapses map to the mesh within the far threshold and get a target."""
    import trimesh

    from neurd_lite.io.synapses import load_synapses
    from neurd_lite.spines.adapters import neuron_from_mesh

    mesh = trimesh.load(microns_cell_paths["mesh"], process=False)
    soma = trimesh.load(microns_cell_paths["soma_0"], process=False)
    n = neuron_from_mesh(mesh, soma_center_nm=soma.vertices.mean(0), soma_radius_nm=6000.0,
                         invalidation_nm=12000.0)
    n.synapses = load_synapses(microns_cell_paths["synapses"])
    detect_spines(n)
    attach_synapses(n)
    s = n.synapses
    assert len(s) == 965 and int((~s.is_pre).sum()) == 903
    assert s.distance_to_mesh_nm.max() < SynapseParams().max_distance_nm
    assert (s.target[s.is_pre] == "axon").all()
    post = s.target[~s.is_pre].value_counts()
    assert post.get("spine_head", 0) > 100 and post.get("shaft", 0) > 100
    assert 100 < len(n.spines) < 1500

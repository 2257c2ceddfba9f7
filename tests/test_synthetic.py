"""Synthetic neuron generator: truth arrays follow the mesh, totals are consistent, synapses sit on the surface."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from neurd_lite.testing.fragment import n_components
from neurd_lite.testing.synthetic import count_components, make_neuron, to_files

PYRAMIDAL_COMPARTMENTS = {"soma", "axon", "basal", "apical_shaft", "apical_tuft", "oblique"}


@pytest.fixture(scope="module")
def pyr(pyramidal0):
    return pyramidal0()  # make_neuron("pyramidal", seed=0)


@pytest.fixture(scope="module")
def frag():
    return make_neuron("pyramidal", seed=1, spine_density_per_um=0.5, fragment=True, debris=True, noise_nm=5.0)


@pytest.fixture(scope="module")
def inter():
    return make_neuron("interneuron", seed=2)


def surface_distance_nm(mesh, points: np.ndarray, radius_nm: float = 2500.0) -> np.ndarray:
    """Exact point-to-surface distance using faces whose centroid is within ``radius_nm`` (nm)."""
    from trimesh.triangles import closest_point

    tri = np.asarray(mesh.triangles)
    tree = cKDTree(tri.mean(axis=1))
    out = np.full(len(points), np.inf)
    for i, cand in enumerate(tree.query_ball_point(points, radius_nm)):
        if cand:
            cp = closest_point(tri[cand], np.repeat(points[i:i + 1], len(cand), axis=0))
            out[i] = np.linalg.norm(cp - points[i], axis=1).min()
    return out


def test_truth_arrays_follow_faces(pyr, frag):
    for sn in (pyr, frag):
        nf = len(sn.mesh.faces)
        assert len(sn.face_compartment) == len(sn.face_labels) == len(sn.face_spine) == nf
    assert 50_000 <= len(pyr.mesh.faces) <= 150_000


def test_pyramidal_has_every_compartment(pyr):
    assert set(pyr.face_compartment) == PYRAMIDAL_COMPARTMENTS
    assert set(pyr.skeleton.vertex_properties["compartment"]) == PYRAMIDAL_COMPARTMENTS
    assert {"spine_head", "spine_neck"} <= set(pyr.face_labels)


def test_clean_mesh_is_one_closed_surface(pyr):
    assert count_components(pyr) == 1
    assert pyr.mesh.is_watertight


def test_spines_have_head_faces(pyr):
    head_ids = np.unique(pyr.face_spine[pyr.face_labels == "spine_head"])
    assert len(head_ids) >= 0.98 * pyr.truth["n_spines"]
    neck_ids = np.unique(pyr.face_spine[pyr.face_labels == "spine_neck"])
    stubby = pyr.spines.set_index("spine_id").loc[neck_ids, "is_stubby"]
    assert not stubby.any()  # stubby spines have no neck faces
    assert (pyr.face_spine[~np.isin(pyr.face_labels, ["spine_head", "spine_neck"])] == -1).all()
    sp = pyr.spines
    assert "axon" not in set(sp["compartment"])
    assert sp["neck_radius_nm"][~sp.is_stubby].between(50, 100).all()
    assert sp["head_radius_nm"].between(200, 400).all()


def test_spine_faces_match_spine_table(pyr):
    """Head faces lie on their own spine's head sphere; neck faces lie below it."""
    sp = pyr.spines.set_index("spine_id")
    cent = np.asarray(pyr.mesh.triangles_center)
    for label, lo, hi in (("spine_head", 0.75, 1.01), ("spine_neck", 0.9, 20.0)):
        m = pyr.face_labels == label
        rows = sp.loc[pyr.face_spine[m]]
        d = np.linalg.norm(cent[m] - rows[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy(), axis=1)
        ratio = d / rows["head_radius_nm"].to_numpy()
        assert np.all((ratio > lo) & (ratio < hi)), (label, ratio.min(), ratio.max())


def test_sections_and_face_skeleton(pyr):
    sec = pyr.truth["sections"]
    obl = sec[sec.compartment == "oblique"]
    assert len(obl) >= 3 and obl["angle_to_parent_deg"].between(80, 140).all()
    assert sec["length_nm"].sum() == pytest.approx(pyr.truth["cable_length_nm"]["total"], rel=0.01)
    fs = pyr.face_skeleton
    assert len(fs) == len(pyr.mesh.faces) and fs.min() >= 0
    comp = pyr.skeleton.vertex_properties["compartment"][fs]
    tube = ~np.isin(pyr.face_labels, ["spine_head", "spine_neck"])
    assert np.array_equal(comp[tube].astype(str), pyr.face_compartment[tube].astype(str))
    d = np.linalg.norm(pyr.mesh.triangles_center - pyr.skeleton.vertices[fs], axis=1)
    assert np.median(d[pyr.face_labels == "basal"]) < 1500  # a shaft face is near its own centreline vertex
    ratio = pyr.spines["mesh_volume_nm3"] / pyr.spines["volume_nm3"]
    assert ratio.between(0.6, 1.0).all()  # a coarse polygonal surface encloses less than the ideal shape


def test_totals_consistent(pyr):
    t = pyr.truth
    assert t["cable_length_nm"]["total"] == pytest.approx(pyr.skeleton.cable_length_nm)
    parts = sum(v for k, v in t["cable_length_nm"].items() if k != "total")
    assert parts == pytest.approx(t["cable_length_nm"]["total"])
    assert t["n_branches"] == t["n_tips"] + t["n_branch_points"]
    assert t["n_tips"] == len(pyr.skeleton.end_points)
    assert t["strahler_order"] >= 2
    assert 4 <= t["n_stems_by_compartment"]["basal"] <= 6 and t["n_stems_by_compartment"]["apical_shaft"] == 1
    assert sum(t["n_branches_by_compartment"].values()) == t["n_branches"]
    assert 0.8 < t["spine_density_per_um"]["all_dendrite"] < 1.2
    assert 5000 <= t["soma_radius_nm"] <= 8000
    assert 150_000 <= t["cable_length_nm"]["apical_shaft"] + 0.5 * t["cable_length_nm"]["apical_tuft"]
    # the apical goes toward pia (-y)
    sk = pyr.skeleton
    apical = sk.vertices[sk.vertex_properties["compartment"] == "apical_tuft"]
    assert apical[:, 1].mean() < t["soma_center_nm"][1] - 100_000


def test_fragment_makes_many_components(frag):
    assert count_components(frag) > 100
    assert (frag.face_labels == "unknown").any()  # debris
    assert set(frag.face_compartment) >= PYRAMIDAL_COMPARTMENTS


def test_same_seed_same_mesh(inter):
    again = make_neuron("interneuron", seed=2)
    assert np.array_equal(again.mesh.vertices, inter.mesh.vertices)
    assert np.array_equal(again.mesh.faces, inter.mesh.faces)
    assert np.array_equal(again.face_labels, inter.face_labels)
    pd.testing.assert_frame_equal(again.synapses, inter.synapses)
    other = make_neuron("interneuron", seed=3, union=False)
    assert len(other.mesh.faces) != len(inter.mesh.faces)


def test_interneuron(inter):
    assert set(inter.face_compartment) == {"soma", "dendrite", "axon"}
    assert inter.truth["spine_density_per_um"]["all_dendrite"] < 0.3
    assert inter.truth["n_synapses_by_target"]["shaft"] > inter.truth["n_synapses_by_target"].get("spine_head", 0)


def test_synapses_on_surface(pyr):
    syn = pyr.synapses
    assert set(syn["target"]) == {"soma", "spine_head", "spine_neck", "shaft", "axon"}
    assert (syn["is_pre"] == (syn["target"] == "axon")).all()
    rng = np.random.default_rng(0)
    sample = syn.iloc[rng.choice(len(syn), 300, replace=False)]
    d = surface_distance_nm(pyr.mesh, sample[["x_nm", "y_nm", "z_nm"]].to_numpy())
    assert np.all(d < 50.0), d.max()
    # head synapses sit on their own spine's head
    heads = syn[syn.target == "spine_head"]
    assert (pyr.face_spine[heads["face"]] == heads["spine_id"]).all()
    assert (pyr.face_labels[heads["face"]] == "spine_head").all()


def test_far_synapses_and_noise(frag):
    far = frag.synapses[frag.synapses.target == "unknown"]
    assert len(far) > 0
    d = surface_distance_nm(frag.mesh, far[["x_nm", "y_nm", "z_nm"]].to_numpy())
    assert np.all(d > 10_000)


def test_target_faces_and_counts():
    sn = make_neuron("interneuron", seed=4, target_faces=25_000, n_synapses=200, with_axon=False)
    assert 0.7 * 25_000 < len(sn.mesh.faces) < 1.3 * 25_000
    assert len(sn.synapses) <= 200 and len(sn.synapses) >= 190
    assert "axon" not in set(sn.face_compartment)


def test_to_files(inter, tmp_path):
    import trimesh

    mesh_path, syn_path = to_files(inter, tmp_path)
    m = trimesh.load(mesh_path, process=False)
    assert len(m.faces) == len(inter.mesh.faces)
    assert n_components(np.asarray(m.faces), len(m.vertices)) == count_components(inter)
    syn = pd.read_csv(syn_path)
    assert list(syn.columns) == ["x_nm", "y_nm", "z_nm", "is_pre"]
    assert len(syn) == len(inter.synapses)
    from neurd_lite.io.synapses import load_synapses

    back = load_synapses(syn_path)
    assert np.allclose(back[["x_nm", "y_nm", "z_nm"]].to_numpy(), inter.synapses[["x_nm", "y_nm", "z_nm"]])
    assert (back["is_pre"].to_numpy() == inter.synapses["is_pre"].to_numpy()).all()


@pytest.mark.slow
def test_plot(tmp_path):
    from neurd_lite.testing.plot import plot_synthetic

    small = make_neuron("interneuron", seed=6, target_faces=8000, union=False)
    path = plot_synthetic(small, tmp_path / "inter.png", dpi=30)
    assert path.stat().st_size > 5_000


def test_bad_arguments_are_rejected():
    from neurd_lite.errors import InputError

    for kw in ({"kind": "glia"}, {"spine_density_per_um": -1.0}, {"noise_nm": -2.0}, {"target_faces": 10}):
        with pytest.raises(InputError):
            make_neuron(**kw)


def test_as_neuron(inter):
    n = inter.neuron()
    assert n.n_faces == len(inter.mesh.faces)
    assert list(n.synapses.columns) == ["x_nm", "y_nm", "z_nm", "is_pre"]
    assert (n.face_labels == "unlabelled").all()  # the input neuron carries no truth


def test_reference_neuron(pyr):
    from neurd_lite.testing.reference import reference_neuron

    n = reference_neuron(pyr)
    t = pyr.truth
    assert len(n.branch_nodes) == t["n_branches"] and n.n_limbs == t["n_stems"]
    comps = [n.graph.nodes[b]["compartment"] for b in n.branch_nodes]
    assert {c: comps.count(c) for c in set(comps)} == t["n_branches_by_compartment"]
    total = sum(n.graph.nodes[b]["length_nm"] for b in n.branch_nodes)
    assert total == pytest.approx(t["cable_length_nm"]["total"] - t["cable_length_nm"]["soma"])
    assert sum(n.graph.nodes[b]["n_faces"] for b in n.branch_nodes) == np.count_nonzero(n.face_branch >= 0)
    soma_children = list(n.graph.successors("soma_0"))
    assert len(soma_children) == t["n_stems"]
    assert (n.face_branch[pyr.face_compartment == "soma"] == -1).all()

"""The randomised synthetic family: determinism, plausible truth per class, orientation, the seed split."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurd_lite.testing import family
from neurd_lite.testing.classes import CLASS_RANGES, CLASSES


@pytest.fixture(scope="module")
def members():
    return {c: family.make_member(c, 1000) for c in CLASSES}


def test_same_member_same_cell():
    a, b = family.make_member("basket", 3), family.make_member("basket", 3)
    assert np.array_equal(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.faces, b.mesh.faces)
    assert np.array_equal(a.face_labels, b.face_labels)
    pd.testing.assert_frame_equal(a.synapses, b.synapses)
    c = family.make_member("basket", 4)
    assert len(c.mesh.faces) != len(a.mesh.faces) or not np.array_equal(c.mesh.vertices, a.mesh.vertices)


@pytest.mark.parametrize("cls", CLASSES)
def test_class_truth_is_plausible(members, cls):
    sn = members[cls]
    t, cr = sn.truth, CLASS_RANGES[cls]
    nf = len(sn.mesh.faces)
    assert 30_000 <= nf <= 450_000 and sn.mesh.is_watertight
    for a in (sn.face_labels, sn.face_compartment, sn.face_spine, sn.face_cell, sn.face_bouton, sn.face_skeleton):
        assert len(a) == nf
    lo, hi = cr.soma_radius_um
    assert lo * 1000 * 0.99 <= t["soma_radius_nm"] <= hi * 1000 * 1.01
    assert t["class"] == cls and (sn.face_labels == "soma").sum() > 500
    # every primary process touches the soma along a seam of faces
    assert len(sn.soma_boundary) == t["n_primary"] and (sn.soma_boundary.n_boundary_faces > 0).all()
    # realised spine density near the requested one (Poisson + dropped overlaps)
    spiny_um = t["n_spines"] / max(t["spine_density_per_um"]["all_dendrite"], 1e-9)
    expected = t["requested_spine_density_per_um"] * spiny_um
    assert abs(t["n_spines"] - expected) <= 0.2 * expected + 4 * np.sqrt(expected) + 2
    # boutons are axon, never spines; spines sit on dendrites
    assert t["n_boutons"] > 0 and (sn.face_labels[sn.face_bouton >= 0] == "axon").all()
    assert "axon" not in set(sn.spines["compartment"])
    assert set(sn.spines["shape"]) <= {"stubby", "thin", "mushroom", "filopodia", "default"}
    soma_syn = (sn.synapses.target == "soma").sum()
    assert soma_syn >= (70 if cr.inhibitory else 25)
    comps = set(sn.face_compartment)
    if cr.inhibitory:
        assert comps == {"soma", "dendrite", "axon"}
    else:
        assert {"soma", "basal", "axon"} <= comps


def test_l5_teardrop_soma_flows_into_a_thick_trunk():
    sn = family.make_member("l5_et", 1001, soma_shape="teardrop", trunk_radius_nm=3300.0)
    t = sn.truth
    assert t["soma_shape"] == "teardrop" and 8500 <= t["soma_radius_nm"] <= 13_000
    assert t["soma_extent_nm"] > 1.4 * t["soma_radius_nm"]  # the taper reaches well beyond the body
    apical = sn.soma_boundary[sn.soma_boundary.compartment == "apical_shaft"]
    assert len(apical) == 1 and apical.exit_radius_nm.iloc[0] == pytest.approx(3300.0, rel=0.05)


def test_random_orientation_moves_everything():
    a = family.make_member("bipolar", 7)
    b = family.make_member("bipolar", 7, up="random")
    assert np.allclose(a.up, family.MINNIE_UP) and np.isclose(np.linalg.norm(b.up), 1.0)
    rot = np.asarray(b.info["rotation"])
    o = a.truth["soma_center_nm"]
    assert np.allclose((a.mesh.vertices - o) @ rot.T + o, b.mesh.vertices)
    assert np.allclose(b.truth["soma_center_nm"], o)
    assert np.allclose(a.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy() @ rot.T - o @ rot.T + o,
                       b.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy())


def test_seed_split_is_disjoint():
    assert not set(family.TUNE_SEEDS) & set(family.HELDOUT_SEEDS)
    tune, held = family.split(n_seeds=2, holdout_classes=("martinotti",))
    assert not set(tune) & set(held)
    assert all(c != "martinotti" for c, _ in tune) and ("martinotti", 0) in held
    assert all(s in family.TUNE_SEEDS for _, s in tune)
    assert family.is_heldout("basket", 1000) and not family.is_heldout("basket", 3)
    assert family.is_heldout("basket", 3, holdout_classes=("basket",))


def test_truth_skeleton_writes_swc(members, tmp_path):
    from neurd_lite.io.skeletons import load_skeleton

    sn = members["l23_pyramidal"]
    path = family.write_truth_swc(sn, tmp_path / "cell.swc")
    sk, _ = load_skeleton(path)
    assert sk.n_vertices == sn.skeleton.n_vertices
    assert sk.cable_length_nm == pytest.approx(sn.skeleton.cable_length_nm, rel=1e-3)


def test_bad_class_is_rejected():
    from neurd_lite.errors import InputError

    with pytest.raises(InputError):
        family.make_member("purkinje", 0)


def _shared_vertices(sn, a: int, b: int) -> np.ndarray:
    f = np.asarray(sn.mesh.faces)
    return np.intersect1d(np.unique(f[sn.face_cell == a]), np.unique(f[sn.face_cell == b]))


@pytest.mark.parametrize("members,contact", [([("basket", 2), ("bipolar", 2)], "dendrite"),
                                             ([("neurogliaform", 3), ("basket", 5)], "axon"),
                                             ([("bipolar", 4), ("basket", 6), ("neurogliaform", 4)], "dendrite")])
def test_merge_cells_touch_once(members, contact):
    from neurd_lite.testing.synthetic import count_components

    sn = family.make_merge(members, contact, seed=1, target_faces=60_000)
    ids = np.unique(sn.face_cell)
    assert list(ids) == list(range(len(members)))
    assert count_components(sn) == 1  # fused into one surface
    for c in sn.truth["contacts"]:
        a, b = c["cells"]
        shared = _shared_vertices(sn, a, b)
        assert len(shared) > 0
        d = np.linalg.norm(np.asarray(sn.mesh.vertices)[shared] - c["point_nm"], axis=1)
        assert d.max() < 15_000  # the cells meet only at the recorded contact
        near = np.linalg.norm(sn.mesh.triangles_center - c["point_nm"], axis=1) < 3000
        labs_b = set(sn.face_labels[near & (sn.face_cell == b)])
        assert labs_b <= ({"axon"} if contact == "axon" else {"dendrite", "basal", "oblique", "apical_tuft",
                                                               "apical_shaft"})
    for k in range(len(members)):
        assert ((sn.face_labels == "soma") & (sn.face_cell == k)).sum() > 300
        assert (sn.synapses.cell == k).sum() > 50
    assert (sn.face_cell[sn.face_spine >= 0] == sn.spines.set_index("spine_id").loc[
        sn.face_spine[sn.face_spine >= 0], "cell"].to_numpy()).all()

"""The randomised synthetic family: determinism, plausible truth per class, orientation, the seed split, merges,
crops and scores. Tests marked slow generate several 100k-300k-face cells (10-40 s each on a loaded machine)."""
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
    a, b = family.make_member("basket", 3, target_faces=30_000), family.make_member("basket", 3, target_faces=30_000)
    assert np.array_equal(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.faces, b.mesh.faces)
    assert np.array_equal(a.face_labels, b.face_labels)
    pd.testing.assert_frame_equal(a.synapses, b.synapses)
    c = family.make_member("basket", 4, target_faces=30_000)
    assert len(c.mesh.faces) != len(a.mesh.faces) or not np.array_equal(c.mesh.vertices, a.mesh.vertices)


@pytest.mark.slow  # generates one or more 100k-300k-face cells
@pytest.mark.parametrize("cls", CLASSES)
def test_class_truth_is_plausible(members, cls):
    sn = members[cls]
    t, cr = sn.truth, CLASS_RANGES[cls]
    nf = len(sn.mesh.faces)
    assert 30_000 <= nf <= 450_000 and sn.mesh.is_watertight
    from neurd_lite.testing.synthetic import count_components

    assert count_components(sn) == 1  # no spine floats free of its shaft
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
    assert abs(t["n_spines"] - expected) <= 0.08 * expected + 3 * np.sqrt(expected) + 2
    # boutons are axon, never spines; spines sit on dendrites
    assert t["n_boutons"] > 0 and (sn.face_labels[sn.face_bouton >= 0] == "axon").all()
    assert "axon" not in set(sn.spines["compartment"])
    assert set(sn.spines["shape"]) <= {"stubby", "thin", "mushroom", "filopodia", "branched", "default"}
    two = sn.spines[sn.spines.n_heads == 2]
    assert (two["shape"] == "branched").all() and two["head2_radius_nm"].notna().all()
    soma_syn = (sn.synapses.target == "soma").sum()
    assert soma_syn >= 0.5 * t["spec"]["soma_synapses"] and (cls != "basket" or soma_syn >= 100)
    comps = set(sn.face_compartment)
    if cr.inhibitory:
        assert comps == {"soma", "dendrite", "axon"}
    else:
        assert {"soma", "basal", "axon"} <= comps


@pytest.mark.slow  # generates one or more 100k-300k-face cells
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


def test_seed_ranges_are_disjoint_and_heldout2_is_held_out():
    ranges = list(family.SEED_RANGES.values())
    assert sum(len(r) for r in ranges) == len(set().union(*map(set, ranges)))  # no seed in two ranges
    assert family.HELDOUT_SEEDS == tuple(range(1000, 2000)) and family.HELDOUT2_SEEDS == tuple(range(2000, 3000))
    assert all(family.is_heldout("basket", s) for s in (1000, 1999, 2000, 2999))
    assert not any(family.is_heldout("basket", s) for s in (0, 999, 3000))
    assert [family.seed_range(s) for s in (0, 999, 1000, 2000, 2999, 3000)] == \
        ["tune", "tune", "heldout", "heldout2", "heldout2", None]


@pytest.mark.slow  # generates one or more 100k-300k-face cells
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


@pytest.mark.slow  # generates one or more 100k-300k-face cells
@pytest.mark.parametrize("members,contact", [([("basket", 2), ("bipolar", 2)], "dendrite"),
                                             ([("neurogliaform", 3), ("basket", 5)], "axon"),
                                             ([("basket", 7), ("martinotti", 7)], "axon_axon"),
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
        dendritic = {"dendrite", "basal", "oblique", "apical_tuft", "apical_shaft"}
        assert labs_b <= ({"axon"} if contact.startswith("axon") else dendritic)
        labs_a = set(sn.face_labels[near & (sn.face_cell == a)])
        assert labs_a <= ({"axon"} if contact == "axon_axon" else dendritic)
    for k in range(len(members)):
        assert ((sn.face_labels == "soma") & (sn.face_cell == k)).sum() > 300
        assert (sn.synapses.cell == k).sum() > 50
    assert (sn.face_cell[sn.face_spine >= 0] == sn.spines.set_index("spine_id").loc[
        sn.face_spine[sn.face_spine >= 0], "cell"].to_numpy()).all()


def test_scores():
    from neurd_lite.testing import scores

    assert scores.prf(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)) == (0.5, 0.5, 0.5)
    f = scores.synapse_target_f1(np.array(["soma", "shaft", "shaft", "axon"]),
                                 np.array(["soma", "shaft", "spine_head", "unknown"]))
    assert f["soma"] == 1.0 and f["shaft"] == pytest.approx(2 / 3) and f["spine_head"] == 0.0
    assert f["macro"] == pytest.approx((1 + 2 / 3 + 0) / 3)  # axon only predicted on an 'unknown' row: left out
    true = np.array([0, 0, 0, 1, 1, -1])
    m = scores.merge_accuracy(np.array([5, 5, 7, 7, 7, 5]), true)
    assert m["match"] == {0: 5, 1: 7} and m["accuracy"] == pytest.approx(4 / 5)
    assert m["per_cell"] == {0: pytest.approx(2 / 3), 1: 1.0}
    assert scores.merge_accuracy(np.zeros(6, int), true)["accuracy"] == pytest.approx(3 / 5)  # no split at all
    p, r = scores.instance_scores(np.array([0, 0, 1, -1, 2]), np.array([3, 3, -1, 4, 4]))
    assert (p, r) == (1 / 3, 1 / 2)
    assert scores.false_spines_per_100um(np.array([0, 0, 1, -1, 2]), np.array([3, 3, -1, 4, 4]), 200.0) == 1.0


def test_random_conditions_fragmented_merge_keeps_truth():
    """Drawn conditions are recorded and applied; fragmenting keeps per-face truth and the soma seam."""
    cond = family.member_conditions("martinotti", 1003)
    assert 50_000 <= cond["target_faces"] <= 400_000 and 0 <= cond["noise_nm"] <= 30
    sn = family.make_merge([("bipolar", 1005), ("neurogliaform", 1006)], "dendrite", seed=3, fragment=True,
                           debris=True, noise_nm=20.0, up="random", target_faces=60_000)
    from neurd_lite.testing.synthetic import count_components

    assert count_components(sn) > 100 and (sn.face_cell == -1).any()  # pieces and debris
    assert set(np.unique(sn.face_cell)) == {-1, 0, 1}
    assert sn.info["conditions"]["fragment"] and not np.allclose(sn.up, family.MINNIE_UP)
    for (cell, _), faces in sn.boundary_faces.items():
        assert (sn.face_cell[faces] == cell).all() and not np.isin(sn.face_labels[faces], ["soma"]).any()
    far = sn.synapses[sn.synapses.target != "unknown"]
    assert (sn.face_cell[far["face"]] == far["cell"]).all()


@pytest.mark.slow  # generates one or more 100k-300k-face cells
def test_merge_cell_alone_matches_its_part_of_the_merge():
    kw = dict(members=[("basket", 2), ("bipolar", 2)], contact="dendrite", seed=1, target_faces=60_000)
    merged, alone = family.make_merge(**kw), family.make_merge(**kw, cell=1)
    assert alone.info["tessellation_scale"] == merged.info["tessellation_scale"]
    assert np.allclose(alone.truth["soma_center_nm"], merged.truth["cells"][1]["soma_center_nm"])
    assert len(alone.spines) == (merged.spines.cell == 1).sum()
    mine = (merged.face_cell == 1).sum()
    assert abs(len(alone.mesh.faces) - mine) < 0.03 * mine  # only the seam at the contact differs


def test_reference_neuron_of_a_member_and_of_a_merge_cell():
    from neurd_lite.testing.reference import reference_neuron

    sn = family.make_merge([("bipolar", 8), ("neurogliaform", 8)], "axon", seed=2, target_faces=50_000)
    for k in (0, 1):
        n = reference_neuron(sn, cell=k)
        t = sn.truth["cells"][k]
        assert len(n.branch_nodes) == t["n_branches"] and n.n_limbs == t["n_stems"]
        assert np.all(n.face_branch[sn.face_cell != k] == -1)
        assert np.allclose(n.somas[0].center_nm, t["soma_center_nm"])
        assert len(n.spines) == (sn.spines.cell == k).sum()


def test_merge_truth_is_plain_data():
    import json

    sn = family.make_merge([("bipolar", 9), ("bipolar", 10)], "dendrite", seed=4, target_faces=40_000, up="random")
    text = json.dumps({k: v for k, v in sn.truth.items() if k != "sections"}, default=lambda o: str(o))
    assert "cells" in text  # no reference cycle
    cells = sn.truth["cells"]
    assert np.allclose(cells[0]["soma_center_nm"], sn.truth["soma_center_nm"])
    assert sum(sum(c["n_synapses_by_target"].values()) for c in cells) == (sn.synapses.cell >= 0).sum()
    d = np.linalg.norm(cells[0]["soma_center_nm"] - cells[1]["soma_center_nm"])
    assert d > 3 * (cells[0]["soma_extent_nm"] + cells[1]["soma_extent_nm"])


def test_cropped_piece_has_no_soma_and_consistent_truth():
    sn = family.make_cropped("l23_pyramidal", 11, radius_um=30.0)
    assert not sn.truth["has_soma"] and "soma" not in set(sn.face_labels)
    nf = len(sn.mesh.faces)
    assert 2_000 < nf and len(sn.face_labels) == len(sn.face_spine) == len(sn.face_cell) == nf
    assert (sn.synapses["face"].between(0, nf - 1)).all()
    heads = sn.synapses[sn.synapses.target == "spine_head"]
    assert (sn.face_spine[heads["face"]] == heads["spine_id"]).all()
    assert set(np.unique(sn.face_spine[sn.face_spine >= 0])) == set(sn.spines["spine_id"])


@pytest.mark.slow  # two densely spiny pyramids, ~250k faces
def test_pyramid_merge_moves_every_spine_branch():
    from neurd_lite.testing.synthetic import count_components

    sn = family.make_merge([("l23_pyramidal", 12), ("l4_pyramidal", 12)], "dendrite", seed=5, up="random")
    assert count_components(sn) == 1
    two = sn.spines[sn.spines.n_heads == 2]
    assert len(two) > 10 and (two.cell == 1).any()
    cent = sn.mesh.triangles_center
    for _, r in two.iterrows():  # the second head sits on its own spine's faces, in both cells
        f = cent[sn.face_spine == r.spine_id]
        d = np.linalg.norm(f - r[["head2_x_nm", "head2_y_nm", "head2_z_nm"]].to_numpy(float), axis=1).min()
        assert d < 1.2 * r.head2_radius_nm

"""decompose / label_skeleton end to end: synthetic ground truth, stage bookkeeping, real cells, round trip."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import neurd_lite as nl
from neurd_lite.errors import InputError, NeurdLiteWarning, StageError
from neurd_lite.io.neuron_h5 import graph_to_json
from neurd_lite.neuron import UNLABELLED, Neuron
from neurd_lite.pipeline import PipelineParams, run_stages, run_state

STAGES = ("ingest", "decimate", "heal", "soma", "skeleton", "graph", "anchors", "compartments", "spines", "synapses")


def assert_same_neuron(a: Neuron, b: Neuron) -> None:
    """Every array, table, graph attribute and record of two neurons is identical."""
    assert a.name == b.name and a.flags == b.flags
    np.testing.assert_array_equal(a.mesh.vertices, b.mesh.vertices)
    np.testing.assert_array_equal(a.mesh.faces, b.mesh.faces)
    for name in Neuron.FACE_ARRAYS:
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)), err_msg=name)
    np.testing.assert_array_equal(a.skeleton.vertices, b.skeleton.vertices)
    np.testing.assert_array_equal(a.skeleton.edges, b.skeleton.edges)
    np.testing.assert_array_equal(a.skeleton.radius, b.skeleton.radius)
    assert a.skeleton.root == b.skeleton.root
    assert set(a.skeleton.vertex_properties) == set(b.skeleton.vertex_properties)
    for k, v in a.skeleton.vertex_properties.items():
        np.testing.assert_array_equal(v, b.skeleton.vertex_properties[k])
    np.testing.assert_array_equal(a.skeleton_labels, b.skeleton_labels)
    assert graph_to_json(a.graph) == graph_to_json(b.graph)
    assert len(a.somas) == len(b.somas)
    for s, t in zip(a.somas, b.somas):
        np.testing.assert_array_equal(s.center_nm, t.center_nm)
        np.testing.assert_array_equal(s.faces, t.faces)
        assert s.radius_nm == t.radius_nm
    pd.testing.assert_frame_equal(a.synapses, b.synapses, check_dtype=False)
    pd.testing.assert_frame_equal(a.spines, b.spines, check_dtype=False)
    assert json.loads(json.dumps(a.provenance, default=str)) == b.provenance


@pytest.fixture(scope="module")
def synthetic():
    from neurd_lite.testing import make_neuron

    sn = make_neuron(seed=1, target_faces=5000, union=False)
    n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], name="syn1")
    return sn, n


@pytest.mark.slow
def test_synthetic_matches_ground_truth(synthetic):
    sn, n = synthetic
    assert len(n.somas) == 1
    assert np.linalg.norm(n.somas[0].center_nm - sn.truth["soma_center_nm"]) < 2000.0
    assert not (n.face_labels.astype(str) == UNLABELLED).any()
    assert (n.face_to_skeleton >= 0).mean() > 0.999
    truth_b, truth_limbs = sn.truth["n_branches"], sn.truth["n_stems"]
    print(f"\nsynthetic seed 1: limbs {n.n_limbs} (truth {truth_limbs}), branches {len(n.branch_nodes)} "
          f"(truth {truth_b}), cable {n.skeleton.cable_length_nm / 1000:.0f} µm "
          f"(truth {sn.truth['cable_length_nm']['total'] / 1000:.0f} µm)")
    assert abs(n.n_limbs - truth_limbs) <= 1
    assert 0.7 * truth_b <= len(n.branch_nodes) <= 1.4 * truth_b
    true_cable = sn.truth["cable_length_nm"]["total"]
    assert n.skeleton.cable_length_nm == pytest.approx(true_cable, rel=0.2)
    # every branch node carries the documented attributes; first branches hang off the soma
    for b in n.branch_nodes:
        d = n.graph.nodes[b]
        assert {"limb", "skeleton_vertices", "length_nm", "radius_nm", "n_faces"} <= set(d)
    assert n.graph.out_degree("soma_0") == n.n_limbs


@pytest.mark.slow
def test_provenance_and_round_trip(synthetic, tmp_path):
    _, n = synthetic
    assert set(STAGES) <= set(n.provenance["timings_s"])
    assert n.provenance["params"]["heal"]["max_gap_nm"] > 0
    assert "meshparty" in n.provenance["versions"]
    assert n.provenance["heal"]["n_components_after"] == 1
    path = n.save(tmp_path / "syn1.h5")
    assert_same_neuron(n, nl.load(path))


def test_failing_stage_raises_stage_error_and_an_import_error_is_a_failure():
    """A stage that fails raises StageError naming it; an ImportError inside a stage is a failure too (never a
    quiet "skipped"), and the run's working state is dropped either way."""
    n = Neuron(name="x")

    def broken(n, p):
        raise ValueError("boom")

    def needs_missing(n, p):
        run_state(n)
        import neurd_lite.not_a_module  # noqa: F401

    with pytest.raises(StageError, match="not_a_module"):
        run_stages(n, [("later", needs_missing)], PipelineParams())
    assert "later" not in n.provenance["skipped"] and "run" not in n.cache
    with pytest.raises(StageError) as e:
        run_stages(n, [("explode", broken)], PipelineParams())
    assert e.value.stage == "explode" and "boom" in str(e.value)
    assert "explode" in n.provenance["timings_s"]


def test_bad_soma_argument_is_an_input_error():
    import trimesh

    with pytest.raises(InputError, match="soma"):
        nl.decompose(trimesh.creation.icosphere(radius=5000.0), soma=[1.0, 2.0])


def test_label_skeleton_from_skeleton_object():
    from neurd_lite.testing import make_neuron

    sn = make_neuron(seed=2, target_faces=5000, union=False)
    n = nl.label_skeleton(sn.skeleton, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]])
    assert n.skeleton_labels.shape == (sn.skeleton.n_vertices,)
    assert not (n.skeleton_labels.astype(str) == UNLABELLED).any()
    assert n.n_limbs == sn.truth["n_stems"]
    assert "compartment" in n.graph.nodes[n.branch_nodes[0]]


# ---- real data ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_cell(microns_cell_paths):
    n = nl.decompose(microns_cell_paths["mesh"], synapses=microns_cell_paths["synapses"])
    return n, microns_cell_paths


@pytest.mark.realdata
@pytest.mark.slow
def test_real_cell_somas_counts_labels(real_cell):
    import trimesh

    n, paths = real_cell
    stats = json.loads(paths["stats"].read_text())
    print(f"\n81k-face cell: {len(n.somas)} somas, {n.n_limbs} limbs, {len(n.branch_nodes)} branches, "
          f"cable {n.skeleton.cable_length_nm / 1000:.0f} µm | NEURD (323k faces): {stats['n_somas']:.0f} somas, "
          f"{stats['n_limbs']:.0f} limbs, {stats['n_branches']:.0f} branches, "
          f"cable {stats['skeletal_length'] / 1000:.0f} µm | timings {n.provenance['timings_s']}")
    refs = [trimesh.load(paths[k]).vertices.mean(axis=0) for k in ("soma_0", "soma_1")]
    centers = np.array([s.center_nm for s in n.somas])
    if len(n.somas) < 2:
        pytest.fail(f"expected both somata, found {len(n.somas)}")
    for ref in refs:
        assert np.linalg.norm(centers - ref, axis=1).min() < 3000.0
    assert not (n.face_labels.astype(str) == UNLABELLED).any()
    assert 4 <= n.n_limbs <= 20 and 25 <= len(n.branch_nodes) <= 120
    assert n.skeleton.cable_length_nm / stats["skeletal_length"] == pytest.approx(1.0, rel=0.3)
    # only dropped debris may stay unmapped (debris inside a soma is soma surface and maps to the soma node)
    assert n.provenance["skeleton"]["n_unmapped_input_faces"] <= n.provenance["heal"]["dropped_faces"]


@pytest.mark.realdata
@pytest.mark.slow
def test_real_cell_round_trip(real_cell, tmp_path):
    n, _ = real_cell
    assert_same_neuron(n, nl.load(n.save(tmp_path / "cell.h5")))


@pytest.mark.realdata
@pytest.mark.slow
def test_fly_neuron_and_harris_dendrite_run(real):
    fly = nl.decompose(real("meshes/fly_hemibrain_DA1_PNs/obj/754534424.obj"), units=8)
    assert fly.skeleton.n_vertices > 100 and len(fly.branch_nodes) > 5
    if not fly.somas:
        assert any(f.startswith("no_soma") for f in fly.flags)
    den = nl.decompose(real("meshes/harris_dendrites/harris_part_dendrite.ply"), units="um")
    assert any(f.startswith("no_soma") for f in den.flags)
    assert len(den.branch_nodes) >= 1 and (den.face_to_skeleton >= 0).all()
    # a 3.2 µm stub cropped at both ends: the skeleton follows its shaft between the cuts, not its spines
    # (TEASAR alone ran through the spines and 4 of ~8 spines were found; on the trunk: 7)
    assert den.provenance["skeleton"]["cut_end_trunk"] and len(den.spines) >= 6


@pytest.mark.realdata
def test_label_skeleton_real_swc(real):
    n = nl.label_skeleton(real("meshes/microns_864691135510518224/864691135510518224_neurd.swc"))
    labels = n.skeleton_labels.astype(str)
    assert len(labels) == n.skeleton.n_vertices and (labels == "soma").sum() >= 1
    assert {"axon", "dendrite"} & set(labels) and n.n_limbs >= 3


@pytest.mark.slow
def test_decimated_working_mesh_maps_back_to_input_faces(synthetic):
    """Decimation on: every stage result is per input face and agrees with the full-resolution run."""
    from neurd_lite.mesh.decimate import DecimateParams

    sn, full = synthetic
    p = PipelineParams(decimate=DecimateParams(target_faces=len(sn.mesh.faces) // 2, min_faces_to_decimate=0))
    n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], name="syn1", params=p)
    assert n.provenance["decimate"]["working_faces"] < 0.6 * n.n_faces
    for name in Neuron.FACE_ARRAYS:
        assert len(getattr(n, name)) == n.n_faces, name
    assert len(n.somas) == len(full.somas) == 1
    assert np.linalg.norm(n.somas[0].center_nm - full.somas[0].center_nm) < 1000.0
    assert abs(n.n_limbs - full.n_limbs) <= 1
    agree = np.mean(n.face_compartment.astype(str) == full.face_compartment.astype(str))
    assert agree > 0.9
    # this coarse test mesh holds few detectable spines; spine counts at scale: benchmarks/accuracy_scaling.py
    assert (n.face_spine < len(n.spines)).all()
    if len(n.spines):
        assert n.spines["n_faces"].sum() == (n.face_spine >= 0).sum()
    faces = n.synapses["face"].to_numpy()
    assert ((faces >= 0) & (faces < n.n_faces)).all()
    assert not n.cache  # the run's working state and every derived cache (e.g. the shaft field) are gone


def test_given_soma_centre_is_used():
    """decompose(soma=...) builds the soma at the given point (nm), even one offset from the detected centre."""
    from neurd_lite.testing import make_neuron

    sn = make_neuron(seed=3, target_faces=5000, union=False)
    given = np.asarray(sn.truth["soma_center_nm"], float) + np.array([300.0, 0.0, 0.0])
    n = nl.decompose(sn.mesh, soma=given, name="given_soma", params=PipelineParams(skip=("spines",)))
    assert len(n.somas) == 1
    assert np.linalg.norm(n.somas[0].center_nm - given) < 1500.0
    found = n.face_labels.astype(str) == "soma"
    true = sn.face_compartment.astype(str) == "soma"
    assert found[n.somas[0].faces].all()
    recall = (found & true).sum() / true.sum()
    assert recall > 0.9, f"soma face recall {recall:.2f}"
    # the soma region stays local: no labelled soma face is far beyond the true soma radius
    centroids = sn.mesh.triangles_center[found]
    assert np.linalg.norm(centroids - given, axis=1).max() < 2.0 * sn.truth["soma_radius_nm"]
    assert "soma_0" in n.graph and n.graph.out_degree("soma_0") == n.n_limbs > 0



def _truth_stages(synapses: pd.DataFrame, sn=None) -> Neuron:
    """The graph, compartment and synapse stages on a synthetic cell's true soma and skeleton (make_neuron seed 1,
    5000 faces; soma detection and skeletonization skipped to keep the test short)."""
    from neurd_lite.pipeline import stage_compartments, stage_graph, stage_synapses
    from neurd_lite.testing import make_neuron

    sn = sn or make_neuron(seed=1, target_faces=5000, union=False)
    soma_faces = np.flatnonzero(np.asarray(sn.face_compartment).astype(str) == "soma")
    labels = np.full(len(sn.mesh.faces), UNLABELLED, dtype=object)
    labels[soma_faces] = "soma"
    n = Neuron(name="truth", mesh=sn.mesh, skeleton=sn.skeleton.copy(),
               somas=[nl.Soma(sn.truth["soma_center_nm"], sn.truth["soma_radius_nm"], faces=soma_faces)],
               face_labels=labels, face_compartment=labels.copy(), face_spine=np.full(len(labels), -1),
               face_to_skeleton=sn.face_skeleton, synapses=synapses)
    run_state(n).soma_regions = [[int(n.skeleton.root)]]
    stages = [("graph", stage_graph), ("compartments", stage_compartments), ("synapses", stage_synapses)]
    return run_stages(n, stages, PipelineParams(skip=("spines",)))


def test_far_synapses_are_flagged_and_not_counted():
    """A table in 8 nm voxels read as nm lands far from the mesh: the neuron is flagged synapses_far and the
    features count none of those synapses (NaN with the reason, n_syn_far says how many); with the right
    synapse_units nothing is far."""
    from neurd_lite.io.synapses import load_synapses
    from neurd_lite.pipeline import stage_synapses
    from neurd_lite.testing import make_neuron

    sn = make_neuron(seed=1, target_faces=5000, union=False)
    vox = sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].rename(columns={"x_nm": "x", "y_nm": "y", "z_nm": "z"})
    vox[["x", "y", "z"]] = vox[["x", "y", "z"]] / 8.0
    n = _truth_stages(load_synapses(vox), sn)  # read as nm (no units given)
    n_syn = len(vox)
    assert n.synapses["is_far"].all()
    flags = [f for f in n.flags if f.startswith("synapses_far:")]
    assert len(flags) == 1 and f"{n_syn} of {n_syn} synapses" in flags[0] and "synapse_units" in flags[0]
    df = nl.features(n)
    r, missing = df.iloc[0], df.attrs["missing"]
    assert r["n_syn_far"] == n_syn
    for col in ("n_synapses_pre", "n_synapses_post", "n_syn_pre", "n_syn_post", "syn_density_post_per_um",
                "neurd_syn_density_post_per_um", "soma_n_synapses"):
        assert np.isnan(r[col]), col
        assert "all" in missing[col] and "is_far" in missing[col], (col, missing[col])
    # the same table read with the right synapse_units: nothing far, no flag (synapse stage run again)
    n.flags = [f for f in n.flags if not f.startswith("synapses_far")]
    n.synapses = load_synapses(vox, units=8)
    run_stages(n, [("synapses", stage_synapses)], PipelineParams(skip=("spines",)))
    assert not n.synapses["is_far"].any()
    assert not [f for f in n.flags if f.startswith("synapses_far")]


def test_synapse_table_without_polarity_does_not_crash():
    """No pre/post column: is_pre stays <NA> through the stages, the axon does not come from synapses, the neuron
    is flagged and the synapse features are NaN with the reason (the compartment stage used to fail on the
    cast to bool)."""
    from neurd_lite.io.synapses import load_synapses
    from neurd_lite.testing import make_neuron

    sn = make_neuron(seed=1, target_faces=5000, union=False)
    with pytest.warns(NeurdLiteWarning, match="no polarity column"):
        syn = load_synapses(sn.synapses[["x_nm", "y_nm", "z_nm"]])
    n = _truth_stages(syn, sn)
    assert n.synapses["is_pre"].isna().all() and len(n.synapses) == len(syn)
    assert n.provenance["compartments"]["axon_method"] != "synapses"  # geometry (or none found)
    assert any(f.startswith("synapse_polarity_unknown") for f in n.flags)
    assert n.synapses["target"].notna().all()
    df = nl.features(n)
    for col in ("n_synapses_post", "n_syn_pre", "neurd_syn_density_post_per_um", "soma_n_synapses"):
        assert np.isnan(df.iloc[0][col]) and "polarity unknown" in df.attrs["missing"][col], col
    assert df.iloc[0]["n_syn_far"] == 0

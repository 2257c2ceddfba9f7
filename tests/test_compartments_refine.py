"""Aspiny cells lose a falsely found apical once spines are known; spiny pyramidal cells keep theirs."""
from __future__ import annotations

import numpy as np
import pytest

import neurd_lite as nl
from neurd_lite.testing.synthetic import make_neuron


def _decompose(kind: str, seed: int):
    sn = make_neuron(kind=kind, seed=seed)
    n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], name=f"{kind}{seed}")
    return sn, n


@pytest.mark.slow
def test_interneuron_gets_dendrite_not_apical():
    sn, n = _decompose("interneuron", 1)
    labels = set(np.asarray(n.skeleton_labels, dtype=str))
    assert not labels & {"apical_shaft", "apical_tuft", "oblique", "basal"}
    assert "dendrite" in labels
    check = n.provenance["compartments"]["spine_check"]
    assert check["aspiny"] and check["spine_density_per_um"] < 0.2
    acc = np.mean(np.asarray(n.face_compartment, dtype=str) == np.asarray(sn.face_compartment, dtype=str))
    assert acc > 0.9


@pytest.mark.slow
def test_pyramidal_keeps_apical():
    sn, n = _decompose("pyramidal", 0)
    check = n.provenance["compartments"]["spine_check"]
    assert not check["aspiny"] and check["spine_density_per_um"] > 0.4
    assert "apical_shaft" in set(np.asarray(n.skeleton_labels, dtype=str))
    assert not any(f.startswith("no_apical") for f in n.flags)


@pytest.mark.slow
def test_synapse_compartments_follow_refine_on_a_decimated_input():
    """On the working-mesh path the synapse table is attached after refine: its compartments are the refined ones."""
    from neurd_lite.mesh.decimate import DecimateParams
    from neurd_lite.pipeline import PipelineParams

    sn = make_neuron(kind="interneuron", seed=1)
    p = PipelineParams(decimate=DecimateParams(target_faces=len(sn.mesh.faces) // 2, min_faces_to_decimate=0))
    n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]], params=p)
    labels = set(np.asarray(n.skeleton_labels, dtype=str))  # no apical: relabelled by refine, or never given one
    assert n.provenance["compartments"]["spine_check"]["relabelled"] or not labels & {"apical_shaft", "oblique"}
    syn_comps = set(n.synapses["compartment"].dropna().astype(str))
    assert not syn_comps & {"apical_shaft", "apical_tuft", "oblique", "basal"}, syn_comps
    assert "dendrite" in syn_comps


def test_relabelled_cell_spine_table_takes_the_new_compartments():
    """A relabelled aspiny cell's spine rows say ``dendrite``, not the basal/apical labels they were found on."""
    from neurd_lite.compartments import refine_by_spines
    from neurd_lite.feature.spines import dendritic_spine_density_per_um
    from neurd_lite.testing.reference import reference_neuron

    sn = make_neuron(kind="pyramidal", seed=0, spine_density_per_um=0.1)  # truth labels with an apical, few spines
    n = reference_neuron(sn)
    n.provenance["timings_s"] = {"spines": 0.0}  # spine detection "ran"
    before = set(n.spines["compartment"].astype(str))
    assert {"basal", "apical_shaft"} <= before
    assert refine_by_spines(n, spine_density=dendritic_spine_density_per_um(n))
    assert set(np.asarray(n.skeleton_labels, dtype=str)) <= {"soma", "axon", "dendrite", "unknown"}
    assert set(n.spines["compartment"].astype(str)) == {"dendrite"}
    # each row agrees with the faces of its spine
    fc = np.asarray(n.face_compartment, dtype=str)
    for sid, comp in zip(n.spines["spine_id"][:20], n.spines["compartment"][:20]):
        vals, cnt = np.unique(fc[n.face_spine == sid], return_counts=True)
        assert comp == vals[np.argmax(cnt)]


def test_refine_density_is_the_feature_definition():
    """refine's spine density and dendritic cable are the features' dendrite_all columns (one definition)."""
    from neurd_lite.feature.spines import dendritic_spine_density_per_um
    from neurd_lite.testing.reference import reference_neuron

    n = reference_neuron(make_neuron(kind="interneuron", seed=0))
    density, cable_um = dendritic_spine_density_per_um(n)
    row = nl.features(n).iloc[0]
    assert cable_um > 100 and 0 < density < 0.5
    assert density == pytest.approx(row["dendrite_all_spine_density_per_um"], rel=1e-12)
    assert cable_um == pytest.approx(row["dendrite_all_cable_length_um"], rel=1e-12)

"""Peers' objects in and out (MeshParty Meshwork/Skeleton, navis TreeNeuron/MeshNeuron) and SWC that
MorphIO / NeuroM read with default options."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import neurd_lite as nl
from neurd_lite.errors import InputError
from neurd_lite.io.skeletons import load_skeleton
from neurd_lite.io.synapses import load_synapses
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing import make_neuron


def _decomposed(**kw) -> nl.Neuron:
    sn = make_neuron("pyramidal", seed=1, spine_density_per_um=0.5, target_faces=40000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nl.decompose(sn.mesh, synapses=sn.synapses, units="nm", name="pyr1", **kw)


@pytest.fixture(scope="module")
def cell():
    """A decomposed synthetic pyramidal cell (mesh, skeleton, compartments, synapses) without the spine stage (4/5
    of the decomposition's time): the SWC and navis exports read the mesh, skeleton, labels and synapses only."""
    return _decomposed(params=nl.PipelineParams(skip=("spines",)))


@pytest.fixture(scope="module")
def spiny_cell():
    """The same cell through every stage (spines too): the Meshwork export writes spine-head masks."""
    return _decomposed()


def _y_skeleton(radius_nan: bool = False) -> Skeleton:
    """A soma with two 20 µm branches, one of which forks: 0 soma, 1-4 basal, 5-8 then a fork 9-10 / 11-12."""
    pts = [[0, 0, 0]] + [[0, -5000.0 * i, 0] for i in range(1, 5)] + [[5000.0 * i, 0, 0] for i in range(1, 5)]
    pts += [[20000 + 5000.0 * i, 5000.0 * i, 0] for i in (1, 2)] + [[20000 + 5000.0 * i, -5000.0 * i, 0] for i in (1, 2)]
    edges = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [8, 9], [9, 10], [8, 11], [11, 12]]
    radius = np.full(len(pts), 500.0)
    if radius_nan:
        radius[[3, 10]] = np.nan
    return Skeleton(np.asarray(pts), np.asarray(edges), radius=radius, root=0)


def test_swc_loads_in_morphio_with_default_options(cell, tmp_path):
    morphio = pytest.importorskip("morphio")
    morphio.set_maximum_warnings(0)
    path = cell.to_swc(tmp_path / "cell.swc")
    m = morphio.Morphology(str(path))  # raises on a type change without bifurcation or a neurite-parented soma
    assert len(m.sections) > 10
    data = np.loadtxt(path)
    assert (data[:, 5] > 0).all(), "no radius may be written as 0"
    # type constant along every unbranched section: a node whose parent has one child has its parent's type,
    # except when the parent is the soma
    ids = data[:, 0].astype(int)
    parent_row = {i: r for r, i in enumerate(ids)}
    n_kids = pd.Series(data[:, 6]).value_counts()
    for row in data:
        p = int(row[6])
        if p > 0 and data[parent_row[p], 1] != 1 and n_kids.get(p, 0) == 1:
            assert row[1] == data[parent_row[p], 1]


def test_swc_features_in_neurom(cell, tmp_path):
    neurom = pytest.importorskip("neurom")
    path = cell.to_swc(tmp_path / "cell.swc")
    m = neurom.load_morphology(str(path))
    total_um = neurom.get("total_length", m)
    types = {str(x.type) for x in m.neurites}
    assert "NeuriteType.axon" in types and "NeuriteType.basal_dendrite" in types
    # NeuroM's total length equals our skeleton's edge sum minus the soma-to-neurite edges it does not count
    assert 0.7 * cell.skeleton.cable_length_nm / 1000 < total_um <= cell.skeleton.cable_length_nm / 1000 + 1e-6


def test_swc_unknown_radius_filled_and_counted(tmp_path):
    sk = _y_skeleton(radius_nan=True)
    n = nl.label_skeleton(sk)
    path = n.to_swc(tmp_path / "y.swc")
    text = path.read_text()
    assert "radius unknown at 2 nodes" in text
    assert (np.loadtxt(path)[:, 5] == 0.5).all()


@pytest.mark.slow
def test_meshwork_round_trip(spiny_cell, tmp_path):
    meshwork = pytest.importorskip("meshparty.meshwork")
    mw = spiny_cell.to_meshwork()
    assert {"pre_syn", "post_syn", "is_axon", "is_basal", "is_spine_head"} <= set(mw.anno.table_names)
    assert len(mw.anno["post_syn"].df) == int((~spiny_cell.synapses["is_pre"].astype(bool)).sum())
    path = tmp_path / "cell_mw.h5"
    mw.save_meshwork(str(path), overwrite=True)
    back = meshwork.load_meshwork(str(path))
    assert back.skeleton.n_vertices == spiny_cell.skeleton.n_vertices
    labels = np.asarray(spiny_cell.skeleton_labels, str)
    for source in (back, path):  # MeshParty's own reader's object, and our file reader
        sk, syn = load_skeleton(source)
        assert sk.n_vertices == spiny_cell.skeleton.n_vertices
        assert len(syn) == len(spiny_cell.synapses)
        for comp in ("axon", "basal"):
            agree = (sk.vertex_properties[f"is_{comp}"] == (labels == comp)).mean()
            assert agree > 0.95, (source, comp, agree)
    relabelled = nl.label_skeleton(back)
    assert relabelled.skeleton.n_vertices == spiny_cell.skeleton.n_vertices


@pytest.mark.slow
def test_masked_meshwork_file_reads_what_meshparty_shows(spiny_cell, tmp_path):
    meshwork = pytest.importorskip("meshparty.meshwork")
    mw = spiny_cell.to_meshwork()
    mw.apply_mask(~mw.anno["is_axon"].mesh_mask)
    path = tmp_path / "masked.h5"
    mw.save_meshwork(str(path), overwrite=True)
    shown = meshwork.load_meshwork(str(path)).skeleton.n_vertices
    sk, syn = load_skeleton(path)
    assert sk.n_vertices == shown < spiny_cell.skeleton.n_vertices
    assert not sk.vertex_properties.get("is_axon", np.zeros(1, bool)).any()
    assert load_skeleton(mw)[0].n_vertices == shown


def test_navis_round_trip(cell):
    navis = pytest.importorskip("navis")
    tn = cell.to_navis()
    assert isinstance(tn, navis.TreeNeuron) and tn.n_nodes == cell.skeleton.n_vertices
    assert (tn.nodes["compartment"].to_numpy() == np.asarray(cell.skeleton_labels, str)).all()
    assert set(tn.connectors["type"]) <= {"pre", "post", "unknown"} and len(tn.connectors) == len(cell.synapses)
    back = nl.label_skeleton(tn)
    assert back.skeleton.n_vertices == cell.skeleton.n_vertices
    assert np.allclose(back.skeleton.vertices, cell.skeleton.vertices)
    assert len(back.synapses) == len(cell.synapses)
    mn = cell.to_navis(kind="mesh")
    assert len(mn.face_compartment) == cell.n_faces
    from neurd_lite.io.meshes import load_mesh

    mesh = load_mesh(mn)
    assert np.allclose(mesh.vertices, cell.mesh.vertices) and len(mesh.faces) == cell.n_faces


def test_navis_units_are_used_and_required():
    navis = pytest.importorskip("navis")
    sk = _y_skeleton()
    nodes = pd.DataFrame({"node_id": np.arange(sk.n_vertices), "parent_id": sk.parent,
                          "x": sk.vertices[:, 0] / 1000, "y": sk.vertices[:, 1] / 1000, "z": sk.vertices[:, 2] / 1000,
                          "radius": sk.radius / 1000})
    tn = navis.TreeNeuron(nodes, units="1 micrometer")
    got, _ = load_skeleton(tn)
    assert np.allclose(got.vertices, sk.vertices) and got.units_source == "navis units"
    tn_plain = navis.TreeNeuron(nodes, units=None)
    with pytest.raises(InputError, match="units"):
        load_skeleton(tn_plain)
    assert np.allclose(load_skeleton(tn_plain, units="um")[0].vertices, sk.vertices)


def test_load_synapses_segment_id_drops_other_neurons_rows():
    df = pd.DataFrame({"ctr_pt_position_x": [1, 2, 3, 4], "ctr_pt_position_y": [1, 2, 3, 4],
                       "ctr_pt_position_z": [1, 2, 3, 4], "pre_pt_root_id": [10, 20, 10, 30],
                       "post_pt_root_id": [20, 10, 30, 40]})
    out = load_synapses(df, segment_id=10)
    assert len(out) == 3 and out.attrs["rows_other_segment"] == 1
    assert out["is_pre"].tolist() == [True, False, True]
    with pytest.raises(Exception, match="no synapse has 99"):
        load_synapses(df, segment_id=99)

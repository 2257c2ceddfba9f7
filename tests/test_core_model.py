"""The Neuron / Skeleton model, units, HDF5 round trip and the data manifest resolver."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import trimesh

import neurd_lite as nl
from neurd_lite import data, units
from neurd_lite.neuron import Neuron, Soma
from neurd_lite.skeleton.model import Skeleton


def _y_skeleton() -> Skeleton:
    # root at origin, trunk up 10 µm, then two 5 µm children
    v = np.array([[0, 0, 0], [0, 5000, 0], [0, 10000, 0], [3000, 14000, 0], [-3000, 14000, 0]], float)
    e = np.array([[0, 1], [1, 2], [2, 3], [2, 4]])
    return Skeleton(v, e, radius=np.full(5, 500.0), root=0)


def test_skeleton_tree_properties():
    s = _y_skeleton()
    assert s.cable_length_nm == pytest.approx(20000.0)
    assert s.parent.tolist() == [-1, 0, 1, 2, 2]
    assert s.distance_to_root_nm[3] == pytest.approx(15000.0)
    assert s.branch_points.tolist() == [2]
    assert sorted(s.end_points.tolist()) == [0, 3, 4]
    kids = s.children()
    assert sorted(kids[2].tolist()) == [3, 4] and kids[4].size == 0


def test_skeleton_rejects_bad_edges():
    with pytest.raises(ValueError, match=r"edge 0 \[0, 5\] refers to a vertex that does not exist \(2 vertices"):
        Skeleton(np.zeros((2, 3)), [[0, 5]])


def test_units_scale():
    assert units.scale_to_nm("um").tolist() == [1000.0] * 3
    assert units.scale_to_nm(8).tolist() == [8.0] * 3
    assert units.scale_to_nm((4, 4, 40)).tolist() == [4.0, 4.0, 40.0]
    assert units.scale_to_nm("8nm").tolist() == [8.0] * 3
    with pytest.raises(ValueError):
        units.scale_to_nm("furlong")
    with pytest.raises(ValueError):
        units.scale_to_nm(-1)


def _small_neuron() -> Neuron:
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=5000.0)
    n = Neuron(name="toy", mesh=mesh, skeleton=_y_skeleton())
    n.somas.append(Soma([0, 0, 0], 5000.0, faces=np.arange(10), method="given", properties={"score": 1.5}))
    n.face_labels[:10] = "soma"
    n.graph.add_node("soma_0", kind="soma")
    n.graph.add_node(0, kind="branch", limb=0, skeleton_vertices=np.array([1, 2]), length_nm=10000.0)
    n.graph.add_edge("soma_0", 0)
    n.synapses = pd.DataFrame({"x_nm": [1.0, 2.0], "y_nm": [3.0, 4.0], "z_nm": [5.0, 6.0],
                               "is_pre": [True, False], "target": ["axon", None],
                               "maybe_pre": pd.array([False, None], dtype="boolean"),
                               "partner_id": pd.array([None, 864691132131981616], dtype="Int64")})
    n.flag("test flag")
    n.provenance["timings_s"] = {"soma": 0.1}
    return n


def test_neuron_defaults_and_summary():
    n = _small_neuron()
    assert n.face_labels.shape == (n.n_faces,)
    assert (n.face_branch == -1).all()
    s = n.summary()
    assert s["n_somas"] == 1 and s["n_branches"] == 1 and s["n_limbs"] == 1
    assert s["face_labels"]["soma"] == 10


def test_reprs_are_one_line_of_counts():
    n = _small_neuron()
    n.somas[0].faces = np.arange(900)  # under numpy's summarisation threshold: the old repr printed every id
    text = {"neuron": repr(n), "soma": repr(n.somas[0]), "skeleton": repr(n.skeleton)}
    assert all("\n" not in t and len(t) < 300 for t in text.values()), text
    assert "faces=900" in text["soma"] and "method='given'" in text["soma"]
    assert "somas=1" in text["neuron"] and "branches=1" in text["neuron"] and "synapses=2" in text["neuron"]
    assert f"vertices={n.skeleton.n_vertices}" in text["skeleton"]


def test_h5_round_trip(tmp_path):
    n = _small_neuron()
    n.somas.append(Soma([9000, 0, 0], 3000.0, faces=np.arange(20, 25), membrane_faces=[20, 21, 23]))
    path = n.save(tmp_path / "toy.h5")
    m = nl.load(path)
    assert m.name == "toy"
    np.testing.assert_array_equal(m.mesh.faces, n.mesh.faces)
    np.testing.assert_array_equal(m.mesh.vertices, n.mesh.vertices)
    for name in Neuron.FACE_ARRAYS:
        np.testing.assert_array_equal(getattr(m, name), getattr(n, name))
    np.testing.assert_array_equal(m.skeleton.edges, n.skeleton.edges)
    assert m.skeleton.root == 0
    assert m.somas[0].properties == {"score": 1.5} and m.somas[0].method == "given"
    assert m.somas[0].membrane_faces is None  # not known: stays None
    np.testing.assert_array_equal(m.somas[1].membrane_faces, [20, 21, 23])
    assert m.somas[1].membrane_faces.dtype == np.int64
    pd.testing.assert_frame_equal(m.synapses, n.synapses, check_dtype=False)
    assert pd.isna(m.synapses["target"].iloc[1])
    assert m.synapses["maybe_pre"].iloc[0] is False or m.synapses["maybe_pre"].iloc[0] == False  # noqa: E712
    assert str(m.synapses["maybe_pre"].dtype) == "boolean" and pd.isna(m.synapses["maybe_pre"].iloc[1])
    assert str(m.synapses["partner_id"].dtype) == "Int64" and m.synapses["partner_id"].iloc[1] == 864691132131981616
    assert set(m.graph.nodes) == {"soma_0", 0}
    np.testing.assert_array_equal(m.graph.nodes[0]["skeleton_vertices"], [1, 2])
    assert m.flags == ["test flag"] and m.provenance["timings_s"] == {"soma": 0.1}


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(nl.errors.InputError, match="bad.h5"):
        nl.load(bad)


def test_manifest_lists_every_file_with_sha():
    m = data.manifest()
    assert m["env_var"] == "NEURD_LITE_DATA"
    for ds in m["datasets"].values():
        assert ds["files"] and all(len(sha) == 64 for sha in ds["files"].values())
        assert ds["source"] and ds["license"]


def test_missing_root_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURD_LITE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(data, "data_root", lambda: None)
    with pytest.raises(data.DataNotFoundError, match="NEURD_LITE_DATA"):
        data.data_path("labels/microns_celltypes_ground_truth.csv")


def test_unknown_file_is_refused():
    with pytest.raises(data.DataNotFoundError, match="not listed"):
        data.data_path("labels/not_a_file.csv")


@pytest.mark.realdata
def test_real_file_checksum(real):
    p = real("labels/microns_celltypes_ground_truth.csv")
    assert p.stat().st_size > 1000


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, neurd_lite; print(any(m.startswith(('meshparty', 'cloudvolume', 'lightgbm')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

"""Neuron h5 tables: text columns come back with the dtype they were written with."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

import neurd_lite as nl
from neurd_lite.io.neuron_h5 import read_frame, write_frame


def _frame() -> pd.DataFrame:
    idx = pd.Index([5, 7, 9])
    return pd.DataFrame({"target": pd.Series(["shaft", None, "spine_head"], dtype=object, index=idx),
                         "label": pd.Series(["a", "b", None], dtype="string", index=idx),
                         "kind": pd.Series(pd.Categorical(["x", "y", "x"]), index=idx),
                         "x_nm": [1.0, 2.0, 3.0]}, index=idx)


def test_text_column_dtypes_survive_write_read(tmp_path):
    df = _frame()
    with h5py.File(tmp_path / "t.h5", "w") as f:
        write_frame(f.create_group("g"), df)
    with h5py.File(tmp_path / "t.h5") as f:
        back = read_frame(f["g"])
    assert back["target"].dtype == object and back.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, df)
    assert back.equals(df)


def test_old_files_without_str_dtypes_still_load(tmp_path):
    df = _frame()
    with h5py.File(tmp_path / "old.h5", "w") as f:
        write_frame(f.create_group("g"), df)
        del f["g"].attrs["str_dtypes"]  # as written before the attribute existed
    with h5py.File(tmp_path / "old.h5") as f:
        back = read_frame(f["g"])
    assert back["target"].iloc[0] == "shaft" and back["target"].isna().iloc[1]
    assert list(back["kind"]) == ["x", "y", "x"] and list(back["label"][:2]) == ["a", "b"]
    assert list(back.index) == [5, 7, 9] and list(back["x_nm"]) == [1.0, 2.0, 3.0]


def test_neuron_synapses_equal_after_save_load(tmp_path):
    from neurd_lite.neuron import Neuron

    syn = pd.DataFrame({"synapse_id": np.arange(3), "x_nm": [0.0, 1.0, 2.0], "y_nm": 0.0, "z_nm": 0.0,
                        "is_pre": [False, True, False],
                        "target": pd.Series(["spine_head", "axon", "shaft"], dtype=object)})
    n = Neuron(name="toy", synapses=syn)
    m = nl.load(n.save(tmp_path / "toy.h5"))
    assert m.synapses["target"].dtype == object
    assert m.synapses.equals(n.synapses)


def test_soma_exits_survive_save_load(tmp_path):
    import trimesh

    from neurd_lite.io.neuron_h5 import save_neuron
    from neurd_lite.neuron import Neuron, Soma, SomaExit, load

    mesh = trimesh.creation.icosphere(subdivisions=2, radius=5000.0)
    exits = [SomaExit([5000.0, 0, 0], 800.0, [1.0, 0, 0], [1, 2, 3]), SomaExit([0, 5000.0, 0], 600.0, [0, 1.0, 0], [])]
    n = Neuron(name="x", mesh=mesh, somas=[Soma([0, 0, 0], 5000.0, np.arange(10), exits=exits)])
    back = load(save_neuron(n, tmp_path / "x.h5")).somas[0]
    assert back.n_processes == 2
    for a, b in zip(exits, back.exits):
        np.testing.assert_allclose(a.point_nm, b.point_nm)
        assert a.radius_nm == b.radius_nm
        np.testing.assert_array_equal(a.faces, b.faces)
        np.testing.assert_allclose(a.direction, b.direction)

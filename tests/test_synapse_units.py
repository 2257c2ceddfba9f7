"""Synapse units are inferred from the mesh, recorded and flagged; a table that fits no units fails the neuron."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import trimesh

from neurd_lite.errors import InputError, NeurdLiteWarning
from neurd_lite.io.synapse_units import fit_synapse_units
from neurd_lite.io.synapses import load_synapses


def _cell():
    """A 20 µm sphere (nm) away from the origin and 400 points on its surface (nm)."""
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=10_000.0)
    mesh.apply_translation([200_000.0, 150_000.0, 80_000.0])
    rng = np.random.default_rng(3)
    d = rng.normal(size=(400, 3))
    pts = 10_000.0 * d / np.linalg.norm(d, axis=1, keepdims=True) + mesh.centroid
    return mesh, pts


def _table(pts_in_units):
    return pd.DataFrame({"x": pts_in_units[:, 0], "y": pts_in_units[:, 1], "z": pts_in_units[:, 2], "type": "post"})


def test_voxel_table_is_inferred_recorded_and_flagged():
    mesh, pts = _cell()
    syn = load_synapses(_table(pts / 8.0))  # 8 nm voxels; the xyz layout's default is nm
    with pytest.warns(NeurdLiteWarning, match="8 nm voxels"):
        out, rec = fit_synapse_units(syn, mesh.triangles, "nm")
    assert rec["used"] == "8" and rec["how"] == "inferred" and rec["layout_default"] == "nm"
    assert rec["median_distance_nm"]["8"] < 100 and rec["median_distance_nm"]["nm"] > 100_000
    assert rec["problem"].startswith("synapse_units_inferred") and "--synapse-units 8" in rec["problem"]
    np.testing.assert_allclose(out[["x_nm", "y_nm", "z_nm"]].to_numpy(), pts, atol=1e-6)
    assert out.attrs["synapse_units"] == rec and out.attrs["units_in"] == [8.0]


def test_layout_default_that_fits_is_not_flagged():
    mesh, pts = _cell()
    vox = pts / np.array([4.0, 4.0, 40.0])
    syn = load_synapses(pd.DataFrame({"synapse_x": vox[:, 0], "synapse_y": vox[:, 1], "synapse_z": vox[:, 2],
                                      "prepost": "postsyn"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeurdLiteWarning)
        out, rec = fit_synapse_units(syn, mesh.triangles, "nm")
    assert rec["used"] == "4,4,40" and rec["problem"] is None
    np.testing.assert_allclose(out[["x_nm", "y_nm", "z_nm"]].to_numpy(), pts, atol=1e-6)


def test_table_that_fits_no_units_fails_with_the_distances():
    mesh, pts = _cell()
    syn = load_synapses(_table(pts + 3e6))
    with pytest.raises(InputError) as e:
        fit_synapse_units(syn, mesh.triangles, "nm", where="cell.csv")
    msg = str(e.value)
    for label in ("nm", "4,4,40", "8", "um"):
        assert f"{label}: " in msg
    assert "cell.csv" in msg and "--synapse-units" in msg


def test_given_units_are_honoured_and_flagged_when_off():
    mesh, pts = _cell()
    syn = load_synapses(_table(pts / 8.0), units="nm")
    with pytest.warns(NeurdLiteWarning, match="synapse_units_suspect"):
        out, rec = fit_synapse_units(syn, mesh.triangles, "nm", given="nm")
    assert rec["used"] == "nm" and rec["how"] == "given" and "--synapse-units 8" in rec["problem"]
    np.testing.assert_allclose(out[["x_nm", "y_nm", "z_nm"]].to_numpy(), pts / 8.0)


def test_decompose_records_the_units(tmp_path):
    """Through decompose: provenance and the synapse table attrs say which units were used and how."""
    import neurd_lite as nl
    from neurd_lite.params import PipelineParams

    mesh, pts = _cell()
    p = PipelineParams(skip=("compartments", "spines", "refine", "synapses"))
    with pytest.warns(NeurdLiteWarning):
        n = nl.decompose(mesh, synapses=_table(pts / 8.0), params=p)
    assert n.provenance["synapse_units"]["used"] == "8"
    assert any(f.startswith("synapse_units_inferred") for f in n.flags)
    with pytest.raises(InputError, match="no synapse units"):
        nl.decompose(mesh, synapses=_table(pts + 3e6), params=p)


@pytest.mark.realdata
def test_fly_tables_in_8nm_voxels_land_on_the_mesh(real):
    from neurd_lite.io.meshes import load_mesh

    mesh = load_mesh(real("meshes/fly_hemibrain_DA1_PNs/obj/722817260.obj"), units=8)
    syn = load_synapses(real("meshes/fly_hemibrain_DA1_PNs/synapses/722817260.csv"))
    with pytest.warns(NeurdLiteWarning):
        _, rec = fit_synapse_units(syn, mesh.triangles, 8)
    assert rec["used"] == "8" and rec["median_distance_nm"]["8"] < 100

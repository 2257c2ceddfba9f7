"""Mesh ingest: formats keep vertex/face order, units convert to nm, bad input gives clear errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import trimesh

from neurd_lite.errors import InputError, NeurdLiteWarning
from neurd_lite.io.meshes import load_mesh, save_meshparty_h5

from conftest import write_precomputed_layer


@pytest.fixture
def sphere_um() -> trimesh.Trimesh:
    """A 2 µm-radius icosphere (in µm) with shuffled faces, so order preservation is actually tested."""
    m = trimesh.creation.icosphere(subdivisions=2, radius=2.0)
    order = np.random.default_rng(0).permutation(len(m.faces))
    return trimesh.Trimesh(m.vertices, m.faces[order], process=False)


@pytest.mark.parametrize("fmt", ["ply", "obj", "off"])
def test_roundtrip_keeps_order_and_converts_units(tmp_path, sphere_um, fmt):
    path = tmp_path / f"cell.{fmt}"
    sphere_um.export(path)
    m = load_mesh(path, units="um")
    np.testing.assert_array_equal(m.faces, sphere_um.faces)
    np.testing.assert_allclose(m.vertices, sphere_um.vertices * 1000, rtol=1e-6)
    assert m.metadata["name"] == "cell" and m.metadata["source"] == str(path)


def test_stl_keeps_triangles_in_order(tmp_path, sphere_um):
    path = tmp_path / "cell.stl"
    sphere_um.export(path)
    m = load_mesh(path, units="um")
    np.testing.assert_allclose(m.triangles, sphere_um.triangles * 1000, rtol=1e-5)


def test_in_memory_inputs_and_voxel_units(sphere_um):
    m = load_mesh((sphere_um.vertices, sphere_um.faces), units=(4, 4, 40), name="vox")
    np.testing.assert_allclose(m.vertices, sphere_um.vertices * [4, 4, 40])
    assert m.metadata["name"] == "vox"
    m2 = load_mesh(sphere_um, units="um")
    assert m2 is not sphere_um and np.allclose(m2.vertices, sphere_um.vertices * 1000)


@pytest.mark.slow
def test_meshparty_reads_our_h5_and_we_read_theirs(tmp_path, sphere_um):
    trimesh_io = pytest.importorskip("meshparty.trimesh_io")
    ours = save_meshparty_h5(load_mesh(sphere_um, units="um"), tmp_path / "ours.h5",
                             node_mask=np.ones(len(sphere_um.vertices), bool))
    v, f, _, _, mask = trimesh_io.read_mesh_h5(str(ours))
    np.testing.assert_allclose(v, sphere_um.vertices * 1000)
    np.testing.assert_array_equal(f, sphere_um.faces)
    assert mask.all() and load_mesh(ours).metadata["node_mask"].all()
    theirs = tmp_path / "theirs.h5"
    trimesh_io.write_mesh_h5(str(theirs), sphere_um.vertices * 1000, sphere_um.faces)
    m = load_mesh(theirs)
    np.testing.assert_array_equal(m.faces, sphere_um.faces)
    np.testing.assert_allclose(m.vertices, sphere_um.vertices * 1000)
    with pytest.raises(InputError, match="already exists"):
        save_meshparty_h5(m, ours)


def test_meshparty_draco_h5(tmp_path, sphere_um):
    trimesh_io = pytest.importorskip("meshparty.trimesh_io")
    pytest.importorskip("DracoPy")
    path = tmp_path / "draco.h5"
    trimesh_io.write_mesh_h5(str(path), sphere_um.vertices * 1000, sphere_um.faces.astype(np.uint32), draco=True)
    m = load_mesh(path)
    assert len(m.faces) == len(sphere_um.faces)
    assert np.allclose(m.extents, sphere_um.extents * 1000, rtol=0.01)


@pytest.fixture
def precomputed_layer(tmp_path, sphere_um):
    """A local neuroglancer precomputed segmentation layer with one mesh (segment 7), written by cloud-volume."""
    mesh_nm = trimesh.Trimesh(sphere_um.vertices * 1000, sphere_um.faces, process=False)
    return write_precomputed_layer(tmp_path, {7: mesh_nm})


@pytest.mark.slow
def test_load_precomputed_then_save_h5(tmp_path, sphere_um, precomputed_layer):
    from neurd_lite.io.meshes import load_precomputed

    m = load_precomputed(precomputed_layer, 7, deduplicate=False)
    np.testing.assert_array_equal(m.faces, sphere_um.faces)
    np.testing.assert_allclose(m.vertices, sphere_um.vertices * 1000, rtol=1e-6)
    assert m.metadata["segment_id"] == 7
    dedup = load_precomputed(precomputed_layer, 7)  # default merges fragment duplicates (reorders vertices)
    np.testing.assert_allclose(np.sort(dedup.triangles.reshape(-1, 3), axis=0),
                               np.sort(m.triangles.reshape(-1, 3), axis=0), rtol=1e-6)
    back = load_mesh(save_meshparty_h5(dedup, tmp_path / "7.h5"))
    np.testing.assert_array_equal(back.faces, dedup.faces)
    with pytest.raises(InputError, match="no mesh for segment 8") as info:
        load_precomputed(precomputed_layer, 8)
    assert precomputed_layer in str(info.value)
    with pytest.raises(InputError, match="cannot open"):
        load_precomputed(f"precomputed://file://{tmp_path}/nothing_here", 7)


def test_precomputed_without_cloudvolume_says_what_to_install(monkeypatch):
    import sys

    from neurd_lite.io.meshes import load_precomputed

    monkeypatch.setitem(sys.modules, "cloudvolume", None)  # makes "import cloudvolume" raise ImportError
    with pytest.raises(InputError, match="cloud-volume is not installed") as info:
        load_precomputed("precomputed://gs://bucket/layer", 1)
    assert "neurd-lite[cloud]" in info.value.hint


def test_io_package_exports_lazily():
    import neurd_lite
    from neurd_lite import io

    assert io.load_mesh is load_mesh and neurd_lite.load_mesh is load_mesh
    assert io.save_meshparty_h5 is save_meshparty_h5


# ---- bad input: every error names the file -----------------------------------------------------------
def _raises_naming(path, match, **kw):
    with pytest.raises(InputError, match=match) as info:
        load_mesh(path, **kw)
    assert str(path) in str(info.value)
    return info.value


def test_missing_empty_unknown(tmp_path):
    _raises_naming(tmp_path / "nope.ply", "file not found")
    (tmp_path / "empty.ply").write_bytes(b"")
    _raises_naming(tmp_path / "empty.ply", "empty")
    (tmp_path / "cell.vtk").write_text("x")
    err = _raises_naming(tmp_path / "cell.vtk", "unknown format")
    assert ".ply" in err.hint


@pytest.mark.parametrize("encoding", ["binary", "ascii"])
def test_truncated_ply(tmp_path, sphere_um, encoding):
    data = trimesh.exchange.ply.export_ply(sphere_um, encoding=encoding)
    for cut in (len(data) // 2, len(data) - 7):
        path = tmp_path / f"cut{cut}.ply"
        path.write_bytes(data[:cut])
        _raises_naming(path, "parse|truncated")


def test_garbage_ply(tmp_path):
    path = tmp_path / "garbage.ply"
    path.write_bytes(b"this is not a mesh\n" * 20)
    _raises_naming(path, "could not parse as PLY")


def test_zero_faces_and_one_face(tmp_path):
    path = tmp_path / "points.off"
    path.write_text("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n")
    _raises_naming(path, "zero faces")
    path = tmp_path / "one.off"
    path.write_text("OFF\n3 1 0\n0 0 0\n1000 0 0\n0 1000 0\n3 0 1 2\n")
    _raises_naming(path, "only 1 face")


def test_nan_vertices_and_missing_vertex_indices(tmp_path, sphere_um):
    v = sphere_um.vertices * 1000
    v[5] = np.nan
    path = tmp_path / "nan.ply"
    trimesh.Trimesh(v, sphere_um.faces, process=False).export(path, encoding="ascii")
    _raises_naming(path, "NaN/inf")
    with pytest.raises(InputError, match="index missing vertices"):
        load_mesh((sphere_um.vertices, sphere_um.faces + 1))
    with pytest.raises(InputError, match=r"shape \(12, 4\)"):
        load_mesh((sphere_um.vertices, np.zeros((12, 4), int)))
    with pytest.raises(InputError, match="unknown units"):
        load_mesh(sphere_um, units="furlongs")


def test_units_warnings_name_the_file(tmp_path, sphere_um):
    path = tmp_path / "micron_cell.ply"
    sphere_um.export(path)
    with pytest.warns(NeurdLiteWarning, match="units='um'") as rec:
        load_mesh(path)
    assert str(path) in str(rec[0].message)
    with pytest.warns(NeurdLiteWarning, match="spans 38.5 mm"):
        load_mesh(path, units=1e7)  # 4 units wide -> 38.5 mm (robust extent: 1st-99th percentile)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mesh(path, units="um")


def test_implausible_extent_is_kept_and_flags_the_neuron(tmp_path, sphere_um, monkeypatch):
    """µm read as nm still warns, and is kept in mesh.metadata so decompose flags the Neuron (batch rows carry
    n.flags in their flags column); a plausible mesh gets no flag."""
    import neurd_lite.pipeline as pipeline

    path = tmp_path / "micron_cell.ply"
    sphere_um.export(path)
    with pytest.warns(NeurdLiteWarning, match="spans only 3.85 nm"):
        m = load_mesh(path)
    assert "spans only 3.85 nm with units='nm'" in m.metadata["units_suspect"]
    with pytest.warns(NeurdLiteWarning):
        assert "38.5 mm" in load_mesh(path, units=1e7).metadata["units_suspect"]
    assert "units_suspect" not in load_mesh(path, units="um").metadata
    monkeypatch.setattr(pipeline, "run_stages", lambda n, stages, params, progress=None: n)  # ingest only
    with pytest.warns(NeurdLiteWarning):
        n = pipeline.decompose(path)
    assert [f for f in n.flags if f.startswith("units_suspect: mesh spans only 3.85 nm")]
    assert not [f for f in pipeline.decompose(path, units="um").flags if f.startswith("units_suspect")]


# ---- real data ----------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_microns_off_and_micron_ply(real):
    m = load_mesh(real("meshes/microns_864691135510518224/864691135510518224_decimated_80k.off"))
    assert m.faces.shape == (80883, 3) and m.vertices.shape == (33683, 3)
    assert np.allclose(m.extents / 1000, [134.3, 158.0, 94.3], atol=0.1)
    ply = real("meshes/harris_dendrites/harris_part_dendrite.ply")
    with pytest.warns(NeurdLiteWarning, match="units='um'"):
        load_mesh(ply)
    d = load_mesh(ply, units="um")
    assert len(d.faces) == 67451 and 3000 < d.extents.max() < 3500


@pytest.mark.realdata
def test_real_meshwork_h5_has_no_faces_and_says_so(real):
    path = real("skeletons/microns_apical_labelled/864691134884871930_with_apical.h5")
    err = _raises_naming(path, "zero faces")
    assert "load_skeleton" in err.hint


def test_absurd_extent_is_rejected(tmp_path):
    huge = trimesh.creation.icosphere(subdivisions=1, radius=1.0)
    huge.vertices *= 1e12
    path = tmp_path / "huge.ply"
    huge.export(path)
    with pytest.raises(InputError, match="huge.ply.*far beyond any EM volume"):
        load_mesh(path)


def test_um_mesh_read_as_nm_spanning_170_is_suspect_and_outliers_do_not_hide_it(monkeypatch):
    """A 170 µm neuron read as nm spans 170 "nm": flagged units_suspect with what was seen; one stray vertex far
    away does not hide it (robust extent), and a few-µm dendrite crop in nm is not flagged."""
    import trimesh

    import neurd_lite.pipeline as pipeline

    cell = trimesh.creation.capsule(radius=2.0, height=166.0, count=[16, 16])  # 170 µm long, in µm
    with pytest.warns(NeurdLiteWarning, match="a 170 nm neuron\\?.*units='um'"):
        m = load_mesh((cell.vertices, cell.faces))
    assert "170 nm" in m.metadata["units_suspect"]
    stray = np.vstack([cell.vertices, [[5e5, 0, 0]]])
    with pytest.warns(NeurdLiteWarning, match="170 nm neuron"):
        assert "units_suspect" in load_mesh((stray, cell.faces)).metadata
    crop = trimesh.creation.capsule(radius=500.0, height=2000.0)  # a 3 µm dendrite piece in nm
    assert "units_suspect" not in load_mesh(crop).metadata
    monkeypatch.setattr(pipeline, "run_stages", lambda n, stages, params, progress=None: n)  # ingest only
    with pytest.warns(NeurdLiteWarning):
        n = pipeline.decompose((cell.vertices, cell.faces))
    assert [f for f in n.flags if f.startswith("units_suspect: mesh spans only 170 nm")]

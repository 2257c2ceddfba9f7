"""Skeleton readers (SWC, meshwork h5, ossify, morphsync) and the SWC writer."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.errors import InputError
from neurd_lite.io.skeletons import load_skeleton, write_swc
from neurd_lite.neuron import Neuron
from neurd_lite.skeleton.model import Skeleton


def _tree() -> Skeleton:
    # root 0 with two children; vertex order deliberately puts children before parents
    verts = np.array([[0, 0, 0], [0, -5000, 0], [0, -10000, 0], [5000, 2000, 0], [9000, 4000, 0]], float)
    edges = np.array([[2, 1], [1, 0], [4, 3], [3, 0]])
    return Skeleton(verts, edges, radius=np.array([6000, 900, 800, 200, 150.0]), root=0)


def test_swc_round_trip_in_um_with_types(tmp_path):
    sk = _tree()
    n = Neuron(skeleton=sk)
    n.skeleton_labels = np.array(["soma", "apical_shaft", "apical_tuft", "axon", "axon"], dtype=object)
    path = n.to_swc(tmp_path / "cell.swc")
    rows = np.loadtxt(path)
    ids, parents = rows[:, 0].astype(int), rows[:, 6].astype(int)
    seen = set()
    for i, p in zip(ids, parents):  # parents before children
        assert p == -1 or p in seen
        seen.add(i)
    assert np.abs(rows[:, 2:5]).max() == pytest.approx(10.0)  # µm
    back, syn = load_skeleton(path)
    assert syn is None
    assert back.n_vertices == 5 and back.vertices[back.root] == pytest.approx([0, 0, 0])
    order = np.argsort(back.vertices[:, 1] * 10 + back.vertices[:, 0])
    assert np.allclose(np.sort(back.vertices, axis=0), np.sort(sk.vertices, axis=0))
    types = dict(zip(map(tuple, np.round(back.vertices).astype(int)), back.vertex_properties["swc_type"]))
    assert types[(0, -10000, 0)] == 4 and types[(9000, 4000, 0)] == 2 and types[(0, 0, 0)] == 1
    assert np.allclose(np.sort(back.radius), np.sort(sk.radius))
    assert len(order) == 5


def test_swc_units_header_and_errors(tmp_path):
    text = "n type x y z radius parent\n1 1 0 0 0 5000 -1\n2 3 0 60000 0 500 1\n3 3 0 90000 0 400 2\n"
    p = tmp_path / "nm.swc"
    p.write_text(text)
    sk, _ = load_skeleton(p)  # extent 90,000 -> nm
    assert sk.vertices[:, 1].max() == pytest.approx(90000)
    sk_um, _ = load_skeleton(p, units="um")
    assert sk_um.vertices[:, 1].max() == pytest.approx(9e7)
    bad = tmp_path / "bad.swc"
    bad.write_text("1 1 0 0 0 1 -1\n2 3 0 x 0 1 1\n")
    with pytest.raises(InputError, match="non-numeric"):
        load_skeleton(bad)
    with pytest.raises(InputError, match="not found"):
        load_skeleton(tmp_path / "missing.swc")
    with pytest.raises(InputError, match="unknown skeleton format"):
        (tmp_path / "x.obj").write_text("v 0 0 0\n")
        load_skeleton(tmp_path / "x.obj")


def test_write_swc_needs_a_skeleton(tmp_path):
    with pytest.raises(InputError):
        write_swc(Neuron(), tmp_path / "none.swc")


@pytest.mark.realdata
def test_meshwork_h5_labels_and_synapses(real):
    sk, syn = load_skeleton(real("skeletons/microns_apical_labelled/864691134884871930_with_apical.h5"))
    assert sk.n_vertices == 2002 and sk.root == 1178
    assert sk.vertex_properties["is_apical"].dtype == bool and sk.vertex_properties["is_apical"].sum() > 1000
    assert {"x_nm", "y_nm", "z_nm", "is_pre", "skeleton_vertex"} <= set(syn.columns)
    assert int(syn["is_pre"].sum()) == 14 and int((~syn["is_pre"]).sum()) == 2464
    # voxel positions scaled to nm land near their mapped skeleton vertex
    d = np.linalg.norm(sk.vertices[syn["skeleton_vertex"]] - syn[["x_nm", "y_nm", "z_nm"]].to_numpy(), axis=1)
    assert np.median(d) < 5000


@pytest.mark.realdata
def test_other_real_formats(real):
    sk, syn = load_skeleton(real("skeletons/microns_ossify_BC_864691135101289504/skel.json"))
    assert set(np.unique(sk.vertex_properties["swc_type"])) == {1, 2, 3} and len(syn) == 12424 + 6514
    ms, msyn = load_skeleton(real("skeletons/microns_morphsync_864691134918461194/morph_info.json").parent)
    assert ms.n_vertices == 3346 and int(msyn["is_pre"].sum()) == 337 and np.isfinite(ms.radius).all()
    sw, ssyn = load_skeleton(real("skeletons/microns_swdb2023_864691134940133219/864691134940133219_skel.h5"))
    assert sw.vertex_properties["is_axon"].any() and np.nanmedian(sw.radius) > 50
    ex, _ = load_skeleton(real("skeletons/microns_neurd_exc_864691134917511946/864691134917511946_proofread.swc"))
    assert set(np.unique(ex.vertex_properties["swc_type"])) == {1, 2, 3, 4}
    assert np.ptp(ex.vertices[:, 1]) > 100_000  # µm file read as nm


def test_meshwork_h5_written_here(tmp_path):
    """A minimal MeshParty-style file: mask annotations become per-vertex bools, synapses are scaled to nm."""
    import json

    import h5py

    mesh_v = np.array([[0, 0, 0], [10, 0, 0], [1000, 0, 0], [1010, 0, 0], [2000, 0, 0]], float)
    path = tmp_path / "mw.h5"
    with h5py.File(path, "w") as f:
        f.attrs["voxel_resolution"] = np.array([[4, 4, 40]])
        f["mesh/vertices"] = mesh_v
        f["skeleton/vertices"] = mesh_v[[0, 2, 4]]
        f["skeleton/edges"] = np.array([[1, 0], [2, 1]])
        f["skeleton/root"] = 0
        f["skeleton/mesh_to_skel_map"] = np.array([0, 0, 1, 1, 2])
        g = f.create_group("annotations/is_axon")
        g.attrs["index_column"] = "mesh_index"
        g["data"] = json.dumps({"mesh_index": {"0": 2, "1": 3, "2": 4}})
        g = f.create_group("annotations/pre_syn")
        g.attrs.update({"index_column": "pre_pt_mesh_ind", "point_column": "ctr_pt_position"})
        g["data"] = json.dumps({"id": {"0": 7}, "ctr_pt_position": {"0": [[500, 0, 1]]}, "pre_pt_mesh_ind": {"0": 4}})
    sk, syn = load_skeleton(path)
    assert sk.n_vertices == 3 and sk.root == 0
    assert sk.vertex_properties["is_axon"].tolist() == [False, True, True]
    assert syn[["x_nm", "y_nm", "z_nm"]].to_numpy().tolist() == [[2000.0, 0.0, 40.0]]
    assert bool(syn["is_pre"].iloc[0]) and int(syn["skeleton_vertex"].iloc[0]) == 2


def test_swc_units_used_are_kept_and_guesses_warn(tmp_path, monkeypatch):
    """Units are no longer guessed silently: a guess warns, the units used go to provenance['inputs']."""
    import warnings

    import neurd_lite.pipeline as pipeline
    from neurd_lite.errors import NeurdLiteWarning

    p = tmp_path / "vox.swc"  # 8 nm voxels, 26,000 voxels wide: read as nm it would span only 26 µm
    p.write_text("1 1 0 0 0 20 -1\n2 3 0 13000 0 10 1\n3 3 0 26000 0 10 2\n")
    with pytest.warns(NeurdLiteWarning, match="units not given; assumed nm .*spans 26 µm"):
        sk, _ = load_skeleton(p)
    assert (sk.units_in, sk.units_source) == ("nm", "guessed from extent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk8, _ = load_skeleton(p, units=8)
    assert (sk8.units_in, sk8.units_source) == (8.0, "given") and sk8.vertices[:, 1].max() == 208000
    with pytest.warns(NeurdLiteWarning, match="spans only 52 nm"):
        load_skeleton(p, units=0.002)  # implausibly small for any neuron
    # write_swc's header names its units: read back without a guess or a warning
    n = Neuron(skeleton=_tree())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back, _ = load_skeleton(n.to_swc(tmp_path / "cell.swc"))
    assert (back.units_in, back.units_source) == ("um", "swc header")
    monkeypatch.setattr(pipeline, "run_stages", lambda n, stages, params, progress=None: n)  # ingest only
    with pytest.warns(NeurdLiteWarning):
        inputs = pipeline.label_skeleton(p).provenance["inputs"]
    assert inputs["units"] == "nm" and inputs["units_source"] == "guessed from extent"
    assert pipeline.label_skeleton(p, units=8).provenance["inputs"]["units"] == 8


def test_one_nan_coordinate_does_not_flip_the_swc_unit_guess(tmp_path):
    """A 300 µm SWC with one stray node is still guessed µm (the extent is robust); one NaN coordinate is a
    clear error naming the file, not a silent guess."""
    from neurd_lite.errors import NeurdLiteWarning

    rows = [f"{i + 1} 3 0 {3.0 * i} 0 1 {i if i else -1}" for i in range(101)]
    p = tmp_path / "um.swc"
    p.write_text("\n".join(rows) + "\n")
    nan = tmp_path / "um_nan.swc"
    nan.write_text("\n".join(rows[:50] + ["51 3 nan 150 0 1 50"] + rows[51:]) + "\n")
    stray = tmp_path / "um_stray.swc"  # one node 5 mm off: the robust extent still reads a 300 µm cell
    stray.write_text("\n".join(rows[:50] + ["51 3 5000 150 0 1 50"] + rows[51:]) + "\n")
    for path in (p, stray):
        with pytest.warns(NeurdLiteWarning, match="assumed µm"):
            sk, _ = load_skeleton(path)
        assert sk.units_in == "um", path
    with pytest.raises(InputError, match="NaN") as e:  # a node without a position is refused (issue 16)
        load_skeleton(nan)
    assert "um_nan.swc" in str(e.value)


@pytest.mark.parametrize("case, match", [
    ("binary_h5", "cannot read the file"), ("empty_h5", "cannot read the file"),
    ("json_binary", "not an ossify skeleton json"), ("json_nan", "NaN"),
    ("json_cycle_through_root", "cycle"), ("json_edge_out_of_range", "does not exist"),
    ("json_root_out_of_range", "root 9 is not one of its 3 vertices"),
    ("nan_h5", "NaN"), ("cycle_through_root_h5", "cycle"),
])
def test_bad_skeleton_files_name_the_file(tmp_path, case, match):
    """Other formats than SWC (issue 16): junk or broken skeleton files raise InputError naming the file."""
    import json

    good = {"vertices": [[0, 0, 0], [0, 1000, 0], [0, 2000, 0]], "edges": [[1, 0], [2, 1]], "root": 0,
            "radius": [500, 100, 100]}
    folder = tmp_path / case
    folder.mkdir()
    if case in ("nan_h5", "cycle_through_root_h5"):  # a readable meshwork file with bad values
        path = _skeleton_h5(folder / "sk.h5", good)
        if case == "nan_h5":
            _skeleton_h5(path, {**good, "vertices": [[0, 0, 0], [float("nan"), 1000, 0], [0, 2000, 0]]})
        else:
            _skeleton_h5(path, {**good, "edges": good["edges"] + [[0, 2]]})
    elif case.endswith("_h5"):
        path = folder / "sk.h5"
        path.write_bytes(b"" if case == "empty_h5" else bytes(range(256)) * 2)
    else:
        path = folder / "skel.json"
        if case == "json_binary":
            path.write_bytes(b"\x89PNG\x00\xff\xfe" * 20)
        else:
            edit = {"json_nan": lambda g: g["vertices"].__setitem__(1, [float("nan"), 0, 0]),
                    "json_cycle_through_root": lambda g: g["edges"].append([0, 2]),
                    "json_edge_out_of_range": lambda g: g["edges"].append([5, 1]),
                    "json_root_out_of_range": lambda g: g.__setitem__("root", 9)}[case]
            edit(good)
            path.write_text(json.dumps(good))
    with pytest.raises(InputError, match=match) as e:
        load_skeleton(path)
    assert str(path) in str(e.value)


def _skeleton_h5(path, g: dict):
    """A minimal meshwork-style ``.h5`` (skeleton group only, no mesh) from a skel.json-like dict."""
    import h5py

    with h5py.File(path, "w") as f:
        f["skeleton/vertices"] = np.asarray(g["vertices"], float)
        f["skeleton/edges"] = np.asarray(g["edges"])
        f["skeleton/root"] = g["root"]
        f["skeleton/radius"] = np.asarray(g["radius"], float)
    return path


@pytest.mark.parametrize("fmt", ["swc", "json", "h5"])
def test_negative_radii_warn_naming_the_file_in_every_format(tmp_path, fmt):
    """Negative radii (issue 16) are never used silently: NaN (unknown), a warning naming the file and a
    ``skeleton_input`` flag on the neuron, whatever the format."""
    import json

    import neurd_lite as nl
    from neurd_lite.errors import NeurdLiteWarning

    g = {"vertices": [[0, 0, 0], [0, 1000, 0], [0, 2000, 0]], "edges": [[1, 0], [2, 1]], "root": 0,
         "radius": [500, -100, 100]}
    if fmt == "swc":
        path = tmp_path / "neg.swc"
        path.write_text("# units: nm\n1 1 0 0 0 500 -1\n2 3 0 1000 0 -100 1\n3 3 0 2000 0 100 2\n")
    elif fmt == "json":
        (tmp_path / "neg").mkdir()
        path = tmp_path / "neg" / "skel.json"
        path.write_text(json.dumps(g))
    else:
        path = _skeleton_h5(tmp_path / "neg.h5", g)
    with pytest.warns(NeurdLiteWarning, match="negative radii") as rec:
        sk, _ = load_skeleton(path)
    assert any(str(path) in str(w.message) for w in rec)
    assert np.isnan(sk.radius[1]) and sk.radius[0] == 500
    with pytest.warns(NeurdLiteWarning, match="negative radii"):
        n = nl.label_skeleton(path)
    assert any("negative radii" in f and str(path) in f for f in n.flags)


def test_peer_skeleton_objects_are_checked_too(monkeypatch):
    """A MeshParty / navis object with a NaN coordinate or a cycle is refused as a file is, naming the object."""
    import neurd_lite.io.interop as interop

    class TreeNeuron:  # stands in for a peer object (navis / meshparty need not be installed)
        name = "cell_7"

    bad = {"nan": Skeleton(np.array([[0, 0, 0], [np.nan, 1000, 0]], float), np.array([[1, 0]]), root=0),
           "cycle": Skeleton(np.array([[0, 0, 0], [0, 1000, 0], [0, 2000, 0]], float),
                             np.array([[1, 0], [2, 1], [0, 2]]), root=0)}
    monkeypatch.setattr(interop, "is_peer_object", lambda obj: isinstance(obj, TreeNeuron))
    for what, sk in bad.items():
        monkeypatch.setattr(interop, "skeleton_from_object", lambda obj, units_nm, sk=sk: (sk, None))
        with pytest.raises(InputError, match="NaN" if what == "nan" else "cycle") as e:
            load_skeleton(TreeNeuron())
        assert "<TreeNeuron 'cell_7'>" in str(e.value)



def test_in_memory_skeletons_get_the_same_checks():
    """label_skeleton on a Skeleton object refuses NaN coordinates and cycles, naming the object."""
    from neurd_lite import label_skeleton

    nan = Skeleton(np.array([[0, 0, 0], [np.nan, 1000, 0]], float), np.array([[1, 0]]), root=0)
    loop = Skeleton(np.array([[0, 0, 0], [0, 1000, 0], [0, 2000, 0]], float), np.array([[1, 0], [2, 1], [0, 2]]),
                    root=0)
    with pytest.raises(InputError, match="NaN") as e:
        label_skeleton(nan, name="cell_9")
    assert "<Skeleton 'cell_9'>" in str(e.value)
    with pytest.raises(InputError, match="cycle"):
        label_skeleton(loop)

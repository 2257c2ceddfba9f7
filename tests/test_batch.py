"""Batch featurization: poison inputs, resume after SIGKILL, parallel and Dask executors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurd_lite.batch import featurize, find_inputs, make_items, match_synapses, parse_units_rules
from neurd_lite.testing.poison import write_poison


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory) -> Path:
    from neurd_lite.testing.synthetic import make_neuron, to_files

    folder = tmp_path_factory.mktemp("synthetic")
    for seed in range(3):  # interneurons: small meshes keep the batch tests quick
        sn = make_neuron(kind="interneuron", seed=seed)
        mesh_path, syn_path = to_files(sn, folder)
        os.replace(mesh_path, folder / f"syn{seed}.ply")
        (folder / "synapses").mkdir(exist_ok=True)
        os.replace(syn_path, folder / "synapses" / f"syn{seed}.csv")
    return folder


def _record_decompose(monkeypatch, argument: str) -> dict:
    """Replace decompose by a fake that records ``argument`` per neuron name and stops the neuron there."""
    seen: dict = {}

    def fake_decompose(mesh, synapses=None, units=None, name=None, synapse_units=None, params=None,
                       segment_id=None):
        seen[name] = {"units": units, "synapse_units": synapse_units, "segment_id": segment_id}[argument]
        raise RuntimeError("stop after decompose")

    monkeypatch.setattr("neurd_lite.pipeline.decompose", fake_decompose)
    return seen


def test_find_inputs_and_synapse_matching(tmp_path):
    (tmp_path / "a_mesh.ply").write_text("x")
    (tmp_path / "b.off").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    syn = tmp_path / "syn"
    syn.mkdir()
    (syn / "a_synapses.csv").write_text("x")
    found = find_inputs([tmp_path, str(tmp_path / "*.ply"), tmp_path / "missing.ply"])
    names = [p.name for p in found]
    assert names == sorted(names) and "notes.txt" not in names
    assert "missing.ply" in names  # kept, so it is reported rather than dropped
    # never by prefix: a_synapses.csv is not the table of a_mesh.ply
    assert match_synapses(tmp_path / "a_mesh.ply", str(syn)) == (None, None)
    (syn / "a_mesh_synapses.csv").write_text("x")
    assert match_synapses(tmp_path / "a_mesh.ply", str(syn))[0].endswith("a_mesh_synapses.csv")
    assert match_synapses(tmp_path / "b.off", str(syn)) == (None, None)
    (syn / "a_mesh.csv").write_text("x")  # two tables for one mesh: reported, not guessed
    table, problem = match_synapses(tmp_path / "a_mesh.ply", str(syn))
    assert table is None and "2 synapse tables" in problem
    (syn / "864_synapses.csv").write_text("x")
    assert match_synapses(tmp_path / "864_80k.off", str(syn / "{id}_synapses.csv"))[0].endswith("864_synapses.csv")
    assert "numeric id" in match_synapses(tmp_path / "a_mesh.ply", str(syn / "{id}_synapses.csv"))[1]


def test_duplicate_stems_get_unique_names(tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "cell.ply").write_text("x")
    items = make_items(find_inputs([tmp_path / "x", tmp_path / "y"]))
    assert len({i.name for i in items}) == 2


@pytest.mark.slow
def test_batch_with_poison_files(tmp_path, synthetic_folder):
    poison = write_poison(tmp_path / "poison", kinds=("empty", "corrupt", "nan", "one_face", "huge"))
    out = tmp_path / "out"
    report = featurize([synthetic_folder / "*.ply", tmp_path / "poison"], out,
                       synapses=str(synthetic_folder / "synapses"), progress=False)
    assert sorted(report.done) == ["syn0", "syn1", "syn2"]
    errors = pd.read_csv(out / "errors.csv")
    failed_files = {Path(f).name for f in errors["file"]}
    # every poison file is either featurized with a flag or listed with a message: nothing is lost
    feats = pd.read_parquet(out / "features.parquet")
    assert len(feats) + len(errors) == 3 + len(poison)
    for key in ("empty", "corrupt", "nan", "one_face", "huge"):
        assert poison[key].name in failed_files, key
    for _, row in errors.iterrows():
        assert Path(row["file"]).name in row["message"] or row["stage"] != "ingest", row["message"]
        assert isinstance(row["message"], str) and len(row["message"]) > 10
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["this_run"]["failed"] == len(errors)
    syn = pd.read_parquet(out / "synapses.parquet")
    assert set(syn["neuron"]) == {"syn0", "syn1", "syn2"}
    # second run: everything finished is skipped, failures retried (and fail again)
    again = featurize([synthetic_folder / "*.ply", tmp_path / "poison"], out,
                      synapses=str(synthetic_folder / "synapses"), progress=False)
    assert sorted(again.skipped) == ["syn0", "syn1", "syn2"] and len(again.failed) == len(errors)


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "neurd_lite.cli", *args]


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, synthetic_folder):
    args = ["featurize", str(synthetic_folder), "--synapses", str(synthetic_folder / "synapses"), "--quiet",
            "--no-save-neuron"]
    ref = tmp_path / "ref"
    subprocess.run(_cli(args + ["--out", str(ref)]), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(args + ["--out", str(killed)]), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list((killed / "parts").glob("*.done.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done_at_kill = len(list((killed / "parts").glob("*.done.json")))
    assert 1 <= n_done_at_kill < 3, "the kill must land half way for this test to mean anything"
    subprocess.run(_cli(args + ["--out", str(killed)]), check=True, capture_output=True)
    manifest = json.loads((killed / "run_manifest.json").read_text())
    assert manifest["this_run"]["skipped"] == n_done_at_kill
    for table in ("features", "branches", "synapses"):
        a = pd.read_parquet(ref / f"{table}.parquet")
        b = pd.read_parquet(killed / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)
    assert pd.read_csv(killed / "errors.csv").empty


@pytest.mark.slow
def test_process_pool_and_dask_match_serial(tmp_path, synthetic_folder):
    distributed = pytest.importorskip("distributed")
    serial = featurize([synthetic_folder], tmp_path / "serial", progress=False, save_neuron=False)
    pooled = featurize([synthetic_folder], tmp_path / "pool", workers=2, progress=False, save_neuron=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dasked = featurize([synthetic_folder], tmp_path / "dask", executor=client.get_executor(pure=False),
                           progress=False, save_neuron=False)
    assert sorted(serial.done) == sorted(pooled.done) == sorted(dasked.done)
    a = pd.read_parquet(tmp_path / "serial" / "features.parquet")
    for other in ("pool", "dask"):
        pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / other / "features.parquet"))


def test_time_limit_is_an_error_not_a_hang(tmp_path, synthetic_folder):
    out = tmp_path / "out"
    # 0.5 s: far below the seconds a decomposition takes, but past the imports even on a loaded machine
    report = featurize([synthetic_folder / "syn0.ply"], out, timeout_s=0.5, progress=False, save_neuron=False)
    assert report.failed == ["syn0"]
    err = pd.read_csv(out / "errors.csv")
    assert err["error_type"].iloc[0] == "TimeoutError" and "time limit" in err["message"].iloc[0]


def test_units_rules_per_input(tmp_path):
    rules = parse_units_rules("fly/*=8,*.ply=um,*=nm")
    assert rules == [("fly/*", 8.0), ("*.ply", "um"), ("*", "nm")]
    fly = tmp_path / "fly"
    fly.mkdir()
    for p in (fly / "a.obj", tmp_path / "b.ply", tmp_path / "c.off"):
        p.write_text("x")
    items = {i.name: i.units for i in make_items(find_inputs([fly, tmp_path]), units="fly/*=8,*.ply=um,*=nm")}
    assert items == {"a": 8.0, "b": "um", "c": "nm"}
    assert {i.units for i in make_items([tmp_path / "c.off"], units=8)} == {8}


def test_process_item_decomposes_in_the_item_units(tmp_path, monkeypatch):
    """Each item's resolved units reach decompose (there is no batch-wide units fallback to get wrong)."""
    from neurd_lite.batch import BatchConfig, BatchItem, process_item

    seen = _record_decompose(monkeypatch, "units")
    (tmp_path / "fly").mkdir()
    for p in (tmp_path / "fly" / "a.obj", tmp_path / "b.ply"):
        p.write_text("x")
    items = make_items(find_inputs([tmp_path / "fly", tmp_path]), units="fly/*=8,*.ply=um,*=nm")
    config = BatchConfig(str(tmp_path / "out"))
    results = [process_item(item, config) for item in items]
    assert sorted(map(str, seen.values())) == ["8.0", "um"] and not any(r["ok"] for r in results)
    assert BatchItem("m.ply", "m").units == "nm"


def test_consolidate_keeps_dtypes_when_a_neuron_has_no_synapses(tmp_path):
    """A neuron without synapses has a part frame with only the ``neuron`` column; it must not turn the
    combined table's bool columns into strings or its int columns into floats."""
    from neurd_lite.batch import consolidate

    parts = tmp_path / "parts"
    parts.mkdir()
    full = pd.DataFrame({"neuron": ["a", "a"], "x_nm": [1.0, 2.0], "is_pre": [True, False],
                         "is_far": [False, True], "spine_id": np.array([3, -1], dtype=np.int64)})
    empty = pd.DataFrame({"neuron": pd.Series([], dtype=object)})
    for name, syn in (("a", full), ("b", empty), ("c", full.assign(neuron="c"))):
        syn.to_parquet(parts / f"{name}.synapses.parquet")
        (parts / f"{name}.done.json").write_text("{}")
    counts = consolidate(tmp_path, ["a", "b", "c"])
    syn = pd.read_parquet(tmp_path / "synapses.parquet")
    assert counts["synapses"] == 4 and list(syn["neuron"]) == ["a", "a", "c", "c"]
    assert syn["is_pre"].dtype == bool and syn["is_far"].dtype == bool
    assert syn["spine_id"].dtype == np.int64 and list(syn["spine_id"]) == [3, -1, 3, -1]
    # only neurons without synapses: an empty table with the part's columns
    consolidate(tmp_path, ["b"])
    assert len(pd.read_parquet(tmp_path / "synapses.parquet")) == 0


def _fake_ok(item, config, key=None):
    """A process_item stand-in that finishes instantly (no decompose), stored like a real result."""
    from neurd_lite.batch_item import store_result

    tables = {"features": pd.DataFrame({"n": [1]}, index=[item.name]), "branches": pd.DataFrame(),
              "synapses": pd.DataFrame()}
    return store_result({"ok": True, "tables": tables}, item, Path(config.out_dir), key)


def test_unmatched_synapses_warn_and_are_counted(tmp_path, monkeypatch, caplog):
    for stem in ("a", "b", "c"):
        (tmp_path / f"{stem}.ply").write_text("x")
    (tmp_path / "syn").mkdir()
    (tmp_path / "syn" / "a.csv").write_text("x")
    monkeypatch.setattr("neurd_lite.batch.process_item", _fake_ok)
    for spec in (str(tmp_path / "syn"), str(tmp_path / "syn" / "{stem}.csv")):
        caplog.clear()
        with caplog.at_level("WARNING", logger="neurd_lite.batch"):
            report = featurize([tmp_path / "*.ply"], tmp_path / "out", synapses=spec, progress=False)
        assert report.no_synapses == ["b", "c"]
        warned = [r.getMessage() for r in caplog.records if "no synapse table" in r.getMessage()]
        assert len(warned) == 2 and "b.ply" in warned[0] and "c.ply" in warned[1]
        manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
        assert manifest["inputs_without_synapses"] == {"count": 2, "names": ["b", "c"]}
    # no --synapses at all: nothing to warn about
    report = featurize([tmp_path / "*.ply"], tmp_path / "out2", progress=False)
    assert report.no_synapses == []


def test_synapse_units_rules_reach_decompose_and_manifest(tmp_path, monkeypatch):
    """--synapse-units: one value or per-input rules like --units (a per-axis voxel size keeps its commas)."""
    from neurd_lite.batch import BatchConfig, process_item
    from neurd_lite.cli import main

    assert parse_units_rules("fly/*=8,*=4,4,40") == [("fly/*", 8.0), ("*", (4.0, 4.0, 40.0))]
    (tmp_path / "fly").mkdir()
    for p in (tmp_path / "fly" / "a.obj", tmp_path / "b.ply"):
        p.write_text("x")
    meshes = find_inputs([tmp_path / "fly", tmp_path])
    items = {i.name: i.synapse_units for i in make_items(meshes, synapse_units="fly/*=8,*=4,4,40")}
    assert items == {"a": 8.0, "b": (4.0, 4.0, 40.0)}
    assert {i.synapse_units for i in make_items(meshes, synapse_units="fly/*=8")} == {8.0, None}
    assert {i.synapse_units for i in make_items(meshes)} == {None}

    seen = _record_decompose(monkeypatch, "synapse_units")
    for item in make_items(meshes, synapse_units="fly/*=8,*=4,4,40"):
        process_item(item, BatchConfig(str(tmp_path / "out")))
    assert seen == {"a": 8.0, "b": (4.0, 4.0, 40.0)}

    seen.clear()
    out = tmp_path / "cli"
    assert main(["featurize", str(tmp_path / "fly"), "--synapse-units", "8", "--out", str(out), "--quiet"]) == 1
    assert seen == {"a": 8.0}
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["parameters"]["synapse_units"] == 8.0 and manifest["inputs"][0]["synapse_units"] == 8.0
    assert main(["featurize", str(tmp_path / "fly"), "--synapse-units", "x,*=8", "--out", str(out)]) == 2


def test_docs_name_the_synapse_columns_and_soma_attributes():
    """docs/batch.md documents every synapses.parquet column; the README's n.somas comment names real
    Soma attributes."""
    import re

    from neurd_lite.io.synapses import SYNAPSE_COLUMNS
    from neurd_lite.neuron import Soma

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "batch.md").read_text()
    section = doc.split("`synapses.parquet`: one row per input synapse", 1)[1]
    rows = [s for s in section.splitlines() if s.startswith("| `")]
    documented = {c for s in rows for c in re.findall(r"`([a-z_]+)`", s.split("|")[1])}
    assert "`neuron` first" in section
    for col in (*SYNAPSE_COLUMNS, "face", "distance_to_mesh_nm", "is_far", "compartment", "spine_id", "branch",
                "target"):
        assert col in documented, col
    size_row = next(s for s in rows if s.startswith("| `size`"))
    assert "passed through unchanged" in size_row
    line = next(s for s in (root / "README.md").read_text().splitlines() if s.startswith("n.somas"))
    soma = Soma([0.0, 0.0, 0.0], 1000.0)
    for attr in re.findall(r"\b[a-z_]+_nm\b", line.split("#", 1)[1]):
        assert hasattr(soma, attr), attr


def test_segment_ids_from_names_or_manifest_reach_decompose(tmp_path, monkeypatch):
    """featurize segment_ids="name" (CLI --segment-id-from-name) or a manifest segment_id column gives each
    neuron its root id, so a CAVE table of several neurons keeps only that neuron's rows (issue 21)."""
    from neurd_lite.batch import BatchConfig, process_item
    from neurd_lite.cli import main

    for name in ("864691135510518224_80k.ply", "noid.ply"):
        (tmp_path / name).write_text("x")
    meshes = find_inputs([tmp_path])
    by_name = {i.name: (i.segment_id, i.problem) for i in make_items(meshes, segment_ids="name")}
    assert by_name["864691135510518224_80k"] == (864691135510518224, None)
    assert by_name["noid"][0] is None and "does not start with digits" in by_name["noid"][1]
    assert {i.segment_id for i in make_items(meshes)} == {None}
    assert {i.segment_id for i in make_items(meshes, segment_ids={"noid": 42})} == {None, 42}
    seen = _record_decompose(monkeypatch, "segment_id")
    for item in make_items(meshes, segment_ids="name"):
        process_item(item, BatchConfig(str(tmp_path / "out")))
    assert seen == {"864691135510518224_80k": 864691135510518224}  # the id-less mesh never ran: an error row
    seen.clear()
    assert main(["featurize", str(tmp_path / "864691135510518224_80k.ply"), "--segment-id-from-name",
                 "--out", str(tmp_path / "cli"), "--quiet"]) == 1
    assert seen == {"864691135510518224_80k": 864691135510518224}


def test_flag_summary_counts_kinds_and_names_the_worst(tmp_path):
    """The console summary at the end of featurize: rows per flag kind, the neurons with the most kinds."""
    from neurd_lite.batch import flag_summary

    assert flag_summary(tmp_path) == []
    pd.DataFrame({"flags": ["", "no_soma: x; units_suspect: a 170 nm neuron? pass units='um'", "no_soma: y", None]},
                 index=["a", "b", "c", "d"]).to_parquet(tmp_path / "features.parquet")
    lines = flag_summary(tmp_path, worst=2)
    assert lines[0] == "flags in 4 rows: no_soma 2, units_suspect 1"
    assert lines[1] == "  b: no_soma, units_suspect" and lines[2] == "  c: no_soma"
    assert "features.parquet" in lines[-1]

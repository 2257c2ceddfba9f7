"""The neurd-lite command line: decompose and example subcommands, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trimesh

import neurd_lite as nl
from neurd_lite.cli import build_parser, main


def _tube_cell(path) -> None:
    """A small soma-less neurite: a thin bent tube written as PLY in µm."""
    a = trimesh.creation.cylinder(radius=0.4, segment=[[0, 0, 0], [0, 0, 15.0]], sections=10)
    b = trimesh.creation.cylinder(radius=0.3, segment=[[0, 0, 14.0], [8.0, 0, 22.0]], sections=10)
    m = trimesh.util.concatenate([trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(x.vertices, x.faces, 0.5))
                                  for x in (a, b)])
    m.export(path)


def test_decompose_writes_h5_and_prints_summary(tmp_path, capsys):
    mesh = tmp_path / "tube.ply"
    _tube_cell(mesh)
    code = main(["decompose", str(mesh), "--units", "um", "--out", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    summary = json.loads(out[: out.rindex("}") + 1])
    assert summary["name"] == "tube" and summary["n_faces"] > 0
    n = nl.load(tmp_path / "out" / "tube.h5")
    assert n.n_faces == summary["n_faces"] and n.skeleton is not None
    assert np.ptp(n.mesh.vertices[:, 2]) > 15000.0  # µm input became nm
    assert any(f.startswith("no_soma") for f in n.flags)


def test_bad_input_exits_1_with_message(tmp_path, capsys):
    bad = tmp_path / "nothing.ply"
    bad.write_text("not a mesh")
    assert main(["decompose", str(bad), "--out", str(tmp_path)]) == 1
    assert "error" in capsys.readouterr().err


def test_no_command_prints_help():
    assert main([]) == 2


def test_parser_has_subcommands():
    text = build_parser().format_help()
    assert "decompose" in text and "example" in text


@pytest.mark.slow
def test_example_runs_offline(tmp_path, capsys):
    assert main(["example", "--out", str(tmp_path), "--faces", "5000"]) == 0
    n = nl.load(tmp_path / "synthetic_example.h5")
    assert len(n.somas) == 1 and len(n.branch_nodes) > 5


def _featurize(tmp_path, *inputs: str) -> int:
    return main(["featurize", *inputs, "--out", str(tmp_path / "out"), "--quiet", "--no-save-neuron"])


def test_featurize_exit_codes(tmp_path, capsys):
    """0 all ok, 1 some input failed (the batch still runs to the end), 2 nothing matched."""
    assert _featurize(tmp_path, str(tmp_path / "does_not_exist.ply")) == 1
    err = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert list(err["file"]) == [str(tmp_path / "does_not_exist.ply")]
    assert "1 of 1 inputs failed" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _featurize(tmp_path, str(tmp_path / "empty" / "*.ply")) == 2
    assert _featurize(tmp_path, str(tmp_path / "empty")) == 2
    assert "no input matched" in capsys.readouterr().err
    corrupt = tmp_path / "bad"
    corrupt.mkdir()
    (corrupt / "a.ply").write_bytes(b"")
    (corrupt / "b.ply").write_text("not a mesh")
    assert _featurize(tmp_path, str(corrupt)) == 1
    assert len(pd.read_csv(tmp_path / "out" / "errors.csv")) == 2
    with pytest.raises(SystemExit):
        main(["featurize", "--help"])
    assert "exit codes" in capsys.readouterr().out


def test_featurize_ctrl_c_writes_what_is_done_and_exits_130(tmp_path, monkeypatch, capsys):
    """Ctrl-C on the 2nd neuron: no traceback, the finished neuron is in features.parquet, errors.csv and the
    manifest are written, exit 130; the same command then resumes."""
    from neurd_lite import batch

    for stem in ("a", "b", "c"):
        (tmp_path / f"{stem}.ply").write_text("x")
    calls = []

    def fake(item, config, key=None, interrupt_at=2):
        calls.append(item.name)
        if len(calls) == interrupt_at:
            raise KeyboardInterrupt
        tables = {"features": pd.DataFrame({"n": [1]}, index=[item.name]), "branches": pd.DataFrame(),
                  "synapses": pd.DataFrame()}
        return batch.store_result({"ok": True, "tables": tables}, item, Path(config.out_dir), key)

    monkeypatch.setattr(batch, "process_item", fake)
    out = tmp_path / "out"
    assert _featurize(tmp_path, str(tmp_path)) == 130
    assert calls == ["a", "b"]  # c never started
    assert "interrupted: 1 of 3 done (0 failed); rerun the same command to resume" in capsys.readouterr().err
    assert len(pd.read_parquet(out / "features.parquet")) == 1 and (out / "errors.csv").is_file()
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["this_run"]["interrupted"] is True and manifest["this_run"]["not_run"] == 2
    calls.clear()
    monkeypatch.setattr(batch, "process_item", lambda item, config, key=None: fake(item, config, key,
                                                                                    interrupt_at=0))
    assert _featurize(tmp_path, str(tmp_path)) == 0
    assert calls == ["b", "c"] and len(pd.read_parquet(out / "features.parquet")) == 3


def test_summary_names_the_raw_skeleton_length_apart_from_the_feature(tmp_path, capsys):
    """decompose's summary printed the raw skeleton edge sum as cable_length_um, which differs from the
    cable_length_um feature; it is now skeleton_edge_length_um."""
    from neurd_lite.cli import _save_and_report
    from neurd_lite.neuron import Neuron
    from neurd_lite.skeleton.model import Skeleton

    sk = Skeleton(np.array([[0, 0, 0], [3000.0, 0, 0], [3000.0, 4000.0, 0]]), np.array([[1, 0], [2, 1]]), root=0)
    assert _save_and_report(Neuron(name="toy", skeleton=sk), str(tmp_path)) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[: out.rindex("}") + 1])
    assert summary["skeleton_edge_length_um"] == 7.0 and "cable_length_um" not in summary

"""Messages for the person at the keyboard: the failing stage named, plain help, µm printed as µm."""
from __future__ import annotations

import pytest

from neurd_lite.cli import _print_summary, build_parser, main
from neurd_lite.errors import InputError
from neurd_lite.neuron import Neuron
from neurd_lite.params import PipelineParams
from neurd_lite.pipeline import run_stages


def test_help_is_plain_text_and_says_the_units_default():
    top = build_parser().format_help()
    assert "``" not in top and "neurd-lite example --out" in top
    sub = build_parser()._subparsers._group_actions[0].choices["decompose"].format_help()
    assert "default: nm" in " ".join(sub.split())


def test_a_stage_error_carries_the_stage_and_the_cli_names_it(monkeypatch, tmp_path, capsys):
    def bad_stage(n, p):
        raise InputError("something the spine stage cannot use", None, "check --units")

    with pytest.raises(InputError) as e:
        run_stages(Neuron(name="x"), [("spines", bad_stage)], PipelineParams())
    assert e.value.stage == "spines"

    import neurd_lite.pipeline as pipeline

    def fake_decompose(*a, **k):
        run_stages(Neuron(name="x"), [("spines", bad_stage)], PipelineParams())

    monkeypatch.setattr(pipeline, "decompose", fake_decompose)
    assert main(["decompose", "cell.ply", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error at stage 'spines'" in err and "ingest" not in err


def test_summary_prints_micrometres_without_escapes(capsys):
    _print_summary({"flags": ["synapses_far: 3 of 4 synapses > 1.5 µm from the mesh"]})
    out = capsys.readouterr().out
    assert "1.5 µm" in out and "\\u00b5" not in out


def test_warnings_print_as_one_plain_line():
    import warnings

    from neurd_lite.cli import _plain_warnings
    from neurd_lite.errors import NeurdLiteWarning

    saved = warnings.formatwarning
    try:
        _plain_warnings()
        text = warnings.formatwarning(NeurdLiteWarning("cell.csv: synapse positions read as 8 nm voxels"),
                                      NeurdLiteWarning, "/x/pipeline.py", 418, "code line")
    finally:
        warnings.formatwarning = saved
    assert text == "neurd-lite: warning: cell.csv: synapse positions read as 8 nm voxels\n"


def test_dask_scheduler_without_dask_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    import sys

    import trimesh

    trimesh.creation.icosphere(subdivisions=1, radius=5000.0).export(tmp_path / "cell.ply")
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes "import distributed" raise ImportError
    argv = ["featurize", str(tmp_path / "cell.ply"), "--out", str(tmp_path / "out"),
            "--dask-scheduler", "tcp://127.0.0.1:1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--dask-scheduler needs the distributed package" in err and "neurd-lite[dask]" in err
    assert "Traceback" not in err

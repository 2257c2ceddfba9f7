"""Every code block of README.md runs, so the README cannot drift from the code.

The ```python blocks run in order in one namespace in a temporary folder (the first builds a small generated
neuron); every ``neurd-lite ...`` line of the ```bash blocks is parsed by the real argument parser (an option
that no longer exists fails), and the lines whose inputs exist here run: ``example`` (with ``--faces 5000``
added to stay fast), ``decompose`` on the files the Python block wrote, ``classify`` on the example's neuron.
Lines that need data or a network (a folder of meshes, a cloud source) are only parsed.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from neurd_lite.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"
FAST_EXAMPLE = ["--faces", "5000", "--kind", "interneuron"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _cli_lines() -> list[list[str]]:
    """Every neurd-lite command of the bash blocks, split like a shell (comments dropped, && split)."""
    out = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "neurd-lite":
                    out.append(words[1:])
    return out


def test_readme_has_python_and_cli_blocks():
    assert _blocks("python") and len(_cli_lines()) >= 5


@pytest.mark.parametrize("argv", _cli_lines(), ids=lambda a: " ".join(a)[:60])
def test_cli_line_parses(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_readme_runs(tmp_path, monkeypatch, capsys):
    """The Python blocks, then the CLI lines whose inputs exist, in a temporary folder."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for block in _blocks("python"):
        exec(compile(block, str(README), "exec"), namespace)
    assert Path("cell.h5").is_file() and Path("cell.ply").is_file()
    ran = []
    for argv in _cli_lines():
        cmd = argv[0]
        if cmd == "example":
            argv = argv + FAST_EXAMPLE
        elif not all(Path(a).exists() for a in argv[1:2]):
            continue  # its input is a folder or file of the reader's (only parsed, above)
        assert main(argv) == 0, (argv, capsys.readouterr())
        ran.append(cmd)
    assert {"example", "decompose", "classify"} <= set(ran), ran
    for name in ("synthetic_example.h5", "synthetic_example_features.csv", "synthetic_example.png"):
        assert (tmp_path / "example_out" / name).is_file(), name

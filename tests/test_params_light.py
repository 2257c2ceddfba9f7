"""Building the parameter tree loads no stage code and no heavy library (``import neurd_lite`` and
``nl.PipelineParams()`` in a fresh interpreter), and the light copies of stage constants match the stages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "pandas", "trimesh", "networkx", "lightgbm", "sklearn", "h5py", "pyarrow")


def test_parameter_tree_imports_no_stage_code():
    code = ("import sys, neurd_lite as nl; p = nl.PipelineParams(); nl.PipelineParams.from_dict(p.to_dict()); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})); "
            "print(sorted(m for m in sys.modules if m.startswith('neurd_lite.') and not m.endswith(('params', "
            "'checks', 'errors', 'units', 'frame', 'soma_extent', 'depth', 'limits')) and m.count('.') > 1))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.splitlines()
    assert out[0] == "[]", f"heavy modules loaded by nl.PipelineParams(): {out[0]}"
    assert out[1] == "[]", f"stage modules loaded by nl.PipelineParams(): {out[1]}"


def test_light_constants_match_the_stages():
    from neurd_lite.skeleton.backends import BACKENDS
    from neurd_lite.skeleton.params import BACKEND_NAMES

    assert tuple(BACKENDS) == BACKEND_NAMES


def test_reaching_decompose_loads_no_stage_code():
    """``nl.decompose`` (the attribute, not the call) loads only the runner and the parameter tree; the call
    imports the stage code before its ingest timer starts."""
    code = ("import sys, neurd_lite as nl; nl.decompose; nl.label_skeleton; nl.split; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.splitlines()
    assert out[0] == "[]", f"heavy modules loaded by reaching nl.decompose: {out[0]}"

"""The spine stage's capture keys are declared once (neurd_lite.spines.captures) and never reach the rim-less copy."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from neurd_lite.neuron import Neuron
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.captures import SPINE_CAPTURES, TRAINING_CAPTURES, without_captures
from neurd_lite.spines.rimless import spine_copy

PACKAGE = Path(__file__).resolve().parent.parent / "neurd_lite"
CAPTURE_LIKE = re.compile(r"^spine_\w+_(sink|table)$")


def test_spine_copy_leaves_every_capture_out_and_keeps_the_rest():
    mesh, _, skel = spiny_cylinder(n_spines=2, seed=1)
    n = Neuron(mesh=mesh, skeleton=skel)
    for k in SPINE_CAPTURES:
        n.cache[k] = []
    n.cache["other_table"], n.cache[("a", 1)] = 1, 2  # not captures: copied (a tuple key no longer breaks the copy)
    c = spine_copy(n)
    assert not set(SPINE_CAPTURES) & set(c.cache) and c.cache == {"other_table": 1, ("a", 1): 2}
    assert set(SPINE_CAPTURES) <= set(n.cache)  # the original keeps its captures
    c.face_labels[:] = "spine_head"
    assert not (np.asarray(n.face_labels) == "spine_head").all()
    assert set(TRAINING_CAPTURES) <= set(SPINE_CAPTURES)
    assert without_captures({k: 0 for k in SPINE_CAPTURES}) == {}


def test_no_capture_key_is_spelled_outside_captures_py():
    """A ``spine_*_sink`` / ``spine_*_table`` literal elsewhere would be a capture that the rim-less copy and the
    working-mesh view do not know about."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "captures.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CAPTURE_LIKE.match(node.value):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value}")
    assert not found, found

"""The ``n.cache`` keys through which the spine stage hands per-candidate rows to training and analysis code.

A capture is off unless the caller puts a list under its key before the spine stage runs; the stage then appends
to that list (one item per labelling: a frame of candidate features, a dict of vertex features, ...). The keys
are declared here once: ``stage_spines`` forwards the training captures to the working-mesh view, and
``rimless.spine_copy`` leaves every capture out of the copy it relabels (the spines without the junction rim), so a
second labelling of the same cell never appends to a capture. A new capture must be added to
:data:`SPINE_CAPTURES` (``tests/test_spines_captures.py`` fails on a ``spine_*_sink`` / ``spine_*_table`` string
literal anywhere else in the package).
"""
from __future__ import annotations

from typing import Any

CANDIDATE_TABLE = "spine_candidate_table"  # frames of candidate features (``candidates.py``; classifiers/)
VERTEX_SINK = "spine_vertex_sink"  # dicts of per-vertex features (``vertex_model.py``; classifiers/)
CANDIDATE_SINK = "spine_candidate_sink"  # per-candidate statistics of the growth passes (``passes.py``; analysis)
DOME_SINK = "spine_dome_sink"  # candidates of the dome pass (``dome.py``; analysis)

TRAINING_CAPTURES: tuple[str, ...] = (CANDIDATE_TABLE, VERTEX_SINK)  # forwarded to the working-mesh view
SPINE_CAPTURES: tuple[str, ...] = TRAINING_CAPTURES + (CANDIDATE_SINK, DOME_SINK)


def without_captures(cache: dict[Any, Any]) -> dict[Any, Any]:
    """A copy of ``cache`` (``n.cache``) without the :data:`SPINE_CAPTURES` keys (values shared, not copied)."""
    return {k: v for k, v in cache.items() if k not in SPINE_CAPTURES}

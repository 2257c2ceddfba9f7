"""``SpineParams.past_new_end_fraction``: a spine lying mostly past an added branch's end is dropped."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from neurd_lite.spines.detect import drop_past_new_ends


def _field() -> tuple[SimpleNamespace, np.ndarray]:
    """8 mesh vertices: 0-3 owned by traced skeleton vertex 0, 4-7 by added skeleton vertex 1; 5-7 beyond its end,
    and 2 beyond the traced end."""
    beyond = np.array([0, 0, 1, 0, 0, 1, 1, 1], bool)
    owner = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    return SimpleNamespace(beyond_end=beyond, sample_vertex=owner), np.array([True, False])


def test_spine_past_an_added_end_dropped_and_counted():
    fld, traced = _field()
    vlabel = np.array([0, 0, 0, -1, 1, 1, 1, 1])  # spine 0 on traced cable (one vertex past its end), 1 past new
    counts: dict = {}
    out = drop_past_new_ends(vlabel, fld, traced, 0.5, counts)
    assert out.tolist() == [0, 0, 0, -1, -1, -1, -1, -1]
    assert counts["past_new_end_dropped"] == 1


def test_spine_mostly_before_the_end_kept():
    fld, traced = _field()
    vlabel = np.array([-1, -1, -1, -1, 1, 1, 1, -1])  # 2 of its 3 vertices past the new end: kept at 0.7
    out = drop_past_new_ends(vlabel, fld, traced, 0.7, {})
    assert out.tolist() == vlabel.tolist()
    assert drop_past_new_ends(vlabel, fld, traced, 0.6, {})[4:7].tolist() == [-1, -1, -1]

"""FaceMap.lift_rows: the rows of a lift without lifting every input face."""
import numpy as np
import pytest

from neurd_lite.model.facemap import FaceMap


def test_lift_rows_equals_lift_then_rows():
    rng = np.random.default_rng(3)
    fm = FaceMap(rng.integers(0, 40, 500), np.arange(40))
    labels = np.array(["dendrite", "spine_head", "spine_neck"], dtype=object)[rng.integers(0, 3, 40)]
    ids = rng.integers(-1, 9, 40)
    mask = rng.random(500) < 0.2
    rows = np.flatnonzero(rng.random(500) < 0.3)[::-1]
    for a in (labels, ids, rng.normal(size=(40, 3))):
        for sel in (mask, rows, np.zeros(500, dtype=bool)):
            got, want = fm.lift_rows(a, sel), fm.lift(a)[sel]
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want)


def test_lift_rows_checks_the_working_size():
    fm = FaceMap(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="working mesh 2 faces"):
        fm.lift_rows(np.zeros(3), np.array([0]))

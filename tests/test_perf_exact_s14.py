"""Session 14 speed-ups that must give the very same numbers as the code they replace."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from neurd_lite.geometry.nearest import query_sets


def test_query_sets_equals_plain_queries():
    """Repeated rows (at the same index, in any earlier set) take the earlier answer: the same distances and
    indices as one query per set, also with -0.0 against 0.0 and a set of another length."""
    rng = np.random.default_rng(0)
    surface = rng.normal(size=(3000, 3)) * 1000.0
    tree = cKDTree(surface)
    a = rng.normal(size=(500, 3)) * 800.0
    b = a.copy()
    b[::3] += rng.normal(size=b[::3].shape) * 50.0
    c = np.where(rng.random((500, 1)) < 0.5, a, b)
    c[::7] += 1.0
    a[10] = 0.0
    c[10] = -0.0
    sets = [a, b, c, a[:100], a.copy()]
    got = query_sets(tree, sets)
    for pts, (d, i) in zip(sets, got):
        d0, i0 = tree.query(pts)
        assert np.array_equal(d, d0, equal_nan=True) and np.array_equal(i, i0) and i.dtype == i0.dtype

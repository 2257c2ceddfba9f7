"""Per-vertex sums over faces (areas, normals) that do not depend on the order the faces are listed in."""
from __future__ import annotations

import numpy as np

from neurd_lite.geometry.meshes import order_free_bincount, vertex_areas_nm2


def test_order_free_bincount_is_the_same_in_any_order_and_close_to_bincount():
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 500, 20_000)
    w = rng.standard_normal(20_000) * 10.0 ** rng.integers(-3, 6, 20_000)  # signed, nine decades
    ref = np.bincount(idx, weights=w, minlength=510)
    got = order_free_bincount(idx, w, 510)
    assert np.abs(got - ref).max() <= 1e-9 * np.abs(w).max()
    assert got[500:].tolist() == [0.0] * 10
    seen = set()
    for seed in range(5):
        o = np.random.default_rng(seed).permutation(len(w))
        seen.add(order_free_bincount(idx[o], w[o], 510).tobytes())
    assert seen == {got.tobytes()}
    assert order_free_bincount(idx[:0], w[:0], 4).tolist() == [0.0] * 4
    assert order_free_bincount(idx, np.zeros_like(w), 510).sum() == 0.0


def test_vertex_areas_do_not_depend_on_face_order():
    rng = np.random.default_rng(0)
    f = np.argsort(rng.random((3000, 400)), axis=1)[:, :3]
    a = rng.random(3000) * 1e5
    va = vertex_areas_nm2(f, a, 400)
    o = rng.permutation(3000)
    assert vertex_areas_nm2(f[o], a[o], 400).tobytes() == va.tobytes()
    assert np.isclose(va.sum(), a.sum(), rtol=1e-12)

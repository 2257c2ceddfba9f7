"""The generator's small-vector helpers round like plain Python floats (no BLAS kernel, no fused multiply-add)."""
import numpy as np

from neurd_lite.testing import exactvec as ev


def _py_dot(a, b):
    s = float(a[0]) * float(b[0])
    for x, y in zip(a[1:], b[1:]):
        s = s + float(x) * float(y)
    return s


def test_dot_and_norm_match_sequential_python_arithmetic():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(2000, 3)) * 1e4, rng.normal(size=(2000, 3))
    got = ev.dot(a, b)
    assert got.shape == (2000,)
    assert all(got[i] == _py_dot(a[i], b[i]) for i in range(2000))
    assert all(ev.dot(a[i], b[i]) == _py_dot(a[i], b[i]) for i in range(200))
    assert all(ev.norm(a[i]) == np.sqrt(_py_dot(a[i], a[i])) for i in range(200))
    u = ev.unit(a)
    assert np.allclose(np.linalg.norm(u, axis=1), 1.0) and np.allclose(ev.unit(a[0]), a[0] / np.linalg.norm(a[0]))

"""The target model's neighbourhood inputs on even surface samples do not depend on how the surface is cut."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.spines.even_neighbourhood import faces_near, sampled_neighbourhood, valued_samples


def _plane(n_cuts: int) -> tuple[np.ndarray, np.ndarray]:
    """A 2 x 2 µm square in z=0 cut n_cuts times (nm)."""
    m = trimesh.Trimesh([[0, 0, 0], [2000, 0, 0], [2000, 2000, 0], [0, 2000, 0]], [[0, 1, 2], [0, 2, 3]],
                        process=False)
    v, f = np.asarray(m.vertices, float), np.asarray(m.faces)
    for _ in range(n_cuts):
        v, f = trimesh.remesh.subdivide(v, f)
    return v, f


def _field(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protrusion linear in x (0 at x=0, 200 nm at x=2000) and protruding where above 100 nm."""
    h = v[:, 0] / 10.0
    return h, (h > 100).astype(float)


def test_valued_samples_interpolate_corner_values():
    tri = np.array([[[0, 0, 0], [100, 0, 0], [0, 100, 0]]], float)
    vals = np.array([[[0.0], [100.0], [0.0]]])  # the value is x
    pts, w, v = valued_samples(tri, vals, 25.0)
    assert len(pts) == 36 and np.isclose(w.sum(), 5000.0)
    assert np.allclose(v[:, 0], pts[:, 0])


def test_sampled_statistics_hold_across_tessellations():
    site = np.array([[1000.0, 1000.0, 0.0], [300.0, 1000.0, 0.0]])
    got = []
    for cuts in (0, 2, 4):
        v, f = _plane(cuts)
        h, prot = _field(v)
        got.append(np.array(sampled_neighbourhood(v, f, h, prot, site, 250.0)))
    got = np.array(got)  # (tessellation, stat, site)
    # the mean of a linear field over a disc is its value at the centre; the max its value at the rim
    assert np.allclose(got[:, 2, 0], 100.0, atol=2.0)
    assert np.allclose(got[:, 1, 0], 125.0, atol=5.0)
    assert np.allclose(got[:, 2, 1], 30.0, atol=2.0)
    # the protruding share of a linearly interpolated 0/1 flag is only as sharp as the coarsest cut
    assert np.ptp(got[:, 2, :], axis=0).max() < 3.0


def test_faces_near_keeps_large_faces_reaching_the_ball():
    tri = np.array([[[-5000, -5000, 0], [5000, -5000, 0], [0, 5000, 0]],
                    [[9000, 9000, 0], [9100, 9000, 0], [9000, 9100, 0]]], float)
    assert faces_near(tri, np.array([[0.0, 0.0, 10.0]]), 250.0).tolist() == [0]

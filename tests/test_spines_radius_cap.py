"""A chunk radius held to its skeleton neighbours' (neurd_lite.spines.radius_cap, opt-in)."""
from __future__ import annotations

import numpy as np

from neurd_lite.spines import SpineParams
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.radius_cap import cap_chunk_radius
from neurd_lite.spines.shaft import ShaftParams, shaft_field


def test_an_inflated_chunk_takes_its_neighbours_median_and_nothing_else_moves():
    r = np.array([300.0, 310.0, 320.0, 900.0, 305.0, 315.0, 410.0])
    a = np.arange(6)
    r2, capped = cap_chunk_radius(r, np.r_[a, a + 1], np.r_[a + 1, a], 1.5)  # a chain of 7 chunks
    assert capped.tolist() == [False, False, False, True, False, False, False]
    assert r2[3] == np.median([310.0, 320.0, 305.0, 315.0])
    assert np.array_equal(np.delete(r2, 3), np.delete(r, 3))
    assert np.array_equal(cap_chunk_radius(r, a, a + 1, 0.0)[0], r)  # off


def test_cap_leaves_a_plain_spiny_tube_alone():
    mesh, _, skel = spiny_cylinder(n_spines=6, seed=3, stubby_every=3, noise_nm=10)
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    p = SpineParams().shaft
    a = shaft_field(v, f, skel, None, p)
    b = shaft_field(v, f, skel, None, ShaftParams(**{**p.__dict__, "cap_neighbour_ratio": 1.5}))
    assert np.allclose(a.radius_nm, b.radius_nm, equal_nan=True)

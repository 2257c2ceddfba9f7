"""The inscribed-circle shaft axis (spines.inscribed_axis): sections, the off-shaft criterion, the move."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.skeleton.model import Skeleton
from neurd_lite.spines.inscribed_axis import (_plane_basis, fixed_vertices, inscribed_skeleton, off_shaft_share,
                                              section_outlines, spaced_vertices)

pytest.importorskip("manifold3d")
R = 400.0


@pytest.fixture(scope="module")
def spiny():
    from neurd_lite.spines.adapters import spiny_cylinder

    mesh, truth, _ = spiny_cylinder(n_spines=6, seed=3, length_nm=5000.0, radius_nm=R, noise_nm=5.0)
    return np.asarray(mesh.vertices), np.asarray(mesh.faces), truth


def _line(offset_nm: float) -> Skeleton:
    z = np.arange(-1500.0, 1501.0, 50.0)
    v = np.column_stack([np.full(len(z), offset_nm), np.zeros(len(z)), z])
    e = np.column_stack([np.arange(len(z) - 1), np.arange(1, len(z))])
    return Skeleton(v, e, np.full(len(z), R), 0)


def test_a_section_of_a_noisy_tube_is_one_closed_outline_of_its_area(spiny):
    v, f, _ = spiny
    normal = np.array([0.0, 0.0, 1.0])
    polys = section_outlines(v, f, np.array([0.0, 0.0, 2200.0]), normal, _plane_basis(normal))  # no spine there
    big = max(polys, key=lambda p: p.area)
    assert big.area == pytest.approx(np.pi * R ** 2, rel=0.05)
    assert sum(p.area for p in polys) - big.area < 0.01 * big.area


def test_a_centred_skeleton_is_on_its_shaft_and_stays(spiny):
    v, f, _ = spiny
    ok = np.ones(len(f), dtype=bool)
    skel = _line(0.0)
    assert off_shaft_share(skel, v, f, ok) < 0.1
    out, moved, _ = inscribed_skeleton(skel, v, f, ok, 0.3)
    assert not moved.any() and out is skel


def test_a_skeleton_half_a_radius_off_moves_onto_the_tube_axis(spiny):
    v, f, _ = spiny
    ok = np.ones(len(f), dtype=bool)
    skel = _line(0.5 * R)
    share = off_shaft_share(skel, v, f, ok)
    assert share == pytest.approx(0.5, abs=0.1)
    out, moved, got = inscribed_skeleton(skel, v, f, ok, 0.3)
    assert got == share and moved.mean() > 0.9
    assert np.median(np.linalg.norm(out.vertices[:, :2], axis=1)) < 0.1 * R
    assert np.array_equal(out.edges, skel.edges)


def test_sections_every_few_vertices_move_the_skeleton_as_every_vertex_does(spiny):
    v, f, _ = spiny
    ok = np.ones(len(f), dtype=bool)
    skel = _line(0.5 * R)
    every, _, _ = inscribed_skeleton(skel, v, f, ok, 0.3, every=1)
    sparse, moved, _ = inscribed_skeleton(skel, v, f, ok, 0.3, every=8)  # 400 nm apart
    assert len(spaced_vertices(skel, np.ones(skel.n_vertices, bool), 8)) < skel.n_vertices / 6
    assert moved.mean() > 0.9
    assert np.median(np.linalg.norm(sparse.vertices - every.vertices, axis=1)) < 0.1 * R


def test_perisomatic_vertices_stay_and_anchor_the_move(spiny):
    from types import SimpleNamespace

    v, f, _ = spiny
    ok = np.ones(len(f), dtype=bool)
    skel = _line(0.5 * R)
    soma = SimpleNamespace(center_nm=np.array([0.5 * R, 0.0, -1500.0]), radius_nm=500.0)
    fixed = fixed_vertices(skel, v, f, ok, np.full(skel.n_vertices, 4 * R), (soma,), 1.2)
    assert fixed[:13].all() and not fixed[13:].any()  # within 600 nm of the soma centre (50 nm steps)
    out, moved, _ = inscribed_skeleton(skel, v, f, ok, 0.3, fixed=fixed)
    assert not moved[fixed].any() and np.array_equal(out.vertices[fixed], skel.vertices[fixed])
    assert moved[~fixed].mean() > 0.9
    bad = ~ok
    bad[np.argmin(np.linalg.norm(v[f].mean(1) - [0.0, 0.0, 1500.0], axis=1))] = True  # a left-out face at the top
    near_top = fixed_vertices(skel, v, f, ~bad, np.full(skel.n_vertices, 4 * R))
    assert near_top[-1] and not near_top[0]

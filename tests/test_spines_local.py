"""Local shafts for dendrite surface no skeleton reached (neurd_lite.spines.local_shaft, opt-in)."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.local_shaft import fit_line_shaft

RULES = SpineParams(normalise_edge_nm=0.0, vertex_model=False)  # the rules alone (the default adds the ring model)
LOCAL = SpineParams(local_shaft_far_nm=700.0, local_shaft_min_area_nm2=3.0e6, local_shaft_cell_nm=3000.0,
                    normalise_edge_nm=0.0, vertex_model=False)
OFFSET = np.array([3000.0, 0.0, 0.0])


def test_line_fit_recovers_a_partial_tube_with_spines_on_it():
    rng = np.random.default_rng(0)
    t = np.array([1.0, 1.0, 0.5]) / 1.5
    u = np.cross(t, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(t, u)
    ang = rng.uniform(0.0, 4.2, 3000)  # 240 degrees of the circumference
    s = rng.uniform(-2000.0, 2000.0, 3000)
    rad = np.where(rng.random(3000) < 0.1, rng.uniform(600.0, 1500.0, 3000), 500.0)  # 10 % spine points
    centre = np.array([1000.0, -300.0, 200.0])
    pts = centre + s[:, None] * t + rad[:, None] * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
    c, d, r = fit_line_shaft(pts + rng.normal(0, 10.0, pts.shape), np.ones(len(pts)), 0.45)
    assert abs(d @ t) > 0.99
    assert np.linalg.norm(np.cross(c - centre, t)) < 30.0
    assert r == pytest.approx(500.0, abs=30.0)


@pytest.fixture(scope="module")
def two_tubes():
    """A spiny tube with its skeleton and a parallel spiny tube 3 µm away that has none (nm)."""
    import trimesh

    m1, t1, skel = spiny_cylinder(n_spines=6, seed=3, stubby_every=3, noise_nm=10)
    m2, t2, _ = spiny_cylinder(n_spines=6, seed=5, stubby_every=3, noise_nm=10)
    m2.apply_translation(OFFSET)
    heads = np.vstack([t1[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy(),
                       t2[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy() + OFFSET])
    radii = np.r_[t1.head_radius_nm, t2.head_radius_nm]
    return trimesh.util.concatenate([m1, m2]), skel, heads, radii


def _head_spines(mesh, skel, heads, radii, params: SpineParams) -> list[int]:
    """Detected spine id holding each true head's faces (-1: missed)."""
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, params)
    fc = n.mesh.triangles_center
    out = []
    for h, r in zip(heads, radii):
        s = n.face_spine[np.linalg.norm(fc - h, axis=1) < 1.1 * r]
        out.append(int(np.bincount(s[s >= 0]).argmax()) if (s >= 0).any() else -1)
    return out


def test_spines_on_a_tube_without_skeleton_need_the_local_shaft(two_tubes):
    mesh, skel, heads, radii = two_tubes
    base = np.array(_head_spines(mesh, skel, heads, radii, RULES))
    local = np.array(_head_spines(mesh, skel, heads, radii, LOCAL))
    assert (base[6:] >= 0).sum() <= 2  # measured against the other tube's axis
    assert (local[6:] >= 0).sum() >= 5 and len(np.unique(local[6:][local[6:] >= 0])) == (local[6:] >= 0).sum()
    assert (local[:6] >= 0).sum() >= (base[:6] >= 0).sum()


def test_local_shaft_leaves_a_skeletonised_dendrite_alone():
    mesh, _, skel = spiny_cylinder(n_spines=6, seed=3, stubby_every=3, noise_nm=10)
    a, b = Neuron(mesh=mesh, skeleton=skel), Neuron(mesh=mesh, skeleton=skel)
    detect_spines(a, RULES)
    detect_spines(b, LOCAL)
    assert np.array_equal(a.face_spine, b.face_spine)
    assert b.provenance["spines_notes"]["local_shaft_vertices"] == 0

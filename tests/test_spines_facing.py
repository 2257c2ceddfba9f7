"""A neighbouring branch's surface kept out of a shaft's radius and distance (ShaftParams.facing_*, opt-in)."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.skeleton.model import Skeleton
from neurd_lite.spines.facing import radial_cos, reassign_facing
from neurd_lite.spines.shaft import ShaftParams, shaft_field, vertex_normals

FACING = ShaftParams(facing_cos=0.5, facing_reassign=True)


def _tube(radius_nm: float, x_nm: float, length_nm: float = 8000.0):
    import trimesh
    from trimesh.creation import cylinder

    c = cylinder(radius=radius_nm, height=length_nm, sections=32)
    m = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(c.vertices, c.faces, 200.0))
    m.apply_translation([x_nm, 0.0, 0.0])
    return m


def _pair(r1: float, r2: float, gap_nm: float, skeleton_on_second: bool = True):
    """Two parallel tubes along z, ``gap_nm`` apart surface to surface, and a skeleton along each axis (or only
    along the first). Returns the mesh, the skeleton and the number of vertices of the first tube."""
    import trimesh

    a, b = _tube(r1, 0.0), _tube(r2, r1 + gap_nm + r2)
    z = np.arange(-3800.0, 3801.0, 400.0)
    n = len(z)
    line = np.c_[np.arange(n - 1), np.arange(1, n)]
    verts, edges, rad = np.c_[0 * z, 0 * z, z], line, np.full(n, r1)
    if skeleton_on_second:
        verts = np.vstack([verts, np.c_[0 * z + r1 + gap_nm + r2, 0 * z, z]])
        edges, rad = np.vstack([line, line + n]), np.r_[rad, np.full(n, r2)]
    return trimesh.util.concatenate([a, b]), Skeleton(verts, edges, rad, 0), len(a.vertices)


def _medians(mesh, skel, n_a: int, params: ShaftParams) -> tuple[float, float, float]:
    """Median fitted radius on each tube's middle and the largest protrusion on the first tube's middle (nm)."""
    f = shaft_field(mesh.vertices, mesh.faces, skel, params=params)
    mid = np.abs(np.asarray(mesh.vertices)[:, 2]) < 2500.0
    a, b = mid.copy(), mid.copy()
    a[n_a:], b[:n_a] = False, False
    return float(np.nanmedian(f.radius_nm[a])), float(np.nanmedian(f.radius_nm[b])), float(
        np.nanmax(f.protrusion_nm[a]))


def test_radial_cosine_is_one_on_a_round_tube_and_negative_on_a_wall_facing_the_axis():
    m = _tube(500.0, 0.0)
    v = np.asarray(m.vertices)
    nrm = vertex_normals(v, np.asarray(m.faces))
    pts = np.array([[0.0, 0.0, 0.0], [1400.0, 0.0, 0.0]])
    tang = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    side = np.abs(v[:, 2]) < 3000
    own = radial_cos(v[side], nrm[side], pts, tang, np.zeros(side.sum(), np.int64))
    assert own.min() > 0.95
    far = radial_cos(v[side], nrm[side], pts, tang, np.ones(side.sum(), np.int64))
    near_wall = v[side][:, 0] > 400  # the wall turned towards the second axis
    assert (far[near_wall] < 0).all()
    d0 = np.linalg.norm(v[side] - pts[1], axis=1)
    d, s, cos = reassign_facing(v[side], nrm[side], pts, tang, d0, np.ones(side.sum(), np.int64), 0.5)
    assert (s[near_wall] == 0).all() and (cos[near_wall] > 0.95).all()


@pytest.mark.parametrize("r1, r2, gap", [(1500.0, 400.0, 1000.0), (1200.0, 300.0, 500.0), (500.0, 500.0, 1000.0)])
def test_parallel_tubes_keep_their_radius_and_no_wall_reads_as_a_protrusion(r1, r2, gap):
    mesh, skel, n_a = _pair(r1, r2, gap)
    ra, rb, prot = _medians(mesh, skel, n_a, FACING)
    assert ra == pytest.approx(r1, rel=0.1) and rb == pytest.approx(r2, rel=0.1)
    assert prot < 100.0
    if r1 > r2:  # without the option the thick tube's wall is measured from the thin tube's axis
        assert _medians(mesh, skel, n_a, ShaftParams())[2] > 400.0


def test_a_neighbour_without_skeleton_inflates_the_radius_less():
    mesh, skel, n_a = _pair(400.0, 800.0, 1000.0, skeleton_on_second=False)
    plain = _medians(mesh, skel, n_a, ShaftParams())[0]
    facing = _medians(mesh, skel, n_a, ShaftParams(facing_cos=0.5))[0]
    assert plain > 1.3 * 400.0  # the neighbour's surface (twice the tube's own) sets the radius
    assert facing == pytest.approx(400.0, rel=0.1)

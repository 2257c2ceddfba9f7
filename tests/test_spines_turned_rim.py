"""The turned-surface test of the dense spines' rim (spines/turned_rim.py): a shaft wall's normal is radial, a
surface rising from it (a fillet, a neck base) is turned."""
from types import SimpleNamespace

import numpy as np
import trimesh

from neurd_lite.spines.turned_rim import turned_vertices


def _field(verts: np.ndarray) -> SimpleNamespace:
    """An axis along z through the origin, sampled every 50 nm; each vertex reads its nearest sample."""
    z = np.arange(-2000.0, 2001.0, 50.0)
    pts = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])
    s = np.abs(verts[:, 2][:, None] - z[None]).argmin(1)
    return SimpleNamespace(sample_index=s, sample_points_nm=pts, sample_tangent=np.tile([0.0, 0.0, 1.0], (len(z), 1)))


def test_wall_is_not_turned_and_a_flat_sheet_is():
    wall = trimesh.creation.cylinder(radius=500.0, height=3000.0, sections=64)
    wall = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(wall.vertices, wall.faces, 60.0))
    gx, gy = np.meshgrid(np.linspace(700.0, 1000.0, 11), np.linspace(-150.0, 150.0, 11))
    sheet = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, 3000.0)])  # flat: normals along +z
    q = np.arange(121).reshape(11, 11)[:-1, :-1].ravel()
    tri = np.concatenate([np.column_stack([q, q + 1, q + 12]), np.column_stack([q, q + 12, q + 11])])
    mesh = trimesh.util.concatenate([wall, trimesh.Trimesh(sheet, tri, process=False)])
    v, f = np.asarray(mesh.vertices, float), np.asarray(mesh.faces)
    on_wall = (np.abs(np.hypot(v[:, 0], v[:, 1]) - 500.0) < 1.0) & (np.abs(v[:, 2]) < 1200.0)
    on_top = np.abs(v[:, 2] - 3000.0) < 0.1  # the sheet (normal +z: 90 degrees to radial)
    cand = np.flatnonzero(on_wall | on_top)
    fld = _field(v)
    fld.sample_index[on_top] = len(fld.sample_points_nm) - 1  # the sheet reads the axis end below it
    t = turned_vertices(v, f, fld, cand, 30.0, 0.5)
    assert on_wall.sum() > 100 and on_top.sum() > 50
    assert not t[on_wall].any()
    assert t[on_top].all()
    assert not t[~(on_wall | on_top)].any()  # only candidates are tested

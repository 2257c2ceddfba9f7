"""``spines/over_cap.py``: a region over the spine caps is split into the spines standing on it."""
from types import SimpleNamespace

import numpy as np
import trimesh

from neurd_lite.geometry.meshes import vertex_areas_nm2
from neurd_lite.spines.over_cap import over_cap_labels, split_over_caps
from neurd_lite.spines.params import SpineParams


def _patch(step: float = 80.0):
    """A flat grid 8 x 3 um (nm) whose z is the protrusion: a raised band of 100 nm with two 600 nm bumps."""
    xs, ys = np.arange(0, 8000 + step, step), np.arange(0, 3000 + step, step)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    h = 100.0 + sum(600.0 * np.exp(-((X - cx) ** 2 + (Y - 1500.0) ** 2) / (2 * 250.0 ** 2)) for cx in (2000.0, 6000.0))
    verts = np.column_stack([X.ravel(), Y.ravel(), h.ravel()])
    nx, ny = len(xs), len(ys)
    i = (np.arange(nx - 1)[:, None] * ny + np.arange(ny - 1)[None, :]).ravel()
    faces = np.vstack([np.column_stack([i, i + ny, i + 1]), np.column_stack([i + 1, i + ny, i + ny + 1])])
    return verts, faces, h.ravel()


def _run(verts, faces, h, q=0.25):
    m = trimesh.Trimesh(verts, faces, process=False)
    e = np.asarray(m.edges_unique)
    va = vertex_areas_nm2(faces, np.asarray(m.area_faces), len(verts))
    fld = SimpleNamespace(protrusion_nm=h, radius_nm=np.full(len(h), 1000.0), spread_nm=None)
    border = np.zeros(len(h), dtype=bool)  # the grid's outer ring: the unlabelled shaft around the region
    x, y = verts[:, 0], verts[:, 1]
    border[(x == x.min()) | (x == x.max()) | (y == y.min()) | (y == y.max())] = True
    label = np.where(border, -1, 0)
    p = SpineParams(over_cap_level_quantile=q)
    return split_over_caps(verts, faces, e, va, fld, np.ones(len(h), dtype=bool), label, p), (verts, faces, e, p)


def test_over_cap_region_splits_into_its_bumps():
    verts, faces, h = _patch()
    (new, n_split), (_, _, e, p) = _run(verts, faces, h)
    assert n_split == 1
    peaks = [np.argmin(np.hypot(verts[:, 0] - cx, verts[:, 1] - 1500.0)) for cx in (2000.0, 6000.0)]
    assert sorted(np.unique(new[new >= 0]).tolist()) == [0, 1]
    assert new[peaks[0]] >= 0 and new[peaks[1]] >= 0 and new[peaks[0]] != new[peaks[1]]
    assert (new[h < 150.0] == -1).all()  # the raised band itself goes back to the shaft
    assert len(over_cap_labels(verts, faces, e, new, np.ones(len(h), dtype=bool), p)) == 0


def test_off_and_within_caps_leave_labels_alone():
    verts, faces, h = _patch()
    (new, n_split), _ = _run(verts, faces, h, q=None)
    assert n_split == 0 and (new == np.where(new >= 0, 0, -1)).all()
    small = (np.abs(verts[:, 0] - 2000.0) < 600) & (np.abs(verts[:, 1] - 1500.0) < 600)  # one bump alone
    keep = np.flatnonzero(small)
    remap = np.full(len(verts), -1)
    remap[keep] = np.arange(len(keep))
    f = faces[small[faces].all(1)]
    (new2, n2), _ = _run(verts[keep], remap[f], h[keep])
    assert n2 == 0


def test_split_does_not_depend_on_vertex_listing_order():
    verts, faces, h = _patch()
    (a, _), _ = _run(verts, faces, h)
    perm = np.random.default_rng(0).permutation(len(verts))
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    (b, _), _ = _run(verts[perm], inv[faces], h[perm])
    assert (b[inv] == a).all()

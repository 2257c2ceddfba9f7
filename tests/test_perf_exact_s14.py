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


def test_subdivision_points_equal_trimesh_vertices():
    """The corners met while splitting each face on its own are trimesh's subdivide_to_size vertices (as a set,
    with the input vertices), on stretched, noisy spheres at several edge limits; max_iter fails where it fails."""
    import pytest
    import trimesh

    from neurd_lite.geometry.subdivide import subdivision_points

    rng = np.random.default_rng(3)
    for s in range(6):
        ico = trimesh.creation.icosphere(subdivisions=2, radius=1000.0)
        v = np.asarray(ico.vertices) * rng.uniform(0.5, 3.0, 3) + rng.normal(scale=50.0, size=ico.vertices.shape)
        f = np.asarray(ico.faces)[rng.random(len(ico.faces)) < 0.8]  # open, with unused vertices
        max_edge = float(rng.uniform(60.0, 400.0))
        ref = trimesh.remesh.subdivide_to_size(v, f, max_edge=max_edge, max_iter=10)[0]
        got = np.concatenate([v, subdivision_points(v, f, max_edge)])
        assert np.array_equal(np.unique(ref, axis=0), np.unique(got, axis=0))
    with pytest.raises(ValueError, match="max_iter"):
        subdivision_points(v, f, 1.0, max_iter=2)


def test_surface_problem_distinct_shortcut_same_answer():
    """The low-bit count only ever answers "fewer than half repeat" when a full sort says so too: meshes with
    0 %, 40 %, 50 % and 100 % of their faces listed twice (the flag starts at half)."""
    import trimesh

    from neurd_lite.io import meshes as im

    ico = trimesh.creation.icosphere(subdivisions=5, radius=1000.0)
    v, f = np.asarray(ico.vertices), np.asarray(ico.faces, dtype=np.int64)
    rng = np.random.default_rng(0)
    for share in (0.0, 0.4, 0.5, 1.0):
        twice = f[rng.permutation(len(f))[:int(share * len(f))]][:, ::-1]
        g = np.vstack([f, twice])
        key = np.sort(im._corner_set_keys(g, len(v)))
        repeats = int((key[1:] == key[:-1]).sum())
        flagged = im.surface_problem(v, g) is not None
        assert flagged == (repeats * 2 >= len(g))
        if im._many_distinct(im._corner_set_keys(g, len(v))):
            assert repeats * 2 < len(g)

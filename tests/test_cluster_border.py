"""cluster_reduce(keep_border=True) (DecimateParams.prereduce_cluster_keep_border, opt-in): a cut opening keeps
its outline and its plane (session 24: clustered, the real cell's cut second soma leaked and was lost)."""
import dataclasses

import numpy as np
import trimesh

from neurd_lite.mesh.cluster import border_vertices, cluster_reduce
from neurd_lite.mesh.decimate import _prereduce_large
from neurd_lite.mesh.params import DecimateParams, SomaParams


def _cut_sphere() -> tuple[np.ndarray, np.ndarray]:
    """A fine sphere of radius 1000 nm with its cap above z = 600 nm removed (an opening on a flat cut)."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=1000.0)
    keep = s.triangles_center[:, 2] < 600.0
    m = s.submesh([np.flatnonzero(keep)], append=True)
    return np.asarray(m.vertices), np.asarray(m.faces)


def test_border_vertices_are_the_ends_of_edges_used_once() -> None:
    v, f = _cut_sphere()
    want = np.zeros(len(v), dtype=bool)
    t = trimesh.Trimesh(v, f, process=False)
    want[t.edges_sorted[trimesh.grouping.group_rows(t.edges_sorted, require_count=1)].reshape(-1)] = True
    got = border_vertices(f, len(v))
    assert want.sum() > 50 and np.array_equal(got, want)
    closed = trimesh.creation.icosphere(subdivisions=2)
    assert not border_vertices(np.asarray(closed.faces), len(closed.vertices)).any()


def test_keep_border_keeps_the_outline_on_its_plane() -> None:
    """keep_border: every input border vertex is still a vertex, exactly, nothing stands above the cut, and the
    opening keeps at least as many border vertices; clustered as usual (off), most border vertices move
    (10 of 360 stay at 3000 faces) and the opening's outline thins (263 border vertices)."""
    v, f = _cut_sphere()
    on = border_vertices(f, len(v))
    top = v[:, 2].max()
    for keep in (False, True):
        cv, cf = cluster_reduce(v, f, 3000, keep_border=keep)
        assert len(cf) < 0.2 * len(f)
        stays = (cv[None, :, :] == v[on][:, None, :]).all(axis=2).any(axis=1)
        border_after = border_vertices(cf, len(cv)).sum()
        if keep:
            assert stays.all() and cv[:, 2].max() <= top and border_after >= on.sum()
        else:
            assert stays.mean() < 0.5 and border_after < on.sum()


def test_clip_box_keeps_every_point_inside_the_input_box() -> None:
    """On a noisy cut sphere (10 nm vertex noise) the unclipped quadric points stand beyond the box (18 nm above
    the cut at 300 faces); clipped, none does, and the clusters are the same (only their points move)."""
    v, f = _cut_sphere()
    v = v + np.random.default_rng(0).normal(0.0, 10.0, v.shape)
    lo, hi = v.min(axis=0), v.max(axis=0)
    free, ff = cluster_reduce(v, f, 300)
    assert (free > hi).any() or (free < lo).any()
    cv, cf = cluster_reduce(v, f, 300, clip_box=True)
    assert np.all(cv >= lo) and np.all(cv <= hi)
    assert np.array_equal(cf, ff)
    inside = np.all((free >= lo) & (free <= hi), axis=1)
    assert np.array_equal(cv[inside], free[inside])


def _cut_soma() -> tuple[np.ndarray, np.ndarray]:
    """A soma-sized sphere (radius 5 µm) cut flat at z = 0 by the volume's edge (the opening left open), 10 nm
    vertex noise off the cut plane."""
    s = trimesh.creation.icosphere(subdivisions=6, radius=5000.0)
    m = trimesh.intersections.slice_mesh_plane(s, plane_normal=[0, 0, -1], plane_origin=[0, 0, 0])
    m.remove_unreferenced_vertices()
    v, f = np.array(m.vertices), np.asarray(m.faces)
    off = np.abs(v[:, 2]) > 1e-6
    v[off] += np.random.default_rng(0).normal(0.0, 10.0, (np.count_nonzero(off), 3))
    return v, f


def test_default_cluster_path_keeps_a_cut_soma_wall() -> None:
    """Through the default cluster pre-reduction (sizes scaled down) nothing stands beyond a cut soma's wall, so
    the soma stage's ``cut_sides`` finds the wall's vertices within ``cut_tol_nm`` of the box side; unclipped,
    quadric points stand beyond it and a fifth of them fall out of that band (the real cell's second soma at
    5.2M faces: ~100 nm beyond, missed, the soma leaked; docs/benchmarks.md "Session 24")."""
    v, f = _cut_soma()
    tol = SomaParams().cut_tol_nm
    default = dataclasses.replace(DecimateParams(), target_faces=4000, prereduce_to_faces=8000)
    assert default.prereduce_method == "cluster"
    counts = {}
    unclipped = dataclasses.replace(default, prereduce_cluster_clip_box=False)
    for name, p in (("default", default), ("unclipped", unclipped)):
        cv, cf = _prereduce_large(v, f, p)[:2]  # (and the vertex map of prereduce_cluster_map)
        assert 6000 < len(cf) < 10000
        on_wall = np.count_nonzero(cv[:, 2] > -tol)  # near the cut plane itself
        counts[name] = (cv[:, 2].max(), on_wall, np.count_nonzero(cv[:, 2] > cv[:, 2].max() - tol))
    top, on_wall, near_top = counts["default"]
    assert top <= v[:, 2].max() and near_top == on_wall > 100
    top, on_wall, near_top = counts["unclipped"]
    assert top > v[:, 2].max() + 10.0 and near_top < 0.9 * on_wall

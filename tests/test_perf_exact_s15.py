"""Session 15 exact speed-ups (issue 23): each fast path gives the plain computation's values bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import neurd_lite.spines.axis_profile as ap
import neurd_lite.spines.shaft_axis as sh  # the axis fits (moved from spines/shaft.py)
from neurd_lite.geometry.stats import group_mode, group_normal_equations


def _mode_loop(group, values, n_groups, default):
    """Per group the most common value, ties to the smallest (the documented rule), by a plain loop."""
    out = [default] * n_groups
    for g in range(n_groups):
        vals = [v for gg, v in zip(group, values) if gg == g]
        if vals:
            u, c = np.unique(np.asarray(vals), return_counts=True)
            out[g] = u[np.argmax(c)]
    return out


@pytest.mark.parametrize("kind", ["int", "str", "float"])
def test_group_mode_matches_loop(kind):
    rng = np.random.default_rng(3)
    for _ in range(20):
        n, ng = int(rng.integers(0, 400)), int(rng.integers(1, 30))
        g = rng.integers(0, ng, n)
        v = {"int": rng.integers(-3, 6, n), "str": rng.choice(np.array(["axon", "basal", "apical"]), n),
             "float": rng.integers(0, 4, n) / 2.0}[kind]
        default = "none" if kind == "str" else -1
        got = group_mode(g, v, ng, default)
        assert list(got) == _mode_loop(g, v, ng, default)


def test_axis_profiles_batched_samples_equal_one_spine_at_a_time(monkeypatch):
    rng = np.random.default_rng(5)
    tri = rng.normal(0.0, 300.0, (400, 3, 3)) + np.repeat(rng.normal(0, 2000, (8, 1, 3)), 50, axis=0)
    spine = np.repeat(np.arange(8), 50)[rng.permutation(400)]
    bases = rng.normal(0.0, 2000.0, (8, 3))
    whole = ap.axis_profiles(tri, spine, bases)
    monkeypatch.setattr(ap, "SAMPLE_BATCH", 1)  # every spine's samples in a call of their own
    single = ap.axis_profiles(tri, spine, bases)
    for a, b in zip(whole, single):
        for f in ("base_nm", "axis", "t_nm", "radius_nm", "neck_radius_nm", "head_radius_nm", "t_split_nm", "t_max_nm"):
            assert np.asarray(getattr(a, f)).tobytes() == np.asarray(getattr(b, f)).tobytes(), f


def test_group_normal_equations_bool_weights_equal_float_weights():
    """A bool mask as weights gives the float 0 / 1 weights' sums bit for bit (finite data, and the non-finite
    fallback path)."""
    rng = np.random.default_rng(5)
    for trial in range(40):
        k, m = int(rng.integers(1, 3000)), int(rng.integers(1, 60))
        grp, w = rng.integers(0, m, k), rng.random(k) < rng.random()
        feats = [rng.normal(size=k) * 10.0 ** rng.integers(-2, 4) for _ in range(int(rng.integers(1, 6)))]
        q = rng.normal(size=k)
        if trial % 5 == 4:
            feats[0][int(rng.integers(k))] = np.nan
        got = group_normal_equations(grp, w, feats, q, m)
        want = group_normal_equations(grp, w.astype(float), feats, q, m)
        assert got[0].tobytes() == want[0].tobytes() and got[1].tobytes() == want[1].tobytes()


def test_plane_offsets_columns_equal_row_arithmetic():
    """The (3, K) column offsets of the window pairs equal the (K, 3) row computation bit for bit."""
    rng = np.random.default_rng(6)
    cloud, pts = rng.normal(size=(500, 3)) * 900.0, rng.normal(size=(40, 3)) * 900.0
    tang = rng.normal(size=(40, 3))
    tang /= np.linalg.norm(tang, axis=1)[:, None]
    pairs = (rng.integers(0, 500, 3000), rng.integers(0, 40, 3000))
    o, near = sh._plane_offsets(sh._paired(cloud, tang, pairs), pts, 600.0)
    ro = cloud[pairs[0]] - pts[pairs[1]]
    along = (ro * tang[pairs[1]]).sum(1)
    ro -= along[:, None] * tang[pairs[1]]
    assert o.T.tobytes() == np.ascontiguousarray(ro).tobytes()
    assert np.array_equal(near, np.abs(along) <= 600.0)
    assert sh._cdot3(o, o).tobytes() == (ro * ro).sum(1).tobytes()


def test_proximity_links_open_edges_match_group_rows():
    """The open-edge vertices from edges_unique_inverse counts are group_rows(require_count=1)'s."""
    trimesh = pytest.importorskip("trimesh")
    from neurd_lite.spines.detect import proximity_links
    from neurd_lite.spines.pieces import open_vertices

    box = trimesh.creation.icosphere(subdivisions=2)
    cut = trimesh.Trimesh(box.vertices, box.faces[box.triangles_center[:, 2] < 0.3], process=False)
    two = trimesh.util.concatenate([cut, cut.copy().apply_translation([0.0, 0.0, 0.65])])
    edges = np.asarray(two.edges_sorted)
    want = np.unique(edges[trimesh.grouping.group_rows(edges, require_count=1)].reshape(-1))
    assert np.array_equal(open_vertices(two), want)
    links = proximity_links(two, 0.4)
    assert len(links) and np.isin(links, want).all()

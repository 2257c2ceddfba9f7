"""``SkeletonParams.untraced_reach_nm``: a short side branch TEASAR leaves untraced gets its own path."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.skeleton import SkeletonParams, skeletonize
from neurd_lite.testing.meshing import resample, tube, union_parts

OFF = SkeletonParams(untraced_reach_nm=0.0)

pytest.importorskip("manifold3d")


def _tee(branch_um: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 40 µm trunk (r 400 nm) along x with a ``branch_um`` side branch (r 300 nm) along y from its middle;
    returns (vertices nm, faces, the branch tip nm)."""
    trunk = resample(np.array([[0.0, 0, 0], [40000, 0, 0]]), np.array([400.0, 400.0]), 300.0)
    tip = np.array([20000.0, branch_um * 1000, 0])
    side = resample(np.array([[20000.0, 0, 0], tip]), np.array([300.0, 300.0]), 300.0)
    v, f, _, _ = union_parts([tube(*trunk, 16), tube(*side, 12)], np.zeros(3))
    return v, f, tip


def _gap(sk, tip: np.ndarray) -> float:
    return float(np.linalg.norm(sk.vertices - tip, axis=1).min())


def test_short_branch_traced_only_with_the_option():
    v, f, tip = _tee(8.0)
    off = skeletonize((v, f), params=OFF)
    on = skeletonize((v, f), params=SkeletonParams(untraced_reach_nm=5000.0))
    assert _gap(off.skeleton, tip) > 5000  # TEASAR's 12 µm cover leaves the 8 µm branch untraced
    assert _gap(on.skeleton, tip) < 1000
    assert on.stats["n_untraced_branches"] == 1
    assert (on.vertex_to_skeleton >= 0).all()
    length = on.skeleton.edge_lengths_nm.sum() - off.skeleton.edge_lengths_nm.sum()
    assert 6000 < length < 10000


def test_plain_tube_unchanged():
    v, f = tube(*resample(np.array([[0.0, 0, 0], [30000, 0, 0]]), np.array([400.0, 400.0]), 300.0), 16)
    off = skeletonize((v, f), params=OFF)
    on = skeletonize((v, f), params=SkeletonParams(untraced_reach_nm=5000.0))
    assert "n_untraced_branches" not in on.stats
    np.testing.assert_array_equal(on.skeleton.vertices, off.skeleton.vertices)
    np.testing.assert_array_equal(on.vertex_to_skeleton, off.vertex_to_skeleton)


def test_no_branch_from_the_soma_reach():
    """A side branch whose path runs through a soma's reach (a soma bulge) is covered, never traced: collapsed
    into the soma it would become a stem."""
    v, f, tip = _tee(8.0)
    centre, radius = np.array([[20000.0, -2500.0, 0.0]]), np.array([3000.0])  # reach 4.5 µm: base in, tip out
    off = skeletonize((v, f), soma_centers_nm=centre, soma_radii_nm=radius, params=OFF)
    on = skeletonize((v, f), soma_centers_nm=centre, soma_radii_nm=radius,
                     params=SkeletonParams(untraced_reach_nm=5000.0))
    assert "n_untraced_branches" not in on.stats
    np.testing.assert_array_equal(on.skeleton.vertices, off.skeleton.vertices)
    assert _gap(on.skeleton, tip) > 5000


@pytest.mark.parametrize("with_soma", [False, True])
def test_traced_cable_left_where_the_trace_puts_it(with_soma: bool):
    """The option adds cable and never moves or re-measures the cable it did not add: the old vertices keep the
    default's positions, radii and root distances (a re-centred junction would shorten the path and shift the
    spine stage's chunk grid along the rest of the dendrite); ``Skeleton.traced`` marks them."""
    v, f, tip = _tee(8.0)
    kw = dict(soma_centers_nm=np.array([[-4000.0, 0.0, 0.0]]), soma_radii_nm=np.array([2500.0])) if with_soma else {}
    off = skeletonize((v, f), params=OFF, **kw).skeleton
    on = skeletonize((v, f), params=SkeletonParams(untraced_reach_nm=5000.0), **kw).skeleton
    tr = on.traced
    assert tr.sum() == off.n_vertices and (~tr).sum() > 0 and off.traced.all()
    assert _gap(on, tip) < 1000
    d = np.linalg.norm(on.vertices[tr][:, None] - off.vertices[None], axis=2)
    i = d.argmin(1)
    assert d.min(1).max() == 0.0
    np.testing.assert_array_equal(on.radius[tr], off.radius[i])
    np.testing.assert_allclose(on.distance_to_root_nm[tr], off.distance_to_root_nm[i], atol=1e-6)
    assert np.isfinite(on.radius[~tr]).all() and abs(np.median(on.radius[~tr]) - 300) < 60  # the branch's own

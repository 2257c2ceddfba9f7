"""The error-bounded pre-reduction of large inputs (DecimateParams.prereduce_error_nm, opt-in)."""
import numpy as np
import pytest
import trimesh

from neurd_lite.mesh.decimate import DecimateParams, decimate, prereduce


def _refined_sphere() -> tuple[np.ndarray, np.ndarray, int]:
    """An icosphere (r 5 µm, nm) refined twice at edge midpoints: every added vertex lies on a flat facet, so
    collapsing it moves nothing. Returns vertices, faces and the unrefined face count."""
    m = trimesh.creation.icosphere(4, radius=5000.0)
    v, f = m.vertices, m.faces
    for _ in range(2):
        v, f = trimesh.remesh.subdivide(v, f)
    return np.asarray(v), np.asarray(f), len(m.faces)


def test_error_bound_stops_at_the_surface_detail() -> None:
    """With an absolute bound meshoptimizer removes the free refinement and stops near the facets it would have
    to move; a looser bound goes on toward the face target."""
    pytest.importorskip("meshoptimizer")
    v, f, n0 = _refined_sphere()
    tight = prereduce(v, f, 1000, error_nm=5.0)[1]
    loose = prereduce(v, f, 1000, error_nm=50.0)[1]
    assert n0 <= len(tight) <= 1.2 * n0 < len(f)
    assert len(loose) <= 1.05 * 1000


def test_error_bounded_path_only_above_the_prereduce_size() -> None:
    """The option acts on inputs above prereduce_above_faces only (others are equal to the default), reaches the
    working target there, and caps what it hands fast-simplification at prereduce_above_faces (here the tight
    bound leaves the noisy sphere nearly whole)."""
    pytest.importorskip("meshoptimizer")
    v, f, _ = _refined_sphere()
    base = dict(target_faces=2000, min_faces_to_decimate=0, min_target_faces=1000, fragmented_border_um_per_um2=None,
                prereduce_method="meshoptimizer")  # the error bound is meshoptimizer's
    small = dict(base, prereduce_above_faces=100_000)
    a = decimate(v, f, DecimateParams(**small))
    b = decimate(v, f, DecimateParams(**small, prereduce_error_nm=5.0))
    assert np.array_equal(a.faces, b.faces) and np.array_equal(a.input_to_working, b.input_to_working)
    big = dict(base, prereduce_above_faces=40_000)
    c = decimate(v, f, DecimateParams(**big, prereduce_error_nm=5.0))
    assert len(c.faces) <= 1.05 * 2000 and 0 < c.prereduced_faces <= 1.2 * 5120
    noisy = v + np.random.default_rng(0).normal(0.0, 20.0, v.shape)
    assert len(prereduce(noisy, f, 2000, error_nm=1.0)[1]) > 40_000  # the bound alone would hand it ~all faces
    d = decimate(noisy, f, DecimateParams(**big, prereduce_error_nm=1.0))
    assert 0 < d.prereduced_faces <= len(prereduce(noisy, f, 40_000)[1]) and len(d.faces) <= 1.05 * 2000
    assert d.input_to_working.min() >= 0 and d.input_to_working.max() < len(d.faces)

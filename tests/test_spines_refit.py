"""The shaft refitted without the spines found (SpineParams.refit_shaft, opt-in): densely spiny thin dendrite."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder


@pytest.fixture(scope="module")
def dense():
    """A 300 nm-radius tube with 30 mushroom spines on 10 µm (spines hold more than half of its surface)."""
    return spiny_cylinder(n_spines=30, seed=1, radius_nm=300.0, noise_nm=5)


def _run(mesh, skel, params: SpineParams):
    n = Neuron(mesh=mesh, skeleton=skel)
    fld = detect_spines(n, params)
    mid = np.abs(np.asarray(mesh.vertices)[:, 2]) < 4000.0
    return n, float(np.nanmedian(fld.radius_nm[mid]))


@pytest.fixture(scope="module")
def runs(dense):
    """(default run, refit_shaft run) of ``_run`` on the dense tube: detected once for every test below (the
    tests only read them)."""
    mesh, _, skel = dense
    return _run(mesh, skel, SpineParams()), _run(mesh, skel, SpineParams(refit_shaft=True))


def test_refit_reads_the_shaft_radius_under_dense_spines(dense, runs):
    mesh, table, skel = dense
    (base, r_base), (refit, r_refit) = runs
    assert r_base > 1.5 * 300.0  # the radius quantile lands in the spines
    assert r_refit == pytest.approx(300.0, rel=0.1)
    fc = refit.mesh.triangles_center
    heads = table[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    found = [(refit.face_spine[np.linalg.norm(fc - h, axis=1) < 1.1 * r] >= 0).any()
             for h, r in zip(heads, table.head_radius_nm)]
    assert all(found)
    assert (refit.face_spine >= 0).sum() > (base.face_spine >= 0).sum()  # more of each neck is spine


def test_refit_scale_max_measures_from_the_refit_but_gates_on_the_larger_radius(dense, runs):
    """refit_scale="max": protrusion from the spine-free radius, the radius-relative gates from the larger one."""
    from neurd_lite.spines.refit import refit_field, spine_share
    from neurd_lite.spines.shaft import ShaftParams, shaft_field

    mesh, table, skel = dense
    verts, faces = np.asarray(mesh.vertices, dtype=float), np.asarray(mesh.faces)
    first = shaft_field(verts, faces, skel, np.ones(len(faces), bool), ShaftParams())
    n = runs[0][0]  # detect_spines(Neuron(mesh, skel), SpineParams())
    skip, bad = n.face_spine >= 0, np.zeros(len(faces), bool)
    plain = refit_field(first, verts, faces, skel, bad, skip, ShaftParams())
    held = refit_field(first, verts, faces, skel, bad, skip, ShaftParams(), scale="max")
    ok = np.isfinite(first.radius_nm) & np.isfinite(plain.radius_nm)
    assert np.all(held.radius_nm[ok] >= np.maximum(first.radius_nm[ok], plain.radius_nm[ok]) - 1e-9)
    np.testing.assert_allclose(held.protrusion_nm[ok], plain.protrusion_nm[ok])
    np.testing.assert_array_equal(plain.distance_nm, first.distance_nm)  # the first axis is kept
    np.testing.assert_array_equal(plain.sample_index, first.sample_index)
    mid = np.abs(verts[:, 2]) < 4000.0
    assert np.nanmedian(held.radius_nm[mid]) > 1.5 * 300.0  # the gates keep the first radius here
    with pytest.raises(ValueError, match="refit_scale"):
        refit_field(first, verts, faces, skel, bad, skip, ShaftParams(), scale="first")
    # the share gate: the spines found hold about half of this tube's surface
    share = spine_share(first, verts, faces, ~bad, skip, 1000.0)
    assert 0.3 < np.nanmedian(share[mid]) < 0.8
    gated = refit_field(first, verts, faces, skel, bad, skip, ShaftParams(), min_share=0.3)
    np.testing.assert_allclose(gated.radius_nm[mid & (share > 0.3)], plain.radius_nm[mid & (share > 0.3)])
    none = refit_field(first, verts, faces, skel, bad, skip, ShaftParams(), min_share=0.99)
    np.testing.assert_allclose(none.radius_nm, first.radius_nm)
    # the wall test: the first radius (631 nm) lies above the spine-free surface's 0.9 quantile: replaced
    wall = refit_field(first, verts, faces, skel, bad, skip, ShaftParams(), above_quantile=0.9)
    assert np.nanmedian(wall.radius_nm[mid]) == pytest.approx(np.nanmedian(plain.radius_nm[mid]), rel=0.05)
    # a first radius on the shaft's own wall (below that quantile) is kept
    low = replace(first, radius_nm=np.full(len(verts), 250.0))
    kept = refit_field(low, verts, faces, skel, bad, skip, ShaftParams(), above_quantile=0.9)
    assert np.mean(kept.radius_nm[mid] == 250.0) > 0.95


def test_refit_scale_max_keeps_every_head_on_the_dense_tube(dense, runs):
    mesh, table, skel = dense
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, SpineParams(refit_shaft=True, refit_scale="max"))
    fc = n.mesh.triangles_center
    heads = table[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    found = [(n.face_spine[np.linalg.norm(fc - h, axis=1) < 1.1 * r] >= 0).any()
             for h, r in zip(heads, table.head_radius_nm)]
    assert all(found)
    plain = runs[1][0]  # detect_spines(Neuron(mesh, skel), SpineParams(refit_shaft=True))
    assert len(n.spines) >= len(plain.spines)

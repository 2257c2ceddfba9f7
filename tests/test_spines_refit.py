"""The shaft refitted without the spines found (SpineParams.refit_shaft, opt-in): densely spiny thin dendrite."""
from __future__ import annotations

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


def test_refit_reads_the_shaft_radius_under_dense_spines(dense):
    mesh, table, skel = dense
    base, r_base = _run(mesh, skel, SpineParams())
    refit, r_refit = _run(mesh, skel, SpineParams(refit_shaft=True))
    assert r_base > 1.5 * 300.0  # the radius quantile lands in the spines
    assert r_refit == pytest.approx(300.0, rel=0.1)
    fc = refit.mesh.triangles_center
    heads = table[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    found = [(refit.face_spine[np.linalg.norm(fc - h, axis=1) < 1.1 * r] >= 0).any()
             for h, r in zip(heads, table.head_radius_nm)]
    assert all(found)
    assert (refit.face_spine >= 0).sum() > (base.face_spine >= 0).sum()  # more of each neck is spine

"""Local depth features (``neurd_lite.celltype.local_depth``): label-free placement of a soma in its column."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurd_lite.celltype.local_depth import LOCAL_DEPTH_FEATURES, local_depth_features


def _column(n: int, seed: int = 0, pia_tilt: float = 0.0) -> pd.DataFrame:
    """Engine-named somata in a 300 x 300 µm patch: uniform depth 0-700 µm below a pia that moves by
    ``pia_tilt`` µm per µm of x, with twice the density in 250-350 µm (an 'L4') and larger somata below 400 µm."""
    rng = np.random.default_rng(seed)
    dep = np.r_[rng.uniform(0, 700, n), rng.uniform(250, 350, n // 7)]
    m = len(dep)
    x_um, z_um = rng.uniform(0, 300, m), rng.uniform(0, 300, m)
    dep = dep + pia_tilt * x_um
    vol = np.where(dep > 400, 1200.0, 600.0) * rng.uniform(0.9, 1.1, m)
    # positions in nm with y = 0: the 5° rotation turns x into xr = cos5° x (the test uses x only through it)
    return pd.DataFrame({"soma_x_nm": x_um * 1000, "soma_y_nm": 0.0, "soma_z_nm": z_um * 1000,
                         "cortical_depth_um": dep, "soma_volume_um3": vol, "nucleus_id": np.arange(m)})


def test_local_depth_places_cells_in_their_column():
    ref = _column(6000)
    centre = ref["soma_x_nm"].between(100e3, 200e3) & ref["soma_z_nm"].between(100e3, 200e3)  # full cylinders
    q = ref[centre].sample(100, random_state=1)
    f = local_depth_features(q, ref)
    assert list(f.columns) == list(LOCAL_DEPTH_FEATURES) and f.index.equals(q.index)
    assert f.notna().all(axis=None)
    dep = q["cortical_depth_um"]
    # percentile and fraction follow depth; top / bottom at the 2nd / 98th percentile of the 6,857 depths (16 and
    # 684 µm)
    assert np.corrcoef(f["local_depth_percentile"], dep)[0, 1] > 0.99
    assert np.allclose(dep - f["depth_below_local_top_um"], 16, atol=9)
    assert np.allclose(dep + f["depth_above_local_bottom_um"], 684, atol=9)
    # the density falls at 350 µm (end of the dense band), L4 cells are denser than the median, L5 ones not
    assert np.allclose(dep - f["depth_below_local_l4l5_um"], 350, atol=15)
    l4 = (dep > 270) & (dep < 330)
    assert (f.loc[l4, "local_density_rel"] > 1.4).all() and (f.loc[dep > 420, "local_density_rel"] < 1.3).all()
    # soma volume percentile is taken among cells at the same depth only (larger cells below 400 µm do not count)
    assert 0.3 < f["local_soma_volume_percentile"].mean() < 0.7


def test_local_depth_follows_a_tilted_pia():
    """A pia that deepens by 0.2 µm per µm of x: the same global depth is higher in the local column far right."""
    ref = _column(12000, pia_tilt=0.2)
    q = pd.DataFrame({"soma_x_nm": [20e3, 280e3], "soma_y_nm": 0.0, "soma_z_nm": 150e3,
                      "cortical_depth_um": [300.0, 300.0], "soma_volume_um3": 700.0})
    f = local_depth_features(q, ref, radius_um=40.0, min_cells=100)
    assert f["local_depth_percentile"].iloc[0] > f["local_depth_percentile"].iloc[1] + 0.05
    assert f["depth_below_local_top_um"].iloc[0] - f["depth_below_local_top_um"].iloc[1] == pytest.approx(52, abs=20)


def test_local_depth_excludes_self_and_is_nan_tolerant():
    ref = _column(3000, seed=2)
    q = ref.iloc[:5]
    with_id = local_depth_features(q, ref)
    without_id = local_depth_features(q.drop(columns="nucleus_id"), ref)  # same position -> still left out
    assert np.allclose(with_id.to_numpy(), without_id.to_numpy(), equal_nan=True)
    # a lone cell (a user table of one row) has no column: every feature NaN, no error
    assert local_depth_features(q.iloc[:1]).isna().all(axis=None)
    # missing position, missing columns, far from the reference: NaN rows
    assert local_depth_features(q.assign(soma_x_nm=np.nan), ref).isna().all(axis=None)
    assert local_depth_features(q.drop(columns="cortical_depth_um"), ref).isna().all(axis=None)
    far = local_depth_features(q.assign(soma_z_nm=5e6), ref)
    assert far.isna().all(axis=None)
    # no soma volume: only the volume percentile is missing
    novol = local_depth_features(q.drop(columns="soma_volume_um3"), ref.drop(columns="soma_volume_um3"))
    assert novol["local_soma_volume_percentile"].isna().all() and novol.drop(
        columns="local_soma_volume_percentile").notna().all(axis=None)


def test_step_detector_finds_a_rise_and_a_fall():
    """``_step_depth`` finds the end of a dense band (fall) and, with ``rise``, its start, at either half-width."""
    from neurd_lite.celltype.local_depth import _step_depth

    rng = np.random.default_rng(5)
    d = np.sort(np.r_[rng.uniform(0, 700, 7000), rng.uniform(520, 640, 3000)])  # a dense 'L6' from 520 µm
    assert _step_depth(d, (450.0, 600.0), rise=True) == pytest.approx(520, abs=10)
    assert _step_depth(d, (450.0, 600.0), rise=True, half_width_um=75.0) == pytest.approx(520, abs=10)
    assert _step_depth(d, (600.0, 690.0)) == pytest.approx(640, abs=10)

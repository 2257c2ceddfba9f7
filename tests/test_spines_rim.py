"""A spine takes the free surface within rim_nm of it along mesh edges; spines never merge (rim.py)."""
import numpy as np

from neurd_lite.spines.rim import grow_rims
from test_spines_skirt import _plane


def _two_spines():
    """A plane with two round spines 400 nm apart: (verts, edges, label, distances to each centre, eligible)."""
    verts, e = _plane()
    label = np.full(len(verts), -1)
    da = np.linalg.norm(verts[:, :2] - [-200.0, 0.0], axis=1)
    db = np.linalg.norm(verts[:, :2] - [200.0, 0.0], axis=1)
    label[da <= 100] = 0
    label[db <= 100] = 1
    eligible = np.ones(len(verts), dtype=bool)
    return verts, e, label, da, db, eligible


def test_rim_joins_nearest_spine_within_reach_only():
    verts, e, label, da, db, eligible = _two_spines()
    assert (grow_rims(verts, e, label, eligible, 0.0) == label).all()
    out = grow_rims(verts, e, label, eligible, 120.0)
    ring_a = (da > 100) & (da <= 150) & (db > 220)
    assert (out[ring_a] == 0).all()
    assert (out[(db > 100) & (db <= 150) & (da > 220)] == 1).all()
    assert (out[(da > 300) & (db > 300)] == -1).all()  # beyond reach: shaft
    assert set(np.unique(out[label >= 0])) == {0, 1} and (out[label >= 0] == label[label >= 0]).all()
    # the gap between the two spines is shared, never bridged into one spine
    gap = (np.abs(verts[:, 0]) <= 50) & (np.abs(verts[:, 1]) <= 50)
    assert (out[gap & (verts[:, 0] < 0)] != 1).all() and (out[gap & (verts[:, 0] > 0)] != 0).all()
    # ineligible surface (soma, axon) is never taken
    eligible[ring_a] = False
    assert (grow_rims(verts, e, label, eligible, 120.0)[ring_a] == -1).all()


def test_rim_only_for_chosen_spines_and_density_gate():
    from types import SimpleNamespace

    from neurd_lite.spines.rim import sparse_spines

    verts, e, label, da, db, eligible = _two_spines()
    out = grow_rims(verts, e, label, eligible, 120.0, np.array([True, False]))
    assert (out[(da > 100) & (da <= 150) & (db > 220)] == 0).all()
    assert (out[(db > 100) & (db <= 150) & (da > 220)] == -1).all()  # spine 1 takes no rim
    # density gate: the two spines anchor on axis samples 400 nm apart: 2 spines within 5 µm = 0.2 per µm
    fld = SimpleNamespace(sample_points_nm=np.array([[-200.0, 0, 0], [200.0, 0, 0], [1e6, 0, 0]]),
                          sample_index=np.where(verts[:, 0] < 0, 0, 1))
    assert sparse_spines(label, fld, 0.0, 5000.0) is None
    assert sparse_spines(label, fld, 0.3, 5000.0).all()
    assert not sparse_spines(label, fld, 0.2, 5000.0).any()

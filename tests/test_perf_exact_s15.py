"""Session 15 exact speed-ups (issue 23): each fast path gives the plain computation's values bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import neurd_lite.spines.axis_profile as ap
from neurd_lite.geometry.stats import group_mode


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

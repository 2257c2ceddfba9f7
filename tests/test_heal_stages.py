"""Opt-in rising-gap healing (HealParams.gap_stages_nm): a piece is bridged to what lies nearest, not to the
first body that reaches it."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.mesh.heal import HealParams, heal_mesh


def _chain() -> tuple[np.ndarray, np.ndarray, int]:
    """A sphere (r 5 µm) and two specks (r 100 nm) on its axis: X 800 nm off its surface, Y 100 nm beyond X."""
    big = trimesh.creation.icosphere(subdivisions=4, radius=5000.0)
    x = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
    x.apply_translation([0, 0, 5000.0 + 800.0 + 100.0])
    y = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
    y.apply_translation([0, 0, 5000.0 + 800.0 + 200.0 + 100.0 + 100.0])
    m = trimesh.util.concatenate([big, x, y])
    return np.asarray(m.vertices), np.asarray(m.faces), len(big.vertices)


def test_rising_gaps_bridge_a_piece_to_its_nearest_neighbour():
    v, f, nbig = _chain()
    first = heal_mesh(v, f, HealParams(seam_gap_nm=0.0))
    staged = heal_mesh(v, f, HealParams(seam_gap_nm=0.0, gap_stages_nm=(200.0, 500.0, 1000.0)))
    for r in (first, staged):
        assert r.report.n_components_before == 3 and r.report.n_components_after == 1
        assert r.report.n_bridged == 2
        assert r.vertex_component.max() == 2  # the pieces before healing, either way
    # first reach: both specks hang on the sphere, Y by a 1.1 µm bridge past X
    assert (first.link_edges < nbig).any(axis=1).sum() == 2
    assert 1050.0 <= first.report.max_bridge_nm <= 1200.0
    # rising gaps: Y joins X (100 nm), and only X is bridged to the sphere
    assert (staged.link_edges < nbig).any(axis=1).sum() == 1
    assert 750.0 <= staged.report.max_bridge_nm <= 900.0


def test_no_stages_is_the_default():
    assert HealParams().gap_stages_nm == ()


def test_stage_slack_off_measures_raw_gaps():
    """Y's nearest vertex lies 100 nm from X's; less the slack (half the longest edge, ~16 nm at each end) the gap
    is ~69 nm, so an 80 nm stage joins them by default but not when the stage measures raw distances."""
    v, f, nbig = _chain()
    with_slack = heal_mesh(v, f, HealParams(seam_gap_nm=0.0, gap_stages_nm=(80.0,)))
    raw = heal_mesh(v, f, HealParams(seam_gap_nm=0.0, gap_stages_nm=(80.0,), stage_slack=False))
    for r in (with_slack, raw):
        assert r.report.n_components_after == 1
    assert (with_slack.link_edges < nbig).any(axis=1).sum() == 1  # X-Y joined in the stage
    assert (raw.link_edges < nbig).any(axis=1).sum() == 2  # no stage link: both specks hang on the sphere


def test_stage_open_ends_links_only_cut_boundaries():
    """Closed specks have no open edges, so an open-ends stage makes no link and healing is the default one."""
    v, f, nbig = _chain()
    base = heal_mesh(v, f, HealParams(seam_gap_nm=0.0))
    open_only = heal_mesh(v, f, HealParams(seam_gap_nm=0.0, gap_stages_nm=(200.0, 500.0), stage_open_ends=True))
    assert np.array_equal(np.sort(base.link_edges, axis=1), np.sort(open_only.link_edges, axis=1))

"""The apical candidate (per-limb evidence, the limb model, the apical axis replacing up) on synthetic skeletons."""
from __future__ import annotations

import numpy as np
import pytest

import neurd_lite as nl
from neurd_lite.compartments.candidate import LIMB_FEATURES, choose_candidate, limb_rows
from neurd_lite.compartments.learned import LIMB_MODEL, load_vertex_model, models_available
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton
from neurd_lite.testing.soma_shapes import random_rotation

APICAL = ("apical_shaft", "apical_tuft", "oblique")
FRAME_FREE = [f for f in LIMB_FEATURES if f not in ("dir_cos_up", "trunk_cos_up", "height_ext", "rank_height")]


def _pyramid(seed: int) -> tuple[Skeleton, np.ndarray, np.ndarray]:
    """A synthetic pyramid (nm) in minnie65's orientation, its true up (pia) and per-vertex truth."""
    centre = np.array([600e3, 800e3, 850e3])
    sk0 = tree_to_skeleton(grow_pyramidal(np.random.default_rng(seed), centre))
    sk = Skeleton(sk0.vertices - centre, sk0.edges, sk0.radius, sk0.root)
    return sk, np.array([0.0, -1.0, 0.0]), np.asarray(sk0.vertex_properties["compartment"]).astype(str)


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    denom = pred.sum() + truth.sum()
    return 1.0 if denom == 0 else 2 * float((pred & truth).sum()) / float(denom)


def test_limb_rows_frame_free_columns_ignore_rotation():
    sk, up, truth = _pyramid(5)
    rot = random_rotation(np.random.default_rng(1))
    turned = Skeleton(sk.vertices @ rot.T, sk.edges, sk.radius, sk.root)
    rows = []
    for s, u in ((sk, up), (turned, rot @ up)):
        t = Tree.from_skeleton(s, 7000.0)
        df, starts = limb_rows(t, u, t.in_root_tree & ~t.soma & (truth != "axon"))
        rows.append(df)
        assert len(starts) == len(df) >= 2
        main = int(np.argmax(df["dir_cos_up"].to_numpy()))
        assert df["dir_cos_up"].iloc[main] > 0.5  # the apical points to the pia
    assert np.allclose(rows[0].to_numpy(dtype=float), rows[1].to_numpy(dtype=float), atol=1e-6, equal_nan=True)
    assert set(FRAME_FREE) < set(rows[0].columns)


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_limb_model_picks_the_apical_limb_upright():
    sk, up, truth = _pyramid(6)
    t = Tree.from_skeleton(sk, 7000.0)
    dend = t.in_root_tree & ~t.soma & (truth != "axon")
    choice = choose_candidate(t, up, dend, load_vertex_model(LIMB_MODEL))
    apical_limb = np.isin(truth, APICAL) & (t.limb_start == choice.chosen)
    assert apical_limb.any() and not choice.use_axis
    assert choice.p.max() > 0.5


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_inverted_pyramid_gets_its_apical_on_its_own_axis_unless_forced_off():
    """``up`` pointing to white matter (as for an inverted pyramid): the dominant limb is still the apical."""
    sk, up, truth = _pyramid(6)
    n = nl.label_skeleton(sk, up=-up)
    lab = n.skeleton_labels.astype(str)
    cand = n.provenance["compartments"]["apical_candidate"]
    assert cand["axis_used"] and cand["axis_cos_up"] < 0
    assert any(f.startswith("apical_axis_not_up") for f in n.flags)
    assert _f1(np.isin(lab, APICAL), np.isin(truth, APICAL)) > 0.8
    n = nl.label_skeleton(sk, up=-up, has_apical=False)
    assert not np.isin(n.skeleton_labels.astype(str), APICAL).any()
    assert "apical_candidate" not in n.provenance["compartments"]
    n = nl.label_skeleton(sk, up=up)  # upright: up is kept
    assert not n.provenance["compartments"]["apical_candidate"]["axis_used"]
    assert not any(f.startswith("apical_axis_not_up") for f in n.flags)

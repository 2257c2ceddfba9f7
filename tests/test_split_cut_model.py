"""The learned split-cut rankers (proofread.cut_model, classifiers/models/split_cut.*, split_cut_faces.*,
split_cut_dist.*): load from text + JSON without pickle, and rank a tiny synthetic merge's cut candidates far better
than chance."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurd_lite.proofread import SplitParams, face_owner, find_cuts
from neurd_lite.proofread.cut_model import FEATURES, load_cut_model

MODELS = Path(__file__).resolve().parents[1] / "classifiers" / "models"
SHIPPED = ("split_cut", "split_cut_faces", "split_cut_dist")  # session 11 (distance label), session 14 (face-accuracy
# label), session 15 (distance label retrained on tune seeds 48-121)


@pytest.mark.parametrize("name", SHIPPED)
def test_split_cut_model_loads_from_text_and_json_without_pickle(monkeypatch, name):
    import pickle

    def refuse(*a, **k):
        raise AssertionError("the split-cut model must not be unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    load_cut_model.cache_clear()
    booster, meta = load_cut_model(name)
    assert list(booster.feature_name()) == list(FEATURES)
    assert json.loads((MODELS / f"{name}.json").read_text())["features"] == list(FEATURES)
    assert (MODELS / f"{name}.txt").read_text().startswith("tree")
    assert not list(MODELS.glob(f"{name}*.pkl"))


@pytest.mark.parametrize("name", SHIPPED)
def test_split_cut_model_beats_a_random_candidate_on_a_tiny_merge(name, small_merge_decomposed):
    import importlib

    S = importlib.import_module("neurd_lite.proofread.split")
    m, n = small_merge_decomposed()  # _small_merge() decomposed without spines and compartments (conftest)
    seen: list = []
    orig = S._choose_cut

    def spy(*args):
        k, score = orig(*args)
        seen.append((k, score, args[2]))
        return k, score

    S._choose_cut = spy
    try:
        owner = face_owner(n, find_cuts(n, SplitParams(cut_model=name))[0])
    finally:
        S._choose_cut = orig
    assert len(seen) == 1
    k, score, sc = seen[0]
    cand = np.flatnonzero(np.isfinite(score))
    assert len(cand) > 20 and k in cand
    rng = np.random.default_rng(0)
    for r in rng.choice(cand, size=20, replace=False):  # the model's pick outranks chance draws by a margin
        if abs(sc["s_nm"][r] - sc["s_nm"][k]) > 5000.0:
            assert score[k] > score[r]
    assert np.std(score[cand]) > 0
    truth = [int(np.argmin(np.linalg.norm(m.soma_centers_nm - s.center_nm, axis=1))) for s in n.somas]
    pred = np.where(owner >= 0, np.asarray(truth)[np.maximum(owner, 0)], -1)
    for t in (0, 1):
        assert np.mean(pred[m.face_cell == t] == t) >= 0.95
        assert np.mean(m.face_cell[pred == t] == t) >= 0.95


def test_cut_model_margin_keeps_the_hand_cut_unless_the_model_gains_more(small_merge_decomposed):
    """SplitParams.cut_model_margin: a huge margin gives the hand score's cut, 0 the model's own choice."""
    _, n = small_merge_decomposed()

    def cut_vertex(p: SplitParams) -> int:
        return [c for c in find_cuts(n, p)[1] if c.get("kind") == "soma_path"][0]["skeleton_vertex"]

    hand = cut_vertex(SplitParams(cut_model=None))
    assert cut_vertex(SplitParams(cut_model="split_cut_faces", cut_model_margin=1e9)) == hand
    model = cut_vertex(SplitParams(cut_model="split_cut_faces"))
    assert cut_vertex(SplitParams(cut_model="split_cut_faces", cut_model_margin=0.0)) == model

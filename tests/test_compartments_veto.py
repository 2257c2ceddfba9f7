"""The has-apical gate's axon veto (session 10): the rule itself and its choice in inner folds."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from neurd_lite.compartments.gate import GATE_FEATURES, axon_vetoed

CLASSIFIERS = Path(__file__).resolve().parents[1] / "classifiers" / "compartments"


def _script(stem: str):
    """A training script of classifiers/compartments under a unique module name (``train`` also names the
    perisomatic trainer, which another test may have imported first)."""
    name = f"_test_compartments_{stem}"
    spec = importlib.util.spec_from_file_location(name, CLASSIFIERS / f"{stem}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_axon_veto_needs_a_rising_and_large_axon():
    veto = {"height_ext": 0.3, "cable_rel": 3.0}
    assert axon_vetoed({"axon_height_ext": 0.6, "axon_cable_rel": 6.5}, veto)
    assert not axon_vetoed({"axon_height_ext": -0.4, "axon_cable_rel": 6.5}, veto)  # descends: a pyramid's
    assert not axon_vetoed({"axon_height_ext": 0.6, "axon_cable_rel": 2.0}, veto)   # little axon
    assert not axon_vetoed({"axon_height_ext": np.nan, "axon_cable_rel": np.nan}, veto)  # no axon
    assert not axon_vetoed({"axon_height_ext": 0.6, "axon_cable_rel": 6.5}, None)  # no veto chosen


def _rows(n_pyr: int, n_int: int, seed: int) -> tuple[dict[str, pd.DataFrame], np.ndarray, list[str]]:
    """Gate rows whose dendrite looks pyramidal for everyone; the interneurons' axons rise and are large."""
    rng = np.random.default_rng(seed)
    n = n_pyr + n_int
    x = pd.DataFrame(np.nan, index=range(n), columns=GATE_FEATURES)
    x["limb_dominance"] = rng.uniform(0.5, 0.9, n)
    x["cand_cos0"] = rng.uniform(0.7, 1.0, n)
    x["axon_height_ext"] = np.r_[rng.uniform(-0.8, 0.1, n_pyr), rng.uniform(0.4, 0.9, n_int)]
    x["axon_cable_rel"] = np.r_[rng.uniform(0.1, 2.5, n_pyr), rng.uniform(4.5, 8.0, n_int)]
    y = np.r_[np.ones(n_pyr), np.zeros(n_int)]
    return {"true_axon": x, "learned_axon": x}, y, [f"c{i}" for i in range(n)]


def test_inner_folds_choose_a_veto_that_separates_and_none_when_nothing_to_gain():
    gate_fit, train = _script("gate_fit"), _script("train")
    choose_veto, inner_folds, CELL_PARAMS = gate_fit.choose_veto, gate_fit.inner_folds, train.CELL_PARAMS

    class C:  # inner_folds reads .cell
        def __init__(self, cell: str) -> None:
            self.cell = cell

    params = {**CELL_PARAMS, "rounds": 20}
    rows, y, cells = _rows(40, 12, 0)
    folds = [inner_folds([C(c) for c in cells])]
    config = "shape17+dominance|r200_l7_m8|true_axon"
    veto, scores = choose_veto(rows, y, cells, folds, config, params, 20)
    assert veto is not None and scores[f"h>{veto['height_ext']}&c>{veto['cable_rel']}"] < scores["off"]
    assert any(axon_vetoed(r, veto) for _, r in rows["learned_axon"].iloc[40:].iterrows())
    assert not any(axon_vetoed(r, veto) for _, r in rows["learned_axon"].iloc[:40].iterrows())
    rows["learned_axon"] = rows["true_axon"] = rows["true_axon"].assign(axon_cable_rel=0.5)  # small axons only
    veto, _ = choose_veto(rows, y, cells, folds, config, params, 20)
    assert veto is None


def test_synthetic_evidence_rows_and_pure_boxes():
    """Session 20: evaluation-only rows give the choice interneurons the training cells lack; with ``VETO_PURE``
    no box may hold a cell with an apical (here an evidence pyramid whose local axon rises 0.2 fields, 3.5 x)."""
    gate_fit, train = _script("gate_fit"), _script("train")

    class C:
        def __init__(self, cell: str) -> None:
            self.cell = cell

    params = {**train.CELL_PARAMS, "rounds": 20}
    rows, y, cells = _rows(40, 0, 1)  # training: pyramids only, nothing to veto
    folds = [gate_fit.inner_folds([C(c) for c in cells])]
    config = "shape17+dominance|r200_l7_m8|true_axon"
    assert gate_fit.choose_veto(rows, y, cells, folds, config, params, 20)[0] is None
    ev, ev_y, ev_cells = _rows(1, 10, 2)
    ev["true_axon"].loc[0, ["axon_height_ext", "axon_cable_rel"]] = (0.2, 3.5)
    gate_fit.VETO_EVIDENCE.append((ev["true_axon"], ev_y, [f"e{c}" for c in ev_cells]))
    gate_fit.VETO_PURE[0] = True
    veto, scores = gate_fit.choose_veto(rows, y, cells, folds, config, params, 20)
    assert veto is not None and scores[f"h>{veto['height_ext']}&c>{veto['cable_rel']}"] < scores["off"]
    assert not axon_vetoed(ev["true_axon"].iloc[0], veto)
    assert any(axon_vetoed(r, veto) for _, r in ev["true_axon"].iloc[1:].iterrows())


class _Gate:
    """A has-apical model that always says ``p``, with an axon veto in its sidecar."""

    def __init__(self, p: float, veto: dict | None) -> None:
        self.p, self.meta = p, {"decision": {"axon_veto": veto}}

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.full(len(x), self.p)


def test_package_applies_the_sidecar_veto(monkeypatch, pyramidal0):
    import pytest

    from neurd_lite.compartments import label as label_mod
    from neurd_lite.compartments import label_compartments
    from neurd_lite.compartments.learned import CELL_MODEL, models_available
    from neurd_lite.testing.reference import reference_neuron

    if not models_available():
        pytest.skip("compartment models not built")
    real_load = label_mod.load_vertex_model
    for veto, vetoed in (({"height_ext": -100.0, "cable_rel": 0.0}, True), (None, False)):
        monkeypatch.setattr(label_mod, "load_vertex_model",
                            lambda name, *a, v=veto: _Gate(0.9, v) if name == CELL_MODEL else real_load(name, *a))
        n = reference_neuron(pyramidal0())  # make_neuron("pyramidal", seed=0)
        label_compartments(n, up=(0, -1, 0))
        rec = n.provenance["compartments"]
        assert (rec["has_apical_source"] == "axon veto") == vetoed
        assert any(f.startswith("no_apical_axon_veto") for f in n.flags) == vetoed
        assert np.isin(n.skeleton_labels.astype(str), ("apical_shaft", "apical_tuft", "oblique")).any() != vetoed


def test_source_weights_give_each_source_group_the_same_weight(monkeypatch):
    """``--gate-weights source`` (session 13): each source group weighs the same within a class, small sources
    pooled; without it each cell weighs 1; both classes weigh the same either way."""
    gate_fit = _script("gate_fit")

    class C:
        def __init__(self, cell: str, source: str) -> None:
            self.cell, self.source = cell, source

    cases = [C(f"m{i}", "microns") for i in range(8)] + [C(f"c{i}", "cajal") for i in range(4)] + \
        [C("a", "repo_a"), C("b", "repo_b")]
    groups = gate_fit.source_group_of(cases)
    assert groups["a"] == groups["b"] == "small_external_repos" and groups["m0"] == "microns"
    cells = [c.cell for c in cases] + ["m0"]  # m0 twice (two modes)
    y = np.ones(len(cells))
    w = gate_fit.cell_weights(y, cells)
    assert np.isclose(w[0] + w[-1], w[1]) and np.isclose(w.mean(), 1.0)  # per cell
    monkeypatch.setattr(gate_fit, "SOURCE_OF", groups)
    w = gate_fit.cell_weights(y, cells)
    g = np.array([groups[c] for c in cells])
    totals = [w[g == s].sum() for s in ("microns", "cajal", "small_external_repos")]
    assert np.allclose(totals, totals[0]) and np.isclose(w.mean(), 1.0)
    y[8:12] = 0.0  # cajal negative: classes balanced after the groups
    w = gate_fit.cell_weights(y, cells)
    assert np.isclose(w[y == 0].sum(), w[y == 1].sum())
    assert np.isclose(w[g == "microns"].sum(), w[g == "small_external_repos"].sum())


def test_parse_params_reads_booleans_and_numbers():
    """``train.py --alt-params`` / ``heldout_check.py --candidate-params``: booleans by the field's default type."""
    train = _script("train")
    got = train.parse_params("apical_off_axon_limb=true, apical_off_axon_limb_spare_above=0.5,axon_thin_route=0")
    assert got == {"apical_off_axon_limb": True, "apical_off_axon_limb_spare_above": 0.5, "axon_thin_route": False}
    assert train.parse_params("polarity_bayes_factor=1e4") == {"polarity_bayes_factor": 1e4}
    assert train.parse_params("") == {}

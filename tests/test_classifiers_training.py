"""Training code: labels, feature mapping, calibration, decision rules, nested CV; a small real retrain."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurd_lite.celltype.calibration import (
    apply_temperature, brier, calibrate, expected_calibration_error, fit_temperature)
from neurd_lite.celltype.columns import FORBIDDEN_INPUTS, process_features, to_engine
from neurd_lite.celltype.combine import combine_ei, hierarchical
from neurd_lite.celltype.training import (
    balanced_weights, check_features, ei_of, nested_cv, normalise_label)

ROOT = Path(__file__).resolve().parents[1]


def _script(relpath: str):
    path = ROOT / "classifiers" / relpath
    name = f"_test_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_label_policy():
    assert normalise_label(" 5P-PT ") == "5P-ET"
    assert ei_of("6P-U") == "excitatory" and ei_of("WM-P") == "excitatory" and ei_of("Unsure E") == "excitatory"
    assert ei_of("Unsure I") == "inhibitory" and ei_of("NGC") == "inhibitory"
    assert ei_of("Unsure") is None


def test_other_models_outputs_are_refused():
    assert {"cell_type_pred", "umapx", "predict"} <= FORBIDDEN_INPUTS
    with pytest.raises(ValueError, match="cell_type_pred"):
        check_features(["soma_volume_um3", "cell_type_pred"])


def test_to_engine_units_and_ratios():
    row = {"soma_volume": 8e11, "soma_area": 9.6e8, "n_soma_syn": 96, "nucleus_volume": 300.0,
           "nucleus_area": 270.0, "yr_um_translated": 150.0, "soma_x": 1e6, "soma_area_to_volume": 99.0}
    f = to_engine(pd.DataFrame([row])).iloc[0]
    assert f["soma_volume_um3"] == pytest.approx(800.0) and f["soma_area_um2"] == pytest.approx(960.0)
    assert f["soma_area_to_volume_per_um"] == pytest.approx(1.2)  # recomputed, never the table's index column
    assert f["soma_synapse_density_per_um2"] == pytest.approx(0.1)
    assert f["nucleus_area_to_volume_per_um"] == pytest.approx(0.9)
    assert f["cortical_depth_um"] == 150.0 and f["soma_x_nm"] == 1e6
    assert np.isnan(f["nucleus_fold_area_um2"])
    # engine names pass through and win
    g = to_engine({"soma_volume_um3": 5.0, "soma_volume": 8e11}).iloc[0]
    assert g["soma_volume_um3"] == 5.0


def test_process_features_from_list_columns():
    sdf = pd.Series(["[500.0, 1000.0, 3000.0]", None, "[1.0, 2.0]"])
    ori = pd.Series(["[0.1, 0.2, 0.95]", "[0.5]", "[0.3]"])
    vec = pd.Series(["[[1,0,0],[0,0,1],[0,-1,0]]", "[[1,0,0]]", "[[1,0,0]]"])
    p = process_features(sdf, ori, vec)
    assert p.loc[0, "process_sdf_max_um"] == pytest.approx(3.0)
    assert p.loc[0, "process_sdf_second_um"] == pytest.approx(1.0)
    assert p.loc[0, "process_thickest_vertical_cos"] == pytest.approx(0.95)
    assert p.loc[0, "process_thickest_up"] == pytest.approx(1.0) and p.loc[0, "process_n_up"] == 1
    assert p.loc[1].isna().all() and p.loc[2].isna().all()  # missing list / inconsistent lengths


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(4000, 3))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in true_p])
    overconfident = apply_temperature(true_p, 0.5)  # twice too sharp
    params = fit_temperature(overconfident, y)
    assert params["temperature"] == pytest.approx(2.0, rel=0.15)
    fixed = calibrate(overconfident, params)
    assert brier(fixed, y) < brier(overconfident, y)
    assert expected_calibration_error(fixed, y) < expected_calibration_error(overconfident, y)
    assert json.loads(json.dumps(params)) == params  # plain JSON
    assert np.allclose(calibrate(true_p, {"method": "none"}), true_p)


def test_hierarchical_matches_ei_and_product_rule():
    classes = ["A", "B", "X", "Y"]
    p_sub = np.array([[0.4, 0.3, 0.2, 0.1], [0.0, 0.0, 0.0, 1.0]])
    out = hierarchical(np.array([0.9, 0.2]), p_sub, classes, {"X", "Y"})
    assert np.allclose(out.sum(1), 1)
    assert out[0, 2:].sum() == pytest.approx(0.9) and out[0, 2] / out[0, 3] == pytest.approx(2.0)
    assert out[1, :2] == pytest.approx([0.4, 0.4])  # no E mass in the subclass model: split evenly
    assert combine_ei(0.5, 0.8) == pytest.approx(0.8)
    assert combine_ei(0.9, 0.9) > 0.9 and combine_ei(0.9, 0.1) == pytest.approx(0.5)


def test_balanced_weights_equalise_classes():
    y = np.array([0] * 90 + [1] * 10)
    w = balanced_weights(y)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())


def test_restrict_to_side_renormalises_within_the_called_side():
    peri = _script("perisomatic/train.py")
    p = np.array([[0.5, 0.2, 0.2, 0.1], [0.5, 0.2, 0.2, 0.1], [0.0, 0.0, 1.0, 0.0]])
    is_i = np.array([False, False, True, True])
    out = peri.restrict_to_side(p, np.array([True, False, False]), is_i)
    assert out[0] == pytest.approx([0, 0, 2 / 3, 1 / 3]) and out[1] == pytest.approx([5 / 7, 2 / 7, 0, 0])
    assert out[2] == pytest.approx([0.5, 0.5, 0, 0])  # no mass on the called side: uniform over it


def test_nested_cv_learns_and_never_scores_training_rows():
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=3, n_clusters_per_class=1,
                               random_state=0)
    x = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    grid = ({"num_leaves": 4, "num_boost_round": 30}, {"num_leaves": 8, "num_boost_round": 60})
    res = nested_cv(x, y, 3, grid, n_splits=3, inner_splits=2)
    assert sorted(np.bincount(res.fold)) == [80, 80, 80]
    assert (res.oof.argmax(1) == y).mean() > 0.7
    # shuffled labels: out-of-fold accuracy falls to chance, so nothing leaks from a row into its own score
    y_perm = np.random.default_rng(1).permutation(y)
    res_perm = nested_cv(x, y_perm, 3, grid, n_splits=3, inner_splits=2)
    assert (res_perm.oof.argmax(1) == y_perm).mean() < 0.5


@pytest.mark.realdata
@pytest.mark.slow
def test_small_real_retrain_writes_loadable_models(real, tmp_path):
    real("labels/microns_celltypes_ground_truth.csv")
    peri = _script("perisomatic/train.py")
    from neurd_lite.celltype import classify_perisomatic
    from neurd_lite.celltype.models import load_model

    data = peri.load_perisomatic_labelled()
    keep = data["subclass"].isin(["23P", "6P-CT", "BC"]) | data["subclass"].isna()
    small = data[keep].groupby("label", group_keys=False).apply(lambda g: g.head(40)).reset_index(drop=True)
    grid = ({"num_leaves": 4, "num_boost_round": 40},)
    ev = peri.train_variant("perisomatic_engine", small, tmp_path, grid=grid, n_splits=3)
    assert ev["ei"]["model_calibrated"]["balanced_accuracy"] > 0.8
    assert ev["subclass"]["v83_cell_type_pred"]["n"] == ev["subclass"]["model_raw"]["n"]
    for task in ("ei", "subclass"):
        name = f"perisomatic_engine_{task}"
        for ext in ("txt", "json", "md"):
            assert (tmp_path / f"{name}.{ext}").is_file()
        assert (tmp_path / f"{name}_confusion.png").stat().st_size > 1000
        m = load_model(name, tmp_path)
        assert m.meta["n_training_cells"] == (len(small) if task == "ei" else int(small["subclass"].notna().sum()))
    card = (tmp_path / "perisomatic_engine_subclass.md").read_text()
    assert "v83_cell_type_pred" in card and "balanced accuracy" in card


@pytest.mark.realdata
def test_neurd_handset_rule_on_its_table(real):
    """NEURD reports 95.2% for its hand-set rule on its 210-cell table: that is against the Allen E/I column;
    against the table's manual ``cell_type`` labels (our training label) the rule scores 208/210."""
    real("labels/neurd_e_i_manual_proofread.csv")
    dend = _script("dendritic/train.py")
    from neurd_lite.celltype.training import load_dendritic_labelled

    data = load_dendritic_labelled()
    pred = np.where(dend.neurd_rule_p_inhibitory(data) >= 0.5, "inhibitory", "excitatory")
    assert (pred == data["allen_ei"].to_numpy()).mean() == pytest.approx(0.952, abs=0.003)
    assert (pred == data["ei"].to_numpy()).sum() == 208


def test_self_training_uses_only_confident_own_pseudo_labels():
    from sklearn.datasets import make_classification

    from neurd_lite.celltype.training import SelfTraining, fit_blend, fit_self_trained, pseudo_label

    x, y = make_classification(n_samples=900, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, class_sep=1.0, random_state=0)
    x = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    lab, unl = x.iloc[:150], x.iloc[150:]
    cfg = {"num_leaves": 4, "num_boost_round": 40, "linear_weight": 0.25}
    booster, lin = fit_blend(lab, y[:150], 3, cfg)
    st = SelfTraining(tau=0.9, cap_per_class=60)
    pick, pseudo = pseudo_label(booster, lin, unl, 3, st)
    from neurd_lite.celltype.training import blend_proba

    p = blend_proba(booster, lin, unl, 3)
    assert len(pick) and (p[pick].max(axis=1) >= 0.9).all()  # confident rows only
    assert (pseudo == p[pick].argmax(axis=1)).all()  # the model's own labels
    assert np.bincount(pseudo, minlength=3).max() <= 60  # capped per class
    assert (pseudo == y[150:][pick]).mean() > 0.85  # mostly right on this separable problem
    b2, lin2, n = fit_self_trained(lab, y[:150], 3, cfg, unl, st)
    assert n == len(pick) and lin2 == lin and b2.num_trees() == 3 * 40


def test_layer_position_is_piecewise_linear_between_boundaries():
    from neurd_lite.celltype.layers import boundaries_um, layer_position

    grid = {"xs": np.array([0.0, 10.0]), "zs": np.array([0.0, 10.0]),
            "bounds": np.array([[[100.0, 200, 300, 400, 500, 600]] * 2, [[110.0, 210, 310, 410, 510, 610]] * 2])}
    b = boundaries_um(np.array([5.0, 50.0]), np.array([0.0, 3.0]), grid)
    assert b[0] == pytest.approx([105, 205, 305, 405, 505, 605]) and b[1, 0] == pytest.approx(110)  # clamped edge
    pos = layer_position(np.array([105.0, 255.0, 655.0]), b[[0, 0, 0]])
    assert pos == pytest.approx([1.0, 2.5, 6.5])


def _dendritic_cells(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 3 == 0).astype(int)  # one in three inhibitory
    shaft = np.where(y == 1, rng.uniform(0.6, 1.2, n), rng.uniform(0.1, 0.5, n))
    spine = np.where(y == 1, rng.uniform(0.0, 0.4, n), rng.uniform(0.3, 1.5, n))
    return pd.DataFrame({"neurd_syn_density_shaft_per_um": shaft, "neurd_spine_density_per_um": spine}), y


def test_rule_ratio_blend_contains_the_rule_and_the_ratio_model():
    """w = 1 gives NEURD's rule, w = 0 the ratio logistic, in between the weighted sum of their log-odds; the result
    is one plain JSON logistic model on [shaft, spine, ratio]."""
    from neurd_lite.celltype.linear import linear_proba

    shift = _script("dendritic/shift.py")
    x, y = _dendritic_cells()
    feats = [shift.SHAFT, shift.SPINE, shift.RATIO]
    design = shift.with_derived(x)[feats].to_numpy()

    def logit(prm: dict) -> np.ndarray:
        p = np.clip(linear_proba(prm, design, 2)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    ratio = shift.signed_logistic_params(x, y, [shift.RATIO])
    p_ratio = linear_proba(ratio, shift.with_derived(x)[[shift.RATIO]].to_numpy(), 2)[:, 1]
    l_ratio = np.log(p_ratio / (1 - p_ratio))
    np.testing.assert_allclose(logit(shift.rule_ratio_blend_params(x, y, feats, 1.0)), shift.neurd_logit(x), atol=1e-6)
    np.testing.assert_allclose(logit(shift.rule_ratio_blend_params(x, y, feats, 0.0)), l_ratio, atol=1e-6)
    mid = shift.rule_ratio_blend_params(x, y, feats, 0.25)
    np.testing.assert_allclose(logit(mid), 0.25 * shift.neurd_logit(x) + 0.75 * l_ratio, atol=1e-6)
    assert json.loads(json.dumps(mid))["rule_weight"] == 0.25
    with pytest.raises(ValueError):
        shift.rule_ratio_blend_params(x, y, [shift.RATIO], 0.5)


def test_anchored_logistic_with_a_strong_penalty_is_the_anchor():
    """fit_signed_logistic with an offset: a tiny C leaves the offset model; a large C moves away from it."""
    from neurd_lite.celltype.linear import anchored_params, fit_signed_logistic, linear_proba

    shift = _script("dendritic/shift.py")
    x, y = _dendritic_cells(seed=1)
    feats = [shift.SHAFT, shift.SPINE, shift.RATIO]
    xs = shift.with_derived(x)[feats].to_numpy()
    anchor = [shift.NEURD_COEF[shift.SHAFT], shift.NEURD_COEF[shift.SPINE], 0.0]
    off = shift.neurd_logit(x)
    for c, close in ((1e-6, True), (100.0, False)):
        prm = anchored_params(fit_signed_logistic(xs, y, [1, -1, -1], c, offset=off), anchor, shift.NEURD_INTERCEPT)
        p = np.clip(linear_proba(prm, xs, 2)[:, 1], 1e-12, 1 - 1e-12)
        assert np.allclose(np.log(p / (1 - p)), off, atol=1e-3) is close
    with pytest.raises(ValueError):
        shift.anchored_logistic_params(x, y, [shift.RATIO])


def _ship_stack(booster, lin, meta, columns, folder, name):
    """Save a stacked model with a minimal 3-class sidecar and load it back through the package loader."""
    from neurd_lite.celltype import report
    from neurd_lite.celltype.models import load_model
    from neurd_lite.celltype.training import STACK_FLOOR

    side = {"features": columns, "required_features": columns, "classes": ["a", "b", "c"],
            "linear": lin, "stack": dict(meta, floor=STACK_FLOOR), "calibration": None}
    report.save_model(booster, side, folder, name)
    return load_model(name, folder)


def test_stacked_model_nested_cv_and_shipped_form(tmp_path):
    """The stacked model: nested CV scores rows only with models that never saw them (shuffled labels fall to
    chance), and a saved stacked model (LightGBM text + JSON with the meta-model) loads without pickle and
    reproduces ``stack_proba``."""
    from sklearn.datasets import make_classification

    from neurd_lite.celltype.training import fit_stack, nested_cv_stack, stack_proba

    x, y = make_classification(n_samples=180, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=2)
    x = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    grid = ({"num_leaves": 4, "num_boost_round": 30},)
    res = nested_cv_stack(x, y, 3, n_splits=3, inner_splits=3, grid=grid)
    assert sorted(np.bincount(res.fold)) == [60, 60, 60] and {"meta_C", "num_leaves"} <= set(res.configs[0])
    assert (res.oof.argmax(1) == y).mean() > 0.7
    y_perm = np.random.default_rng(3).permutation(y)
    assert (nested_cv_stack(x, y_perm, 3, n_splits=3, inner_splits=3, grid=grid).oof.argmax(1) == y_perm).mean() < 0.5
    inner: dict = {}
    booster, lin, meta = fit_stack(x, y, 3, inner_splits=3, grid=grid, inner=inner)
    # the inner hook hands back the inner out-of-fold component probabilities the meta-model was fitted on
    assert inner["p_lgbm"].shape == inner["p_linear"].shape == (180, 3)
    assert (inner["p_lgbm"].argmax(1) == y).mean() > 0.7
    loaded = _ship_stack(booster, lin, meta, list(x.columns), tmp_path, "stacked")
    np.testing.assert_allclose(loaded.predict_proba(x, calibrated=False), stack_proba(booster, lin, meta, x, 3),
                               atol=1e-9)


def test_stack_logistic_only_inputs_ship_and_reload(tmp_path):
    """Columns given in ``linear_sets`` reach the logistic component only (the trees never see them); the shipped
    model records them under ``linear["features"]`` and derives the depth basis from ``cortical_depth_um`` at
    prediction time, reproducing ``stack_proba`` on the frame that held the basis."""
    from neurd_lite.celltype.columns import DEPTH_HINGES, depth_hinges
    from neurd_lite.celltype.training import fit_stack, nested_cv_stack, stack_proba

    rng = np.random.default_rng(4)
    depth = rng.uniform(450, 700, 240)
    y = np.where((depth > 545) & (depth < 635), 1, 0) + 2 * (depth > 660)  # a band class, as 6P-CT in mid-L6a
    x = pd.DataFrame({"cortical_depth_um": depth, "noise": rng.normal(size=240)})
    xh = pd.concat([x, depth_hinges(x["cortical_depth_um"])], axis=1)
    grid = ({"num_leaves": 4, "num_boost_round": 30},)
    booster, lin, meta = fit_stack(xh, y, 3, inner_splits=3, grid=grid, linear_sets=(DEPTH_HINGES,))
    assert list(booster.feature_name()) == list(x.columns)
    assert lin["features"] == list(x.columns) + list(DEPTH_HINGES) and meta["linear_set"] == 0
    res = nested_cv_stack(xh, y, 3, n_splits=3, inner_splits=3, grid=grid, linear_sets=((), DEPTH_HINGES))
    assert {c.get("linear_set", -1) for c in res.configs} <= {-1, 1} and (res.oof.argmax(1) == y).mean() > 0.8
    loaded = _ship_stack(booster, lin, meta, list(x.columns), tmp_path, "banded")
    np.testing.assert_allclose(loaded.predict_proba(x, calibrated=False), stack_proba(booster, lin, meta, xh, 3),
                               atol=1e-9)


def test_pair_resplit_and_support_bootstrap():
    """Procedure 19's re-split touches only rows whose two most probable classes are the pair and keeps each row's
    total; the stratified bootstrap of balanced accuracy is exact for perfect calls and spreads for noisy ones."""
    ps = _script("perisomatic/pair_specialist.py")
    rc = _script("perisomatic/repeated_cv.py")
    p = np.full((3, 11), 0.01)
    p[0, [5, 6]] = 0.5, 0.41   # top two: 6P-IT, 6P-CT
    p[1, [5, 0]] = 0.5, 0.41   # top two: 6P-IT, 23P (not the pair)
    p[2, [6, 5]] = 0.6, 0.31   # top two: 6P-CT, 6P-IT
    p /= p.sum(1, keepdims=True)
    out, on = ps.resplit(p, np.array([0.9, 0.9, 0.1]), (5, 6))
    assert on.tolist() == [True, False, True] and np.allclose(out.sum(1), p.sum(1))
    assert out.argmax(1).tolist() == [6, 5, 5] and np.array_equal(out[1], p[1])
    y = np.repeat(np.arange(11), 10)
    assert np.allclose(rc.bootstrap_balanced(y, [y], n_boot=50), 1.0)
    noisy = np.where(np.arange(110) % 3 == 0, (y + 1) % 11, y)
    b = rc.bootstrap_balanced(y, [noisy], n_boot=200)
    assert b.std() > 0.01 and abs(b.mean() - (noisy == y).mean()) < 0.02

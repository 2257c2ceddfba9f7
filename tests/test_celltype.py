"""Shipped cell-type models: pickle-free loading, deterministic and sane predictions, robust table input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurd_lite as nl
from neurd_lite.celltype import ClassificationResult, classify, classify_perisomatic, load_model, model_names
from neurd_lite.celltype.models import MODELS_DIR
from neurd_lite.errors import InputError

SHIPPED = ["dendritic_ei", "perisomatic_ei", "perisomatic_subclass", "perisomatic_engine_ei",
           "perisomatic_engine_subclass", "perisomatic_soma_ei", "perisomatic_soma_subclass"]
# Typical (median) hand-labelled 23P and BC cells in engine units (from the labelled v83 rows).
PYRAMIDAL = {"soma_volume_um3": 815.0, "soma_area_um2": 957.0, "soma_area_to_volume_per_um": 957.0 / 815.0,
             "soma_n_processes": 7, "soma_n_synapses": 135, "soma_synapse_density_per_um2": 135 / 957.0,
             "nucleus_volume_um3": 302.0, "nucleus_area_um2": 261.0, "nucleus_area_to_volume_per_um": 261.0 / 302.0,
             "nucleus_fold_area_um2": 12.4, "nucleus_fraction_folded": 0.048, "cortical_depth_um": 144.0}
BASKET = {"soma_volume_um3": 1382.0, "soma_area_um2": 1160.0, "soma_area_to_volume_per_um": 0.879,
          "soma_n_processes": 6, "soma_n_synapses": 600, "soma_synapse_density_per_um2": 0.513,
          "nucleus_volume_um3": 343.0, "nucleus_area_um2": 328.0, "nucleus_area_to_volume_per_um": 0.975,
          "nucleus_fold_area_um2": 63.1, "nucleus_fraction_folded": 0.198, "cortical_depth_um": 373.0}
INHIBITORY_CLASSES = {"BC", "MC", "BPC", "NGC"}
DENDRITIC_E = {"neurd_syn_density_post_per_um": 0.9, "neurd_syn_density_head_per_um": 0.4,
               "neurd_syn_density_neck_per_um": 0.02, "neurd_syn_density_shaft_per_um": 0.3,
               "neurd_spine_density_per_um": 0.6}
DENDRITIC_I = {"neurd_syn_density_post_per_um": 1.5, "neurd_syn_density_head_per_um": 0.02,
               "neurd_syn_density_neck_per_um": 0.005, "neurd_syn_density_shaft_per_um": 1.4,
               "neurd_spine_density_per_um": 0.05}


def _as_v83(engine: dict) -> dict:
    """The same cell in v83-table column names and units."""
    return {"soma_volume": engine["soma_volume_um3"] * 1e9, "soma_area": engine["soma_area_um2"] * 1e6,
            "num_processes": engine["soma_n_processes"], "n_soma_syn": engine["soma_n_synapses"],
            "nucleus_volume": engine["nucleus_volume_um3"], "nucleus_area": engine["nucleus_area_um2"],
            "nucleus_fold_area": engine["nucleus_fold_area_um2"],
            "nucleus_fract_fold": engine["nucleus_fraction_folded"], "yr_um_translated": engine["cortical_depth_um"],
            "cell_type_pred": "BC"}


def test_shipped_models_present_with_cards():
    assert set(SHIPPED) <= set(model_names())
    for name in SHIPPED:
        exts = ("json", "md") if load_model(name).kind == "logistic" else ("txt", "json", "md")
        for ext in exts:
            assert (MODELS_DIR / f"{name}.{ext}").is_file(), f"{name}.{ext} missing"


@pytest.mark.slow
def test_loading_never_unpickles(refuse_unpickle):
    for name in SHIPPED:
        m = load_model(name)
        assert m.booster.num_trees() > 0 if m.kind == "lightgbm" else m.booster is None and m.meta["linear"]
        assert all(f["unit"] for f in m.meta["features"])
        assert m.meta["calibration"]["method"] == "temperature"
    r = classify(PYRAMIDAL)
    assert r.status == "ok"


def test_sidecar_records_provenance_and_metrics():
    m = load_model("perisomatic_subclass")
    assert len(m.classes) == 11 and "5P-ET" in m.classes and "5P-PT" not in m.classes
    assert set(m.meta["training_data"]) == {"labels/microns_celltypes_ground_truth.csv",
                                            "labels/microns_perisomatic_features_v83.csv.gz"}
    assert all(len(s) == 64 for s in m.meta["training_data"].values())
    assert "cell_type_pred" not in m.features and "lightgbm" in m.meta["versions"]
    assert 0 < m.meta["metrics"]["model_calibrated"]["balanced_accuracy"] <= 1


def test_engine_facing_models_use_no_area_derived_inputs():
    """The engine's soma area is not the table's (decimated mesh): engine-facing models must not depend on it."""
    area_like = ("area", "sphericity", "per_um2", "fold")
    for name in ["perisomatic_engine_ei", "perisomatic_engine_subclass", "perisomatic_soma_ei",
                 "perisomatic_soma_subclass"]:
        m = load_model(name)
        assert not [f for f in m.features if any(a in f for a in area_like)], name
        assert "soma_volume_um3" in m.features and set(m.meta["feature_extent"]) == set(m.features)
    # changing every area input leaves the engine call unchanged
    weird = {**PYRAMIDAL, "soma_area_um2": 300.0, "soma_area_to_volume_per_um": 0.37,
             "soma_synapse_density_per_um2": 0.45, "nucleus_area_um2": 999.0}
    assert classify(weird).subclass_probabilities == classify(PYRAMIDAL).subclass_probabilities
    semi = load_model("perisomatic_subclass").meta["semi_supervised"]
    assert semi is False or (semi["method"] == "self-training" and semi["tau"] >= 0.9)


def test_classify_pyramidal_and_basket_are_sane_and_deterministic():
    p = classify(PYRAMIDAL)
    b = classify(BASKET)
    assert isinstance(p, ClassificationResult)
    assert p.ei == "excitatory" and p.subclass in {"23P", "4P"}
    assert b.ei == "inhibitory" and b.subclass in {"BC", "MC", "BPC", "NGC"}
    assert abs(sum(p.subclass_probabilities.values()) - 1) < 1e-9
    assert p.models == ["perisomatic_engine_ei", "perisomatic_engine_subclass"]
    again = classify(dict(PYRAMIDAL))
    assert again.subclass_probabilities == p.subclass_probabilities
    inh = sum(v for k, v in b.subclass_probabilities.items() if k in {"BC", "MC", "BPC", "NGC"})
    assert inh > 0.8 and b.p_inhibitory > 0.8 and p.p_inhibitory < 0.2
    assert not any("disagree" in note for note in p.notes + b.notes)


def test_classify_engine_and_table_names_agree():
    a = classify(PYRAMIDAL)
    t = classify(_as_v83(PYRAMIDAL))
    assert t.subclass == a.subclass
    assert t.p_inhibitory == pytest.approx(a.p_inhibitory, abs=1e-6)


def test_classify_falls_back_to_soma_only_without_nucleus():
    no_nucleus = {k: v for k, v in PYRAMIDAL.items() if not k.startswith("nucleus_")}
    r = classify(no_nucleus)
    assert r.status == "ok" and r.models == ["perisomatic_soma_ei", "perisomatic_soma_subclass"]
    assert r.ei == "excitatory"


def test_classify_insufficient_features_lists_missing():
    r = classify({"soma_volume_um3": 800.0})
    assert r.status == "insufficient_features" and r.ei is None and r.subclass is None
    assert "nucleus_volume_um3" in r.missing and "neurd_spine_density_per_um" in r.missing


def test_classify_dendritic_only_and_combined():
    d = classify(DENDRITIC_I)
    assert d.status == "ok" and d.ei == "inhibitory" and d.subclass is None
    assert d.subclass_status == "insufficient_features" and "soma_volume_um3" in d.missing
    both = classify({**PYRAMIDAL, **DENDRITIC_I})
    assert set(both.ei_sources) == {"perisomatic_engine_ei", "dendritic_ei"}
    pe, pd_ = both.ei_sources.values()
    assert both.p_inhibitory == pytest.approx(pe * pd_ / (pe * pd_ + (1 - pe) * (1 - pd_)))


def _mildly_high(prefix: str, feature: str) -> float:
    """A value above the E/I and subclass models' 0.5-99.5% training ranges but inside both training extents."""
    models = [load_model(f"{prefix}_ei"), load_model(f"{prefix}_subclass")]
    lo = max(m.meta["feature_ranges"][feature][1] for m in models)
    hi = min(m.meta["feature_extent"][feature][1] for m in models)
    assert lo < hi
    return (lo + hi) / 2


def test_out_of_range_view_is_reported_and_left_out_of_ei():
    odd = {**PYRAMIDAL, "soma_n_synapses": _mildly_high("perisomatic_engine", "soma_n_synapses")}
    r = classify({**odd, **DENDRITIC_I})
    assert "soma_n_synapses" in r.out_of_range["perisomatic_engine_ei"]
    assert "dendritic_ei" not in r.out_of_range and r.ei_decided_by == ["dendritic_ei"]
    assert r.p_inhibitory == pytest.approx(r.ei_sources["dendritic_ei"])
    assert r.subclass_status == "ok" and r.status == "out_of_range"
    assert "perisomatic_engine_ei left out of E/I" in r.status_detail
    assert "subclass extrapolates" in r.status_detail
    table = classify_perisomatic(pd.DataFrame([odd, PYRAMIDAL]))
    assert "soma_n_synapses" in table["out_of_range_features"].iloc[0] and table["out_of_range_features"].iloc[1] == ""


def test_subclass_is_chosen_on_the_decided_ei_side():
    """An inhibitory-looking soma whose E/I is decided excitatory by the dendritic view: the subclass is the best
    excitatory class (renormalised), never the subclass model's own inhibitory arg-max."""
    soma = {**BASKET, "soma_n_synapses": _mildly_high("perisomatic_engine", "soma_n_synapses")}
    alone = classify(soma)
    assert alone.ei == "inhibitory" and alone.subclass in INHIBITORY_CLASSES
    r = classify({**soma, **DENDRITIC_E})
    assert r.ei == "excitatory" and r.ei_decided_by == ["dendritic_ei"] and r.status == "out_of_range"
    own = max(r.subclass_probabilities_unrestricted, key=r.subclass_probabilities_unrestricted.get)
    assert own in INHIBITORY_CLASSES  # the subclass model alone says inhibitory ...
    assert r.subclass not in INHIBITORY_CLASSES  # ... the answer is on the decided side
    assert set(r.subclass_probabilities) == set(load_model("perisomatic_engine_subclass").classes) - INHIBITORY_CLASSES
    assert sum(r.subclass_probabilities.values()) == pytest.approx(1.0)
    exc = {c: v for c, v in r.subclass_probabilities_unrestricted.items() if c not in INHIBITORY_CLASSES}
    assert r.subclass == max(exc, key=exc.get)
    assert r.subclass_probabilities[r.subclass] == pytest.approx(exc[r.subclass] / sum(exc.values()))
    assert "restricted to the excitatory classes" in r.subclass_rule
    assert any("would say" in note for note in r.notes) and not any("disagree" in n for n in r.notes)


def test_far_out_of_range_inputs_refuse_the_subclass():
    tiny = {**PYRAMIDAL, "soma_volume_um3": 1.0}  # no training soma is anywhere near 1 µm³
    r = classify({**tiny, **DENDRITIC_I})
    assert r.ei == "inhibitory" and r.ei_decided_by == ["dendritic_ei"]
    assert r.status == "out_of_range" and r.subclass_status == "out_of_range" and r.subclass is None
    assert not r.subclass_probabilities
    assert r.out_of_range["perisomatic_engine_subclass"]["soma_volume_um3"].startswith("= 1 outside")
    assert "no subclass" in r.status_detail
    alone = classify(tiny)
    assert alone.status == "out_of_range" and alone.ei is None and alone.subclass is None
    assert "soma_volume_um3" in alone.out_of_range["perisomatic_engine_ei"]


def test_every_sidecar_has_its_training_extent():
    """Every shipped model (the dendritic one included) carries [min, max] per input, around its 0.5-99.5% range."""
    for name in SHIPPED:
        m = load_model(name)
        ext, ranges = m.meta["feature_extent"], m.meta["feature_ranges"]
        inputs = m.required if m.kind == "logistic" else m.features  # the ratio model checks its raw densities
        assert set(ext) == set(inputs) == set(ranges), name
        for f, (lo, hi) in ranges.items():
            assert ext[f][0] <= lo <= hi <= ext[f][1], (name, f)


def test_far_out_of_range_dendritic_view_is_not_used():
    hi = load_model("dendritic_ei").meta["feature_extent"]["neurd_spine_density_per_um"][1]
    odd = {**DENDRITIC_E, "neurd_spine_density_per_um": 10 * hi + 1}  # no training cell had such a density
    alone = classify(odd)
    assert alone.status == "out_of_range" and alone.ei is None
    assert "neurd_spine_density_per_um" in alone.out_of_range["dendritic_ei"]
    both = classify({**PYRAMIDAL, **odd})
    assert both.ei_decided_by == ["perisomatic_engine_ei"] and "dendritic_ei" in both.out_of_range
    assert both.status == "out_of_range" and "dendritic_ei not used" in both.status_detail


def test_classify_rejects_bad_input():
    with pytest.raises(InputError):
        classify(42)
    with pytest.raises(InputError):
        classify(pd.DataFrame([PYRAMIDAL, BASKET]))
    with pytest.raises(InputError):
        classify_perisomatic([PYRAMIDAL])


def test_classify_perisomatic_table_is_row_aligned_and_nan_tolerant():
    rows = [_as_v83(PYRAMIDAL), _as_v83(BASKET), {**_as_v83(PYRAMIDAL), "nucleus_volume": np.nan},
            {"soma_volume": 8e11}, {**_as_v83(BASKET), "n_soma_syn": "garbage"}]
    df = pd.DataFrame(rows, index=[10, 10, 11, 12, 13])
    out = classify_perisomatic(df)
    assert list(out.index) == [10, 10, 11, 12, 13]
    assert list(out["status"]) == ["ok", "ok", "ok", "insufficient_features", "doubtful"]
    assert out["status_detail"].iloc[0] == "" and "missing" in out["status_detail"].iloc[4]
    assert list(out["model"].fillna("-")) == ["perisomatic_engine", "perisomatic_engine", "perisomatic_soma", "-",
                                              "perisomatic_engine"]
    assert out["ei"].iloc[0] == "excitatory" and out["ei"].iloc[1] == "inhibitory"
    assert np.isnan(out["p_inhibitory"].iloc[3]) and out["subclass"].isna().iloc[3]
    probs = out.filter(like="p_").drop(columns="p_inhibitory").iloc[[0, 1, 2, 4]].to_numpy(dtype=float)
    assert np.allclose(probs.sum(axis=1), 1)
    assert bool(out["ei_subclass_agree"].iloc[0]) and bool(out["ei_subclass_agree"].iloc[1])
    assert "nucleus_volume_um3" in out["missing_features"].iloc[2]
    assert out["outside_training_extent"].iloc[0] == ""
    pd.testing.assert_frame_equal(out, classify_perisomatic(df))
    assert classify_perisomatic(pd.DataFrame()).empty


def test_lazy_names_map_here():
    assert nl.classify is classify and nl.classify_perisomatic is classify_perisomatic


@pytest.mark.realdata
@pytest.mark.slow
def test_perisomatic_agrees_with_published_model_on_unlabelled_cells(real):
    """On 1,500 cells that are in no label file, our E/I agrees with the published v83 model's E/I."""
    table = pd.read_csv(real("labels/microns_perisomatic_features_v83.csv.gz"))
    gt = pd.read_csv(real("labels/microns_celltypes_ground_truth.csv"))
    pool = table[~table["nucleus_id"].isin(gt["nucleus_id"]) & (table["cell_type_pred"] != "Unsure")]
    sample = pool.sample(1500, random_state=0)
    out = classify_perisomatic(sample)
    assert (out["model"] == "perisomatic").all() and (out["status"] != "insufficient_features").all()
    assert out["status"].isin(["ok", "doubtful", "views_disagree", "out_of_range"]).all()
    assert (out["status"] == "ok").mean() > 0.6 and (out["status_detail"] == "").eq(out["status"] == "ok").all()
    theirs = np.where(sample["cell_type_pred"].isin(["BC", "MC", "BPC", "NGC"]), "inhibitory", "excitatory")
    assert (out["ei"].to_numpy() == theirs).mean() > 0.95
    # subclass agreement (their 6P is 6P-IT or 6P-CT)
    mapped = sample["cell_type_pred"].replace({"5P_IT": "5P-IT", "5P_PT": "5P-ET", "5P_NP": "5P-NP", "6IT": "6P-IT",
                                               "6CT": "6P-CT"}).to_numpy()
    ours = out["subclass"].to_numpy()
    agree = (ours == mapped) | ((mapped == "6P") & np.isin(ours, ["6P-IT", "6P-CT"]))
    assert agree.mean() > 0.6


def test_cli_classify_neuron_file_and_bad_path(tmp_path, capsys):
    import json

    from neurd_lite.cli import main
    from neurd_lite.neuron import Neuron

    path = Neuron(name="bare").save(tmp_path / "bare.h5")
    assert main(["classify", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["neuron"] == "bare" and printed["status"] == "insufficient_features"
    assert "soma_volume_um3" in printed["missing"]
    assert main(["classify", str(tmp_path / "nope.ply")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_context_features_exclude_self_and_use_units():
    """Spatial-context features (experimental): neighbour counts in µm from nm positions, self excluded."""
    from neurd_lite.celltype.context import CONTEXT_FEATURES, context_features

    rng = np.random.default_rng(0)
    n = 400
    ref = pd.DataFrame({"nucleus_id": np.arange(n), "soma_x": rng.uniform(0, 200e3, n),
                        "soma_y": rng.uniform(0, 200e3, n), "soma_z": rng.uniform(0, 200e3, n),
                        "soma_volume": np.full(n, 800e9), "nucleus_volume": np.full(n, 300.0),
                        "n_soma_syn": np.full(n, 100.0), "yr_um_translated": rng.uniform(0, 200, n)})
    ctx = context_features(ref, ref)
    assert list(ctx.columns) == list(CONTEXT_FEATURES) and len(ctx) == n
    d = np.linalg.norm(ref[["soma_x", "soma_y", "soma_z"]].to_numpy()[:, None] - ref[["soma_x", "soma_y",
                                                                                        "soma_z"]].to_numpy(), axis=2)
    assert np.array_equal(ctx["ctx_n_30um"].to_numpy(), (d <= 30e3).sum(1) - 1)
    assert np.allclose(ctx["ctx_soma_vol_rel"], 0.0) and np.allclose(ctx["ctx_nn_dist_um"],
                                                                      np.sort(d, 1)[:, 1] / 1e3)
    # the same rows without ids (a new cell at the same place) give the same answer; missing position -> NaN
    alone = context_features(ref.drop(columns="nucleus_id").iloc[:3], ref)
    assert np.allclose(alone.to_numpy(), ctx.iloc[:3].to_numpy(), equal_nan=True)
    assert context_features(ref.iloc[:1].assign(soma_x=np.nan), ref).isna().all(axis=None)


def test_classify_carries_neuron_flags_and_doubt(monkeypatch):
    """A merge (multi_soma) is classified but not as a plain 'ok': the flags are in the result and the status is
    'doubtful' with the flag in status_detail; a flag that does not put the call in doubt keeps 'ok'."""
    import neurd_lite.feature as feature

    monkeypatch.setattr(feature, "features", lambda n, nucleus=None, params=None, up=None: pd.DataFrame([PYRAMIDAL], index=[n.name]))
    plain = classify(PYRAMIDAL)
    merge = nl.Neuron(name="merge")
    merge.flag("multi_soma: 2 somas (probably a merge of several cells)")
    merge.flag("axon_not_found")
    r = classify(merge)
    assert r.status == "doubtful" and r.doubtful
    assert r.ei == plain.ei and r.subclass == plain.subclass and r.p_inhibitory == plain.p_inhibitory
    assert r.flags == ["multi_soma: 2 somas (probably a merge of several cells)", "axon_not_found"]
    assert r.status_detail == "doubtful: neuron flag multi_soma: 2 somas (probably a merge of several cells)"
    assert r.to_dict()["flags"] == r.flags
    calm = nl.Neuron(name="calm")
    calm.flag("axon_not_found")
    c = classify(calm)
    assert c.status == "ok" and not c.doubtful and c.flags == ["axon_not_found"]
    far = nl.Neuron(name="far")
    far.flag("synapses_far: 2705 of 2705 synapses > 1.5 µm from the mesh (check synapse_units)")
    assert classify(far).status == "doubtful"
    assert plain.flags == [] and not plain.doubtful and plain.status == "ok"


def test_unmeasured_inputs_give_one_note_per_reason(monkeypatch):
    """Inputs the engine could not measure for the same reason (no nucleus mesh) are named in one note, and the
    answer comes from the soma-only models (listed in ``models``)."""
    import neurd_lite.feature as feature

    why = "no nucleus mesh (pass features(n, nucleus=mesh))"
    nuc = [k for k in PYRAMIDAL if k.startswith("nucleus_")]

    def fake(n, nucleus=None, params=None, up=None):
        df = pd.DataFrame([{k: (np.nan if k in nuc else v) for k, v in PYRAMIDAL.items()}], index=[n.name])
        df.attrs["missing"] = {k: why for k in nuc}
        return df

    monkeypatch.setattr(feature, "features", fake)
    r = classify(nl.Neuron(name="no_nucleus"))
    notes = [n for n in r.notes if why in n]
    assert len(notes) == 1 and all(k in notes[0] for k in nuc)
    assert r.ei == "excitatory" and any(m.startswith("perisomatic_soma") for m in r.models)

"""The axon-label audit of classifiers/compartments/label_audit.py on small constructed cells (session 19)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from neurd_lite.skeleton.model import Skeleton

PATH = Path(__file__).resolve().parents[1] / "classifiers" / "compartments" / "label_audit.py"


def _module():
    name = "_test_compartments_label_audit"
    spec = importlib.util.spec_from_file_location(name, PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


audit = _module()


def _cell(dend_um: int = 100, axon_um: int = 200) -> tuple[Skeleton, np.ndarray]:
    """A soma vertex (root, 0) with a straight dendrite up and a straight axon down, one vertex per µm (nm)."""
    y = np.concatenate([[0.0], np.arange(1, dend_um + 1), -np.arange(1, axon_um + 1)]) * 1000.0
    v = np.c_[np.zeros_like(y), y, np.zeros_like(y)]
    d = np.arange(1, dend_um + 1)
    a = np.arange(dend_um + 1, dend_um + axon_um + 1)
    edges = np.r_[np.c_[np.r_[0, d[:-1]], d], np.c_[np.r_[0, a[:-1]], a]]
    axon = np.zeros(len(v), dtype=bool)
    axon[a] = True
    return Skeleton(v, edges, root=0), axon


def _syn(inputs: np.ndarray, outputs: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"skeleton_vertex": np.r_[inputs, outputs].astype(int),
                         "is_pre": np.r_[np.zeros(len(inputs), bool), np.ones(len(outputs), bool)]})


DEND = np.arange(1, 101)              # one input per µm of dendrite
AIS = np.arange(101, 141)             # the axon's first 40 µm
DISTAL = np.arange(161, 301)          # the axon beyond 60 µm


def test_a_clean_axon_passes_even_with_a_dense_initial_segment():
    sk, axon = _cell()
    r = audit.audit_axon_mask(sk, _syn(np.r_[DEND, AIS, [200, 250]], DISTAL[::7]), axon)
    assert r["trusted"] and r["reasons"] == ""
    assert abs(r["in_per_um_dendrite"] - 1.0) < 1e-9
    assert r["input_ratio"] < 0.05


def test_dendrite_rate_input_beyond_the_initial_segment_is_distrusted():
    sk, axon = _cell()
    r = audit.audit_axon_mask(sk, _syn(np.r_[DEND, DISTAL[::2]], DISTAL[::7]), axon)
    assert not r["trusted"] and r["reasons"] == "dendrite_rate_input"
    assert 0.3 < r["input_ratio"] < 0.7


def test_too_few_distal_inputs_are_no_evidence():
    sk, axon = _cell(axon_um=60)   # 10 µm of axon beyond the initial segment
    r = audit.audit_axon_mask(sk, _syn(np.r_[DEND, [155, 158, 160]], np.arange(151, 161)), axon)
    assert r["input_ratio"] > 0.25 and r["n_in_distal_axon"] == 3
    assert r["trusted"]


def test_outputs_on_the_dendrite_distrust_the_mask():
    sk, axon = _cell()
    r = audit.audit_axon_mask(sk, _syn(DEND, np.r_[DEND[::5], DISTAL[:5]]), axon)
    assert r["reasons"] == "outputs_off_axon" and abs(r["out_share_axon"] - 0.2) < 1e-9
    few = audit.audit_axon_mask(sk, _syn(DEND, np.r_[DEND[:5], DISTAL[:3]]), axon)  # 8 outputs: no evidence
    assert few["trusted"]


def test_identical_masks_and_covered_axons():
    sk, axon = _cell()
    syn = _syn(DEND, DISTAL[::7])
    same = audit.audit_axon_mask(sk, syn, axon, axon.copy())
    assert same["reasons"] == "mask_equals_apical" and same["synapse_reasons"] == ""
    cover = audit.audit_axon_mask(sk, syn, axon, axon | (np.arange(sk.n_vertices) > 50))
    assert cover["trusted"] and cover["axon_inside_apical"]


def test_no_synapses_gives_no_synaptic_reason():
    sk, axon = _cell()
    r = audit.audit_axon_mask(sk, None, axon)
    assert r["trusted"] and np.isnan(r["input_ratio"])


def test_audited_means_leave_out_only_the_distrusted_cells():
    rows = pd.DataFrame({"source": ["microns"] * 6 + ["cajal"], "cell": ["a", "b", "c", "a", "b", "c", "x"],
                         "mode": ["given+syn"] * 3 + ["given"] * 3 + ["inferred"],
                         "axon_f1": [1.0, 0.5, np.nan, 0.8, 0.0, np.nan, 0.1]})
    out = audit.audited_axon_f1(rows, {"b"})
    assert out["microns_axon_f1_mean"] == 0.75 and out["microns_axon_f1_audited_mean"] == 1.0
    assert out["microns_no_synapses_axon_f1_mean"] == 0.4 and out["microns_no_synapses_axon_f1_audited_mean"] == 0.8
    assert out["microns_axon_cells_audited"] == "1 of 2"


def test_real_labels_the_synapses_alone_flag_the_identical_masks(real):
    """The README's 7 ``is_axon == is_apical`` files are distrusted by the synapse reasons alone; the independently
    labelled MICrONS cells pass."""
    real(audit.INDEPENDENT["swdb2023_864691134940133219"])
    mic = audit.microns_audit()
    same = mic[mic.reasons.str.contains("mask_equals_apical")]
    assert len(mic) == 53 and len(same) == 7
    assert (same.synapse_reasons != "").all()
    assert audit.independent_audit().trusted.all()


def _case(inputs: np.ndarray, outputs: np.ndarray):
    """A stand-in for ``cells.Case``: the prepared tree of ``_cell`` with per-vertex synapse counts."""
    from types import SimpleNamespace

    from neurd_lite.compartments.tree import Tree

    sk, axon = _cell()
    pre, post = np.bincount(outputs, minlength=sk.n_vertices), np.bincount(inputs, minlength=sk.n_vertices)
    return SimpleNamespace(prep=SimpleNamespace(tree=Tree.from_skeleton(sk), pre=pre, post=post), apical=None), axon


def test_replacement_is_the_output_carrying_input_free_subtree():
    c, axon = _case(np.r_[DEND, AIS], DISTAL[::7])
    mask, rec = audit.replacement_axon(c)
    assert mask is not None and rec["trusted"] and rec["n_out"] >= 10
    assert mask[DISTAL].all() and not mask[DEND].any()


def test_no_replacement_when_outputs_are_spread_over_the_dendrite():
    c, _ = _case(np.r_[DEND, AIS], np.r_[DEND[::5], DISTAL[::20]])  # 20 outputs on the dendrite, 7 on the axon
    mask, rec = audit.replacement_axon(c)
    assert mask is None and rec["n_candidates"] >= 0
    few, _ = _case(np.r_[DEND, AIS], DISTAL[::20])  # 7 outputs: the audit would be vacuous
    assert audit.replacement_axon(few)[0] is None

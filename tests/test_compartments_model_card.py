"""The compartment model card's axon-label audit table (classifiers/compartments/model_card.py, session 20): made
from validation rows, stored in the sidecar, and rendered again from the sidecar alone."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parents[1] / "classifiers" / "compartments"


# the compartment scripts import their siblings by bare name (they run from their folder); other test modules
# load scripts of the same names from other folders (classifiers/split_cut/train.py), so those are set aside here
SIBLINGS = ("model_card", "train", "label_audit", "limb_fit")


@pytest.fixture(scope="module")
def mc():
    pytest.importorskip("lightgbm")
    saved = {k: sys.modules.pop(k) for k in SIBLINGS if k in sys.modules}
    sys.path.insert(0, str(HERE))
    try:
        import model_card
        yield model_card
    finally:
        sys.path.remove(str(HERE))
        for k in SIBLINGS:
            sys.modules.pop(k, None)
        sys.modules.update(saved)


def _rows() -> pd.DataFrame:
    """Two validations x two modes over three MICrONS cells (cell "3" distrusted) and one external cell."""
    out = []
    for val, fold in (("leave_cell_out", "cell_fold_0"), ("leave_source_out", "microns")):
        for mode, f1s in (("given+syn", (1.0, 0.8, 0.0)), ("given", (0.5, 0.7, 0.0))):
            out += [{"validation": val, "fold": fold, "source": "microns", "mode": mode, "cell": c, "axon_f1": f}
                    for c, f in zip((1, 2, 3), f1s)]
    out.append({"validation": "leave_source_out", "fold": "all_external", "source": "microns", "mode": "given+syn",
                "cell": 1, "axon_f1": 0.0})  # the all-external fold never counts
    out.append({"validation": "leave_source_out", "fold": "cajal", "source": "cajal", "mode": "inferred",
                "cell": "x", "axon_f1": 0.1})
    return pd.DataFrame(out)


def test_audit_block_means_over_all_and_trusted_cells(mc):
    block = mc.audit_block(_rows(), {"3"}, 1e4, "a.json, b.json")
    loco = block["leave_cell_out"]
    assert loco["microns_axon_f1_mean"] == pytest.approx(0.6) and loco["microns_axon_f1_audited_mean"] == 0.9
    assert loco["microns_no_synapses_axon_f1_audited_mean"] == 0.6
    assert loco["microns_axon_cells_audited"] == "2 of 3"
    assert block["leave_source_out"]["microns_axon_f1_mean"] == pytest.approx(0.6)  # all_external left out
    lines = mc.audit_table(block, "shipped models")
    assert "| leave-cell-out | 0.600 / 0.900 | 0.400 / 0.600 |" in lines
    assert "| leave-source-out (MICrONS fold) | 0.600 / 0.900 | 0.400 / 0.600 |" in lines
    assert lines[0].startswith("MICrONS axon F1 over all 3 cells") and "1 of the 3 labelled axons" in lines[1]
    assert lines[-2].endswith("(rows: a.json, b.json).") and lines[-1] == ""
    assert mc.audit_table(None, "x") == [] and mc._bf(1e4) == "1e4"


def test_a_card_regenerated_from_its_sidecar_is_identical(mc, tmp_path):
    block = mc.audit_block(_rows(), {"3"}, 1e4, "r.json")
    held = {"leave_cell_out": {"microns_axon_f1_mean": 0.6}, "leave_source_out": {}, "leave_all_external_out": {}}
    first = mc.l2_card(held, {"microns": 3}, block)
    side = tmp_path / "compartment_axon_l2.json"
    side.write_text(json.dumps({"held_out_metrics": held, "axon_label_audit": block, "rebuild_seconds": 600}))
    held2, block2, seconds = mc.held_out_from([side], set(), 0.0)
    assert seconds == 600 and mc.l2_card(held2, {"microns": 3}, block2) == first
    assert "| leave-cell-out | 0.600 / 0.900 |" in first
    assert "(10 min on one core, including the" in mc.card(held2, {"microns": 3}, seconds, block2)

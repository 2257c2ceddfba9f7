"""Synapse-table ingest: each layout normalises to nm positions and is_pre; bad tables give clear errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurd_lite.errors import InputError, NeurdLiteWarning
from neurd_lite.io.synapses import SYNAPSE_COLUMNS, load_synapses

CELL = 864691135510518224


def _check_standard(df: pd.DataFrame) -> None:
    assert tuple(df.columns[:7]) == SYNAPSE_COLUMNS
    assert df["x_nm"].dtype == np.float64


def test_microns_csv_roundtrip(tmp_path):
    raw = pd.DataFrame({"segment_id": CELL, "segment_id_secondary": [11, 12, 13], "synapse_id": [7, 8, 9],
                        "prepost": ["postsyn", "presyn", "postsyn"], "synapse_x": [100, 200, 300],
                        "synapse_y": [10, 20, 30], "synapse_z": [1, 2, 3], "synapse_size": [50, 60, 70]})
    path = tmp_path / "syn.csv"
    raw.to_csv(path)  # with the unnamed index column, as the MICrONS export has
    df = load_synapses(path)
    _check_standard(df)
    assert df["is_pre"].tolist() == [False, True, False] and df["is_pre"].dtype == bool
    np.testing.assert_allclose(df[["x_nm", "y_nm", "z_nm"]].to_numpy()[1], [800, 80, 80])
    assert df["partner_id"].tolist() == [11, 12, 13] and df["size"].tolist() == [50, 60, 70]
    assert "segment_id" in df.columns and "Unnamed: 0" not in df.columns
    assert df.attrs["layout"] == "microns_csv"
    assert len(load_synapses(path, segment_id=str(CELL))) == 3
    with pytest.raises(InputError, match="no rows with segment_id"):
        load_synapses(path, segment_id=1)


def test_cave_list_column_and_inferred_segment():
    df_in = pd.DataFrame({"id": [1, 2, 3],
                          "ctr_pt_position": [np.array([1, 2, 3]), [4, 5, 6], "[7 8 9]"],
                          "pre_pt_root_id": [CELL, 5, 6], "post_pt_root_id": [4, CELL, CELL], "size": [1, 2, 3]})
    df = load_synapses(df_in)  # CELL is on every row -> it is the neuron
    _check_standard(df)
    assert df["is_pre"].tolist() == [True, False, False]
    assert df["partner_id"].tolist() == [4, 5, 6]
    np.testing.assert_allclose(df.loc[2, ["x_nm", "y_nm", "z_nm"]].to_numpy(float), [28, 32, 360])
    df_in.attrs["dataframe_resolution"] = [1, 1, 1]  # caveclient's marker for nm output
    assert load_synapses(df_in).loc[0, "z_nm"] == 3


def test_cave_split_columns_need_segment_when_ambiguous(tmp_path):
    df_in = pd.DataFrame({"id": [1, 2], "ctr_pt_position_x": [1.0, 2], "ctr_pt_position_y": [1.0, 2],
                          "ctr_pt_position_z": [1.0, 2], "pre_pt_root_id": [1, 3], "post_pt_root_id": [2, 4]})
    path = tmp_path / "cave.parquet"
    df_in.to_parquet(path)
    with pytest.warns(NeurdLiteWarning, match="segment_id"):
        df = load_synapses(path, units="nm")
    assert df["is_pre"].isna().all()
    df = load_synapses(path, units="nm", segment_id=2)  # row 2 belongs to other neurons: left out, counted
    assert df["is_pre"].tolist() == [False] and df.attrs["rows_other_segment"] == 1


def test_generic_xyz_polarity_forms(tmp_path):
    base = {"x": [1.0, 2.0, 3.0], "y": [0.0, 0, 0], "z": [0.0, 0, 0]}
    for col, values in (("type", ["pre", "post", "PRE"]), ("is_pre", [True, False, True]),
                        ("pre", [1, 0, 1]), ("direction", ["output", "input", "outgoing"])):
        df = load_synapses(pd.DataFrame({**base, col: values}), units="um")
        assert df["is_pre"].tolist() == [True, False, True], col
        assert df["x_nm"].tolist() == [1000, 2000, 3000]
    path = tmp_path / "nm.tsv"
    pd.DataFrame({"x_nm": [5.0], "y_nm": [6.0], "z_nm": [7.0], "is_pre": [0], "note": ["a"]}).to_csv(
        path, sep="\t", index=False)
    df = load_synapses(path, units="um")  # *_nm columns are nm whatever units says
    assert df.loc[0, "x_nm"] == 5 and df.loc[0, "note"] == "a" and not df.loc[0, "is_pre"]


def test_missing_polarity_is_na_with_warning():
    with pytest.warns(NeurdLiteWarning, match="no polarity column"):
        df = load_synapses(pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0]}))
    assert df["is_pre"].isna().all() and df["partner_id"].isna().all()
    with pytest.warns(NeurdLiteWarning, match="1 of 2 synapses have no polarity"):
        df = load_synapses(pd.DataFrame({"x": [1.0, 2], "y": [2.0, 2], "z": [3.0, 2], "type": ["pre", None]}))
    assert df["is_pre"].iloc[0] and pd.isna(df["is_pre"].iloc[1])


def test_bad_tables_name_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"columns found: \['a', 'b'\]") as info:
        load_synapses(path)
    assert str(path) in str(info.value) and "synapse_x" in str(info.value)
    pd.DataFrame({"x": [1], "y": [2], "z": [3], "type": ["dendrite"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="not pre/post: \\['dendrite'\\]"):
        load_synapses(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty") as info:
        load_synapses(empty)
    assert str(empty) in str(info.value)
    with pytest.raises(InputError, match="file not found"):
        load_synapses(tmp_path / "missing.csv")
    (tmp_path / "bad.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unknown format"):
        load_synapses(tmp_path / "bad.xlsx")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="could not read the table"):
        load_synapses(junk)


def test_nonfinite_rows_dropped_and_units_warning():
    df_in = pd.DataFrame({"x": [1.0, np.nan], "y": [0.0, 0], "z": [0.0, 0], "is_pre": [True, False]})
    with pytest.warns(NeurdLiteWarning, match="dropped 1 of 2"):
        assert len(load_synapses(df_in)) == 1
    with pytest.warns(NeurdLiteWarning, match="beyond any EM volume"):
        load_synapses(pd.DataFrame({"x": [2e7], "y": [0.0], "z": [0.0], "is_pre": [True]}))


def test_header_only_and_truncated_csv(tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("x,y,z,type\n")
    df = load_synapses(path)
    assert len(df) == 0 and tuple(df.columns) == SYNAPSE_COLUMNS
    path.write_text("x,y,z,type\n1,2,3,pre\n4,5")  # last row cut mid-way
    with pytest.warns(NeurdLiteWarning, match="dropped 1 of 2") as rec:
        df = load_synapses(path)
    assert len(rec) == 1 and df["is_pre"].dtype == bool and df["is_pre"].tolist() == [True]


# ---- real data ----------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_microns_cell(microns_cell_paths):
    df = load_synapses(microns_cell_paths["synapses"])
    assert len(df) == 965 and (~df["is_pre"]).sum() == 903 and df["is_pre"].sum() == 62
    assert df["synapse_id"].is_unique
    # synapses sit inside the cell's mesh bounding box (nm): a units check against independent data
    assert 1.43e6 < df["x_nm"].min() and df["x_nm"].max() < 1.57e6
    assert 1.0e6 < df["z_nm"].min() and df["z_nm"].max() < 1.12e6


@pytest.mark.realdata
def test_real_fly_neurd_exc_and_cave(real):
    fly = load_synapses(real("meshes/fly_hemibrain_DA1_PNs/synapses/722817260.csv"), units=8)
    assert fly["is_pre"].dtype == bool and fly["is_pre"].any() and (~fly["is_pre"]).any()
    assert {"roi", "confidence", "node_id"} <= set(fly.columns)
    exc = load_synapses(real("skeletons/microns_neurd_exc_864691134917511946/864691134917511946_synapses.csv"))
    assert len(exc) == 2315 and exc["is_pre"].dtype == bool
    pre = load_synapses(real("skeletons/microns_morphsync_864691134918461194/layers/pre_synapses_nodes.csv.gz"),
                        units="nm")
    assert len(pre) == 337 and pre["is_pre"].all() and pre.attrs["layout"] == "cave"


@pytest.mark.realdata
def test_real_cave_feather_with_autapses(real):
    path = real("skeletons/microns_ossify_BC_864691135101289504/post_l2.feather")
    with pytest.warns(NeurdLiteWarning, match="44 autapses") as rec:
        df = load_synapses(path, units="nm")  # this export is already in nm
    assert str(path) in str(rec[0].message)
    assert len(df) == 12424 and df["is_pre"].isna().sum() == 44 and (df["is_pre"] == False).sum() == 12380  # noqa: E712
    with pytest.warns(NeurdLiteWarning) as rec:
        load_synapses(path)  # the 4 x 4 x 40 nm voxel default is wrong here, and the warning says so
    assert any("beyond any EM volume" in str(w.message) for w in rec)

"""Read synapse tables into one normalised layout (positions in nm).

Output columns, in order: ``synapse_id`` (int), ``x_nm, y_nm, z_nm`` (float, nm), ``is_pre`` (True when the
neuron is the presynaptic side), ``partner_id`` (the other neuron's id, <NA> when unknown), ``size`` (float, the
table's own size unit, NaN when absent), then every original column that was not used for these.

Recognised layouts (first match wins):

- ``microns_csv``: MICrONS materialisation export, ``synapse_x/_y/_z`` in voxels (default 4 x 4 x 40 nm),
  ``prepost`` "presyn"/"postsyn", ``segment_id_secondary`` partner, ``synapse_size``.
- ``cave``: CAVE annotation table, ``ctr_pt_position`` as a list/array column or ``ctr_pt_position_x/_y/_z``
  (or ``post_pt_``/``pre_pt_`` positions), default 4 x 4 x 40 nm voxels unless the DataFrame carries caveclient's
  ``attrs["dataframe_resolution"]``; polarity from ``pre_pt_root_id``/``post_pt_root_id`` versus ``segment_id``
  (inferred when one root id is on every row).
- ``xyz``: generic ``x, y, z`` (nm unless ``units=``; e.g. ``units=8`` for the hemibrain/navis connector tables
  with ``connector_id, type`` pre/post) or ``x_nm, y_nm, z_nm``; polarity from ``is_pre``, ``pre``,
  ``type``, ``prepost``, ``direction`` or ``polarity``.

Polarity that cannot be read is not guessed: ``is_pre`` is then pandas' nullable boolean with <NA> and a
``NeurdLiteWarning`` is issued. ``is_pre`` is a plain bool column when every row is known. Rows without a finite
position are dropped with a warning (before polarity is read); ``df.attrs`` counts and lists them:
``rows_in`` (rows read), ``dropped_rows`` (0-based row numbers of the input table that were dropped) and
``rows_other_segment`` (rows left out by ``segment_id``).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from ..errors import InputError, NeurdLiteWarning
from ..units import UnitsLike, scale_to_nm, units_to_json
from .meshes import check_input_file

SYNAPSE_COLUMNS = ("synapse_id", "x_nm", "y_nm", "z_nm", "is_pre", "partner_id", "size")
MICRONS_VOXEL_NM = (4.0, 4.0, 40.0)
MAX_COORD_NM = 1e7  # 10 mm from the origin: beyond any EM volume, so the units are probably wrong
TABLE_SUFFIXES = (".csv.gz", ".csv", ".tsv", ".txt", ".feather", ".parquet", ".pq", ".json")
PRE_WORDS = frozenset({"pre", "presyn", "presynaptic", "output", "outgoing", "out", "true", "1", "1.0", "yes"})
POST_WORDS = frozenset({"post", "postsyn", "postsynaptic", "input", "incoming", "in", "false", "0", "0.0", "no"})
_POLARITY_COLUMNS = ("is_pre", "pre", "prepost", "type", "direction", "polarity")
_ID_COLUMNS = ("synapse_id", "id", "connector_id")
_PARTNER_COLUMNS = ("partner_id", "partner", "partner_root_id", "segment_id_secondary")
_SIZE_COLUMNS = ("size", "synapse_size")
_CAVE_POINTS = ("ctr_pt_position", "post_pt_position", "pre_pt_position")

TableLike = Union[str, Path, pd.DataFrame]


def load_synapses(path_or_df: TableLike, units: UnitsLike | None = None, segment_id: int | None = None,
                  name: str | None = None) -> pd.DataFrame:
    """Load a synapse table and return it normalised (module docstring), positions in nm.

    path_or_df: a table file (csv, csv.gz, tsv, feather, parquet, json) or a DataFrame.
    units: units of the input positions; default per layout (4 x 4 x 40 nm voxels for MICrONS/CAVE, nm for
        ``x, y, z``). ``x_nm`` columns are always nm.
    segment_id: the neuron the table belongs to: selects its rows in a multi-neuron ``segment_id`` column,
        keeps only CAVE rows whose ``pre_pt_root_id`` or ``post_pt_root_id`` is it (the count of rows left out
        is ``df.attrs["rows_other_segment"]``) and decides their polarity.
    name: label for messages (default: the file name).
    ``df.attrs`` records ``source``, ``layout``, ``units_in`` (the units applied), ``layout_default`` and
    ``position_columns`` ("x_nm" when the table's columns were already nm, else "raw"). Whether these units put
    the synapses on the mesh is checked by ``neurd_lite.io.synapse_units.fit_synapse_units`` (decompose does).
    """
    raw, where, segment_id = _read_input(path_or_df, name, segment_id)
    rows_in = len(raw)
    if segment_id is not None:
        raw = _segment_rows(raw, segment_id, where)  # the index keeps input row numbers (dropped_rows below)

    layout, pos_cols, default_units = _detect_layout(raw, where)
    units, scale = _units_scale(raw, layout, pos_cols, default_units, units, where)

    xyz = _positions(raw, pos_cols, where) * scale
    finite = np.isfinite(xyz).all(axis=1)
    dropped = raw.index[~finite].to_numpy(dtype=np.int64)
    if not finite.all():
        _warn(f"dropped {(~finite).sum()} of {len(raw)} synapses without a finite position (input rows "
              f"{_row_list(dropped)})", where, stacklevel=3)
    rows_other = rows_in - len(raw)
    raw, xyz = raw[finite].reset_index(drop=True), xyz[finite]
    used = set(pos_cols)
    if layout == "cave" and {"pre_pt_root_id", "post_pt_root_id"} <= set(raw.columns):
        is_pre, partner = _cave_polarity(raw, segment_id, where)
        used |= {"pre_pt_root_id", "post_pt_root_id"}
    else:
        pol_col = next((c for c in _POLARITY_COLUMNS if c in raw.columns), None)
        is_pre = _parse_polarity(raw[pol_col], pol_col, where) if pol_col else _unknown_polarity(len(raw), where)
        used |= {pol_col} if pol_col else set()
        partner = _first_column(raw, _PARTNER_COLUMNS, used)
    ids = _first_column(raw, _ID_COLUMNS, used)
    size = _first_column(raw, _SIZE_COLUMNS, used)

    out = _finish(_normalised(raw, xyz, is_pre, partner, ids, size, used), where)
    fixed_nm = layout == "xyz" and pos_cols[0] == "x_nm"
    out.attrs.update({"source": str(where) if where is not None else None, "layout": layout,
                      "units_in": "nm" if fixed_nm else units_to_json(units),
                      "layout_default": units_to_json(default_units),
                      "position_columns": "x_nm" if fixed_nm else "raw",
                      "rows_in": rows_in, "dropped_rows": dropped.tolist(), "rows_other_segment": rows_other})
    return out


def _read_input(path_or_df: TableLike, name: str | None, segment_id: int | None
                ) -> tuple[pd.DataFrame, object, int | None]:
    """The raw table (a copy of a DataFrame, or read from a file; a saved index dropped, the index the 0-based
    input row), the label for messages (the path, else ``name``) and ``segment_id`` as an int (None stays)."""
    path = None
    if isinstance(path_or_df, pd.DataFrame):
        raw = path_or_df.copy()
    elif isinstance(path_or_df, (str, Path)):
        path = Path(path_or_df)
        raw = _read_table(path)
    else:
        raise InputError(f"cannot load synapses from a {type(path_or_df).__name__}", None,
                         "pass a table file path or a pandas DataFrame")
    where = path if path is not None else name
    if segment_id is not None:
        try:
            segment_id = int(segment_id)
        except (TypeError, ValueError):
            raise InputError(f"segment_id {segment_id!r} is not an integer id", where, "pass the root id") from None
    return _drop_saved_index(raw).reset_index(drop=True), where, segment_id


def _units_scale(raw: pd.DataFrame, layout: str, pos_cols: tuple[str, ...], default_units: UnitsLike,
                 units: UnitsLike | None, where: object) -> tuple[UnitsLike, np.ndarray]:
    """The input units (given, else a CAVE table's ``dataframe_resolution``, else the layout's default) and the
    (3,) factors to nm (ones for ``x_nm`` columns, which are nm whatever ``units`` says)."""
    if units is None:
        units = raw.attrs.get("dataframe_resolution", default_units) if layout == "cave" else default_units
    try:
        scale = scale_to_nm(units)
    except ValueError as e:
        raise InputError(str(e), where, "e.g. units='nm', units=8 or units=(4, 4, 40)") from None
    if layout == "xyz" and pos_cols[0] == "x_nm":
        scale = np.ones(3)
    return units, scale


def _normalised(raw: pd.DataFrame, xyz: np.ndarray, is_pre: Any, partner: pd.Series | None, ids: pd.Series | None,
                size: pd.Series | None, used: set[str]) -> pd.DataFrame:
    """The normalised columns (``synapse_id`` (default the row number), ``x_nm, y_nm, z_nm`` from ``xyz`` (R, 3)
    nm, ``is_pre``, ``partner_id`` (Int64), ``size`` (float, NaN unknown)), then every input column not ``used``."""
    out = pd.DataFrame({
        "synapse_id": np.arange(len(raw), dtype=np.int64) if ids is None else ids.to_numpy(),
        "x_nm": xyz[:, 0], "y_nm": xyz[:, 1], "z_nm": xyz[:, 2],
        "is_pre": is_pre,
        "partner_id": pd.array([pd.NA] * len(raw), dtype="Int64") if partner is None
        else pd.array(pd.to_numeric(partner, errors="coerce").to_numpy(), dtype="Int64"),
        "size": np.full(len(raw), np.nan) if size is None else pd.to_numeric(size, errors="coerce").to_numpy(float),
    })
    for col in raw.columns:
        if col not in used and col not in out.columns:
            out[col] = raw[col].to_numpy()
    return out


def _segment_rows(raw: pd.DataFrame, segment_id: int, where: object) -> pd.DataFrame:
    """The rows of neuron ``segment_id``: its rows of a ``segment_id`` column, then the CAVE rows with it as
    ``pre_pt_root_id`` or ``post_pt_root_id``; an InputError naming the id when none is left."""
    if "segment_id" in raw.columns:
        raw = raw[pd.to_numeric(raw["segment_id"], errors="coerce") == segment_id]
        if raw.empty:
            raise InputError(f"no rows with segment_id == {segment_id}", where, "check the segment id")
    if {"pre_pt_root_id", "post_pt_root_id"} <= set(raw.columns):
        mine = ((pd.to_numeric(raw["pre_pt_root_id"], errors="coerce") == segment_id)
                | (pd.to_numeric(raw["post_pt_root_id"], errors="coerce") == segment_id)).to_numpy()
        if not mine.any():
            raise InputError(f"no synapse has {segment_id} as pre_pt_root_id or post_pt_root_id", where,
                             "check the segment id (it may have been edited: use its latest root id)")
        raw = raw[mine]
    return raw


# ---- reading -------------------------------------------------------------------------------------------
def _read_table(path: Path) -> pd.DataFrame:
    suffix = check_input_file(path, TABLE_SUFFIXES, "supported: .csv .csv.gz .tsv .feather .parquet .json")
    try:
        if suffix in (".csv", ".csv.gz", ".txt"):
            return pd.read_csv(path, sep=None if suffix == ".txt" else ",", engine="python" if suffix == ".txt"
                               else "c")
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix == ".feather":
            return pd.read_feather(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_json(path)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"could not read the table: {type(e).__name__}: {e}", path,
                         "the file is corrupt, truncated or not the format its suffix says") from None


def _drop_saved_index(df: pd.DataFrame) -> pd.DataFrame:
    """Drop an unnamed 0..n-1 column left by ``DataFrame.to_csv`` with its index."""
    for col in [c for c in df.columns if str(c).startswith("Unnamed: ")]:
        if np.array_equal(df[col].to_numpy(), np.arange(len(df))):
            df = df.drop(columns=col)
    return df


def _detect_layout(df: pd.DataFrame, where: Any) -> tuple[str, tuple[str, ...], UnitsLike]:
    cols = set(df.columns)
    if {"synapse_x", "synapse_y", "synapse_z"} <= cols:
        return "microns_csv", ("synapse_x", "synapse_y", "synapse_z"), MICRONS_VOXEL_NM
    for point in _CAVE_POINTS:
        if point in cols:
            return "cave", (point,), MICRONS_VOXEL_NM
        if {f"{point}_x", f"{point}_y", f"{point}_z"} <= cols:
            return "cave", (f"{point}_x", f"{point}_y", f"{point}_z"), MICRONS_VOXEL_NM
    for names in (("x_nm", "y_nm", "z_nm"), ("x", "y", "z")):
        if set(names) <= cols:
            return "xyz", names, "nm"
    raise InputError(f"unknown synapse table layout; columns found: {sorted(map(str, df.columns))}", where,
                     "expected synapse_x/_y/_z (MICrONS), ctr_pt_position or ctr_pt_position_x/_y/_z (CAVE), "
                     "x_nm/y_nm/z_nm, or x/y/z; rename the position columns to one of these")


def _positions(df: pd.DataFrame, cols: tuple[str, ...], where: Any) -> np.ndarray:
    """(N, 3) float positions in input units from three columns or one list/array/string column."""
    if len(cols) == 3:
        try:
            return df[list(cols)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"position columns {list(cols)} are not numeric: {e}", where, "") from None
    values = df[cols[0]].to_numpy()
    out = np.full((len(values), 3), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, str):
            v = v.strip("[]() ").replace(",", " ").split()
        try:
            arr = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            continue
        if arr.size == 3:
            out[i] = arr
    return out


# ---- polarity ------------------------------------------------------------------------------------------
def _parse_polarity(col: pd.Series, name: str, where: Any) -> Any:
    """Map a polarity column (bools, 0/1, pre/post words) to is_pre; unknown words are an InputError."""
    if col.dtype == bool:
        return col.to_numpy()
    words = col.astype(str).str.strip().str.lower()
    missing = col.isna().to_numpy()
    is_pre = words.isin(PRE_WORDS).to_numpy()
    is_post = words.isin(POST_WORDS).to_numpy()
    unknown = ~(is_pre | is_post | missing)
    if unknown.any():
        bad = sorted(set(words[unknown]))[:10]
        raise InputError(f"column {name!r} has values that are not pre/post: {bad}", where,
                         f"use one of {sorted(PRE_WORDS)} for presynaptic or {sorted(POST_WORDS)} for "
                         "postsynaptic sites")
    if missing.any():
        _warn(f"{missing.sum()} of {len(col)} synapses have no polarity in column {name!r}; is_pre is <NA> there",
              where)
        return pd.array(np.where(missing, None, is_pre), dtype="boolean")
    return is_pre


def _unknown_polarity(n: int, where: Any) -> Any:
    _warn(f"no polarity column (looked for {list(_POLARITY_COLUMNS)}); is_pre is <NA> for all {n} synapses",
          where, "add an is_pre or pre/post 'type' column, or pass segment_id for CAVE tables")
    return pd.array([pd.NA] * n, dtype="boolean")


def _cave_polarity(df: pd.DataFrame, segment_id: int | None, where: Any) -> tuple[Any, pd.Series]:
    """is_pre and partner ids from CAVE root ids; the neuron is ``segment_id`` or the id on every row."""
    pre_col, post_col = "pre_pt_root_id", "post_pt_root_id"
    pre = pd.to_numeric(df[pre_col], errors="coerce").astype("Int64").to_numpy()
    post = pd.to_numeric(df[post_col], errors="coerce").astype("Int64").to_numpy()
    if segment_id is None:
        common = set(pd.unique(pre)) if len(df) else set()
        common = (common | set(pd.unique(post))) if len(df) else set()
        common = {s for s in common if not pd.isna(s) and np.all((pre == s) | (post == s))}
        if len(common) != 1:
            _warn("cannot tell which root id is this neuron; is_pre is <NA>", where,
                  "pass segment_id= (the neuron's root id)")
            return pd.array([pd.NA] * len(df), dtype="boolean"), pd.Series(np.full(len(df), np.nan))
        segment_id = int(common.pop())
    as_pre = pre == segment_id
    as_post = post == segment_id
    as_pre = np.asarray(pd.array(as_pre, dtype="boolean").fillna(False), dtype=bool)
    as_post = np.asarray(pd.array(as_post, dtype="boolean").fillna(False), dtype=bool)
    known = as_pre ^ as_post
    partner = pd.Series(np.where(as_pre, post, pre), index=df.index)
    if known.all():
        return as_pre, partner
    _warn(f"{(as_pre & as_post).sum()} autapses (segment {segment_id} on both sides) and "
          f"{(~as_pre & ~as_post).sum()} synapses without it among {len(df)}; is_pre is <NA> there", where,
          "autapses are both pre and post; for the others check segment_id")
    return pd.array(np.where(known, as_pre, None), dtype="boolean"), partner


# ---- helpers -------------------------------------------------------------------------------------------
def _first_column(df: pd.DataFrame, candidates: tuple[str, ...], used: set[str]) -> pd.Series | None:
    col = next((c for c in candidates if c in df.columns and c not in used), None)
    if col is None:
        return None
    used.add(col)
    return df[col]


def _finish(out: pd.DataFrame, where: Any) -> pd.DataFrame:
    """Warn about implausible coordinates and duplicated ids."""
    pos = out[["x_nm", "y_nm", "z_nm"]].to_numpy()
    if len(pos) and np.abs(pos).max() > MAX_COORD_NM:
        _warn(f"synapse positions reach {np.abs(pos).max() / 1e6:.3g} mm from the origin, beyond any EM volume",
              where, "check units=: pass units='nm' if the table is already in nm, or the right voxel size")
    if out["synapse_id"].duplicated().any():
        _warn(f"{out['synapse_id'].duplicated().sum()} duplicated synapse_id values", where)
    return out


def _row_list(rows: np.ndarray, show: int = 8) -> str:
    """``3, 17, 40, ... (+12 more)``: the first row numbers of a list."""
    text = ", ".join(str(int(r)) for r in rows[:show])
    return text + (f", ... (+{len(rows) - show} more)" if len(rows) > show else "")


def _warn(message: str, where: Any, hint: str = "", stacklevel: int = 4) -> None:
    """Warn with the source named; the default stacklevel points at load_synapses' caller from a helper."""
    prefix = f"{where}: " if where is not None else ""
    warnings.warn(prefix + message + (f" ({hint})" if hint else ""), NeurdLiteWarning, stacklevel=stacklevel)

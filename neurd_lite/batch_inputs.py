"""Inputs of a batch: which mesh files, which synapse table goes with each, which units.

Every input the user named ends up as one :class:`BatchItem`. An input that cannot be run (a symlink loop,
a folder named like a mesh, an ambiguous synapse table) is still an item, with ``problem`` set: the batch
writes it to ``errors.csv`` without running it, so no input disappears.
"""
from __future__ import annotations

import errno
import fnmatch
import glob
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .units import parse_units

MESH_SUFFIXES = (".ply", ".obj", ".off", ".stl", ".h5")
TABLE_SUFFIXES = (".csv.gz", ".csv", ".tsv", ".feather", ".parquet", ".pq")
#: names a synapse table may have in a folder given as ``--synapses DIR`` (``{stem}``: the mesh file stem)
TABLE_NAMES = ("{stem}", "{stem}_synapses", "{stem}.synapses", "synapses_{stem}")


@dataclass(frozen=True)
class BatchItem:
    """One neuron to process: its mesh file (absolute path), output name, optional synapse table (absolute),
    the mesh's units (as in :func:`neurd_lite.units.scale_to_nm`), the synapse table's position units (None:
    from the table layout, see ``neurd_lite.io.synapses``), ``problem``: why it cannot run (None: it can) and
    ``segment_id``: the neuron's root id in a multi-neuron synapse table (None: the table is the neuron's own)."""

    mesh: str
    name: str
    synapses: str | None = None
    units: Any = "nm"
    synapse_units: Any = None
    problem: str | None = None
    problem_stage: str = "find"
    segment_id: int | None = None  # the neuron's root id: synapse rows of other neurons are left out


@dataclass(frozen=True)
class Found:
    """A path named by the inputs; ``problem`` says why it is not a readable regular file (None: it is)."""

    path: Path
    problem: str | None = None


def _stat_problem(p: Path) -> str | None:
    """Why ``p`` cannot be read as a mesh file, or None. Never raises (symlink loops included)."""
    try:
        st = os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"{p}: symlink loop (the link points back to itself); fix or remove the link"
        if os.path.islink(p):
            return f"{p}: broken symlink (its target {os.readlink(p)!r} does not exist)"
        return f"{p}: no such file"
    if stat.S_ISDIR(st.st_mode):
        return f"{p}: is a directory, not a mesh file (a folder named like a mesh; give its files instead)"
    if not stat.S_ISREG(st.st_mode):
        return f"{p}: not a regular file"
    return None


def _list_folder(folder: Path) -> list[Found]:
    out = []
    for c in sorted(folder.iterdir()):
        if c.suffix.lower() in MESH_SUFFIXES:
            out.append(Found(c, _stat_problem(c)))
    return out


def find_inputs(inputs: Iterable[str | os.PathLike], with_problems: bool = False) -> list[Any]:
    """Expand files, folders (non-recursive) and glob patterns into a sorted list of mesh paths.

    A named file that does not exist, a symlink loop, or an entry with a mesh suffix that is a folder is kept
    (with ``with_problems=True`` as a :class:`Found` with its ``problem``), so that it is reported rather than
    dropped. Paths are deduplicated by their real path; a symlink loop never raises.
    """
    found: dict[str, Found] = {}
    for raw in inputs:
        text = str(raw)
        p = Path(text)
        if os.path.isdir(text):
            entries = _list_folder(p)
        elif any(ch in text for ch in "*?["):
            entries = [Found(Path(m), _stat_problem(Path(m))) for m in sorted(glob.glob(text, recursive=True))]
        else:
            entries = [Found(p, _stat_problem(p))]
        for e in entries:
            key = os.path.realpath(e.path) if e.problem is None else os.path.abspath(e.path)
            found.setdefault(key, e)
    ordered = [found[k] for k in sorted(found)]
    return ordered if with_problems else [f.path for f in ordered]


# ---- synapse tables ----------------------------------------------------------------------------------------
def _table_stem(path: Path) -> str | None:
    name = path.name
    for suffix in TABLE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return None


def leading_id(stem: str) -> str | None:
    """The leading run of digits of a mesh stem (a segment id such as ``864691135510518224`` in
    ``864691135510518224_80k``), or None when the stem does not start with a digit."""
    digits = len(stem) - len(stem.lstrip("0123456789"))
    return stem[:digits] or None


def read_pairs(manifest: str | os.PathLike) -> dict[str, str]:
    """A csv with columns ``mesh, synapses``: mesh path, file name or stem -> synapse table path (relative
    paths are relative to the manifest's folder)."""
    import pandas as pd

    path = Path(manifest)
    df = pd.read_csv(path, dtype=str)
    if not {"mesh", "synapses"} <= set(df.columns):
        raise ValueError(f"{path}: a synapse manifest needs columns 'mesh' and 'synapses' "
                         f"(found {list(df.columns)})")
    out = {}
    for mesh, table in zip(df["mesh"], df["synapses"]):
        table_path = Path(table) if Path(table).is_absolute() else path.parent / table
        out[str(mesh)] = str(table_path.absolute())
    return out


def read_segment_ids(manifest: str | os.PathLike) -> dict[str, int] | None:
    """The optional ``segment_id`` column of a synapse manifest (:func:`read_pairs`): mesh -> root id, or None
    when the manifest has no such column."""
    import pandas as pd

    df = pd.read_csv(Path(manifest), dtype=str)
    if "segment_id" not in df.columns:
        return None
    return {str(m): int(v) for m, v in zip(df["mesh"], df["segment_id"]) if isinstance(v, str) and v.strip()}


def _segment_id(mesh: Path, spec: str | dict[str, int] | None) -> tuple[int | None, str | None]:
    """(root id, problem) of ``mesh`` under ``spec`` ("name", a mapping, or None)."""
    if spec is None:
        return None, None
    if spec == "name":
        digits = leading_id(mesh.stem)
        if digits is None:
            return None, f"segment id from the file name: {mesh.name!r} does not start with digits"
        return int(digits), None
    for key in (str(mesh), mesh.name, mesh.stem):
        if key in spec:
            return int(spec[key]), None
    return None, None


def match_synapses(mesh: Path, spec: str | None, pairs: dict[str, str] | None = None
                   ) -> tuple[str | None, str | None]:
    """The synapse table for ``mesh`` and a problem text: ``(path, None)``, ``(None, None)`` when no table
    exists, or ``(None, reason)`` when the choice is ambiguous or the pattern cannot apply.

    ``spec``: a folder (a table named ``STEM``, ``STEM_synapses``, ``STEM.synapses`` or ``synapses_STEM`` with
    a table suffix, where STEM is the mesh's exact file stem; never a prefix match), a pattern with ``{stem}``
    or ``{id}`` (the stem's leading digits, e.g. a segment id), or one table file for every mesh.
    ``pairs`` (from :func:`read_pairs`) names the table per mesh explicitly and wins over ``spec``.
    """
    mesh = Path(mesh)
    if pairs:
        for key in (str(mesh), mesh.name, mesh.stem, str(mesh.absolute())):
            if key in pairs:
                return pairs[key], None
        return None, None
    if not spec:
        return None, None
    stem = mesh.stem
    if "{" in spec:
        if "{id}" in spec and leading_id(stem) is None:
            return None, f"--synapses pattern {spec!r} uses {{id}} but {mesh.name!r} does not start with a numeric id"
        cand = Path(spec.format(stem=stem, id=leading_id(stem) or ""))
        return (str(cand.absolute()), None) if cand.is_file() else (None, None)
    folder = Path(spec)
    if folder.is_file():
        return str(folder.absolute()), None
    if not folder.is_dir():
        return None, None
    wanted = {form.format(stem=stem) for form in TABLE_NAMES}
    hits = [c for c in sorted(folder.iterdir()) if _table_stem(c) in wanted and c.is_file()]
    if len(hits) > 1:
        return None, (f"{len(hits)} synapse tables match {mesh.name!r} in {folder}: "
                      f"{', '.join(h.name for h in hits)}; keep one or pass a pattern/manifest")
    return (str(hits[0].absolute()), None) if hits else (None, None)


# ---- units -------------------------------------------------------------------------------------------------
def parse_units_rules(units: Any) -> list[tuple[str, Any]]:
    """Units per input: a single value for all, a ``{glob: units}`` mapping, or a string
    ``"fly/*=8,*.ply=um,*=nm"`` (first matching glob wins; globs match the path or the file name).
    A per-axis voxel size is written with commas after its ``=``: ``"micro/*=4,4,40,*=nm"``. Text values are
    read by :func:`neurd_lite.units.parse_units` (``"8"`` -> 8.0, ``"4,4,40"`` -> a tuple)."""
    if isinstance(units, dict):
        return list(units.items())
    if isinstance(units, str) and "=" in units:
        groups: list[tuple[str, list[str]]] = []
        for part in units.split(","):
            if "=" in part:
                pattern, _, value = part.partition("=")
                groups.append((pattern.strip(), [value.strip()]))
            elif groups:
                groups[-1][1].append(part.strip())  # 4,4,40: the rest of a per-axis voxel size
            else:
                raise ValueError(f"units rule {part!r} has no 'glob=' in {units!r}")
        return [(pattern, parse_units(",".join(values))) for pattern, values in groups]
    return [("*", parse_units(units) if isinstance(units, str) else units)]


def _units_for(path: Path, rules: list[tuple[str, Any]], default: Any = "nm") -> Any:
    text = path.as_posix()
    for pattern, value in rules:
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) or \
                fnmatch.fnmatch(text, f"*/{pattern}"):
            return value
    return default


def make_items(meshes: list[Any], synapses: str | None = None, units: Any = "nm",
               synapse_units: Any = None, pairs: dict[str, str] | None = None,
               segment_ids: str | dict[str, int] | None = None) -> list[BatchItem]:
    """One item per mesh (a path or a :class:`Found`); names are file stems, made unique with a short path
    hash when stems repeat. Paths become absolute here (on the client), so workers started in another folder
    read the same files. ``units`` and ``synapse_units`` are one value or per-input rules
    (:func:`parse_units_rules`); an input no synapse rule matches gets None (units from the table layout).
    ``segment_ids``: "name" (each mesh's leading digits, e.g. ``864691135510518224.h5``; a stem without them
    is an error row) or a mapping from mesh path, file name or stem to root id (:func:`read_segment_ids`)."""
    found = [m if isinstance(m, Found) else Found(Path(m)) for m in meshes]
    stems = [f.path.stem for f in found]
    rules = parse_units_rules(units)
    syn_rules = parse_units_rules(synapse_units)
    items = []
    for f, stem in zip(found, stems):
        name = stem
        absolute = Path(os.path.abspath(f.path))
        if stems.count(stem) > 1:
            name = f"{stem}_{hashlib.sha1(str(absolute).encode()).hexdigest()[:8]}"
        table, problem = (None, None) if f.problem else match_synapses(f.path, synapses, pairs)
        seg, seg_problem = _segment_id(f.path, segment_ids)
        items.append(BatchItem(str(absolute), name, table, _units_for(f.path, rules),
                               _units_for(f.path, syn_rules, default=None), f.problem or problem or seg_problem,
                               "find" if f.problem else "synapses", seg))
    return items

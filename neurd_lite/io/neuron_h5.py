"""Lossless HDF5 storage of a Neuron.

Layout (all lengths nm)::

    /                attrs: format="neurd_lite.neuron", format_version, name, flags (json), provenance (json)
    /mesh            vertices (V,3) float64, faces (F,3) int64
    /nucleus         vertices, faces (optional)
    /skeleton        vertices, edges, radius; attrs root; /skeleton/properties/<name>
    /somas/<i>       faces, membrane_faces (optional: absent when None); attrs center_nm, radius_nm, method,
                     properties (json); /somas/<i>/exits (optional): point_nm (E,3), radius_nm (E,), direction
                     (E,3), faces (concatenated) and faces_offsets (E+1,)
    /faces/<name>    per-input-face arrays (face_labels, face_compartment, face_branch, ...)
    /skeleton_labels per-skeleton-vertex str
    /tables/<name>   one dataset per column (synapses, spines); attrs columns, dtypes (json)
    /graph           attrs json (node and edge attributes)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError
from ..skeleton.model import Skeleton

if TYPE_CHECKING:  # pragma: no cover
    from ..neuron import Neuron

FORMAT = "neurd_lite.neuron"
FORMAT_VERSION = 1
_STR = h5py.string_dtype("utf-8")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def _write_array(group: h5py.Group, name: str, arr: np.ndarray) -> None:
    arr = np.asarray(arr)
    if arr.dtype.kind in "OUS":
        group.create_dataset(name, data=np.asarray(arr, dtype=object).astype(str).astype(object), dtype=_STR,
                             compression="gzip" if arr.size > 1000 else None)
    else:
        group.create_dataset(name, data=arr, compression="gzip" if arr.size > 1000 else None)


def _read_array(ds: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.asarray(ds.asstr()[()], dtype=object)
    return ds[()]


def _write_mesh(f: h5py.File, name: str, mesh: Any) -> None:
    if mesh is None:
        return
    g = f.create_group(name)
    _write_array(g, "vertices", np.asarray(mesh.vertices, dtype=np.float64))
    _write_array(g, "faces", np.asarray(mesh.faces, dtype=np.int64))


def _read_mesh(f: h5py.File, name: str) -> Any:
    if name not in f:
        return None
    import trimesh

    return trimesh.Trimesh(f[name]["vertices"][()], f[name]["faces"][()], process=False)


def write_frame(group: h5py.Group, df: pd.DataFrame) -> None:
    """Store a DataFrame column by column (numeric as is, everything else as utf-8 str)."""
    group.attrs["columns"] = json.dumps([str(c) for c in df.columns])
    dtypes = {}
    str_dtypes = {}  # the pandas dtype of each column stored as text (object, str, string, category)
    for i, col in enumerate(df.columns):
        dtype = df[col].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf":
            # nullable boolean / integer / float: values (exact, 64-bit ids included) plus a missing mask
            dtypes[str(col)] = f"ext:{dtype.name}"
            isnull = df[col].isna().to_numpy()
            fill = False if dtype.kind == "b" else 0
            _write_array(group, f"c{i}", df[col].fillna(fill).to_numpy(dtype=dtype.numpy_dtype))
            _write_array(group, f"n{i}", isnull)
            continue
        values = df[col].to_numpy()
        if values.dtype.kind in "biufM" and values.dtype != object:
            dtypes[str(col)] = str(values.dtype)
            if values.dtype.kind == "M":
                values = values.astype("datetime64[ns]").astype(np.int64)
            _write_array(group, f"c{i}", values)
        else:
            dtypes[str(col)] = "str"
            str_dtypes[str(col)] = "category" if isinstance(dtype, pd.CategoricalDtype) else \
                ("object" if dtype == object else str(dtype))
            isnull = pd.isna(df[col]).to_numpy()
            _write_array(group, f"c{i}", np.where(isnull, "", values.astype(str)).astype(object))
            _write_array(group, f"n{i}", isnull)
    group.attrs["dtypes"] = json.dumps(dtypes)
    group.attrs["str_dtypes"] = json.dumps(str_dtypes)
    _write_array(group, "index", df.index.to_numpy().astype(np.int64) if df.index.dtype.kind in "iu"
                 else np.arange(len(df)))


def _text_column(values: np.ndarray, dtype: str, index: pd.Index) -> pd.Series:
    """Text values (object array, None for missing) as a Series of the dtype they were written with."""
    if dtype == "object":
        return pd.Series(values, dtype=object, index=index)
    try:
        return pd.Series(values, dtype=dtype, index=index)
    except (TypeError, ValueError):  # a dtype this pandas does not know: let pandas infer
        return pd.Series(values, index=index)


def read_frame(group: h5py.Group) -> pd.DataFrame:
    """Inverse of :func:`write_frame`."""
    cols = json.loads(group.attrs["columns"])
    dtypes = json.loads(group.attrs["dtypes"])
    # files written before str_dtypes existed: text columns come back as pandas infers them
    str_dtypes = json.loads(group.attrs["str_dtypes"]) if "str_dtypes" in group.attrs else {}
    index = pd.Index(group["index"][()])
    data = {}
    for i, col in enumerate(cols):
        values = _read_array(group[f"c{i}"])
        if dtypes[col] == "str":
            values = values.astype(object)
            if f"n{i}" in group:
                values[group[f"n{i}"][()].astype(bool)] = None
            if col in str_dtypes:
                values = _text_column(values, str_dtypes[col], index)
        elif dtypes[col].startswith("ext:"):
            missing = group[f"n{i}"][()].astype(bool) if f"n{i}" in group else np.isnan(values)
            values = pd.array(np.where(missing, 0, values).astype(pd.api.types.pandas_dtype(dtypes[col][4:])
                                                                  .numpy_dtype), dtype=dtypes[col][4:])
            values[missing] = pd.NA
        elif dtypes[col].startswith("datetime64"):
            values = values.astype("datetime64[ns]")
        data[col] = values
    return pd.DataFrame(data, columns=cols, index=index)


def save_neuron(n: "Neuron", path: str | Path) -> Path:
    """Write ``n`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["name"] = n.name
        f.attrs["flags"] = json.dumps(n.flags)
        f.attrs["provenance"] = json.dumps(n.provenance, default=_json_default)
        _write_mesh(f, "mesh", n.mesh)
        _write_mesh(f, "nucleus", n.nucleus)
        if n.skeleton is not None:
            g = f.create_group("skeleton")
            _write_array(g, "vertices", n.skeleton.vertices)
            _write_array(g, "edges", n.skeleton.edges)
            _write_array(g, "radius", n.skeleton.radius)
            g.attrs["root"] = -1 if n.skeleton.root is None else n.skeleton.root
            p = g.create_group("properties")
            for k, v in n.skeleton.vertex_properties.items():
                _write_array(p, k, v)
        sg = f.create_group("somas")
        for i, s in enumerate(n.somas):
            g = sg.create_group(str(i))
            _write_array(g, "faces", s.faces)
            if s.membrane_faces is not None:
                _write_array(g, "membrane_faces", s.membrane_faces)
            g.attrs["center_nm"] = s.center_nm
            g.attrs["radius_nm"] = s.radius_nm
            g.attrs["method"] = s.method
            g.attrs["properties"] = json.dumps(s.properties, default=_json_default)
            if s.exits:
                _write_exits(g.create_group("exits"), s.exits)
        fg = f.create_group("faces")
        for name in n.FACE_ARRAYS:
            arr = getattr(n, name)
            if arr is not None:
                _write_array(fg, name, arr)
        if n.skeleton_labels is not None:
            _write_array(f, "skeleton_labels", n.skeleton_labels)
        tg = f.create_group("tables")
        write_frame(tg.create_group("synapses"), n.synapses)
        write_frame(tg.create_group("spines"), n.spines)
        f.create_group("graph").attrs["json"] = graph_to_json(n.graph)
    os.replace(tmp, path)
    return path


def _write_exits(g: Any, exits: list[Any]) -> None:
    """A soma's exits (``neuron.SomaExit``) as arrays: point_nm (E, 3), radius_nm (E,), direction (E, 3), faces
    concatenated with offsets (E + 1,)."""
    g.create_dataset("point_nm", data=np.array([e.point_nm for e in exits]))
    g.create_dataset("radius_nm", data=np.array([e.radius_nm for e in exits]))
    g.create_dataset("direction", data=np.array([e.direction for e in exits]))
    g.create_dataset("faces", data=np.concatenate([e.faces for e in exits]).astype(np.int64))
    g.create_dataset("faces_offsets", data=np.cumsum([0] + [len(e.faces) for e in exits]).astype(np.int64))


def _read_exits(g: Any) -> list[dict[str, Any]]:
    """A soma's exits as ``SomaExit`` argument dicts."""
    off, faces = g["faces_offsets"][()], g["faces"][()]
    return [{"point_nm": pt, "radius_nm": float(r), "direction": d, "faces": faces[off[i]:off[i + 1]]}
            for i, (pt, r, d) in enumerate(zip(g["point_nm"][()], g["radius_nm"][()], g["direction"][()]))]


def read_neuron_fields(path: str | Path) -> dict[str, Any]:
    """The constructor arguments of the Neuron written by :func:`save_neuron` (``somas`` as a list of
    ``Soma`` argument dicts); ``neurd_lite.load(path)`` builds the Neuron from them."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path, "check the path")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"not a readable HDF5 file ({e})", path, "was the write interrupted? re-run it") from e
    with f:
        if f.attrs.get("format") != FORMAT:
            raise InputError("not a neurd_lite Neuron file", path,
                             "use nl.io.load_mesh for MeshParty mesh h5, nl.label_skeleton for meshwork h5")
        skel = None
        if "skeleton" in f:
            g = f["skeleton"]
            root = int(g.attrs["root"])
            skel = Skeleton(g["vertices"][()], g["edges"][()], g["radius"][()], None if root < 0 else root,
                            {k: _read_array(v) for k, v in g["properties"].items()})
        somas = []
        for key in sorted(f["somas"], key=int):
            g = f["somas"][key]
            somas.append({"center_nm": g.attrs["center_nm"], "radius_nm": float(g.attrs["radius_nm"]),
                          "faces": g["faces"][()], "method": str(g.attrs["method"]),
                          "properties": json.loads(g.attrs["properties"]),
                          "membrane_faces": g["membrane_faces"][()] if "membrane_faces" in g else None,
                          "exits": _read_exits(g["exits"]) if "exits" in g else []})
        faces = {k: _read_array(v) for k, v in f["faces"].items()}
        fields = dict(
            name=str(f.attrs["name"]), mesh=_read_mesh(f, "mesh"), skeleton=skel, somas=somas,
            graph=graph_from_json(f["graph"].attrs["json"]),
            skeleton_labels=_read_array(f["skeleton_labels"]) if "skeleton_labels" in f else None,
            synapses=read_frame(f["tables"]["synapses"]), spines=read_frame(f["tables"]["spines"]),
            nucleus=_read_mesh(f, "nucleus"), flags=json.loads(f.attrs["flags"]),
            provenance=json.loads(f.attrs["provenance"]), **faces)
    return fields


def graph_to_json(g: nx.DiGraph) -> str:
    """Serialise the branch graph (numpy arrays become lists)."""

    def clean(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return {"__ndarray__": v.tolist(), "dtype": str(v.dtype)}
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (np.floating,)):
            return float(v)
        return v

    nodes = [{"id": n, "attrs": {k: clean(v) for k, v in d.items()}} for n, d in g.nodes(data=True)]
    edges = [{"u": u, "v": v, "attrs": {k: clean(x) for k, x in d.items()}} for u, v, d in g.edges(data=True)]
    return json.dumps({"nodes": nodes, "edges": edges})


def graph_from_json(text: str) -> nx.DiGraph:
    """Inverse of :func:`graph_to_json`."""

    def restore(v: Any) -> Any:
        if isinstance(v, dict) and "__ndarray__" in v:
            return np.asarray(v["__ndarray__"], dtype=v["dtype"])
        return v

    data = json.loads(text)
    g = nx.DiGraph()
    for n in data["nodes"]:
        g.add_node(n["id"], **{k: restore(v) for k, v in n["attrs"].items()})
    for e in data["edges"]:
        g.add_edge(e["u"], e["v"], **{k: restore(v) for k, v in e["attrs"].items()})
    return g

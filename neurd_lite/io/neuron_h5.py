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
    /input_faces     (optional) a split cell's faces as indices into the merged input mesh (Neuron.input_faces)
    /tables/<name>   one dataset per column (synapses, spines); attrs columns, dtypes (json)
    /graph           attrs json (node and edge attributes)
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError, NeurdLiteWarning
from ..names import FACE_ARRAYS
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
        if n.input_faces is not None:
            _write_array(f, "input_faces", np.asarray(n.input_faces, dtype=np.int64))
        tg = f.create_group("tables")
        write_frame(tg.create_group("synapses"), n.synapses)
        write_frame(tg.create_group("spines"), n.spines)
        f.create_group("graph").attrs["json"] = graph_to_json(n.graph)
    os.replace(tmp, path)
    return path


#: a file may declare at most this many times its own size in data (gzip of real meshes: ~1.5-4x) ...
MAX_EXPANSION = 200
#: ... plus this many bytes (small files with tiny compressed tables)
MIN_ALLOWANCE = 64 * 2**20


def _walk(group: h5py.Group, path: Path, prefix: str = "") -> list[h5py.Dataset]:
    """Every dataset under ``group``; raises ``InputError`` on an external link, external storage or a virtual
    dataset (each would make h5py read another file)."""
    out = []
    for key in group:
        link = group.get(key, getlink=True)
        name = f"{prefix}/{key}"
        if isinstance(link, h5py.ExternalLink):
            raise InputError(f"HDF5 external link {name} -> {link.filename}:{link.path} refused", path,
                             "a Neuron file never links to other files; re-save it with nl.save")
        obj = group.get(key)
        if isinstance(obj, h5py.Group):
            out.extend(_walk(obj, path, name))
        elif isinstance(obj, h5py.Dataset):
            if obj.is_virtual or obj.external:
                raise InputError(f"dataset {name} stores its data in other files (virtual or external storage)",
                                 path, "a Neuron file keeps all its data inside; re-save it with nl.save")
            out.append(obj)
    return out


def _check_sizes(f: h5py.File, path: Path) -> None:
    """Refuse files whose datasets declare far more data than the file could hold (decompression bombs)."""
    declared = 0
    for ds in _walk(f, path):
        declared += int(ds.size) * max(int(ds.dtype.itemsize), 1)
    allowed = MAX_EXPANSION * path.stat().st_size + MIN_ALLOWANCE
    if declared > allowed:
        raise InputError(f"datasets declare {declared / 2**30:.3g} GiB for a {path.stat().st_size / 2**20:.3g} MiB "
                         f"file (more than {MAX_EXPANSION}x its size)", path,
                         "the file is corrupt or hostile; re-create it with nl.save")


def _shape(f: h5py.File, key: str, path: Path, cols: int | None = None, length: int | None = None) -> int:
    """Length of dataset ``key`` after checking its shape ((N,) or (N, cols); N == ``length`` when given)."""
    ds = f[key]
    if not isinstance(ds, h5py.Dataset):
        raise InputError(f"{key} is not a dataset", path, "re-create the file with nl.save")
    ok = (len(ds.shape) == 1 and cols is None) or (len(ds.shape) == 2 and ds.shape[1] == cols)
    if not ok or (length is not None and ds.shape[0] != length):
        want = f"({length if length is not None else 'N'}{'' if cols is None else f', {cols}'})"
        raise InputError(f"{key} has shape {ds.shape}, expected {want}", path, "the file is corrupt; re-create it")
    return int(ds.shape[0])


def _validate_layout(f: h5py.File, path: Path) -> None:
    """Check every array length against the file's own counts before any data is read."""
    n_faces = 0
    for mesh in ("mesh", "nucleus"):
        if mesh in f:
            nv = _shape(f, f"{mesh}/vertices", path, cols=3)
            nf = _shape(f, f"{mesh}/faces", path, cols=3)
            if mesh == "mesh":
                n_faces = nf
            if nf and not nv:
                raise InputError(f"{mesh} has {nf} faces but no vertices", path, "the file is corrupt")
    for key in f.get("faces", {}):
        if key in FACE_ARRAYS:
            _shape(f, f"faces/{key}", path, length=n_faces)
    if "skeleton" in f:
        nsv = _shape(f, "skeleton/vertices", path, cols=3)
        _shape(f, "skeleton/edges", path, cols=2)
        _shape(f, "skeleton/radius", path, length=nsv)
        for key in f["skeleton"].get("properties", {}):
            _shape(f, f"skeleton/properties/{key}", path, length=nsv)
        if "skeleton_labels" in f:
            _shape(f, "skeleton_labels", path, length=nsv)
    for key in f.get("somas", {}):
        for arr in ("faces", "membrane_faces"):
            if arr in f["somas"][key] and _shape(f, f"somas/{key}/{arr}", path) > max(n_faces, 0) and n_faces:
                raise InputError(f"somas/{key}/{arr} lists more faces than the mesh has", path, "the file is corrupt")
        if "exits" in f["somas"][key]:
            ne = _shape(f, f"somas/{key}/exits/radius_nm", path)
            _shape(f, f"somas/{key}/exits/point_nm", path, cols=3, length=ne)
            _shape(f, f"somas/{key}/exits/direction", path, cols=3, length=ne)
            _shape(f, f"somas/{key}/exits/faces_offsets", path, length=ne + 1)
    for table in ("synapses", "spines"):
        g = f.get(f"tables/{table}")
        if g is not None:
            n_rows = _shape(f, f"tables/{table}/index", path)
            for key in g:
                _shape(f, f"tables/{table}/{key}", path, length=n_rows)


def _check_indices(n_vertices: int, arr: np.ndarray, what: str, path: Path) -> np.ndarray:
    if arr.size and (arr.min() < 0 or arr.max() >= n_vertices):
        raise InputError(f"{what} refer to vertices that do not exist ({n_vertices} vertices)", path,
                         "the file is corrupt; re-create it with nl.save")
    return arr


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
    ``Soma`` argument dicts); ``neurd_lite.load(path)`` builds the Neuron from them. The file is treated as
    untrusted: external links and external storage are refused, dataset shapes are checked against the file's
    own counts (and their declared size against the file size) before anything is read, and only the known
    per-face arrays are mapped."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path, "check the path")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"not a readable HDF5 file ({e})", path, "nl.load reads the .h5 files that Neuron.save and "
                         "neurd-lite decompose write; if this is one, its write was interrupted: re-run it") from e
    with f:
        if f.attrs.get("format") != FORMAT:
            raise InputError("not a neurd_lite Neuron file", path,
                             "use nl.io.load_mesh for MeshParty mesh h5, nl.label_skeleton for meshwork h5")
        _check_sizes(f, path)
        _validate_layout(f, path)
        skel = None
        if "skeleton" in f:
            g = f["skeleton"]
            root = int(g.attrs["root"])
            sv = g["vertices"][()]
            skel = Skeleton(sv, _check_indices(len(sv), g["edges"][()], "skeleton edges", path), g["radius"][()],
                            None if root < 0 else root, {k: _read_array(v) for k, v in g["properties"].items()})
        somas = []
        for key in sorted(f["somas"], key=int):
            g = f["somas"][key]
            somas.append({"center_nm": g.attrs["center_nm"], "radius_nm": float(g.attrs["radius_nm"]),
                          "faces": g["faces"][()], "method": str(g.attrs["method"]),
                          "properties": json.loads(g.attrs["properties"]),
                          "membrane_faces": g["membrane_faces"][()] if "membrane_faces" in g else None,
                          "exits": _read_exits(g["exits"]) if "exits" in g else []})
        unknown = sorted(set(f["faces"]) - set(FACE_ARRAYS)) if "faces" in f else []
        if unknown:
            warnings.warn(f"{path}: ignored unknown per-face arrays {unknown[:5]}", NeurdLiteWarning, stacklevel=2)
        faces = {k: _read_array(f["faces"][k]) for k in FACE_ARRAYS if "faces" in f and k in f["faces"]}
        mesh = _read_mesh(f, "mesh")
        if mesh is not None:
            _check_indices(len(mesh.vertices), np.asarray(mesh.faces), "mesh faces", path)
        fields = dict(
            name=str(f.attrs["name"]), mesh=mesh, skeleton=skel, somas=somas,
            graph=graph_from_json(f["graph"].attrs["json"]),
            skeleton_labels=_read_array(f["skeleton_labels"]) if "skeleton_labels" in f else None,
            synapses=read_frame(f["tables"]["synapses"]), spines=read_frame(f["tables"]["spines"]),
            nucleus=_read_mesh(f, "nucleus"), flags=json.loads(f.attrs["flags"]),
            provenance=json.loads(f.attrs["provenance"]),
            input_faces=f["input_faces"][()] if "input_faces" in f else None, **faces)
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

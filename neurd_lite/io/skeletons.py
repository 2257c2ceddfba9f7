"""Read skeletons (SWC, MeshParty meshwork h5, ossify and morphsync folders) and write SWC.

Everything returned is in nm. ``load_skeleton`` returns ``(Skeleton, synapses)`` where ``synapses`` is a
DataFrame with ``x_nm, y_nm, z_nm, is_pre`` (plus ``skeleton_vertex`` and source ids when the file maps each
synapse to the skeleton) or None when the format carries no synapses.

Per-vertex annotations become ``Skeleton.vertex_properties``: ``swc_type`` (SWC type code, SWC and
ossify/morphsync ``compartment``), and for meshworks every mask annotation (``is_apical``, ``is_axon``, ...)
as a bool per skeleton vertex (majority of the level-2 "mesh" vertices mapped to it).
"""
from __future__ import annotations

import io
import json
import warnings
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, NeurdLiteWarning
from ..names import SWC_TYPE
from ..skeleton.model import Skeleton
from ..units import UnitsLike, scale_to_nm, units_to_json

_UM_EXTENT_MAX = 5000.0  # an SWC whose bounding box is smaller than this (in file units) is taken as µm
_AMBIGUOUS = (1000.0, 20000.0)


def load_skeleton(path: str | Path | Any, units: UnitsLike | None = None) -> tuple[Skeleton, pd.DataFrame | None]:
    """Read a skeleton file or folder, or a peer's object; coordinates and radius come back in nm.

    Objects: a MeshParty ``Meshwork`` (mask honoured) or ``Skeleton``, or a navis ``TreeNeuron`` (units from
    ``units`` or the neuron's own), see ``neurd_lite.io.interop.skeleton_from_object``.

    Formats: ``.swc`` (``units`` "um"/"nm"/..., guessed from the extent when None), MeshParty meshwork
    ``.h5`` (nm; synapses in voxels scaled by the file's ``voxel_resolution``), an ossify folder or its
    ``skel.json`` (nm) and a morphsync folder (nm). Returns (skeleton, synapses or None).

    The units used are kept on the skeleton as ``sk.units_in`` (e.g. ``"nm"``, ``"um"``, ``8.0``) and
    ``sk.units_source`` (``"given"``, ``"swc header"``, ``"guessed from extent"`` or ``"format"``);
    ``label_skeleton`` records them in ``n.provenance["inputs"]``. An SWC read without ``units`` (and no
    ``units:`` header line) warns with the guess; any skeleton whose extent is implausible for a neuron (under
    1 µm or over 5 mm, as for meshes; robust extent) warns.
    """
    from .interop import is_peer_object, skeleton_from_object

    if is_peer_object(path):
        sk, syn = skeleton_from_object(path, None if units is None else float(np.mean(scale_to_nm(units))))
        name = getattr(path, "name", None)  # a peer object has no file: name its type (and its own name)
        check_skeleton_values(sk, f"<{type(path).__name__}{f' {name!r}' if name else ''}>")
        return sk, syn
    try:
        sk, syn = _load_any(Path(path), units)
    except InputError:
        raise
    except OSError as e:  # h5py on a file that is not HDF5 (binary junk, empty, truncated)
        hint = "expected a MeshParty meshwork .h5 file" if Path(path).suffix.lower() in (".h5", ".hdf5") else ""
        raise InputError(f"cannot read the file ({e})", path, hint) from e
    except ValueError as e:  # e.g. Skeleton: edges naming vertices that do not exist
        raise InputError(f"not a usable skeleton ({e})", path, "check the file's vertices and edges") from e
    if not hasattr(sk, "units_in"):
        sk.units_in, sk.units_source = "nm", "format"
    check_skeleton_values(sk, Path(path))
    _check_skeleton_extent(sk, Path(path))
    return sk, syn


def check_skeleton_values(sk: Skeleton, p: Path | str) -> None:
    """Refuse NaN / infinite coordinates and cycles (a piece with as many edges as vertices, e.g. parent links
    looping back through the root); negative radii become NaN (unknown) with a warning naming the file."""
    bad = ~np.all(np.isfinite(sk.vertices), axis=1)
    if bad.any():
        raise InputError(f"{int(bad.sum())} skeleton vertices have NaN or infinite coordinates (first: vertex "
                         f"{int(np.flatnonzero(bad)[0])})", p, "fix or remove those points")
    if sk.root is not None and not 0 <= sk.root < max(sk.n_vertices, 1):
        raise InputError(f"skeleton root {sk.root} is not one of its {sk.n_vertices} vertices", p,
                         "the root must index a vertex")
    if sk.n_vertices and len(sk.edges):
        from scipy.sparse import csgraph

        ncomp, comp = csgraph.connected_components(sk.csgraph, directed=False)
        e = np.unique(np.sort(sk.edges, axis=1), axis=0)
        e = e[e[:, 0] != e[:, 1]]
        n_edges = np.bincount(comp[e[:, 0]], minlength=ncomp)
        n_verts = np.bincount(comp, minlength=ncomp)
        loops = np.flatnonzero(n_edges >= n_verts)
        if len(loops) or len(e) < len(sk.edges):
            where = (f"the piece holding vertex {int(np.flatnonzero(comp == loops[0])[0])}" if len(loops)
                     else "an edge from a vertex to itself or a repeated edge")
            raise InputError(f"skeleton is not a tree: its links form a cycle ({where}; e.g. a parent loop "
                             "through the root)", p, "each node needs exactly one parent and one root per tree")
    neg = np.isfinite(sk.radius) & (sk.radius < 0)
    if neg.any():
        warnings.warn(f"{p}: {int(neg.sum())} negative radii set to NaN (unknown)", NeurdLiteWarning, stacklevel=3)
        sk.radius = np.where(neg, np.nan, sk.radius)
        sk.load_problems = getattr(sk, "load_problems", []) + [f"{int(neg.sum())} negative radii set to NaN"]


def _check_skeleton_extent(sk: Skeleton, p: Path) -> None:
    from .meshes import extent_problem, robust_extent

    if sk.n_vertices < 2:
        return
    problem = extent_problem(robust_extent(sk.vertices), sk.units_in, "skeleton")
    if problem:
        warnings.warn(f"{p}: {problem}", NeurdLiteWarning, stacklevel=3)


def _load_any(p: Path, units: UnitsLike | None) -> tuple[Skeleton, pd.DataFrame | None]:
    if not p.exists():
        raise InputError("skeleton file not found", p, "check the path")
    if p.is_dir():
        if (p / "skel.json").is_file():
            return _load_ossify(p / "skel.json")
        if (p / "morph_info.json").is_file():
            return _load_morphsync(p)
        found = sorted(p.glob("*.swc")) + sorted(p.glob("*.h5"))
        if len(found) == 1:
            return _load_any(found[0], units)
        raise InputError("folder is not a known skeleton layout", p,
                         "pass a .swc or meshwork .h5 file, an ossify folder (skel.json) or a morphsync folder")
    suffix = p.suffix.lower()
    if suffix == ".swc":
        return _load_swc(p, units), None
    if suffix in (".h5", ".hdf5"):
        return _load_meshwork(p)
    if suffix == ".json":
        return _load_ossify(p)
    raise InputError(f"unknown skeleton format {suffix!r}", p, "use .swc, a MeshParty meshwork .h5 or skel.json")


# ---- SWC ---------------------------------------------------------------------------------------------
def _parse_swc_rows(p: Path) -> tuple[np.ndarray, list[str]]:
    """(N, 7) numeric rows and the leading comment lines (read once)."""
    rows = []
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        raise InputError("not a text SWC file (binary content)", p, "SWC is plain text: id type x y z radius parent")
    with open(p, encoding="utf-8", errors="strict") as fh:
        try:
            lines = fh.readlines()
        except UnicodeDecodeError as e:
            raise InputError(f"not a text SWC file ({e.reason} at byte {e.start})", p,
                             "SWC is plain text: id type x y z radius parent") from e
    header: list[str] = []
    for line in lines:
        if not rows and line.lstrip().startswith("#"):
            header.append(line)
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        parts = s.replace(",", " ").split()
        try:
            vals = [float(v) for v in parts[:7]]
        except ValueError:
            if rows:
                raise InputError(f"non-numeric SWC line {line.strip()!r}", p, "fix or remove that line")
            continue  # a header line such as "n type x y z radius parent"
        if len(vals) < 7:
            raise InputError(f"SWC line has {len(vals)} columns, expected 7: {line.strip()!r}", p,
                             "SWC lines are: id type x y z radius parent")
        rows.append(vals)
    if not rows:
        raise InputError("SWC file has no skeleton points", p, "check that it is an SWC file")
    return np.asarray(rows), header


_HEADER_UNITS = {"micrometres": "um", "micrometers": "um", "micrometre": "um", "micrometer": "um", "um": "um",
                 "µm": "um", "microns": "um", "micron": "um", "nm": "nm", "nanometres": "nm", "nanometers": "nm"}


def _swc_header_units(header: list[str]) -> str | None:
    """Units named in a leading comment such as ``# ...; units: micrometres`` (as :func:`write_swc` writes)."""
    for line in header:
        low = line.lower()
        words = low.split("units:", 1)[1].split() if "units:" in low else []
        if words and words[0].strip(".,;") in _HEADER_UNITS:
            return _HEADER_UNITS[words[0].strip(".,;")]
    return None


def _swc_units(xyz: np.ndarray, units: UnitsLike | None, p: Path, header_lines: list[str]
               ) -> tuple[np.ndarray, Any, str]:
    """(scale to nm, the units used, where they came from)."""
    if units is not None:
        return scale_to_nm(units), units, "given"
    header = _swc_header_units(header_lines)
    if header is not None:
        return scale_to_nm(header), header, "swc header"
    from .meshes import robust_extent

    extent = robust_extent(xyz)  # finite coordinates, 1st-99th percentile: one NaN or stray node changes nothing
    guess = "um" if extent < _UM_EXTENT_MAX else "nm"
    span = f"{extent * scale_to_nm(guess).max() / 1000:.3g} µm"
    if _AMBIGUOUS[0] < extent < _AMBIGUOUS[1]:
        warnings.warn(f"{p}: SWC extent {extent:.0f} could be µm or nm; assumed "
                      f"{'µm' if guess == 'um' else 'nm'} (spans {span}; pass units= to be sure)",
                      NeurdLiteWarning, stacklevel=4)
    else:
        warnings.warn(f"{p}: SWC units not given; assumed {'µm' if guess == 'um' else 'nm'} from its extent "
                      f"({extent:.0f} file units, so it spans {span}); pass units= ('um', 'nm' or the voxel size "
                      f"in nm, e.g. 8 for hemibrain) to be sure", NeurdLiteWarning, stacklevel=4)
    return scale_to_nm(guess), guess, "guessed from extent"


def _swc_cycle(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Rows of the SWC that lie on a parent-link cycle (a tree has none), empty when there is none."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    if not edges:
        return np.zeros(0, np.int64)
    e = np.asarray(edges, dtype=np.int64)
    adj = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    n_comp, label = csgraph.connected_components(adj, directed=False)
    n_edges = np.bincount(label[e[:, 0]], minlength=n_comp)
    n_nodes = np.bincount(label, minlength=n_comp)
    return np.flatnonzero(np.isin(label, np.flatnonzero(n_edges >= n_nodes)))


def _load_swc(p: Path, units: UnitsLike | None) -> Skeleton:
    a, header_lines = _parse_swc_rows(p)
    ids = a[:, 0].astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise InputError("SWC has repeated node ids", p, "each node id must be unique")
    index = {int(i): k for k, i in enumerate(ids)}
    parent_ids = a[:, 6].astype(np.int64)
    edges = [(k, index[int(pid)]) for k, pid in enumerate(parent_ids) if pid != -1 and int(pid) in index]
    n_missing = int(np.sum((parent_ids != -1) & ~np.isin(parent_ids, ids)))
    cycle = _swc_cycle(len(a), edges)
    if len(cycle):
        raise InputError(f"SWC parent links form a cycle through {len(cycle)} nodes (ids "
                         f"{ids[cycle[:6]].tolist()}{' ...' if len(cycle) > 6 else ''}); an SWC must be a tree", p,
                         "one node of each tree must have parent -1; fix the export")
    scale, units_in, source = _swc_units(a[:, 2:5], units, p, header_lines)
    types = a[:, 1].astype(np.int64)
    roots = np.flatnonzero(parent_ids == -1)
    soma_roots = roots[types[roots] == 1]
    root = int(soma_roots[0]) if len(soma_roots) else (int(roots[0]) if len(roots) else 0)
    sk = Skeleton(a[:, 2:5] * scale, np.asarray(edges, dtype=np.int64).reshape(-1, 2),
                  radius=a[:, 5] * float(scale.mean()), root=root, vertex_properties={"swc_type": types})
    if n_missing:
        warnings.warn(f"{p}: {n_missing} SWC nodes name a parent that does not exist; they start new trees",
                      NeurdLiteWarning, stacklevel=3)
    sk.units_in = units_to_json(units_in)
    sk.units_source = source
    return sk


def _bfs_order(sk: Skeleton) -> np.ndarray:
    """Vertex order with every parent before its children (root's component first)."""
    kids = sk.children()
    par = sk.parent
    starts = [sk.root] + [int(v) for v in np.flatnonzero(par < 0) if v != sk.root]
    seen = np.zeros(sk.n_vertices, dtype=bool)
    order: list[int] = []
    for s in starts:
        if seen[s]:
            continue
        queue = deque([s])
        seen[s] = True
        while queue:
            v = queue.popleft()
            order.append(v)
            for c in kids[v]:
                if not seen[c]:
                    seen[c] = True
                    queue.append(int(c))
    return np.asarray(order, dtype=np.int64)


def write_swc(n: Any, path: str | Path) -> Path:
    """Write ``n.skeleton`` as SWC in µm that MorphIO and NeuroM read with default options.

    Types: 1 soma, 2 axon, 3 basal/dendrite, 4 apical shaft/tuft/oblique, 0 unknown. Parents come before
    children. The type is constant along each unbranched section (the majority label of its nodes: MorphIO
    refuses a type change without a bifurcation). Only the root and soma nodes chained to it are type 1; a
    further soma of a merged cell (a soma point whose parent is a neurite, which MorphIO refuses) takes its
    section's type and is listed in a ``# extra soma`` header line. A radius that is unknown (NaN) or not
    positive is copied from the nearest node (along the file order, parent first) that has one, or set to
    0.1 µm when no node has one; the header counts them.
    """
    sk = n.skeleton
    if sk is None or sk.n_vertices == 0:
        raise InputError("neuron has no skeleton to write", path, "skeletonize it first (nl.decompose)")
    labels = n.skeleton_labels if n.skeleton_labels is not None else np.full(sk.n_vertices, "unknown", object)
    order = _bfs_order(sk)
    new_id = np.full(sk.n_vertices, -1, dtype=np.int64)
    new_id[order] = np.arange(1, len(order) + 1)
    par = sk.parent
    types = _section_types(order, par, np.array([SWC_TYPE.get(str(x), 0) for x in labels], dtype=np.int64),
                           np.asarray(labels).astype(str) == "soma", sk.root)
    extra_somas = [int(new_id[v]) for v in order if str(labels[v]) == "soma" and types[v] != 1]
    rad_nm, n_filled = _filled_radius(order, par, np.asarray(sk.radius, dtype=float))
    xyz = sk.vertices / 1000.0
    rad = rad_nm / 1000.0
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as fh:
        fh.write(f"# neurd_lite skeleton of {getattr(n, 'name', 'neuron')}; units: micrometres\n")
        if n_filled:
            fh.write(f"# radius unknown at {n_filled} nodes: copied from the nearest node with a radius\n")
        if extra_somas:
            fh.write(f"# extra soma (merged cell) at node ids: {' '.join(map(str, extra_somas))}\n")
        fh.write("# id type x y z radius parent\n")
        for v in order:
            p = new_id[par[v]] if par[v] >= 0 else -1
            fh.write(f"{new_id[v]} {types[v]} {xyz[v, 0]:.4f} {xyz[v, 1]:.4f} {xyz[v, 2]:.4f} {rad[v]:.4f} {p}\n")
    return out


def _section_types(order: np.ndarray, par: np.ndarray, node_type: np.ndarray, is_soma: np.ndarray,
                   root: int) -> np.ndarray:
    """SWC type per vertex, constant along each unbranched section (majority of its nodes' types; soma chain
    from the root is type 1). ``order`` has parents before children."""
    n = len(par)
    n_kids = np.bincount(par[par >= 0], minlength=n)
    soma_chain = np.zeros(n, dtype=bool)
    soma_chain[root] = True
    section = np.full(n, -1, dtype=np.int64)
    next_id = 0
    for v in order:
        p = par[v]
        if p < 0 or (is_soma[v] and soma_chain[p]):
            soma_chain[v] = p < 0 or soma_chain[p]
            continue
        if soma_chain[p] or n_kids[p] != 1:
            section[v] = next_id
            next_id += 1
        else:
            section[v] = section[p]
    out = np.ones(n, dtype=np.int64)
    neurite = section >= 0
    if neurite.any():
        t = node_type[neurite]
        t = np.where(t == 1, 0, t)  # a soma label inside a neurite section votes for nothing
        votes = np.zeros((next_id, 5), dtype=np.int64)
        np.add.at(votes, (section[neurite], t), 1)
        known = votes[:, 1:].sum(axis=1) > 0
        best = np.where(known, 1 + np.argmax(votes[:, 1:], axis=1), 0)
        out[neurite] = best[section[neurite]]
    return out


def _filled_radius(order: np.ndarray, par: np.ndarray, radius_nm: np.ndarray) -> tuple[np.ndarray, int]:
    """Radii (nm) with unknown or non-positive values copied from the parent (then from a child for nodes
    before any known one); 100 nm when no node has a radius. Returns (radii, number filled)."""
    r = np.where(np.isfinite(radius_nm) & (radius_nm > 0), radius_nm, np.nan)
    bad = np.isnan(r)
    if not bad.any():
        return r, 0
    if bad.all():
        return np.full(len(r), 100.0), int(bad.sum())
    for v in order:  # parent to child
        if np.isnan(r[v]) and par[v] >= 0 and not np.isnan(r[par[v]]):
            r[v] = r[par[v]]
    for v in order[::-1]:  # child to parent, for nodes above the first known radius
        if par[v] >= 0 and np.isnan(r[par[v]]) and not np.isnan(r[v]):
            r[par[v]] = r[v]
    for v in order:
        if np.isnan(r[v]) and par[v] >= 0:
            r[v] = r[par[v]]
    return np.where(np.isnan(r), np.nanmedian(r), r), int(bad.sum())


# ---- MeshParty meshwork h5 ---------------------------------------------------------------------------
def _read_json_table(raw: bytes) -> pd.DataFrame:
    return pd.read_json(io.StringIO(raw.decode() if isinstance(raw, bytes) else raw))


def _points_nm(col: pd.Series, scale: np.ndarray) -> np.ndarray:
    """(N, 3) nm from a column of [x, y, z] or [[x, y, z]] voxel positions."""
    pts = np.asarray([np.asarray(v, dtype=float).reshape(-1)[:3] for v in col], dtype=float).reshape(-1, 3)
    return pts * scale


def _vertex_majority(mask_mesh: np.ndarray, mesh_to_skel: np.ndarray, n_skel: int) -> np.ndarray:
    ok = mesh_to_skel >= 0
    hits = np.bincount(mesh_to_skel[ok], weights=mask_mesh[ok].astype(float), minlength=n_skel)
    total = np.bincount(mesh_to_skel[ok], minlength=n_skel)
    return hits * 2 > np.maximum(total, 1)


def _vertex_mean(values_mesh: np.ndarray, mesh_to_skel: np.ndarray, n_skel: int) -> np.ndarray:
    ok = (mesh_to_skel >= 0) & np.isfinite(values_mesh)
    s = np.bincount(mesh_to_skel[ok], weights=values_mesh[ok], minlength=n_skel)
    c = np.bincount(mesh_to_skel[ok], minlength=n_skel)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _load_meshwork(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    import h5py

    with h5py.File(p, "r") as f:
        if f.attrs.get("format") == "neurd_lite.neuron":
            raise InputError("this is a saved neurd_lite Neuron, not a skeleton", p, "open it with nl.load(path)")
        if "skeleton" not in f or "vertices" not in f["skeleton"]:
            raise InputError("h5 file has no 'skeleton/vertices'", p, "expected a MeshParty meshwork h5 file")
        g = f["skeleton"]
        verts = g["vertices"][()]
        sk_edges = g["edges"][()]
        root = int(g["root"][()]) if "root" in g else 0
        radius = g["radius"][()] if "radius" in g else None
        mesh_verts = f["mesh/vertices"][()] if "mesh/vertices" in f else np.zeros((0, 3))
        n_mesh = len(mesh_verts)
        faces = f["mesh/faces"][()] if "mesh/faces" in f else np.zeros((0, 3), np.int64)
        l2_graph = "mesh/link_edges" in f and not _has_real_faces(faces)  # a level-2 graph, not a surface
        link_edges = f["mesh/link_edges"][()] if l2_graph else None
        m2s = g["mesh_to_skel_map"][()].astype(np.int64) if "mesh_to_skel_map" in g else np.zeros(0, np.int64)
        res = np.asarray(f.attrs.get("voxel_resolution", [1, 1, 1]), dtype=float).reshape(-1)[:3]
        keep_mesh = np.ones(n_mesh, dtype=bool)
        for mask_name in ("mesh/node_mask", "mesh/mesh_mask"):  # the Mesh's own mask, then the Meshwork's
            if mask_name in f and len(f[mask_name]) == n_mesh:
                keep_mesh &= f[mask_name][()].astype(bool)
        tables = {}
        for name in f.get("annotations", {}):
            grp = f["annotations"][name]
            tables[name] = (_read_json_table(grp["data"][()]), dict(grp.attrs))
    if len(m2s) != n_mesh:
        raise InputError(f"mesh_to_skel_map has {len(m2s)} entries for {n_mesh} mesh vertices", p,
                         "the meshwork file is inconsistent")
    if not keep_mesh.all():  # a masked meshwork: keep what MeshParty shows (skeleton vertices of kept mesh vertices)
        verts, sk_edges, root, radius, m2s = _mask_meshwork_skeleton(verts, sk_edges, root, radius, m2s, keep_mesh)
    n = len(verts)
    props: dict[str, np.ndarray] = {}
    syn_parts = []
    for name, (df, attrs) in tables.items():
        idx_col = attrs.get("index_column", "mesh_index")
        if idx_col not in df.columns and "point_column" in attrs and n_mesh:  # anchored on load, as MeshParty does
            from scipy.spatial import cKDTree

            df = df.assign(**{idx_col: cKDTree(mesh_verts).query(_points_nm(df[attrs["point_column"]], res))[1]})
        if idx_col not in df.columns:
            continue
        mesh_idx = df[idx_col].to_numpy(dtype=np.int64)
        inside = (mesh_idx >= 0) & (mesh_idx < n_mesh)
        inside[inside] &= m2s[mesh_idx[inside]] >= 0
        df, mesh_idx = df[inside | (mesh_idx < 0)], mesh_idx[inside | (mesh_idx < 0)]
        if "point_column" in attrs and ("pre" in name or "post" in name):
            pts = _points_nm(df[attrs["point_column"]], res)
            part = pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2],
                                 "is_pre": "pre" in name.split("_")[0],
                                 "skeleton_vertex": np.where((mesh_idx >= 0) & (mesh_idx < n_mesh),
                                                             m2s[np.clip(mesh_idx, 0, max(n_mesh - 1, 0))], -1)})
            for src, dst in (("id", "synapse_id"), ("size", "size")):
                if src in df.columns:
                    part[dst] = df[src].to_numpy()
            syn_parts.append(part)
        elif len(df.columns) == 1:
            mask = np.zeros(n_mesh, dtype=bool)
            mask[mesh_idx[(mesh_idx >= 0) & (mesh_idx < n_mesh)]] = True
            props[name] = _vertex_majority(mask, m2s, n)
        elif "r_eff" in df.columns and radius is None:
            vals = np.full(n_mesh, np.nan)
            vals[mesh_idx] = df["r_eff"].to_numpy(dtype=float)
            radius = _vertex_mean(vals, m2s, n)
    if link_edges is not None and n_mesh:  # a level-2 graph: its side nodes per skeleton vertex (session 19)
        props.update(l2_vertex_counts(link_edges, m2s, n, keep_mesh))
    sk = Skeleton(verts, sk_edges, radius=radius, root=root, vertex_properties=props)
    syn = pd.concat(syn_parts, ignore_index=True) if syn_parts else None
    return sk, syn


def _has_real_faces(faces: np.ndarray) -> bool:
    """Whether a meshwork's faces describe a surface (some files of level-2 graphs hold one dummy face [0, 0, 0])."""
    f = np.asarray(faces).reshape(-1, 3)
    return bool(len(f)) and bool(np.any((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])))


def l2_vertex_counts(link_edges: np.ndarray, mesh_to_skel: np.ndarray, n_skel: int,
                     keep: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``{"l2_nodes", "l2_leaves"}`` per skeleton vertex from a meshwork's level-2 graph (a "mesh" without faces):
    ``link_edges`` (E, 2) between L2 nodes, ``mesh_to_skel`` (M,) the skeleton vertex of each node (-1: none),
    ``keep`` (M,) the nodes to count; a leaf has one L2 edge (or none). Read by ``compartments.axon_l2``."""
    m = len(mesh_to_skel)
    keep = np.ones(m, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    e = np.asarray(link_edges, dtype=np.int64).reshape(-1, 2)
    e = e[(e >= 0).all(axis=1) & (e < m).all(axis=1)]
    e = e[keep[e[:, 0]] & keep[e[:, 1]] & (e[:, 0] != e[:, 1])]
    e = np.unique(np.sort(e, axis=1), axis=0)
    deg = np.bincount(e.ravel(), minlength=m)
    ok = keep & (mesh_to_skel >= 0) & (mesh_to_skel < n_skel)
    return {"l2_nodes": np.bincount(mesh_to_skel[ok], minlength=n_skel).astype(np.int64),
            "l2_leaves": np.bincount(mesh_to_skel[ok & (deg <= 1)], minlength=n_skel).astype(np.int64)}


def _mask_meshwork_skeleton(verts: np.ndarray, edges: np.ndarray, root: int, radius: np.ndarray | None,
                            m2s: np.ndarray, keep_mesh: np.ndarray) -> tuple:
    """Restrict a meshwork skeleton to the vertices that kept mesh vertices map to (MeshParty's masked view).
    Returns (vertices, edges, root, radius, mesh_to_skel map with -1 for masked-out mesh vertices)."""
    keep = np.zeros(len(verts), dtype=bool)
    keep[m2s[keep_mesh & (m2s >= 0)]] = True
    new = np.full(len(verts), -1, dtype=np.int64)
    new[keep] = np.arange(int(keep.sum()))
    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    m2s_new = np.where(keep_mesh & (m2s >= 0), new[np.clip(m2s, 0, None)], -1)
    if not keep[root]:  # the soma was masked out: root at the kept vertex nearest to it
        root = int(np.flatnonzero(keep)[np.argmin(np.linalg.norm(verts[keep] - verts[root], axis=1))])
    return (verts[keep], new[e], int(new[root]), None if radius is None else np.asarray(radius)[keep], m2s_new)


# ---- ossify and morphsync folders ------------------------------------------------------------------
def _l2_synapses(df: pd.DataFrame, is_pre: bool, l2_col: str, l2_to_skel: dict[int, int]) -> pd.DataFrame:
    pts = df[["ctr_pt_position_x", "ctr_pt_position_y", "ctr_pt_position_z"]].to_numpy(dtype=float)
    sv = [l2_to_skel.get(int(x), -1) for x in df[l2_col]] if l2_col in df.columns else [-1] * len(df)
    out = pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2], "is_pre": is_pre,
                        "skeleton_vertex": np.asarray(sv, dtype=np.int64)})
    if "id" in df.columns:
        out["synapse_id"] = df["id"].to_numpy()
    if "size" in df.columns:
        out["size"] = df["size"].to_numpy()
    return out


def _load_ossify(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    try:
        d = json.loads(p.read_text())
        verts, edges = np.asarray(d["vertices"], float), np.asarray(d["edges"], np.int64)
    except (ValueError, KeyError) as e:
        raise InputError(f"not an ossify skeleton json ({e})", p, "expected keys vertices, edges, root") from e
    props = {}
    if "compartment" in d:
        props["swc_type"] = np.asarray(d["compartment"], dtype=np.int64)
    sk = Skeleton(verts, edges, radius=np.asarray(d["radius"], float) if "radius" in d else None,
                  root=int(d.get("root", 0)), vertex_properties=props)
    syn = None
    if "lvl2_ids" in d and "mesh_to_skel_map" in d:
        l2_to_skel = dict(zip(map(int, d["lvl2_ids"]), map(int, d["mesh_to_skel_map"])))
        parts = []
        for fname, is_pre, col in (("pre_l2.feather", True, "pre_pt_l2_id"),
                                   ("post_l2.feather", False, "post_pt_l2_id")):
            if (p.parent / fname).is_file():
                parts.append(_l2_synapses(pd.read_feather(p.parent / fname), is_pre, col, l2_to_skel))
        syn = pd.concat(parts, ignore_index=True) if parts else None
    return sk, syn


def _load_morphsync(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    layers, links = p / "layers", p / "links"
    nodes_f, facets_f = layers / "level2_skeleton_nodes.csv.gz", layers / "level2_skeleton_facets.csv.gz"
    if not nodes_f.is_file() or not facets_f.is_file():
        raise InputError("morphsync folder lacks layers/level2_skeleton_nodes/facets", p, "expected a morphsync dump")
    nodes, facets = pd.read_csv(nodes_f), pd.read_csv(facets_f)
    root = int(np.flatnonzero(nodes["is_root"].to_numpy(bool))[0]) if "is_root" in nodes and nodes["is_root"].any() else 0
    props = {"swc_type": nodes["compartment"].to_numpy(np.int64)} if "compartment" in nodes else {}
    sk = Skeleton(nodes[["x", "y", "z"]].to_numpy(float), facets[["source", "target"]].to_numpy(np.int64),
                  radius=nodes["radius"].to_numpy(float) if "radius" in nodes else None, root=root,
                  vertex_properties=props)
    l2_map_f = links / "level2_nodes_to_level2_skeleton_mapping.csv.gz"
    if not l2_map_f.is_file():
        return sk, None
    l2m = pd.read_csv(l2_map_f)
    l2_to_skel = dict(zip(l2m["level2_nodes"].astype(np.int64), l2m["level2_skeleton"].astype(np.int64)))
    parts = []
    for kind, is_pre in (("pre", True), ("post", False)):
        syn_f = layers / f"{kind}_synapses_nodes.csv.gz"
        link_f = links / f"level2_nodes_to_{kind}_synapses_mapping.csv.gz"
        if not syn_f.is_file():
            continue
        df = pd.read_csv(syn_f)
        if link_f.is_file():
            lk = pd.read_csv(link_f)
            syn_to_l2 = dict(zip(lk[f"{kind}_synapses"].astype(np.int64), lk["level2_nodes"].astype(np.int64)))
            df["_l2"] = [syn_to_l2.get(int(i), -1) for i in df["id"]]
        parts.append(_l2_synapses(df, is_pre, "_l2", {int(k): int(v) for k, v in l2_to_skel.items()}))
    return sk, (pd.concat(parts, ignore_index=True) if parts else None)

"""Read skeletons (SWC, MeshParty meshwork h5, ossify and morphsync folders) and write SWC.

Everything returned is in nm. ``load_skeleton`` returns ``(Skeleton, synapses)`` where ``synapses`` is a
DataFrame with ``x_nm, y_nm, z_nm, is_pre`` (plus ``skeleton_vertex`` and source ids when the file maps each
synapse to the skeleton) or None when the format carries no synapses.

Per-vertex annotations become ``Skeleton.vertex_properties``: ``swc_type`` (SWC type code, SWC and
ossify/morphsync ``compartment``), and for meshworks every mask annotation (``is_apical``, ``is_axon``, ...)
as a bool per skeleton vertex (majority of the level-2 "mesh" vertices mapped to it).
"""
from __future__ import annotations

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
from .meshwork import load_meshwork, load_morphsync, load_ossify

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
    if units is not None:
        try:
            scale_to_nm(units)
        except ValueError as e:  # said as a units problem, not as a bad skeleton file
            raise InputError(str(e), path) from e
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
            return load_ossify(p / "skel.json")
        if (p / "morph_info.json").is_file():
            return load_morphsync(p)
        found = sorted(p.glob("*.swc")) + sorted(p.glob("*.h5"))
        if len(found) == 1:
            return _load_any(found[0], units)
        raise InputError("folder is not a known skeleton layout", p,
                         "pass a .swc or meshwork .h5 file, an ossify folder (skel.json) or a morphsync folder")
    suffix = p.suffix.lower()
    if suffix == ".swc":
        return _load_swc(p, units), None
    if suffix in (".h5", ".hdf5"):
        return load_meshwork(p)
    if suffix == ".json":
        return load_ossify(p)
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

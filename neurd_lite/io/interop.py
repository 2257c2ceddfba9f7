"""Objects of the field's peers in and out: MeshParty (Mesh, Skeleton, Meshwork) and navis (TreeNeuron,
MeshNeuron).

In: :func:`skeleton_from_object` turns a meshwork, a MeshParty skeleton or a navis TreeNeuron into a
``Skeleton`` in nm plus its synapses (``load_skeleton`` and ``label_skeleton`` call it for objects);
:func:`mesh_arrays_from_object` gives the vertex and face arrays and the units of a navis MeshNeuron.
Out: :func:`to_meshwork` and :func:`to_navis` (also ``Neuron.to_meshwork`` / ``Neuron.to_navis``).

meshparty and navis are imported inside the functions (both are optional for this module: objects of a
package can only exist when it is installed).
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..names import SWC_TYPE, synapse_polarity
from ..skeleton.model import Skeleton

_NAVIS_UNIT_NM = {"nanometer": 1.0, "nm": 1.0, "micrometer": 1000.0, "micron": 1000.0, "um": 1000.0,
                  "µm": 1000.0, "millimeter": 1e6, "mm": 1e6}


def _kind(obj: Any) -> str:
    """'meshwork', 'mp_skeleton', 'navis_tree', 'navis_mesh' or '' from the object's class and module."""
    cls, mod = type(obj).__name__, type(obj).__module__
    if mod.startswith("meshparty") and cls == "Meshwork":
        return "meshwork"
    if mod.startswith("meshparty") and cls == "Skeleton":
        return "mp_skeleton"
    if mod.startswith("navis") and cls == "TreeNeuron":
        return "navis_tree"
    if mod.startswith("navis") and cls == "MeshNeuron":
        return "navis_mesh"
    return ""


def is_peer_object(obj: Any) -> bool:
    """True for a MeshParty Meshwork/Skeleton or a navis TreeNeuron/MeshNeuron."""
    return bool(_kind(obj))


def navis_units_nm(obj: Any) -> float | None:
    """nm per coordinate unit of a navis neuron (``obj.units``, e.g. "8 nanometer"); None when dimensionless
    or not set."""
    units = getattr(obj, "units", None)
    if units is None:
        return None
    text = str(units).strip().lower()
    m = re.fullmatch(r"([0-9.eE+-]*)\s*([a-zµ]+)", text)
    if not m or m.group(2) not in _NAVIS_UNIT_NM:
        return None
    magnitude = float(m.group(1)) if m.group(1) else 1.0
    return magnitude * _NAVIS_UNIT_NM[m.group(2)]


def _scale(obj: Any, units_nm: float | None, what: str) -> tuple[float, str]:
    """(nm per unit, source) for a navis object: the ``units`` argument wins, then the object's own units."""
    if units_nm is not None:
        return float(units_nm), "given"
    own = navis_units_nm(obj)
    if own is None:
        raise InputError(f"{what} has no units (navis units {getattr(obj, 'units', None)!r})", None,
                         "pass units= (e.g. units='nm', 'um' or 8), or set neuron.units in navis")
    return own, "navis units"


def skeleton_from_object(obj: Any, units_nm: float | None = None) -> tuple[Skeleton, pd.DataFrame | None]:
    """A peer's skeleton object as (Skeleton in nm, synapses in nm or None).

    obj: ``meshparty.meshwork.Meshwork`` (its mask honoured; masks annotations become bool
    ``vertex_properties``, ``*pre*``/``*post*`` point tables become synapses), ``meshparty.skeleton.Skeleton``
    (nm) or ``navis.TreeNeuron`` (units from ``units_nm`` or ``obj.units``; node ``type``/``label`` become
    ``swc_type``; connectors become synapses, type 0/"pre" presynaptic).
    """
    kind = _kind(obj)
    if kind == "meshwork":
        return _from_meshwork(obj)
    if kind == "mp_skeleton":
        return _from_mp_skeleton(obj), None
    if kind == "navis_tree":
        return _from_tree_neuron(obj, units_nm)
    raise InputError(f"cannot read a skeleton from a {type(obj).__name__}", None,
                     "pass a path (SWC, meshwork h5), a neurd_lite Skeleton, a MeshParty Meshwork/Skeleton or a "
                     "navis TreeNeuron")


def _from_mp_skeleton(s: Any) -> Skeleton:
    radius = getattr(s, "radius", None)
    sk = Skeleton(np.asarray(s.vertices, float), np.asarray(s.edges, np.int64),
                  radius=None if radius is None else np.asarray(radius, float), root=int(s.root))
    sk.units_in, sk.units_source = "nm", "MeshParty Skeleton"
    return sk


def _from_meshwork(mw: Any) -> tuple[Skeleton, pd.DataFrame | None]:
    if mw.skeleton is None:
        raise InputError("the Meshwork has no skeleton", None, "run mw.skeletonize_mesh() first")
    sk = _from_mp_skeleton(mw.skeleton)
    sk.units_source = "MeshParty Meshwork"
    sk.source_name = str(mw.seg_id) if getattr(mw, "seg_id", None) is not None else "meshwork"
    n_mesh = len(mw.mesh.vertices)
    parts = []
    for name in mw.anno.table_names:
        a = mw.anno[name]
        df = a.df
        mesh_idx = np.asarray(a.mesh_index, dtype=np.int64)
        skel_idx = np.asarray(a.mesh_index.to_skel_index_padded, dtype=np.int64).reshape(-1)
        if a.point_column is not None and ("pre" in name or "post" in name):
            pts = np.asarray(a.points, dtype=float).reshape(-1, 3)  # nm (voxels x voxel_resolution)
            part = pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2],
                                 "is_pre": "pre" in name.split("_")[0], "skeleton_vertex": skel_idx})
            for src, dst in (("id", "synapse_id"), ("size", "size")):
                if src in df.columns:
                    part[dst] = df[src].to_numpy()
            parts.append(part)
        elif len([c for c in df.columns if not str(c).startswith("mesh_ind")]) == 0:  # a mask annotation
            mask = np.zeros(n_mesh, dtype=float)
            mask[mesh_idx] = 1.0
            sk.vertex_properties[name] = np.asarray(
                mw.mesh_property_to_skeleton(mask, aggfunc="mean"), dtype=float) > 0.5
    return sk, (pd.concat(parts, ignore_index=True) if parts else None)


def _from_tree_neuron(tn: Any, units_nm: float | None) -> tuple[Skeleton, pd.DataFrame | None]:
    scale, source = _scale(tn, units_nm, "the navis TreeNeuron")
    nodes = tn.nodes
    ids = nodes["node_id"].to_numpy(dtype=np.int64)
    index = pd.Series(np.arange(len(ids)), index=ids)
    parents = nodes["parent_id"].to_numpy(dtype=np.int64)
    has_parent = parents >= 0
    edges = np.column_stack([np.flatnonzero(has_parent), index.reindex(parents[has_parent]).to_numpy()])
    if np.isnan(edges.astype(float)).any():
        raise InputError("a node's parent_id is not a node of the neuron", None, "repair the TreeNeuron (navis.heal)")
    roots = np.flatnonzero(~has_parent)
    radius = nodes["radius"].to_numpy(dtype=float) * scale if "radius" in nodes else None
    props = {}
    for col in ("type", "label"):
        if col in nodes.columns and pd.api.types.is_numeric_dtype(nodes[col]):
            props["swc_type"] = nodes[col].to_numpy(dtype=np.int64)
            break
    sk = Skeleton(nodes[["x", "y", "z"]].to_numpy(dtype=float) * scale, edges.astype(np.int64), radius=radius,
                  root=int(roots[0]) if len(roots) else 0, vertex_properties=props)
    sk.units_in, sk.units_source = scale, source
    sk.source_name = str(getattr(tn, "name", None) or getattr(tn, "id", "navis"))
    syn = None
    con = getattr(tn, "connectors", None)
    if con is not None and len(con):
        kind = con["type"] if "type" in con.columns else pd.Series(["unknown"] * len(con))
        is_pre = kind.map(lambda t: str(t).lower() in ("0", "pre", "presynapse", "presynaptic"))
        syn = pd.DataFrame({"x_nm": con["x"].to_numpy(float) * scale, "y_nm": con["y"].to_numpy(float) * scale,
                            "z_nm": con["z"].to_numpy(float) * scale, "is_pre": is_pre.to_numpy(bool)})
        if "node_id" in con.columns:
            syn["skeleton_vertex"] = index.reindex(con["node_id"].to_numpy()).fillna(-1).to_numpy(np.int64)
    return sk, syn


def mesh_arrays_from_object(obj: Any, units: Any) -> tuple[np.ndarray, np.ndarray, Any, dict[str, Any]]:
    """(vertices, faces, units, metadata) of a navis MeshNeuron: ``units`` wins when given, else the
    neuron's own units (as nm per unit); its connectors are kept in metadata["connectors"]."""
    if units is None:
        units, _ = _scale(obj, None, "the navis MeshNeuron")
    meta = {"name": str(getattr(obj, "name", None) or getattr(obj, "id", "mesh"))}
    con = getattr(obj, "connectors", None)
    if con is not None and len(con):
        meta["connectors"] = con
    return np.asarray(obj.vertices, float), np.asarray(obj.faces, np.int64), units, meta


# ---- out ---------------------------------------------------------------------------------------------------
def _vertex_values(n_vertices: int, faces: np.ndarray, per_face: np.ndarray, fill: Any) -> np.ndarray:
    """Per-vertex copy of a per-face array (a vertex takes one of its faces' values)."""
    out = np.full(n_vertices, fill, dtype=np.asarray(per_face).dtype)
    out[faces.reshape(-1)] = np.repeat(np.asarray(per_face), 3)
    return out


def _synapse_skeleton_vertex(n: Any) -> np.ndarray:
    """Skeleton vertex of each synapse (-1 unknown): its own column, else its anchored face's."""
    syn = n.synapses
    if "skeleton_vertex" in syn.columns:
        return syn["skeleton_vertex"].to_numpy(dtype=np.int64)
    if "face" in syn.columns and n.face_to_skeleton is not None:
        f = syn["face"].to_numpy(dtype=np.int64)
        return np.where(f >= 0, n.face_to_skeleton[np.clip(f, 0, None)], -1)
    return np.full(len(syn), -1, dtype=np.int64)


def _plain_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns MeshParty's JSON writer takes: nullable ints/bools/strings as plain numpy or object values."""
    out = df.reset_index(drop=True)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.api.extensions.ExtensionDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _add_mask(mw: Any, name: str, mask: np.ndarray) -> None:
    """A mask annotation as MeshParty writes one (a ``mesh_index`` table; its ``mask=True`` path fails on
    boolean input in meshparty 2.0)."""
    mw.add_annotations(name, pd.DataFrame({"mesh_index": np.flatnonzero(mask)}), index_column="mesh_index")


def to_meshwork(n: Any) -> Any:
    """The Neuron as a ``meshparty.meshwork.Meshwork`` (nm, voxel_resolution 1 nm).

    mesh: the input mesh (a skeleton-only neuron gets MeshParty's skeleton-vertex "mesh"); skeleton with
    radius (nm) and the mesh-to-skeleton map (mesh vertices dropped as debris map to their nearest skeleton
    vertex in space); annotations: ``pre_syn`` / ``post_syn`` (point column ``ctr_pt_position`` in nm, with
    target, compartment, spine_id), one mask ``is_<compartment>`` per compartment present and
    ``is_spine_head`` / ``is_spine_neck`` (mesh vertices), and ``spines`` (one row per spine, point in nm).
    """
    from meshparty import meshwork, skeleton as mp_skeleton, trimesh_io

    sk = n.skeleton
    if sk is None:
        raise InputError("the neuron has no skeleton", None, "run nl.decompose or nl.label_skeleton first")
    labels = np.asarray(n.skeleton_labels if n.skeleton_labels is not None else ["unknown"] * sk.n_vertices, str)
    if n.mesh is not None:
        verts, faces = np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)
        m2s = _vertex_values(len(verts), faces, n.face_to_skeleton, -1)
        lost = m2s < 0
        if lost.any():
            from scipy.spatial import cKDTree

            m2s[lost] = cKDTree(sk.vertices).query(verts[lost])[1]
        mesh = trimesh_io.Mesh(vertices=verts, faces=faces)
        vertex_comp = _vertex_values(len(verts), faces, np.asarray(n.face_compartment, str), "unlabelled")
        vertex_part = _vertex_values(len(verts), faces, np.asarray(n.face_labels, str), "unlabelled")
    else:
        mesh, m2s = None, np.arange(sk.n_vertices)
        vertex_comp = vertex_part = labels
    skel = mp_skeleton.Skeleton(sk.vertices, sk.edges, root=int(sk.root), radius=sk.radius, mesh_to_skel_map=m2s)
    mw = meshwork.Meshwork(mesh=mesh, skeleton=skel, seg_id=getattr(n, "name", None), voxel_resolution=[1, 1, 1])
    for comp in sorted(set(vertex_comp) - {"unlabelled", "unknown"}):
        _add_mask(mw, f"is_{comp}", vertex_comp == comp)
    for part in ("spine_head", "spine_neck"):
        if (vertex_part == part).any():
            _add_mask(mw, f"is_{part}", vertex_part == part)
    syn = n.synapses
    if len(syn):
        is_pre, is_post = synapse_polarity(syn)
        keep = [c for c in ("synapse_id", "partner_id", "size", "target", "compartment", "spine_id", "is_far")
                if c in syn.columns]
        table = syn[keep].copy()
        table = _plain_columns(table)
        table["ctr_pt_position"] = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(float).tolist()
        table["mesh_index"] = _nearest_vertex(mw, syn[["x_nm", "y_nm", "z_nm"]].to_numpy(float))
        for name, rows in (("pre_syn", is_pre), ("post_syn", is_post)):
            if rows.any():
                mw.add_annotations(name, table[rows].reset_index(drop=True), point_column="ctr_pt_position",
                                   index_column="mesh_index")
    if len(n.spines) and {"x_nm", "y_nm", "z_nm"} <= set(n.spines.columns):
        sp = _plain_columns(n.spines.copy())
        xyz = sp[["x_nm", "y_nm", "z_nm"]].to_numpy(float)
        sp["pt_position"], sp["mesh_index"] = xyz.tolist(), _nearest_vertex(mw, xyz)
        mw.add_annotations("spines", sp.drop(columns=["x_nm", "y_nm", "z_nm"]), point_column="pt_position",
                           index_column="mesh_index")
    return mw


def _nearest_vertex(mw: Any, points_nm: np.ndarray) -> np.ndarray:
    """Index of the meshwork mesh vertex nearest each point (nm), written as the tables' anchor so every
    reader finds the same one."""
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(mw.mesh.vertices, float)).query(points_nm)[1].astype(np.int64)


def to_navis(n: Any, kind: str = "skeleton") -> Any:
    """The Neuron as a navis neuron in nm.

    kind="skeleton": a ``navis.TreeNeuron`` whose node table has ``compartment`` (str) and ``type`` (SWC code)
    columns and whose connectors are the synapses (``type`` "pre"/"post", ``node_id``, target, compartment).
    kind="mesh": a ``navis.MeshNeuron`` of the input mesh with ``face_compartment`` and ``face_labels`` arrays
    (one per face) and the same connectors.
    """
    import navis

    if kind not in ("skeleton", "mesh"):
        raise ValueError(f"kind must be 'skeleton' or 'mesh', not {kind!r}")
    name = getattr(n, "name", "neuron")
    if kind == "mesh":
        if n.mesh is None:
            raise InputError("the neuron has no mesh", None, "use to_navis(kind='skeleton')")
        out = navis.MeshNeuron(n.mesh, units="1 nm", name=name)
        out.face_compartment = np.asarray(n.face_compartment, str)
        out.face_labels = np.asarray(n.face_labels, str)
    else:
        sk = n.skeleton
        if sk is None:
            raise InputError("the neuron has no skeleton", None, "run nl.decompose or nl.label_skeleton first")
        labels = np.asarray(n.skeleton_labels if n.skeleton_labels is not None else ["unknown"] * sk.n_vertices, str)
        swc_type = np.array([SWC_TYPE.get(x, 0) for x in labels])
        swc_type[int(sk.root)] = 1
        nodes = pd.DataFrame({"node_id": np.arange(sk.n_vertices), "parent_id": sk.parent,
                              "x": sk.vertices[:, 0], "y": sk.vertices[:, 1], "z": sk.vertices[:, 2],
                              "radius": sk.radius, "type": swc_type, "compartment": labels})
        out = navis.TreeNeuron(nodes, units="1 nm", name=name, soma=int(sk.root))
    syn = n.synapses
    if len(syn):
        is_pre, is_post = synapse_polarity(syn)
        con = pd.DataFrame({"connector_id": np.arange(len(syn)),
                            "node_id": _synapse_skeleton_vertex(n) if kind == "skeleton" else -1,
                            "x": syn["x_nm"].to_numpy(float), "y": syn["y_nm"].to_numpy(float),
                            "z": syn["z_nm"].to_numpy(float),
                            "type": np.where(is_pre, "pre", np.where(is_post, "post", "unknown"))})
        for col in ("target", "compartment", "spine_id", "partner_id"):
            if col in syn.columns:
                con[col] = syn[col].to_numpy()
        out.connectors = con
    return out

"""Read the level-2 skeleton formats of the MICrONS tools: MeshParty meshwork h5 files, ossify folders
(``skel.json`` + synapse feathers) and morphsync folders (``layers/`` + ``links/``).

Called by ``io.skeletons.load_skeleton`` (which picks the format); every loader returns ``(Skeleton, synapses)``
in nm, synapses with ``x_nm, y_nm, z_nm, is_pre, skeleton_vertex`` (and source ids) or None. Meshwork mask
annotations become bool ``vertex_properties`` (majority of the level-2 "mesh" vertices mapped to a skeleton
vertex); a level-2 graph adds ``l2_nodes`` / ``l2_leaves`` per vertex (:func:`l2_vertex_counts`).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..skeleton.model import Skeleton


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


def load_meshwork(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    """A MeshParty meshwork h5 file: its skeleton (nm; mask annotations as bool ``vertex_properties``) and its
    pre / post synapse annotation tables (positions nm, each with its skeleton vertex), or None without them."""
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


def load_ossify(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    """An ossify ``skel.json`` (nm) and the ``pre_l2.feather`` / ``post_l2.feather`` synapses beside it, mapped to
    skeleton vertices through the level-2 ids (None without them)."""
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


def load_morphsync(p: Path) -> tuple[Skeleton, pd.DataFrame | None]:
    """A morphsync folder (``layers/`` + ``links/``): the level-2 skeleton (nm) and its synapses, or None."""
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

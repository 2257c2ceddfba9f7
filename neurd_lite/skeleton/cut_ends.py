"""Cut ends of dendrite fragments: open boundary loops where a volume crop sliced through a neurite (nm).

A dendrite cropped out of an EM volume (the Harris-lab dendrites, a MICrONS cutout) is a tube with open cross
sections at the cuts, or, once made watertight, with flat caps over them (a large exactly planar patch, which a
membrane surface never has). Those loops tell where the shaft runs, which a surface-walking skeletonizer cannot see
on a short stub whose spines are longer than its shaft: it follows the spines. For such fragments
:func:`fragment_trunk` makes the skeleton the geodesic path between the cut ends (the shaft) plus any traced
branch that reaches well away from it; spines are left to the spine stage.
Chunk seams that healing linked (``link_edges``) are not cut ends.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..geometry.meshgraph import boundary_loops, edge_components, sorted_face_edges


@dataclass(frozen=True)
class CutEnd:
    """One open cross-section. centre_nm: length-weighted centroid of the loop; normal: unit normal of its
    best-fit plane; radius_nm: mean distance of the loop from the centre; perimeter_nm; vertices: loop vertex ids."""

    centre_nm: np.ndarray
    normal: np.ndarray
    radius_nm: float
    perimeter_nm: float
    vertices: np.ndarray


def find_cut_ends(vertices_nm: np.ndarray, faces: np.ndarray, link_edges: np.ndarray | None = None,
                  min_perimeter_nm: float = 1000.0, max_flatness: float = 0.25) -> list[CutEnd]:
    """Open boundary loops and flat caps that look like cross-sections of a cut neurite, largest first.

    A loop counts when its perimeter is >= ``min_perimeter_nm`` (a shaft of radius >= ~160 nm; spine-neck
    sized holes and mesh cracks are smaller), its RMS distance from its best-fit plane is <= ``max_flatness`` x
    its radius (a crop face is planar; a tear along a membrane is not), and none of its vertices carries a
    healing link edge (a chunk seam, not a cut). Flat caps: see :func:`flat_caps`.
    """
    v = np.asarray(vertices_nm, dtype=np.float64)
    caps = flat_caps(v, faces, min_perimeter_nm)
    loops = boundary_loops(v, faces)
    linked = np.zeros(len(v), dtype=bool)
    if link_edges is not None and len(link_edges):
        linked[np.asarray(link_edges, dtype=np.int64).reshape(-1)] = True
    out = []
    for lp in loops:
        if linked[lp.vertices].any() or lp.perimeter_nm < min_perimeter_nm:
            continue
        _, s, vt = np.linalg.svd(lp.mid_nm - lp.centre_nm, full_matrices=False)
        flatness = float(s[-1] / np.sqrt(max(len(lp.mid_nm), 1))) / max(lp.radius_nm, 1e-9)
        if flatness > max_flatness:
            continue
        out.append(CutEnd(lp.centre_nm, vt[-1], lp.radius_nm, lp.perimeter_nm, lp.vertices))
    return sorted(out + caps, key=lambda e: -e.perimeter_nm)


def _edge_face_pairs(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of faces sharing an edge (each interior edge of a manifold mesh once) and that edge's vertices:
    ((P, 2) face ids, (P, 2) vertex ids)."""
    e = sorted_face_edges(faces)
    owner = np.tile(np.arange(len(e) // 3), 3)
    order = np.lexsort((e[:, 1], e[:, 0]))
    e, owner = e[order], owner[order]
    same = (e[1:] == e[:-1]).all(axis=1)
    return np.column_stack([owner[:-1][same], owner[1:][same]]), e[:-1][same]


def flat_caps(vertices_nm: np.ndarray, faces: np.ndarray, min_perimeter_nm: float = 1000.0,
              max_angle_deg: float = 2.0, min_area_nm2: float = 150000.0, min_faces: int = 20,
              min_compactness: float = 0.4) -> list[CutEnd]:
    """Flat caps closing a cut: >= ``min_faces`` connected faces whose normals agree within ``max_angle_deg``
    and that lie in one plane, covering >= ``min_area_nm2`` (a cross-section of radius >= ~220 nm; smaller flat
    patches occur on real membranes, single large faces on decimated meshes) and bounded by a rim of
    >= ``min_perimeter_nm``, and compact (4 pi area / perimeter^2 >= ``min_compactness``; a disk is 1, the caps
    of dendrite_19321 0.52, the flat strips of a faceted tube < 0.1). The rim vertices are the cut end's vertices; the centre is the area-weighted
    centroid of the cap. (The rim of a smoothed cap meets the wall at only ~12 degrees on dendrite_19321, so
    the angle at the rim cannot tell a cap from a flat stretch of membrane.)"""
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if not len(f):
        return []
    tri = v[f]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area2 = np.linalg.norm(cross, axis=1)
    normal = cross / np.maximum(area2, 1e-12)[:, None]
    centre = tri.mean(axis=1)
    pairs, edges = _edge_face_pairs(f)
    a, b = pairs[:, 0], pairs[:, 1]
    flat = (normal[a] * normal[b]).sum(axis=1) >= np.cos(np.radians(max_angle_deg))
    flat &= np.abs((normal[a] * (centre[b] - centre[a])).sum(axis=1)) <= 5.0  # same plane within 5 nm
    n = len(f)
    _, lab = edge_components(n, np.column_stack([a[flat], b[flat]]))
    area = 0.5 * area2
    patch_area = np.bincount(lab, weights=area)
    is_cand = (patch_area >= min_area_nm2) & (np.bincount(lab) >= min_faces)
    if not is_cand.any():
        return []
    # rim: pairs crossing out of a candidate patch, seen from the inside face
    length = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    cross_out = lab[a] != lab[b]
    sel = [cross_out & is_cand[lab[inside]] for inside in (a, b)]
    rp = np.concatenate([lab[a][sel[0]], lab[b][sel[1]]])
    rl = np.concatenate([length[sel[0]], length[sel[1]]])
    re = np.vstack([edges[sel[0]], edges[sel[1]]])
    perimeter = np.bincount(rp, weights=rl, minlength=int(lab.max()) + 1)
    compact = 4 * np.pi * patch_area / np.maximum(perimeter, 1e-9) ** 2  # 1 for a disk
    good = np.flatnonzero(is_cand & (perimeter >= min_perimeter_nm) & (compact >= min_compactness))
    out = []
    for c in good:
        members = np.flatnonzero(lab == c)
        w = area[members]
        cap_centre = (centre[members] * w[:, None]).sum(axis=0) / w.sum()
        cap_normal = (normal[members] * w[:, None]).sum(axis=0)
        cap_normal /= max(np.linalg.norm(cap_normal), 1e-12)
        out.append(CutEnd(cap_centre, cap_normal, float(np.sqrt(patch_area[c] / np.pi)), float(perimeter[c]),
                          np.unique(re[rp == c])))
    return out


def fragment_trunk(vertices_nm: np.ndarray, graph: sp.csr_matrix, used: np.ndarray, ends: list[CutEnd],
                   raw_vertices: np.ndarray, raw_edges: np.ndarray, branch_min_nm: float, max_trunk_nm: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Skeleton of a short fragment with >= 2 cut ends: the cut-end centres joined by geodesic mesh paths from
    the first (largest) end to each other end it can reach, plus the raw skeleton vertices at least
    ``branch_min_nm`` (along the mesh) from those paths (side branches; spines are shorter and left out).

    Returns (vertices (N, 3) nm, edges (E, 2), cut_end (N,) bool marking the end centres), or None when no other
    end is reachable or one lies farther than ``max_trunk_nm`` along the mesh (a long piece, where the traced
    skeleton already separates spines from the shaft, or a cell whose soma was not given). The kept raw pieces
    are not yet joined to the trunk (:func:`~neurd_lite.skeleton.skeletonizer.as_tree` bridges them).
    """
    v = vertices_nm
    first = ends[0]
    dist, pred, _ = csgraph.dijkstra(graph, directed=False, indices=first.vertices, min_only=True,
                                     return_predecessors=True, limit=max_trunk_nm)
    if any(np.isinf(dist[e.vertices]).all() for e in ends[1:]):
        return None
    pts: list[np.ndarray] = [first.centre_nm[None, :]]
    edges: list[tuple[int, int]] = []
    node_of: dict[int, int] = {}
    cut = [0]
    count = 1
    trunk_mesh: list[int] = []
    for end in ends[1:]:
        t = int(end.vertices[np.argmin(dist[end.vertices])])
        path = [t]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        path.reverse()  # from the first end's loop to this end's loop
        prev = 0
        for m in path:
            if m not in node_of:
                node_of[m] = count
                pts.append(v[m][None, :])
                trunk_mesh.append(m)
                count += 1
            edges.append((prev, node_of[m]))
            prev = node_of[m]
        pts.append(end.centre_nm[None, :])
        edges.append((prev, count))
        cut.append(count)
        count += 1
    far = np.ones(len(raw_vertices), dtype=bool)
    if len(raw_vertices):
        dtrunk = csgraph.dijkstra(graph, directed=False, indices=np.asarray(trunk_mesh), min_only=True)
        cand = np.flatnonzero(used)
        _, near = cKDTree(v[cand]).query(raw_vertices)
        far = dtrunk[cand[near]] >= branch_min_nm
    keep = np.flatnonzero(far)
    new_index = np.full(len(raw_vertices), -1, dtype=np.int64)
    new_index[keep] = count + np.arange(len(keep))
    re = new_index[np.asarray(raw_edges, dtype=np.int64).reshape(-1, 2)]
    re = re[(re >= 0).all(axis=1)]
    sv = np.vstack(pts + [raw_vertices[keep]])
    se = np.vstack([np.asarray(edges, dtype=np.int64).reshape(-1, 2), re])
    se = np.unique(np.sort(se[se[:, 0] != se[:, 1]], axis=1), axis=0)
    is_cut = np.zeros(len(sv), dtype=bool)
    is_cut[cut] = True
    return sv, se, is_cut

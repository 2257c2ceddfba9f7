"""Healing of fragmented meshes by proximity link edges (no new faces, no remeshing).

EM meshes arrive in many connected pieces. Pieces are found with sparse connected components on the
vertex graph of the faces (never ``trimesh.split``, which runs out of memory on whole cells). Starting
from the largest piece, every piece whose nearest vertex lies within ``max_gap_nm`` of the growing main
body is linked to it by one **link edge** (a vertex pair), repeated until nothing more comes within reach.
Large pieces that stay out of reach are then linked by their shortest gap up to ``far_max_gap_nm``; what
is left (small and far) is dropped as debris. Link edges are added to the mesh graph for skeletonization
(MeshParty's ``Mesh(link_edges=...)``). Each round is one KD-tree build and query, so the cost is
near-linear in the number of vertices.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import InputError


@dataclass(frozen=True)
class HealParams:
    """Healing parameters (lengths nm).

    max_gap_nm: link any piece whose gap to the main body is below this. The gap is the nearest vertex
        distance minus each vertex's slack (half its longest edge, at most ``max_slack_nm``), because on
        coarse meshes two touching surfaces can have their nearest vertices far apart.
    far_keep_min_faces: pieces at least this large are kept even beyond ``max_gap_nm`` ...
    far_max_gap_nm: ... when their gap is below this; everything else out of reach is dropped as debris.
    max_rounds: cap on growth rounds (each round links every piece within reach of the body so far).
    """

    max_gap_nm: float = 1500.0
    max_slack_nm: float = 2000.0
    far_keep_min_faces: int = 300
    far_max_gap_nm: float = 15000.0
    max_rounds: int = 200


@dataclass
class HealReport:
    """What healing did (counts; lengths nm; time s)."""

    n_components_before: int
    n_components_after: int
    n_bridged: int
    n_dropped: int
    dropped_faces: int
    max_bridge_nm: float
    n_far_bridged: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass
class HealResult:
    """link_edges: (K, 2) vertex index pairs joining pieces; face_keep: (F,) bool, False for dropped debris;
    vertex_component: (V,) piece id of each vertex (before healing); report: the summary."""

    link_edges: np.ndarray
    face_keep: np.ndarray
    vertex_component: np.ndarray
    report: HealReport


def vertex_components(n_vertices: int, faces: np.ndarray,
                      extra_edges: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Connected components of the vertex graph of ``faces`` (plus ``extra_edges``).

    Returns (number of components, (V,) component label per vertex). Vertices used by no face are their
    own components.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    rows = [faces[:, 0], faces[:, 1]]
    cols = [faces[:, 1], faces[:, 2]]
    if extra_edges is not None and len(extra_edges):
        e = np.asarray(extra_edges, dtype=np.int64).reshape(-1, 2)
        rows.append(e[:, 0])
        cols.append(e[:, 1])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    adj = sp.coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n_vertices, n_vertices)).tocsr()
    return csgraph.connected_components(adj, directed=False)


def best_per_group(comp: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index (into comp/dist) of the smallest distance of each group label in comp, and the labels present."""
    order = np.lexsort((dist, comp))
    first = np.ones(len(order), dtype=bool)
    first[1:] = comp[order][1:] != comp[order][:-1]
    best = order[first]
    return best, comp[best]


def vertex_slack(vertices: np.ndarray, faces: np.ndarray, cap_nm: float) -> np.ndarray:
    """(V,) half the longest edge at each vertex (nm, capped): how far the surface reaches past the vertex."""
    e = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    length = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    out = np.zeros(len(vertices))
    np.maximum.at(out, e[:, 0], length)
    np.maximum.at(out, e[:, 1], length)
    return np.minimum(0.5 * out, cap_nm)


def _validate(vertices: np.ndarray, faces: np.ndarray) -> None:
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise InputError(f"mesh must have triangle faces, got faces of shape {faces.shape}", hint="load a surface mesh")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise InputError("mesh faces refer to vertices that do not exist", hint="the mesh file is corrupt")
    if not np.all(np.isfinite(vertices)):
        raise InputError("mesh vertices contain NaN or inf", hint="clean the mesh before decomposing")


def heal_mesh(vertices: np.ndarray, faces: np.ndarray, params: HealParams | None = None) -> HealResult:
    """Link the pieces of a mesh by proximity (vertices in nm) and drop far debris.

    Returns a :class:`HealResult`; the mesh itself is not changed.
    """
    t0 = time.perf_counter()
    p = params or HealParams()
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    _validate(vertices, faces)
    nv = len(vertices)
    ncomp, comp = vertex_components(nv, faces)
    comp_faces = np.bincount(comp[faces[:, 0]], minlength=ncomp)
    has_faces = comp_faces > 0
    main = int(np.argmax(comp_faces))
    linked = np.zeros(ncomp, dtype=bool)
    linked[main] = True
    links: list[tuple[int, int]] = []
    lengths: list[float] = []
    n_far = 0

    # Grow the main body round by round; each round queries the still-unlinked vertices against the
    # vertices that joined in the previous round (earlier joiners were already queried against).
    used = np.zeros(nv, dtype=bool)
    used[faces.reshape(-1)] = True
    frontier = np.flatnonzero((comp == main) & used)
    best_d = np.full(ncomp, np.inf)  # effective gap (vertex distance minus slack)
    best_len = np.full(ncomp, np.inf)
    best_pair = np.full((ncomp, 2), -1, dtype=np.int64)
    slack = vertex_slack(vertices, faces, p.max_slack_nm)
    max_slack = float(slack.max()) if len(slack) else 0.0

    def query(targets: np.ndarray, bound: float) -> None:
        cand = np.flatnonzero(~linked[comp] & used)
        if len(cand) == 0 or len(targets) == 0:
            return
        d, i = cKDTree(vertices[targets]).query(vertices[cand], distance_upper_bound=bound + 2 * max_slack)
        ok = np.isfinite(d)
        if not ok.any():
            return
        cand, d, i = cand[ok], d[ok], i[ok]
        eff = np.maximum(d - slack[cand] - slack[targets[i]], 0.0)
        best, comps = best_per_group(comp[cand], eff)
        better = eff[best] < best_d[comps]
        comps, best = comps[better], best[better]
        best_d[comps] = eff[best]
        best_len[comps] = d[best]
        best_pair[comps, 0] = cand[best]
        best_pair[comps, 1] = targets[i[best]]

    def link(new: np.ndarray) -> np.ndarray:
        linked[new] = True
        for c in new:
            links.append((int(best_pair[c, 0]), int(best_pair[c, 1])))
            lengths.append(float(best_len[c]))
        return np.flatnonzero(np.isin(comp, new) & used)

    for _ in range(p.max_rounds):
        query(frontier, p.max_gap_nm)
        new = np.flatnonzero(~linked & has_faces & (best_d <= p.max_gap_nm))
        if len(new):
            frontier = link(new)
            continue
        # nothing within reach: bring in the largest far piece still worth keeping, then grow again
        big = ~linked & has_faces & (comp_faces >= p.far_keep_min_faces)
        if not big.any():
            break
        query(np.flatnonzero(np.isin(comp, np.flatnonzero(linked)) & used), p.far_max_gap_nm)
        near_big = np.flatnonzero(big & (best_d <= p.far_max_gap_nm))
        if len(near_big) == 0:
            break
        pick = near_big[[int(np.argmax(comp_faces[near_big]))]]
        n_far += 1
        frontier = link(pick)

    face_keep = linked[comp[faces[:, 0]]]
    link_edges = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    kept_faces = faces[face_keep]
    n_after, lab_after = vertex_components(nv, kept_faces, link_edges)
    n_after = len(np.unique(lab_after[kept_faces.reshape(-1)])) if len(kept_faces) else 0
    dropped = has_faces & ~linked
    report = HealReport(
        n_components_before=int(has_faces.sum()), n_components_after=int(n_after), n_bridged=len(links),
        n_dropped=int(dropped.sum()), dropped_faces=int(comp_faces[dropped].sum()),
        max_bridge_nm=float(max(lengths)) if lengths else 0.0, n_far_bridged=n_far,
        seconds=round(time.perf_counter() - t0, 4))
    return HealResult(link_edges, face_keep, comp, report)

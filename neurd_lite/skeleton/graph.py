"""Branch graph: unbranched skeleton segments as nodes, soma nodes as limb roots (see ``neuron.py``).

A branch runs between cut points (branch points, soma vertices) and ends at a cut point or a tip. Its
``skeleton_vertices`` start at the proximal cut point (shared with the parent branch or the soma vertex) so
consecutive pairs are its edges and ``length_nm`` is their summed length; ``vertex_branch`` still gives each
skeleton vertex exactly one branch (a branch point belongs to the branch ending there, soma vertices -1).

Terminal bristles are pruned before segmenting: a child subtree whose longest path (including the edge to
its parent) is shorter than ``prune_terminal_nm`` is not a branch; its vertices are assigned to the branch
of their nearest kept ancestor. At a non-soma vertex the longest child is always kept, so a path never
stops short; at a soma, stubs shorter than the threshold are not limbs. The skeleton itself is unchanged.

Two-soma merges: the root is soma 0; the branch reaching another soma gets an edge to that soma node
(edge ``kind="soma_merge"``), and that soma's own limbs leave it as usual.
"""
from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .model import Skeleton
from .params import GraphParams  # noqa: F401 - moved to params.py, re-exported


def _soma_regions(skel: Skeleton, somas: Sequence, soma_vertices: Sequence | None) -> list[np.ndarray]:
    if soma_vertices is not None:
        return [np.atleast_1d(np.asarray(s, dtype=np.int64)) for s in soma_vertices]
    if not len(somas) or skel.n_vertices == 0:
        return []
    tree = cKDTree(skel.vertices)
    return [np.atleast_1d(tree.query(np.asarray(s.center_nm))[1]).astype(np.int64) for s in somas]


def _kept_vertices(order: np.ndarray, parent: np.ndarray, elen: np.ndarray, soma_of: np.ndarray, root: int,
                   prune_nm: float) -> np.ndarray:
    """Which vertices survive bristle pruning (see module doc)."""
    n = len(parent)
    height = np.zeros(n)
    for v in order[::-1]:
        p = parent[v]
        if p >= 0:
            height[p] = max(height[p], height[v] + elen[v])
    reach = height + elen
    longest = np.full(n, -1, dtype=np.int64)
    best = np.full(n, -np.inf)
    for v in order:
        p = parent[v]
        if p >= 0 and reach[v] > best[p]:
            best[p], longest[p] = reach[v], v
    kept = np.zeros(n, dtype=bool)
    kept[root] = True
    for v in order:
        p = parent[v]
        if p < 0 or not kept[p]:
            continue
        force = longest[p] == v and (soma_of[p] < 0 and (p != root or best[p] < prune_nm))
        kept[v] = soma_of[v] >= 0 or reach[v] >= prune_nm or force
    return kept


def _add_soma_nodes(g: nx.DiGraph, skel: Skeleton, somas: Sequence, regions: list[np.ndarray]) -> None:
    """One ``soma_k`` node per soma region: its skeleton vertex, centre (nm) and radius (nm; from the Soma, else
    the region's first vertex and median radius)."""
    for k, reg in enumerate(regions):
        s = somas[k] if k < len(somas) else None
        g.add_node(f"soma_{k}", kind="soma", skeleton_vertex=int(reg[0]),
                   center_nm=np.asarray(s.center_nm if s is not None else skel.vertices[reg[0]], dtype=float),
                   radius_nm=float(s.radius_nm if s is not None else np.nanmedian(skel.radius[reg])))


def _rooted(skel: Skeleton, root: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first order from ``root``, (N,) parent (-1: root / unreachable) and (N,) length of the edge to the
    parent, nm."""
    n = skel.n_vertices
    order, pred = csgraph.breadth_first_order(skel.csgraph, root, directed=False, return_predecessors=True)
    parent = np.where(pred < 0, -1, pred).astype(np.int64)
    parent[root] = -1
    elen = np.zeros(n)
    has_p = parent >= 0
    elen[has_p] = np.linalg.norm(skel.vertices[has_p] - skel.vertices[parent[has_p]], axis=1)
    return order, parent, elen


def _add_branches(g: nx.DiGraph, skel: Skeleton, order: np.ndarray, kids: list[list[int]], kept: np.ndarray,
                  is_cut: np.ndarray, soma_of: np.ndarray, n_somas: int, vertex_branch: np.ndarray) -> None:
    """Walk down from every kept cut point and add one branch node per chain to the next cut point or tip (limb,
    skeleton vertices, length nm, median radius nm), its edge from the parent node and ``soma_merge`` edges to
    other somas; writes each chain's own vertices into ``vertex_branch``."""
    node_at: dict[int, object] = {int(r): f"soma_{soma_of[r]}" for r in np.flatnonzero(soma_of >= 0)}
    limb_of_node: dict[object, int] = {}
    next_limb = 0
    for c in order:
        if not kept[c] or not is_cut[c]:
            continue
        for s in kids[c]:
            if soma_of[s] >= 0:
                if soma_of[s] != soma_of[c] and c in node_at:
                    g.add_edge(node_at[c], f"soma_{soma_of[s]}", kind="soma_merge")
                continue
            chain = [int(c), s]
            cur = s
            while not is_cut[cur] and len(kids[cur]) == 1:
                cur = kids[cur][0]
                chain.append(cur)
            bid = g.number_of_nodes() - n_somas
            parent_node = node_at.get(int(c))
            if parent_node is None or soma_of[c] >= 0:
                limb, next_limb = next_limb, next_limb + 1
            else:
                limb = limb_of_node[parent_node]
            chain_arr = np.asarray(chain, dtype=np.int64)
            own = chain_arr[1:][soma_of[chain_arr[1:]] < 0]
            vertex_branch[own] = bid
            seg = skel.vertices[chain_arr]
            r = skel.radius[own]
            r = r[np.isfinite(r)]
            g.add_node(bid, kind="branch", limb=int(limb), skeleton_vertices=chain_arr,
                       length_nm=float(np.linalg.norm(np.diff(seg, axis=0), axis=1).sum()),
                       radius_nm=float(np.median(r)) if len(r) else float("nan"), n_faces=0)
            limb_of_node[bid] = limb
            if parent_node is not None:
                g.add_edge(parent_node, bid)
            if soma_of[cur] >= 0:
                g.add_edge(bid, f"soma_{soma_of[cur]}", kind="soma_merge")
            else:
                node_at[int(cur)] = bid


def build_branch_graph(skeleton: Skeleton, somas: Sequence = (), soma_vertices: Sequence | None = None,
                       face_to_skeleton: np.ndarray | None = None,
                       params: GraphParams | None = None) -> tuple[nx.DiGraph, np.ndarray]:
    """Branch graph and (N,) branch id per skeleton vertex (-1 soma / unreachable). Lengths in nm.

    somas: the Soma objects (for soma nodes); soma_vertices: per soma the skeleton vertex (or vertices) of
    its region, default the nearest vertex to each centre; face_to_skeleton: (F,) to count ``n_faces``.
    Without somas, limbs leave the skeleton root and have no parent node.

    Steps: soma nodes (:func:`_add_soma_nodes`), the tree rooted at soma 0 (:func:`_rooted`), bristle pruning
    (:func:`_kept_vertices`), branch nodes (:func:`_add_branches`), pruned vertices to their nearest kept
    ancestor's branch, face counts.
    """
    p = params or GraphParams()
    skel = skeleton
    n = skel.n_vertices
    g = nx.DiGraph()
    vertex_branch = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return g, vertex_branch
    regions = _soma_regions(skel, somas, soma_vertices)
    soma_of = np.full(n, -1, dtype=np.int64)
    for k, reg in enumerate(regions):
        soma_of[reg] = k
    root = int(regions[0][0]) if regions else int(skel.root)
    _add_soma_nodes(g, skel, somas, regions)
    order, parent, elen = _rooted(skel, root)
    kept = _kept_vertices(order, parent, elen, soma_of, root, p.prune_terminal_nm)
    kids: list[list[int]] = [[] for _ in range(n)]
    for v in order[1:]:
        if kept[v]:
            kids[parent[v]].append(int(v))
    is_cut = (soma_of >= 0) | np.array([len(k) >= 2 for k in kids])
    is_cut[root] = True
    _add_branches(g, skel, order, kids, kept, is_cut, soma_of, len(regions), vertex_branch)

    # pruned vertices (and an unsegmented root) take the branch of their nearest kept ancestor / first child
    for v in order[1:]:
        if vertex_branch[v] < 0 and soma_of[v] < 0 and not kept[v]:
            vertex_branch[v] = vertex_branch[parent[v]]
    if soma_of[root] < 0 and vertex_branch[root] < 0 and kids[root]:
        vertex_branch[root] = vertex_branch[kids[root][0]]
    if face_to_skeleton is not None:
        fb = face_branch(face_to_skeleton, vertex_branch)
        counts = np.bincount(fb[fb >= 0], minlength=g.number_of_nodes())
        for b in (v for v, d in g.nodes(data=True) if d["kind"] == "branch"):
            g.nodes[b]["n_faces"] = int(counts[b])
    g.graph["prune_terminal_nm"] = p.prune_terminal_nm
    return g, vertex_branch


def face_branch(face_to_skeleton: np.ndarray, vertex_branch: np.ndarray) -> np.ndarray:
    """(F,) branch id per face from its skeleton vertex (-1 soma / unmapped)."""
    f2s = np.asarray(face_to_skeleton, dtype=np.int64)
    return np.where(f2s >= 0, vertex_branch[np.maximum(f2s, 0)], -1)

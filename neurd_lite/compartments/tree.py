"""Small rooted-tree helpers on a Skeleton shared by the axon and apical stages (lengths in nm)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..model.anchors import SKELETON_FAR_NM, anchor_to_skeleton
from ..neuron import synapse_polarity
from ..skeleton.model import Skeleton


@dataclass(eq=False)
class Tree:
    """A Skeleton viewed as a tree rooted at its soma: parent, top-down order, subtree sums, soma vertices.

    soma: bool (N,) vertices that belong to the soma (the root plus, when given, SWC type-1 vertices and
    vertices within the soma radius of the root).
    """

    sk: Skeleton
    soma: np.ndarray

    @classmethod
    def from_skeleton(cls, sk: Skeleton, soma_radius_nm: float = 0.0) -> "Tree":
        """Build the tree; vertices within ``soma_radius_nm`` (nm) of the root and SWC type 1 count as soma."""
        soma = np.zeros(sk.n_vertices, dtype=bool)
        if sk.n_vertices:
            soma[sk.root] = True
            if soma_radius_nm > 0:
                d = np.linalg.norm(sk.vertices - sk.vertices[sk.root], axis=1)
                soma |= (d <= soma_radius_nm) & (sk.distance_to_root_nm <= 2 * soma_radius_nm)
            swc = sk.vertex_properties.get("swc_type")
            if swc is not None:
                soma |= np.asarray(swc) == 1
            soma = _close_soma(sk, soma)
        return cls(sk, soma)

    @property
    def n(self) -> int:
        return self.sk.n_vertices

    @property
    def parent(self) -> np.ndarray:
        return self.sk.parent

    @cached_property
    def in_root_tree(self) -> np.ndarray:
        """Vertices of the root's connected component."""
        comp_root = self.component_root
        return comp_root == self.sk.root

    @cached_property
    def component_root(self) -> np.ndarray:
        """(N,) root vertex of each vertex's component."""
        out = np.arange(self.n)
        for v in self.order:
            p = self.parent[v]
            if p >= 0:
                out[v] = out[p]
        return out

    @cached_property
    def order(self) -> np.ndarray:
        """Vertices with every parent before its children (by path distance from the component root)."""
        return np.argsort(self.sk.distance_to_root_nm, kind="stable")

    @cached_property
    def children(self) -> list[np.ndarray]:
        return self.sk.children()

    def subtree_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each vertex's subtree (vertex included)."""
        acc = np.asarray(values, dtype=np.float64).copy()
        par = self.parent
        for v in self.order[::-1]:
            p = par[v]
            if p >= 0:
                acc[p] += acc[v]
        return acc

    def subtree_max(self, values: np.ndarray) -> np.ndarray:
        """Max of ``values`` over each vertex's subtree."""
        acc = np.asarray(values, dtype=np.float64).copy()
        par = self.parent
        for v in self.order[::-1]:
            p = par[v]
            if p >= 0 and acc[v] > acc[p]:
                acc[p] = acc[v]
        return acc

    def subtree_mask(self, v: int) -> np.ndarray:
        """Bool (N,) of the subtree rooted at ``v``."""
        mask = np.zeros(self.n, dtype=bool)
        stack = [int(v)]
        while stack:
            u = stack.pop()
            mask[u] = True
            stack.extend(int(c) for c in self.children[u])
        return mask

    def path_to_root(self, v: int) -> np.ndarray:
        """Vertices from ``v`` up to its component root (inclusive), distal first."""
        out = [int(v)]
        while self.parent[out[-1]] >= 0:
            out.append(int(self.parent[out[-1]]))
        return np.asarray(out, dtype=np.int64)

    @cached_property
    def limb_start(self) -> np.ndarray:
        """(N,) first non-soma vertex on the path from the soma to each vertex (-1 for soma/unreached)."""
        out = np.full(self.n, -1, dtype=np.int64)
        par = self.parent
        for v in self.order:
            if self.soma[v] or not self.in_root_tree[v]:
                continue
            p = par[v]
            out[v] = v if (p < 0 or self.soma[p]) else out[p]
        return out

    def point_along(self, start: int, towards_root: bool, length_nm: float, within: np.ndarray | None = None) -> int:
        """Vertex about ``length_nm`` (nm) from ``start`` going to the root, or down the longest child path."""
        d = self.sk.distance_to_root_nm
        v = int(start)
        if towards_root:
            while self.parent[v] >= 0 and d[start] - d[v] < length_nm:
                v = int(self.parent[v])
            return v
        reach = self.deepest
        while d[v] - d[start] < length_nm:
            kids = [int(c) for c in self.children[v] if within is None or within[c]]
            if not kids:
                break
            v = max(kids, key=lambda c: reach[c])
        return v

    def points_towards_root(self, starts: np.ndarray, length_nm: float) -> np.ndarray:
        """:meth:`point_along` (``towards_root``) for every vertex in ``starts`` at once: all walks step up
        together, each stopping where the one-at-a-time walk stops (same comparisons, same vertices)."""
        d = self.sk.distance_to_root_nm
        start = np.asarray(starts, dtype=np.int64)
        cur = start.copy()
        live = np.arange(len(cur))
        while len(live):
            c = cur[live]
            p = self.parent[c]
            go = (p >= 0) & (d[start[live]] - d[c] < length_nm)
            live = live[go]
            cur[live] = p[go]
        return cur

    @cached_property
    def deepest(self) -> np.ndarray:
        """(N,) largest path distance (nm) from the root reached inside each subtree."""
        return self.subtree_max(np.where(np.isfinite(self.sk.distance_to_root_nm), self.sk.distance_to_root_nm, 0))


def _close_soma(sk: Skeleton, soma: np.ndarray) -> np.ndarray:
    """Keep only soma vertices whose path to the root stays in the soma (one connected soma region)."""
    par = sk.parent
    keep = np.zeros_like(soma)
    keep[sk.root] = True
    for v in np.argsort(sk.distance_to_root_nm, kind="stable"):
        p = par[v]
        if p >= 0 and soma[v] and keep[p]:
            keep[v] = True
    return keep


def synapse_counts(sk: Skeleton, synapses: pd.DataFrame | None, max_distance_nm: float = SKELETON_FAR_NM
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Pre- and postsynapse counts per skeleton vertex, at each synapse's anchor.

    The anchor is the table's ``skeleton_vertex`` column (``neurd_lite.model.anchors``; -1 = far, not counted);
    a table without it is anchored here to the nearest skeleton vertex within ``max_distance_nm`` (nm,
    :func:`neurd_lite.model.anchors.anchor_to_skeleton`). Synapses of unknown polarity (``is_pre`` <NA>) are
    counted neither pre nor post.
    """
    n = sk.n_vertices
    pre, post = np.zeros(n), np.zeros(n)
    if synapses is None or len(synapses) == 0 or n == 0:
        return pre, post
    is_pre, is_post = synapse_polarity(synapses)
    if "skeleton_vertex" in synapses.columns:
        vert = synapses["skeleton_vertex"].to_numpy(dtype=np.int64)
    elif {"x_nm", "y_nm", "z_nm"} <= set(synapses.columns):
        pts = synapses[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=float)
        vert = anchor_to_skeleton(pts, sk.vertices, None, max_distance_nm).skeleton_vertex
    else:
        return pre, post
    ok = (vert >= 0) & (vert < n)
    pre += np.bincount(vert[ok & is_pre], minlength=n)
    post += np.bincount(vert[ok & is_post], minlength=n)
    return pre, post

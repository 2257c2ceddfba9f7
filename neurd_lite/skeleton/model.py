"""The Skeleton: a rooted tree of points in nm with a radius per vertex.

Derived structure (parent array, path distances, branch points) is computed once and cached; a new
Skeleton is made rather than mutating an existing one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


@dataclass(eq=False)
class Skeleton:
    """A skeleton tree.

    vertices: (N, 3) float64, nm. edges: (E, 2) int vertex index pairs. radius: (N,) nm (NaN when unknown).
    root: index of the root vertex (the soma centre when there is a soma), or None.
    vertex_properties: extra per-vertex arrays (length N), e.g. ``compartment`` or ``is_axon``.
    """

    vertices: np.ndarray
    edges: np.ndarray
    radius: np.ndarray | None = None
    root: int | None = None
    vertex_properties: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        n = len(self.vertices)
        if self.radius is None:
            self.radius = np.full(n, np.nan)
        self.radius = np.asarray(self.radius, dtype=np.float64)
        if len(self.radius) != n:
            raise ValueError(f"radius has {len(self.radius)} values for {n} skeleton vertices")
        if len(self.edges) and (self.edges.min() < 0 or self.edges.max() >= n):
            bad = int(np.flatnonzero((self.edges < 0).any(axis=1) | (self.edges >= n).any(axis=1))[0])
            raise ValueError(f"skeleton edge {bad} {self.edges[bad].tolist()} refers to a vertex that does not exist "
                             f"({n} vertices, indices 0-{n - 1}); edges are pairs of 0-based vertex row indices")
        if self.root is None and n:
            self.root = 0
        if self.root is not None:
            self.root = int(self.root)

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def __repr__(self) -> str:  # sizes, not the (N, 3) arrays
        return (f"Skeleton(vertices={self.n_vertices}, edges={len(self.edges)}, root={self.root}, "
                f"radius_known={int(np.isfinite(self.radius).sum())}, "
                f"vertex_properties={sorted(self.vertex_properties)})")

    @cached_property
    def edge_lengths_nm(self) -> np.ndarray:
        """(E,) Euclidean length of each edge, nm."""
        if not len(self.edges):
            return np.zeros(0)
        return np.linalg.norm(self.vertices[self.edges[:, 0]] - self.vertices[self.edges[:, 1]], axis=1)

    @cached_property
    def csgraph(self) -> sp.csr_matrix:
        """Symmetric sparse adjacency weighted by edge length (nm)."""
        n = self.n_vertices
        w = np.maximum(self.edge_lengths_nm, 1e-9)
        g = sp.coo_matrix((w, (self.edges[:, 0], self.edges[:, 1])), shape=(n, n))
        return (g + g.T).tocsr()

    @cached_property
    def _tree(self) -> tuple[np.ndarray, np.ndarray]:
        """(distance from root in nm, parent index with -1 at roots) over every component."""
        n = self.n_vertices
        dist = np.full(n, np.inf)
        parent = np.full(n, -1, dtype=np.int64)
        if n == 0:
            return dist, parent
        ncomp, comp = csgraph.connected_components(self.csgraph, directed=False)
        roots = []
        for c in range(ncomp):
            members = np.flatnonzero(comp == c)
            # a component without the root starts at its vertex first by coordinates, not by index
            first = members[np.lexsort(self.vertices[members].T[::-1])[0]]
            roots.append(self.root if self.root in set(members.tolist()) else int(first))
        d, pred, _ = csgraph.dijkstra(self.csgraph, directed=False, indices=roots, return_predecessors=True,
                                      min_only=True)
        dist[:] = d
        parent[:] = np.where(pred < 0, -1, pred)
        return dist, parent

    @property
    def distance_to_root_nm(self) -> np.ndarray:
        """(N,) path length along the skeleton from the root of each vertex's component, nm."""
        return self._tree[0]

    @property
    def parent(self) -> np.ndarray:
        """(N,) parent vertex index toward the root; -1 at component roots."""
        return self._tree[1]

    @cached_property
    def degree(self) -> np.ndarray:
        """(N,) number of skeleton neighbours per vertex."""
        return np.bincount(self.edges.reshape(-1), minlength=self.n_vertices)

    @property
    def cut_ends(self) -> np.ndarray:
        """(N,) bool, True at the cut ends of a fragment cropped out of a volume (``vertex_properties["cut_end"]``,
        set by the skeletonizer; all False when absent). A copy."""
        cut = self.vertex_properties.get("cut_end")
        return np.zeros(self.n_vertices, dtype=bool) if cut is None else np.array(cut, dtype=bool)

    @property
    def traced(self) -> np.ndarray:
        """(N,) bool, False on the branches ``SkeletonParams.untraced_reach_nm`` added after the trace
        (``vertex_properties["untraced"]``; all True when absent). Cell-wide scales (the median radius) are read
        over these, so that the option adds cable without rescaling the rest. A copy."""
        u = self.vertex_properties.get("untraced")
        return np.ones(self.n_vertices, dtype=bool) if u is None else ~np.asarray(u, dtype=bool)

    @property
    def branch_points(self) -> np.ndarray:
        return np.flatnonzero(self.degree > 2)

    @property
    def end_points(self) -> np.ndarray:
        return np.flatnonzero(self.degree == 1)

    @cached_property
    def cable_length_nm(self) -> float:
        """Total length of all edges, nm."""
        return float(self.edge_lengths_nm.sum())

    def children(self) -> list[np.ndarray]:
        """Child vertex indices of each vertex (one array per vertex, in vertex order)."""
        par = self.parent
        order = np.argsort(par, kind="stable")
        counts = np.bincount(par[par >= 0], minlength=self.n_vertices)
        starts = np.concatenate([[0], np.cumsum(counts)])
        kids = order[np.count_nonzero(par < 0):]
        return [kids[starts[i]:starts[i + 1]] for i in range(self.n_vertices)]

    def copy(self) -> "Skeleton":
        """An independent copy (vertices and radius in nm, edges, root, vertex properties)."""
        return Skeleton(self.vertices.copy(), self.edges.copy(), self.radius.copy(), self.root,
                        {k: np.array(v, copy=True) for k, v in self.vertex_properties.items()})

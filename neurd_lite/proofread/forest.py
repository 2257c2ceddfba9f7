"""The merged neuron's skeleton as a mutable forest (:class:`_Forest`, cuts applied as they are made) and the
per-skeleton-vertex readers the split uses (branch, branch radius in nm, synapse counts, junctions, soma vertices,
the owning soma of each vertex); moved from ``split.py``, which re-exports them.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csgraph

from ..neuron import Neuron

NEITHER = -1


@dataclass
class _Forest:
    """The skeleton as a mutable undirected forest (adjacency sets), with the cuts applied so far."""

    x: np.ndarray
    adj: list[set] = field(default_factory=list)

    @classmethod
    def from_skeleton(cls, sk: Any) -> "_Forest":
        f = cls(np.asarray(sk.vertices, float), [set() for _ in range(sk.n_vertices)])
        for a, b in np.asarray(sk.edges, dtype=np.int64):
            if a != b:
                f.adj[a].add(int(b))
                f.adj[b].add(int(a))
        return f

    def csgraph(self) -> Any:
        rows = [a for a, nb in enumerate(self.adj) for _ in nb]
        cols = [b for nb in self.adj for b in nb]
        w = np.maximum(np.linalg.norm(self.x[rows] - self.x[cols], axis=1), 1e-6) if rows else np.zeros(0)
        n = len(self.adj)
        return coo_matrix((w, (rows, cols)), shape=(n, n)).tocsr()

    def cut(self, a: int, b: int) -> None:
        self.adj[a].discard(b)
        self.adj[b].discard(a)

    def join(self, a: int, b: int) -> None:
        self.adj[a].add(b)
        self.adj[b].add(a)

    def within(self, starts: set, limit_nm: float, allowed: set | None = None) -> set:
        """Vertices within ``limit_nm`` along the forest of any of ``starts`` (only through ``allowed``)."""
        best = {v: 0.0 for v in starts}
        q = deque(starts)
        while q:
            v = q.popleft()
            for u in self.adj[v]:
                if allowed is not None and u not in allowed:
                    continue
                du = best[v] + float(np.linalg.norm(self.x[u] - self.x[v]))
                if du <= limit_nm and du < best.get(u, np.inf):
                    best[u] = du
                    q.append(u)
        return set(best)

    def reach(self, start: int, came_from: int, limit_nm: float) -> tuple[np.ndarray, float]:
        """Vertices of the subtree entered from ``came_from`` through ``start`` within ``limit_nm`` of
        ``came_from``, and the farthest distance reached (nm, capped near the limit)."""
        d0 = float(np.linalg.norm(self.x[start] - self.x[came_from]))
        seen, out, far = {came_from, start}, [start], d0
        q = deque([(start, d0)])
        while q:
            v, d = q.popleft()
            for u in self.adj[v]:
                if u in seen:
                    continue
                du = d + float(np.linalg.norm(self.x[u] - self.x[v]))
                seen.add(u)
                far = max(far, du)
                if du <= limit_nm:
                    out.append(u)
                    q.append((u, du))
        return np.asarray(out), far


def _vertex_branch(n: Neuron) -> np.ndarray:
    vb = np.full(n.skeleton.n_vertices, -1, dtype=np.int64)
    for b, d in n.graph.nodes(data=True):
        if d.get("kind") == "branch":
            sv = np.asarray(d["skeleton_vertices"], dtype=np.int64)
            vb[sv[1:]] = b
    return vb


def _branch_radius(n: Neuron, vb: np.ndarray) -> np.ndarray:
    """(N,) radius (nm) of each skeleton vertex's branch (the branch graph's median ``radius_nm``; NaN off
    branches)."""
    rad = {b: float(d.get("radius_nm", np.nan)) for b, d in n.graph.nodes(data=True) if d.get("kind") == "branch"}
    return np.array([rad.get(int(b), np.nan) for b in vb], dtype=float)


def _vertex_synapses(n: Neuron) -> tuple[np.ndarray, np.ndarray]:
    """(N,) output and (N,) input synapse counts per skeleton vertex: each synapse counts at the skeleton vertex
    of the face it is anchored to (``synapses["face"]``, ``face_to_skeleton``); zeros without synapses."""
    nv = n.skeleton.n_vertices
    syn = n.synapses
    if syn is None or len(syn) == 0 or "face" not in syn.columns or "is_pre" not in syn.columns \
            or n.face_to_skeleton is None:
        return np.zeros(nv), np.zeros(nv)
    face = pd.to_numeric(syn["face"], errors="coerce").to_numpy()
    ok = np.isfinite(face)
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    v = np.full(len(syn), -1, dtype=np.int64)
    v[ok] = f2s[face[ok].astype(np.int64)]
    pre = syn["is_pre"].to_numpy().astype(bool)
    keep = v >= 0
    return (np.bincount(v[keep & pre], minlength=nv).astype(float),
            np.bincount(v[keep & ~pre], minlength=nv).astype(float))


def _junction_vertices(n: Neuron) -> np.ndarray:
    """(N,) bool: skeleton vertices where a branch of the branch graph starts from another branch."""
    out = np.zeros(n.skeleton.n_vertices, dtype=bool)
    for b, d in n.graph.nodes(data=True):
        if d.get("kind") == "branch" and any(n.graph.nodes[p].get("kind") == "branch" for p in n.graph.predecessors(b)):
            out[int(d["skeleton_vertices"][0])] = True
    return out


def _soma_vertices(n: Neuron) -> list[int]:
    out = []
    for k, s in enumerate(n.somas):
        node = n.graph.nodes.get(f"soma_{k}", {})
        if "skeleton_vertex" in node:
            out.append(int(node["skeleton_vertex"]))
        else:
            out.append(int(np.argmin(np.linalg.norm(n.skeleton.vertices - s.center_nm, axis=1))))
    return out


def _owners(forest: _Forest, sv: list[int]) -> np.ndarray:
    _, comp = csgraph.connected_components(forest.csgraph(), directed=False)
    owner = np.full(len(forest.adj), NEITHER, dtype=np.int64)
    for k in range(len(sv) - 1, -1, -1):  # somata kept together: the lower index owns the piece
        owner[comp == comp[sv[k]]] = k
    return owner

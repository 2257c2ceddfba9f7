"""Make a clean synthetic surface look like a chunked EM mesh: grid cuts, gaps, shifts, debris (nm)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .meshing import uv_sphere


@dataclass(frozen=True)
class FragmentParams:
    """Chunking like a MICrONS mesh: grid spacing, a dropped band at chunk faces, per-piece shift (all nm)."""

    chunk_nm: float = 4000.0
    band_nm: float = 30.0
    shift_nm: float = 12.0
    max_shift_nm: float = 30.0
    shrink_nm: float = 10.0
    crumb_fraction: float = 0.004  # fraction of faces that start a small detached crumb (2-ring patch)


@dataclass(frozen=True)
class DebrisParams:
    """Small far-away pieces: how many, their size and how far from the neuron (nm)."""

    n_pieces: tuple[int, int] = (20, 50)
    radius_nm: tuple[float, float] = (150.0, 900.0)
    min_distance_nm: float = 15_000.0
    margin_nm: float = 40_000.0


def fragment(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray,
             p: FragmentParams = FragmentParams()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a surface along a randomly offset 3D grid of chunks.

    Faces whose centroid lies within ``band_nm`` of a chunk boundary are dropped (gaps), each chunk's piece
    gets its own copy of the vertices and a random shift (tens of nm) and a small shrink toward its centre, and
    a few small crumbs are detached the same way. Returns (vertices nm, faces, kept original face indices).
    """
    cent = verts[faces].mean(axis=1)
    offset = rng.uniform(0, p.chunk_nm, 3)
    rel = (cent - offset) / p.chunk_nm
    cell = np.floor(rel).astype(np.int64)
    frac = (rel - cell) * p.chunk_nm
    near = np.minimum(frac, p.chunk_nm - frac).min(axis=1) < p.band_nm
    keep = np.flatnonzero(~near)
    cell = cell[keep] - cell[keep].min(axis=0)
    span = cell.max(axis=0) + 1
    _, chunk = np.unique((cell[:, 0] * span[1] + cell[:, 1]) * span[2] + cell[:, 2], return_inverse=True)
    chunk = chunk.reshape(-1)
    # crumbs: faces that, with their edge neighbours, become their own tiny piece
    kf = faces[keep]
    n_crumb = int(p.crumb_fraction * len(kf))
    if n_crumb:
        seeds = rng.choice(len(kf), n_crumb, replace=False)
        patch = _face_neighbours(kf, seeds, len(verts))
        chunk = chunk.copy()
        chunk[patch.col] = chunk.max() + 1 + patch.row
    # one vertex copy per (chunk, vertex)
    key = chunk[:, None] * len(verts) + kf
    uniq, inv = np.unique(key.reshape(-1), return_inverse=True)
    new_faces = inv.reshape(-1, 3)
    new_verts = verts[uniq % len(verts)].copy()
    vchunk = uniq // len(verts)
    nchunk = int(chunk.max()) + 1
    shift = np.clip(rng.normal(0, p.shift_nm, (nchunk, 3)), -p.max_shift_nm, p.max_shift_nm)
    centre = np.zeros((nchunk, 3))
    np.add.at(centre, vchunk, new_verts)
    centre /= np.maximum(np.bincount(vchunk, minlength=nchunk), 1)[:, None]
    d = new_verts - centre[vchunk]
    dn = np.linalg.norm(d, axis=1, keepdims=True)
    new_verts -= d / np.maximum(dn, 1e-9) * np.minimum(dn, p.shrink_nm)
    new_verts += shift[vchunk]
    return new_verts, new_faces, keep


def _face_neighbours(faces: np.ndarray, seeds: np.ndarray, n_verts: int) -> sparse.coo_matrix:
    """(len(seeds), F) sparse matrix: row i marks the faces sharing a vertex with face ``seeds[i]``."""
    nf = len(faces)
    inc = sparse.csr_matrix((np.ones(3 * nf), (np.repeat(np.arange(nf), 3), faces.reshape(-1))), shape=(nf, n_verts))
    return (inc[seeds] @ inc.T).tocoo()


def n_components(faces: np.ndarray, n_verts: int) -> int:
    """Number of vertex-connected components of a mesh (scipy csgraph, safe on big meshes)."""
    if len(faces) == 0:
        return 0
    e = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]]])
    g = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n_verts, n_verts))
    used = np.unique(faces)
    ncomp, lab = csgraph.connected_components(g, directed=False)
    return len(np.unique(lab[used]))


def debris(rng: np.random.Generator, neuron_points: np.ndarray, p: DebrisParams = DebrisParams()
           ) -> tuple[np.ndarray, np.ndarray]:
    """Small lumpy blobs (vertices nm, faces) at least ``min_distance_nm`` from every neuron point."""
    sv, sf = uv_sphere(8, 5)
    lo, hi = neuron_points.min(axis=0) - p.margin_nm, neuron_points.max(axis=0) + p.margin_nm
    tree = cKDTree(neuron_points)
    verts, faces = [], []
    n = int(rng.integers(p.n_pieces[0], p.n_pieces[1] + 1))
    off = 0
    while len(verts) < n:
        c = rng.uniform(lo, hi)
        if tree.query(c)[0] < p.min_distance_nm:
            continue
        r = rng.uniform(*p.radius_nm)
        v = c + sv * r * rng.uniform(0.6, 1.4, 3) * rng.uniform(0.85, 1.15, (len(sv), 1))
        verts.append(v)
        faces.append(sf + off)
        off += len(v)
    return np.vstack(verts), np.vstack(faces)

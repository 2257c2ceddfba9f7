"""Skeletonization backends: raw skeleton graphs from a mesh, before soma handling.

Each backend takes mesh vertices (V, 3) nm, faces, optional link edges, the mesh graph (see
:func:`mesh_csgraph`) and a root mesh vertex, and returns
``(skeleton vertices (N, 3) nm, skeleton edges (E, 2), vertex_to_skeleton (V,))`` where
``vertex_to_skeleton`` is -1 for mesh vertices the backend did not cover. "teasar" (default) is this package's
own TEASAR; "meshparty" (MeshParty's TEASAR, which it reproduces on the shared cell) and "skeletor" are optional
and imported inside the functions.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

RawSkeleton = tuple[np.ndarray, np.ndarray, np.ndarray]


def mesh_csgraph(vertices: np.ndarray, faces: np.ndarray, link_edges: np.ndarray | None = None) -> sp.csr_matrix:
    """Symmetric (V, V) graph of face edges plus link edges, weighted by Euclidean length (nm, float32 as in
    MeshParty: TEASAR's bounded searches stalled on float64 weights in our tests)."""
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    e = np.vstack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    if link_edges is not None and len(link_edges):
        e = np.vstack([e, np.asarray(link_edges, dtype=np.int64).reshape(-1, 2)])
    e = np.column_stack([e.min(axis=1), e.max(axis=1)])  # = np.sort(e, axis=1), ~3x faster on two columns
    e = e[e[:, 0] != e[:, 1]]
    n = len(vertices)
    # duplicates merge in the sparse conversion (much faster than np.unique on edge rows)
    g = sp.coo_matrix((np.ones(len(e), dtype=np.float32), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    g.sum_duplicates()
    rows = np.repeat(np.arange(n), np.diff(g.indptr))
    g.data = np.maximum(np.linalg.norm(vertices[rows] - vertices[g.indices], axis=1), 1e-3).astype(np.float32)
    return (g + g.T).tocsr()


@dataclass
class _GraphMesh:
    """The two attributes MeshParty's TEASAR reads from a mesh (avoids importing meshparty.trimesh_io,
    which pulls in cloud-volume and costs seconds)."""

    vertices: np.ndarray
    csgraph: sp.csr_matrix


def meshparty_teasar(vertices: np.ndarray, faces: np.ndarray, link_edges: np.ndarray | None, graph: sp.csr_matrix,
                     root_vertex: int | None, invalidation_d_nm: float, cc_vertex_thresh: int) -> RawSkeleton:
    """MeshParty's TEASAR paths on the mesh graph including ``link_edges`` (lengths nm), from ``root_vertex``
    (backend "meshparty"; needs the optional extra ``meshparty``)."""
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)  # meshparty logs optional-dependency warnings on import
    try:
        from meshparty import skeletonize as mp_skel
    except ImportError as e:
        raise InputError("the 'meshparty' skeleton backend needs the meshparty package",
                         hint="pip install 'neurd-lite[meshparty]' or use backend='teasar' (the default)") from e
    finally:
        root_logger.setLevel(level)

    mesh = _GraphMesh(np.asarray(vertices, dtype=np.float64), graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            sv, se, _, v2s = mp_skel.calculate_skeleton_paths_on_mesh(
                mesh, invalidation_d=float(invalidation_d_nm), cc_vertex_thresh=int(cc_vertex_thresh),
                return_map=True, root_index=None if root_vertex is None else int(root_vertex))
        except IndexError as e:  # MeshParty indexes with an empty float array when no path was found
            span = float(np.ptp(mesh.vertices, axis=0).max()) if len(mesh.vertices) else 0.0
            raise InputError(f"TEASAR found no skeleton path on the kept surface ({len(mesh.vertices)} vertices, "
                             f"span {span / 1000:.3g} µm, invalidation distance {invalidation_d_nm / 1000:g} µm)",
                             hint="the mesh is too small or falls apart into tiny pieces (separate triangles, "
                             "a non-manifold bowtie, zero-area faces); check the file and its units") from e
    se = np.asarray(se, dtype=np.int64).reshape(-1, 2)
    return np.asarray(sv, dtype=np.float64).reshape(-1, 3), se, np.asarray(v2s, dtype=np.int64)


def wavefront(vertices: np.ndarray, faces: np.ndarray, link_edges: np.ndarray | None, graph: sp.csr_matrix,
              root_vertex: int | None, invalidation_d_nm: float, cc_vertex_thresh: int) -> RawSkeleton:
    """skeletor's wavefront skeleton; pieces are joined through ``link_edges`` afterwards.

    ``graph``, ``invalidation_d_nm`` and ``cc_vertex_thresh`` are not used by this backend (bristles are pruned by the
    branch graph instead).
    """
    try:
        import skeletor as sk
    except ImportError as e:
        raise InputError("the 'skeletor' backend needs the skeletor package",
                         hint="pip install 'neurd-lite[skeletor]' or use backend='teasar'") from e
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    origins = None if root_vertex is None else [int(root_vertex)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = sk.skeletonize.by_wavefront(mesh, waves=1, step_size=1, origins=origins, progress=False)
    sv = np.asarray(s.vertices, dtype=np.float64)
    se = np.asarray(s.edges, dtype=np.int64).reshape(-1, 2)
    v2s = np.asarray(s.mesh_map, dtype=np.int64)
    if link_edges is not None and len(link_edges):
        le = v2s[np.asarray(link_edges, dtype=np.int64)]
        le = le[(le >= 0).all(axis=1) & (le[:, 0] != le[:, 1])]
        se = np.vstack([se, le])
    return sv, se, v2s


def teasar(vertices: np.ndarray, faces: np.ndarray, link_edges: np.ndarray | None, graph: sp.csr_matrix,
                  root_vertex: int | None, invalidation_d_nm: float, cc_vertex_thresh: int) -> RawSkeleton:
    """This package's TEASAR (``neurd_lite.skeleton.teasar``, the default backend): MeshParty not needed."""
    from .teasar import teasar_paths

    return teasar_paths(vertices, graph, root_vertex, invalidation_d_nm, cc_vertex_thresh)


BACKENDS: dict[str, Callable[..., RawSkeleton]] = {"teasar": teasar, "meshparty": meshparty_teasar,
                                                   "skeletor": wavefront}

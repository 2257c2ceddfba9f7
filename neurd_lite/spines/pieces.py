"""Mesh pieces and the shaft a spine stands on (nm; chunked EM meshes fall apart into thousands of pieces).

A spine protrudes from a shaft. On a chunked mesh a spine cut off its shaft by a chunk boundary is stitched back
through proximity links between open edges of different pieces (:func:`proximity_links`), or, further from its
shaft, still shows the cut as open edges (:func:`cut_pieces`). A closed crumb or debris piece has neither shaft
surface (:func:`shaft_surface`) nor a cut: the rules (``grow._grow_pass``) never start a spine there, and with
``SpineParams.model_spine_needs_shaft`` neither does the vertex model (``vertex_model.relabel``).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshgraph import edge_components


def open_vertices(mesh) -> np.ndarray:
    """Sorted unique vertex indices on open edges (edges used by one face only): trimesh's cached
    ``edges_unique_inverse`` counted, the vertex set of ``grouping.group_rows(edges_sorted, require_count=1)``
    without a second row sort."""
    e = np.asarray(mesh.edges_unique)
    uses = np.bincount(np.asarray(mesh.edges_unique_inverse).reshape(-1), minlength=len(e))
    return np.unique(e[uses == 1].reshape(-1))


def proximity_links(mesh, link_nm: float) -> np.ndarray:
    """(K, 2) vertex pairs closer than ``link_nm`` that lie on open edges of different mesh components.

    Chunked EM meshes are cut along chunk boundaries; these links stitch a spine split by a cut back to itself
    and to its shaft, without paying for a full proximity graph (watertight meshes have no open edges).
    """
    if link_nm <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    bv = open_vertices(mesh)
    if len(bv) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    comp = edge_components(len(mesh.vertices), np.asarray(mesh.edges_unique))[1]
    pairs = cKDTree(np.asarray(mesh.vertices)[bv]).query_pairs(link_nm, output_type="ndarray")
    pairs = bv[pairs] if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    return pairs[comp[pairs[:, 0]] != comp[pairs[:, 1]]]


def shaft_surface(eligible_v: np.ndarray, raised: np.ndarray, r: np.ndarray, piece: np.ndarray, va: np.ndarray,
                  min_piece_area_nm2: float) -> np.ndarray:
    """(V,) bool: eligible vertices that are not ``raised`` (above the growth threshold, or spine) and have a
    shaft radius ``r``, on mesh pieces (``piece``: component id per vertex) holding at least
    ``min_piece_area_nm2`` of such surface (``va``: vertex areas, nm²): the shaft a spine can stand on."""
    s = eligible_v & ~raised & np.isfinite(r)
    return s & (np.bincount(piece[s], weights=va[s], minlength=len(s))[piece] >= min_piece_area_nm2)


def cut_pieces(mesh, piece: np.ndarray) -> np.ndarray:
    """(V,) bool: vertices on mesh pieces (``piece``: component id per vertex) with at least one open edge (an
    edge of one face only): a piece cut out of something larger, not a closed object of its own."""
    return np.isin(piece, piece[open_vertices(mesh)])

"""A shaft chunk's radius held to its skeleton neighbours' (opt-in, ``ShaftParams.cap_neighbour_ratio``).

A chunk's shaft radius is a quantile of the surface distances it owns. Where a spine-dense stretch, a neighbouring
branch or surface the skeleton never reached falls to one chunk, that quantile can read well above the dendrite's
true radius, so the spines on it never stand out of the shaft model. The dendrite's calibre changes slowly along
the skeleton, so a chunk far wider than the chunks next to it is more likely a bad reading than a swelling.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshgraph import hop_neighbourhoods
from ..skeleton.model import Skeleton


def chunk_neighbours(skel: Skeleton, keep: np.ndarray, owner: np.ndarray, is_vertex_sample: np.ndarray,
                     chunk_of_sample: np.ndarray, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b) of distinct chunks joined by a kept skeleton edge (both directions, unique).

    owner: (M,) skeleton vertex of each sample; is_vertex_sample: (M,) the samples that sit on a skeleton vertex.
    """
    vchunk = np.full(skel.n_vertices, -1, dtype=np.int64)
    vchunk[owner[is_vertex_sample]] = chunk_of_sample[is_vertex_sample]
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    ca, cb = vchunk[e[:, 0]], vchunk[e[:, 1]]
    ok = (ca >= 0) & (cb >= 0) & (ca != cb)
    pairs = np.unique(np.concatenate([np.column_stack([ca[ok], cb[ok]]), np.column_stack([cb[ok], ca[ok]])]),
                      axis=0) if ok.any() else np.zeros((0, 2), dtype=np.int64)
    return pairs[:, 0], pairs[:, 1]


def cap_chunk_radius(r_chunk: np.ndarray, nbr_a: np.ndarray, nbr_b: np.ndarray, ratio: float, hops: int = 2
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Chunk radii (nm) with every chunk wider than ``ratio`` x the median radius of the chunks within ``hops``
    skeleton-chunk steps (itself excluded) set to that median; also the (n_chunks,) mask of capped chunks.

    Chunks without a finite neighbour radius keep theirs. One pass: the medians are read from the input radii.
    """
    r = np.asarray(r_chunk, dtype=np.float64)
    n = len(r)
    if n == 0 or len(nbr_a) == 0 or ratio <= 0:
        return r.copy(), np.zeros(n, dtype=bool)
    reach = hop_neighbourhoods(n, np.column_stack([nbr_a, nbr_b]), hops, include_self=False)
    med = np.full(n, np.nan)
    for c in np.flatnonzero(np.diff(reach.indptr) > 0):
        vals = r[reach.indices[reach.indptr[c]:reach.indptr[c + 1]]]
        vals = vals[np.isfinite(vals)]
        if len(vals):
            med[c] = np.median(vals)
    capped = np.isfinite(med) & np.isfinite(r) & (r > ratio * med)
    out = r.copy()
    out[capped] = med[capped]
    return out, capped

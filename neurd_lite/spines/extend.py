"""Spines grown down their necks relative to the surrounding surface (nm; used by ``detect``).

Where the shaft axis is locally off centre, the shaft around a spine reads sunken or raised and a neck falls
below the global growth threshold; an accepted spine therefore takes the nearby vertices that stand out of the
surface level around it (an affine fit to its surrounding ring, ``planar_level``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from ..geometry.meshgraph import tied_labels


def planar_level(vts: np.ndarray, h: np.ndarray, owner: np.ndarray, ring: np.ndarray, n_sp: int,
                 query: np.ndarray, rounds: int = 2, min_points: int = 12) -> np.ndarray:
    """Per spine, the protrusion level of the surrounding shaft as an affine function of position, fitted to
    the ``ring`` vertices it owns (``owner``), evaluated at the ``query`` vertices (nm; NaN without a fit).

    An axis displaced by d from the centre of a round shaft of radius r changes the protrusion of the shaft
    surface by -d cos(angle) ~ -(x - axis) . u d / r: linear in position to first order. A ring median would
    miss the level at the spine base, which sits at one extreme of that cosine. Spines and other bumps in the
    ring only raise it, so ring vertices far above the first fit are dropped before the second.
    """
    use = ring & np.isfinite(h)
    out = np.full(int(query.sum()), np.nan)
    if not use.any():
        return out
    for _ in range(rounds):
        o = owner[use]
        x = vts[use]
        cnt = np.bincount(o, minlength=n_sp).astype(float)
        cen = np.stack([np.bincount(o, weights=x[:, k], minlength=n_sp) for k in range(3)], 1) / np.maximum(
            cnt, 1)[:, None]
        xc = x - cen[o]
        a_mat = np.column_stack([np.ones(len(o)), xc])  # (K, 4)
        m = np.zeros((n_sp, 4, 4))
        np.add.at(m, o, a_mat[:, :, None] * a_mat[:, None, :])
        rhs = np.zeros((n_sp, 4))
        np.add.at(rhs, o, a_mat * h[use][:, None])
        # ridge on the gradient: a ring that covers one side only keeps a near-flat level
        spread = np.maximum(np.einsum("kii->k", m[:, 1:, 1:]) / np.maximum(cnt, 1), 1.0)
        m[:, 1:, 1:] += (0.01 * spread * np.maximum(cnt, 1))[:, None, None] * np.eye(3)[None]
        m[:, 0, 0] += 1e-9
        coef = np.linalg.solve(m, rhs[:, :, None])[:, :, 0]
        coef[cnt < min_points] = np.nan
        res = h[use] - (coef[o, 0] + (xc * coef[o, 1:]).sum(1))
        scale = pd.Series(np.abs(res)).groupby(o).median().reindex(range(n_sp)).to_numpy()
        keep = ~(res > 3.0 * np.maximum(scale[o], 10.0))
        idx = np.flatnonzero(use)
        use = np.zeros_like(use)
        use[idx[keep]] = True
    qo = owner[query]
    out = coef[qo, 0] + ((vts[query] - cen[qo]) * coef[qo, 1:]).sum(1)
    return out


def extend_spines(mesh, label: np.ndarray, h: np.ndarray, margin: np.ndarray, eligible: np.ndarray,
                  reach_nm: float, ring_nm: tuple[float, float], level_fit: str = "median",
                  links: np.ndarray | None = None, ties_by_coordinates: bool = False) -> np.ndarray:
    """Spine labels grown down their necks relative to the surrounding surface (nm).

    Where the axis is locally off centre, the shaft around a spine reads sunken or raised and a neck falls below
    the global growth threshold. Each spine's surface level is the median protrusion ``h`` of the unlabelled
    eligible vertices between ``ring_nm`` (along mesh edges) from it; it then takes unlabelled vertices within
    ``reach_nm`` that protrude more than that level + ``margin`` and connect to it through such vertices.
    ``ties_by_coordinates``: a vertex two spines reach at exactly the same distance takes the spine whose first
    vertex comes first by coordinates (``geometry.meshgraph.tied_labels``; False: the one Dijkstra visited first,
    which follows the mesh's listing order).
    """
    e = np.asarray(mesh.edges_unique)
    if links is not None and len(links):
        e = np.vstack([e, links])
    vts = np.asarray(mesh.vertices)
    lab = label >= 0
    if not lab.any():
        return label
    w = np.linalg.norm(vts[e[:, 0]] - vts[e[:, 1]], axis=1)

    def nearest_spine(allowed: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
        use = (lab | allowed)[e[:, 0]] & (lab | allowed)[e[:, 1]] & ~(lab[e[:, 0]] & lab[e[:, 1]])
        member = lab.copy()
        member[e[use].reshape(-1)] = True
        sub = np.flatnonzero(member)  # = np.unique of the spine vertices and the used edges' ends, without a sort
        loc = np.full(len(label), -1, dtype=np.int64)
        loc[sub] = np.arange(len(sub))
        g = sp.coo_matrix((w[use], (loc[e[use, 0]], loc[e[use, 1]])), shape=(len(sub), len(sub))).tocsr()
        dist, _, origin = csgraph.dijkstra(g, directed=False, indices=loc[np.flatnonzero(lab)], min_only=True,
                                           limit=limit, return_predecessors=True)
        d_all = np.full(len(label), np.inf)
        s_all = np.full(len(label), -1, dtype=np.int64)
        got = np.isfinite(dist) & (origin >= 0)
        d_all[sub[got]] = dist[got]
        s_all[sub[got]] = label[sub[origin[got]]]
        if ties_by_coordinates and got.any():
            node = np.where(got, label[sub[np.where(got, origin, 0)]], -1)
            c = g.tocoo()  # both directions, each entry on its own (a sum would change a weight)
            both = sp.coo_matrix((np.r_[c.data, c.data], (np.r_[c.row, c.col], np.r_[c.col, c.row])), shape=g.shape)
            s_all[sub] = tied_labels(both, dist, node, label, vts)
        return d_all, s_all

    d, owner = nearest_spine(eligible & np.isfinite(h), ring_nm[1])
    ring = ~lab & (d >= ring_nm[0]) & (owner >= 0)
    n_sp = int(label.max()) + 1
    ok_owner = (owner >= 0) & ~lab
    level_v = np.full(len(label), np.nan)
    level = np.full(n_sp, np.nan)
    lv = pd.Series(h[ring]).groupby(owner[ring]).median()
    level[lv.index.to_numpy()] = lv.to_numpy()
    level_v[ok_owner] = level[owner[ok_owner]]
    if level_fit == "plane":
        plane = planar_level(vts, h, owner, ring, n_sp, ok_owner)
        level_v[ok_owner] = np.where(np.isfinite(plane), plane, level_v[ok_owner])
    above = np.zeros(len(label), dtype=bool)
    above[ok_owner] = h[ok_owner] > level_v[ok_owner] + margin[ok_owner]
    d2, owner2 = nearest_spine(eligible & above, reach_nm)
    out = label.copy()
    take = ~lab & np.isfinite(d2) & (owner2 >= 0)
    out[take] = owner2[take]
    return out

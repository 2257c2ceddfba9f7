"""Which axis a surface vertex faces (nm): keeps a neighbouring branch's surface out of a shaft's radius.

A vertex of a dendrite's own shaft has its outward normal pointing away from its axis; the surface of another
section lying close by (a parallel branch, a thick trunk beside a thin branch, a section without a skeleton of
its own) is often nearer to this axis than to its own, but the part of it that faces this axis has normals
pointing towards it. Used by :func:`neurd_lite.spines.shaft.shaft_field` when ``ShaftParams.facing_cos`` > 0.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def radial_cos(v: np.ndarray, normals: np.ndarray, pts: np.ndarray, tang: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(V,) cosine between each vertex's outward unit normal and its radial direction from axis sample ``s``
    (the offset ``v - pts[s]`` in that sample's cross-section plane, unit tangents ``tang``); 1 on a round shaft
    seen from its own axis, -1 on surface that faces the axis from outside (another neurite's far wall)."""
    o = v - pts[s]
    t = tang[s]
    o -= (o * t).sum(1)[:, None] * t
    return (o * normals).sum(1) / np.maximum(np.linalg.norm(o, axis=1), 1e-9)


def reassign_facing(v: np.ndarray, normals: np.ndarray, pts: np.ndarray, tang: np.ndarray, d: np.ndarray,
                    s: np.ndarray, min_cos: float, seg: np.ndarray | None = None, max_ratio: float = 2.0,
                    k: int = 48, tree: cKDTree | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices that face their nearest axis sample from outside (radial cosine < 0: the wall of another
    neurite turned towards this axis) move to the nearest of their ``k`` nearest samples whose axis
    they face (cosine >= ``min_cos``), if any, on another unbranched segment (``seg`` (M,) per sample; None: any)
    and at most ``max_ratio`` x farther than the nearest sample: the near wall of a neighbouring branch lies about
    one of its radii from its own axis. A spine head's underside faces its own axis from outside too; it keeps
    its sample unless another branch's axis lies as close. Returns the new distance (V,) nm, sample index (V,) and radial cosine (V,) at the chosen sample."""
    cos = radial_cos(v, normals, pts, tang, s)
    bad = np.flatnonzero(cos < 0.0)
    d, s = d.copy(), s.copy()
    if len(bad) == 0 or len(pts) < 2:
        return d, s, cos
    tree = cKDTree(pts) if tree is None else tree
    kk = min(k, len(pts))
    dd, ii = tree.query(v[bad], k=kk)
    dd, ii = dd.reshape(len(bad), kk), ii.reshape(len(bad), kk)
    vb = np.repeat(v[bad], kk, axis=0)
    cc = radial_cos(vb, np.repeat(normals[bad], kk, axis=0), pts, tang, ii.reshape(-1)).reshape(len(bad), kk)
    ok = (cc >= min_cos) & (dd <= max_ratio * d[bad][:, None])
    if seg is not None:
        ok &= seg[ii] != seg[s[bad]][:, None]
    first = np.argmax(ok, axis=1)  # columns are sorted by distance
    has = ok[np.arange(len(bad)), first]
    rows = bad[has]
    s[rows] = ii[has, first[has]]
    d[rows] = dd[has, first[has]]
    cos[rows] = cc[has, first[has]]
    return d, s, cos

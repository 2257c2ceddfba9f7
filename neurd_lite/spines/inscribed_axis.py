"""Shaft axis from the largest inscribed circle of each cross-section (nm), where the skeleton runs off the shaft.

A skeleton vertex placed at the centroid (or median) of the surface it owns is pulled toward the spines where
spines are a large share of that surface: on the 3.2 µm Harris stub (spines 67 % of its surface) the trunk runs
~150-300 nm off the axis of a 390 nm tube. The largest circle inscribed in the cross-section through a vertex is
set by the shaft wall: a spine adds a lobe to the outline, which neither moves nor enlarges the circle while the
spine is narrower than the shaft (a neck always is; a head beside the shaft is mostly a separate outline).
Criterion "skeleton off shaft" (scale free, per cell): the median over path vertices of (distance to the
inscribed centre of the section perpendicular to the skeleton) / (inscribed radius) exceeds a fraction. Then
every path vertex moves to its inscribed centre (see docs/spines.md, "Harris dendrites", session 16; opt-in
``SpineParams.inscribed_axis_fraction``).
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshgraph import hop_neighbourhoods
from ..skeleton.model import Skeleton


AXIS_WINDOW = 4.0  # skeleton radii: the direction of a cross-section used to move a vertex


def section_outlines(verts: np.ndarray, faces: np.ndarray, origin: np.ndarray, normal: np.ndarray,
                     basis: np.ndarray):
    """Polygons (shapely, 2D in ``basis`` (2, 3) coordinates about ``origin``) where the plane through ``origin``
    with unit ``normal`` cuts the triangles ``faces`` of ``verts`` (nm). Crossing points are computed once per
    mesh edge, so neighbouring triangles share them exactly and the segments close into rings; where a fold
    makes a ring cross itself, the pieces it encloses are separate polygons."""
    import shapely

    s = (verts - origin) @ normal
    pos = s >= 0.0
    f = np.asarray(faces, dtype=np.int64)
    cross = pos[f].any(1) & ~pos[f].all(1)
    f = f[cross]
    if not len(f):
        return []
    e = np.sort(np.stack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=1), axis=2)  # (F, 3, 2)
    ecross = pos[e[..., 0]] != pos[e[..., 1]]  # exactly two per face
    pairs = e[ecross].reshape(-1, 2, 2)  # (F, 2 edges, 2 vertices)
    a, b = pairs[..., 0], pairs[..., 1]
    t = s[a] / (s[a] - s[b])
    p3 = verts[a] + (verts[b] - verts[a]) * t[..., None]  # (F, 2, 3)
    p2 = (p3 - origin) @ basis.T  # (F, 2, 2)
    lines = shapely.linestrings(p2.reshape(-1, 2), indices=np.repeat(np.arange(len(p2)), 2))
    # node the linework first: a noisy mesh folds, and its section rings then cross themselves
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    return [g for g in polys if g.area > 0]


def _plane_basis(normal: np.ndarray) -> np.ndarray:
    """(2, 3) orthonormal vectors spanning the plane with unit ``normal``."""
    a = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(normal, a)
    u /= np.linalg.norm(u)
    return np.stack([u, np.cross(normal, u)])


def inscribed_circle_at(v: np.ndarray, f: np.ndarray, origin: np.ndarray, normal: np.ndarray
                        ) -> tuple[np.ndarray, float]:
    """Largest circle inscribed in the outline that holds ``origin`` in the section of triangles ``f`` through
    ``origin`` perpendicular to ``normal`` (nm). Returns (centre (3,), radius); NaN when no outline holds it."""
    import shapely

    basis = _plane_basis(normal)
    here = shapely.Point(0.0, 0.0)
    for poly in section_outlines(v, f, origin, normal, basis):
        if poly.contains(here):
            circle = shapely.maximum_inscribed_circle(poly, tolerance=max(1.0, np.sqrt(poly.area) / 200))
            c2, edge = np.asarray(circle.coords)
            return origin + c2 @ basis, float(np.linalg.norm(edge - c2))
    return np.full(3, np.nan), np.nan


def _local_faces(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray, reach: float):
    """(face ids, face-centre KD-tree, per-vertex search radius nm: ``reach`` x skeleton radius (>= 100 nm)
    plus two median face-edge lengths, so that a coarse mesh still closes its section outlines)."""
    from scipy.spatial import cKDTree

    fid = np.flatnonzero(np.asarray(eligible_faces, dtype=bool))
    tree = cKDTree(verts[faces[fid]].mean(1)) if len(fid) else None
    r_sk = np.maximum(np.nan_to_num(np.asarray(skel.radius, dtype=np.float64), nan=100.0), 100.0)
    edge = float(np.median(np.linalg.norm(verts[faces[fid, 0]] - verts[faces[fid, 1]], axis=1))) if len(fid) else 0.0
    return fid, tree, reach * r_sk + 2.0 * edge


def windowed_axes(skel: Skeleton, window: float = 2.0, only: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) unit local directions: principal axis of the skeleton vertices within ``window`` skeleton radii
    (>= 100 nm) of each vertex (or of the vertices ``only``) and a few edges of it along the tree; NaN with < 3
    such vertices."""
    sv = skel.vertices
    e = np.asarray(skel.edges, dtype=np.int64)
    ns = skel.n_vertices
    out = np.full((ns, 3), np.nan)
    if not len(e):
        return out
    r_sk = np.maximum(np.nan_to_num(np.asarray(skel.radius, dtype=np.float64), nan=100.0), 100.0)
    step = float(np.median(np.linalg.norm(sv[e[:, 0]] - sv[e[:, 1]], axis=1)))
    hops = int(np.clip(np.ceil(window * np.median(r_sk) / max(step, 1.0)), 2, 40))
    hood = hop_neighbourhoods(ns, e, hops)
    for i in range(ns) if only is None else only:
        nb = hood.indices[hood.indptr[i]:hood.indptr[i + 1]]
        nb = nb[np.linalg.norm(sv[nb] - sv[i], axis=1) <= window * r_sk[i]]
        if len(nb) >= 3:
            out[i] = np.linalg.svd(sv[nb] - sv[nb].mean(0), full_matrices=False)[2][0]
    return out


def off_shaft_share(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray,
                    sample: int = 200, reach: float = 4.0) -> float:
    """The criterion "skeleton off shaft", per cell: median over <= ``sample`` evenly spread path vertices
    (degree 2) of (distance to the inscribed centre of the section perpendicular to the skeleton's direction
    over ``AXIS_WINDOW`` radii there) /
    (inscribed radius), over the vertices whose section outline holds them (closed within ``reach`` radii).
    NaN: no such vertex."""
    deg = np.bincount(np.asarray(skel.edges).reshape(-1), minlength=skel.n_vertices)
    path = np.flatnonzero(deg == 2)
    if not len(path):
        return np.nan
    pick = path[np.unique(np.linspace(0, len(path) - 1, min(sample, len(path))).round().astype(int))]
    tangent = windowed_axes(skel, window=AXIS_WINDOW, only=pick)
    fid, tree, rad = _local_faces(skel, verts, faces, eligible_faces, reach)
    if tree is None:
        return np.nan
    ratio = []
    for i in pick:
        if not np.isfinite(tangent[i]).all():
            continue
        near = fid[tree.query_ball_point(skel.vertices[i], rad[i])]
        c, r = inscribed_circle_at(verts, faces[near], skel.vertices[i], tangent[i])
        if np.isfinite(r):
            ratio.append(np.linalg.norm(skel.vertices[i] - c) / r)
    return float(np.median(ratio)) if ratio else np.nan


def inscribed_skeleton(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray,
                       fraction: float, reach: float = 4.0, share: float | None = None
                       ) -> tuple[Skeleton, np.ndarray, float]:
    """When :func:`off_shaft_share` exceeds ``fraction`` (the skeleton runs off its shaft): ``skel`` with each
    path vertex (degree <= 2) moved to the centre of the largest circle inscribed in its cross-section
    (perpendicular to the skeleton's direction over ``AXIS_WINDOW`` radii, which single spines cannot tilt; the
    outline holding the vertex; vertices without one follow their neighbours), smoothed twice along the path; branch points, cut ends, edges, radius and root unchanged. Returns
    (skeleton, (N,) bool moved, the criterion's value; ``share``: its value when already measured)."""
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if share is None:
        share = off_shaft_share(skel, v, f, eligible_faces, reach=reach)
    moved = np.zeros(skel.n_vertices, dtype=bool)
    if not share > fraction:
        return skel, moved, share
    fid, tree, rad = _local_faces(skel, v, f, eligible_faces, reach)
    e = np.asarray(skel.edges, dtype=np.int64)
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    cut = np.asarray(skel.vertex_properties.get("cut_end", np.zeros(len(deg), bool)), dtype=bool)
    path = (deg <= 2) & ~cut
    pos = skel.vertices.copy()
    found = np.zeros(skel.n_vertices, dtype=bool)
    tangent = windowed_axes(skel, window=AXIS_WINDOW, only=np.flatnonzero(path))
    for i in np.flatnonzero(path & np.isfinite(tangent).all(1)):
        near = fid[tree.query_ball_point(skel.vertices[i], rad[i])]
        c, r = inscribed_circle_at(v, f[near], skel.vertices[i], tangent[i])
        if np.isfinite(r):
            pos[i], found[i] = c, True
    # path vertices without an outline follow their neighbours; then two rounds of smoothing along the path
    # (the section centres of neighbouring vertices scatter by the outline tolerance and the direction grid)
    follow = path & ~found
    ab = np.vstack([e, e[:, ::-1]])
    ab = ab[path[ab[:, 0]] & (path | cut)[ab[:, 1]]]  # cut-end centres anchor the path, never move
    for rounds, who in ((20, follow), (2, path)):
        for _ in range(rounds):
            acc, cnt = pos.copy(), np.ones(len(pos))
            np.add.at(acc, ab[:, 0], pos[ab[:, 1]])
            np.add.at(cnt, ab[:, 0], 1.0)
            pos[who] = acc[who] / cnt[who, None]
    moved = path & (np.linalg.norm(pos - skel.vertices, axis=1) > 0)
    out = Skeleton(pos, skel.edges.copy(), skel.radius.copy(), skel.root, dict(skel.vertex_properties))
    return out, moved, share


def shaft_skeleton(n, skel: Skeleton, centred: Skeleton | None, verts: np.ndarray, faces: np.ndarray,
                   eligible_faces: np.ndarray, p) -> Skeleton:
    """The spine stage's skeleton with ``p.inscribed_axis_fraction`` > 0 (``p``: SpineParams). When its "auto"
    rule would centre ``skel`` on the centroids of the surface it owns (``centred`` given), the one of the two
    with the smaller :func:`off_shaft_share` is kept (centroids are pulled toward the spines where spines are
    much of the surface); when that share exceeds the fraction the skeleton is moved onto the inscribed
    centres (:func:`inscribed_skeleton`). Records the shares and the number of moved vertices in
    ``n.provenance["spines_notes"]``."""
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    s_skel = off_shaft_share(skel, v, f, eligible_faces)
    notes = n.provenance.setdefault("spines_notes", {})
    notes["off_shaft_share"] = {"skeleton": _num(s_skel)}
    base, share = skel, s_skel
    if centred is not None:
        s_cent = off_shaft_share(centred, v, f, eligible_faces)
        notes["off_shaft_share"]["centred"] = _num(s_cent)
        if not s_skel <= s_cent:  # NaN for the skeleton (no outline holds it): the centroids
            base, share = centred, s_cent
            notes["skeleton_centred"] = True
    out, moved, _ = inscribed_skeleton(base, v, f, eligible_faces, p.inscribed_axis_fraction, share=share)
    notes["inscribed_axis_moved"] = int(moved.sum())
    return out


def _num(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None

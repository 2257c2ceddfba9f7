"""Shaft axis from the largest inscribed circle of each cross-section (nm), where the skeleton runs off the shaft.

A skeleton vertex placed at the centroid (or median) of the surface it owns is pulled toward the spines where
spines are a large share of that surface: on the 3.2 µm Harris stub (spines 67 % of its surface) the trunk runs
~150-300 nm off the axis of a 390 nm tube. The largest circle inscribed in the cross-section through a vertex is
set by the shaft wall: a spine adds a lobe to the outline, which neither moves nor enlarges the circle while the
spine is narrower than the shaft (a neck always is; a head beside the shaft is mostly a separate outline).
Criterion "skeleton off shaft" (scale free, per cell): the median over path vertices of (distance to the
inscribed centre of the section perpendicular to the skeleton) / (inscribed radius) exceeds a fraction. Then
every path vertex moves to its inscribed centre, except the perisomatic ones (see docs/spines.md, "Harris
dendrites", sessions 16 and 17; ``SpineParams.inscribed_axis_fraction``).
"""
from __future__ import annotations

import numpy as np

from typing import NamedTuple

from ..geometry.meshes import coordinate_order
from ..geometry.meshgraph import hop_neighbourhoods
from ..skeleton.model import Skeleton


AXIS_WINDOW = 4.0  # skeleton radii: the direction of a cross-section used to move a vertex
REACH = 4.0  # skeleton radii (+ two face edges): the faces a cross-section is cut from
SECTION_EVERY = 3  # a section at every k-th path vertex (by hops; the rest follow, see inscribed_skeleton)
CRITERION_SAMPLE = 100  # path vertices the per-cell criterion is measured on (session 16: 200)
_EDGE_CORNERS = np.array([[0, 1], [1, 2], [2, 0]])
PLANE_SLACK_NM = 1e-3  # section_faces: far above the rounding of a face centre's distance to a plane (~1e-9 nm)


def section_outlines(verts: np.ndarray, faces: np.ndarray, origin: np.ndarray, normal: np.ndarray,
                     basis: np.ndarray):
    """Polygons (shapely, 2D in ``basis`` (2, 3) coordinates about ``origin``) where the plane through ``origin``
    with unit ``normal`` cuts the triangles ``faces`` of ``verts`` (nm). Crossing points are computed once per
    mesh edge, so neighbouring triangles share them exactly and the segments close into rings; where a fold
    makes a ring cross itself, the pieces it encloses are separate polygons."""
    import shapely

    f = np.asarray(faces, dtype=np.int64)
    if not len(f):
        return []
    sf = (np.asarray(verts)[f] - origin) @ normal  # (F, 3): keep the faces near the plane ...
    f = f[(sf.min(1) <= 1e-6) & (sf.max(1) >= -1e-6)]
    if not len(f):
        return []
    used, f = np.unique(f, return_inverse=True)  # ... then one signed distance per vertex, shared exactly
    verts = np.asarray(verts)[used]
    order, rank = coordinate_order(verts)  # local ids by coordinates and faces sorted: the same segments in
    f = np.sort(rank[f.reshape(-1, 3)], axis=1)  # the same order whatever the mesh's listing order
    f = f[np.lexsort(f.T[::-1])]
    verts = verts[order]
    s = (verts - origin) @ normal
    pos = s >= 0.0
    cross = pos[f].any(1) & ~pos[f].all(1)
    f = f[cross]
    if not len(f):
        return []
    e = f[:, _EDGE_CORNERS]  # (F, 3, 2): each edge's ends, lower first
    e = np.stack([np.minimum(e[..., 0], e[..., 1]), np.maximum(e[..., 0], e[..., 1])], axis=2)
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
    x, y, z = (float(c) for c in normal)
    u = np.array([0.0, z, -y]) if abs(x) < 0.9 else np.array([-z, 0.0, x])  # normal x (1, 0, 0) or x (0, 1, 0)
    u /= np.sqrt(u @ u)
    return np.array([u, [y * u[2] - z * u[1], z * u[0] - x * u[2], x * u[1] - y * u[0]]])


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


class LocalFaces(NamedTuple):
    """The faces a cross-section may be cut from: ``fid`` eligible face ids, ``tree`` a KD-tree of their centres (None
    when there are none), ``edge`` the median face-edge length (nm), ``spread`` (len(fid),) each face's farthest
    corner from its centre (nm)."""

    fid: np.ndarray
    tree: object
    edge: float
    spread: np.ndarray


def _local_faces(verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray) -> LocalFaces:
    """:class:`LocalFaces` of the ``eligible_faces`` ((F,) bool) of the mesh (nm)."""
    from scipy.spatial import cKDTree

    fid = np.flatnonzero(np.asarray(eligible_faces, dtype=bool))
    if not len(fid):
        return LocalFaces(fid, None, 0.0, np.zeros(0))
    tri = verts[faces[fid]]
    centre = tri.mean(1)
    spread = np.sqrt(((tri - centre[:, None]) ** 2).sum(2).max(1))
    edge = float(np.median(np.linalg.norm(tri[:, 0] - tri[:, 1], axis=1)))
    return LocalFaces(fid, cKDTree(centre), edge, spread)


def section_faces(local: LocalFaces, faces: np.ndarray, near: list, point: np.ndarray, normal: np.ndarray
                  ) -> np.ndarray:
    """The faces (rows of ``faces``) among ``near`` (ids into ``local.fid``, e.g. a ball query of ``local.tree``) that
    the plane through ``point`` with unit ``normal`` may cut: a face whose centre is farther from the plane than its
    farthest corner is from the centre (+ ``PLANE_SLACK_NM`` for rounding) lies on one side. Only the faces the
    plane cuts make a section outline (:func:`section_outlines`, which sorts them by coordinates): the outline is
    the same as from every face in reach, with a third of the gathers on the whole mesh."""
    idx = np.asarray(near, dtype=np.int64)
    idx = idx[np.abs((local.tree.data[idx] - point) @ normal) <= local.spread[idx] + PLANE_SLACK_NM]
    return faces[local.fid[idx]]


def _sections(local: LocalFaces, verts: np.ndarray, faces: np.ndarray, points: np.ndarray, normals: np.ndarray,
              radius: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """:func:`inscribed_circle_at` for each of ``points`` ((K, 3) nm) with its unit section normal ((K, 3)), cut from
    the faces with their centre within ``radius`` ((K,) nm) of it (one ball query for all)."""
    if not len(points):
        return []
    hits = local.tree.query_ball_point(points, radius)
    return [inscribed_circle_at(verts, section_faces(local, faces, h, o, nrm), o, nrm)
            for h, o, nrm in zip(hits, points, normals)]


def _reach_nm(skel: Skeleton, reach: float, edge_nm: float) -> np.ndarray:
    """(N,) face search radius per skeleton vertex, nm: ``reach`` x skeleton radius (>= 100 nm) plus two median
    face edges, so that a coarse mesh still closes its section outlines."""
    r_sk = np.maximum(np.nan_to_num(np.asarray(skel.radius, dtype=np.float64), nan=100.0), 100.0)
    return reach * r_sk + 2.0 * edge_nm


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
    tr = skel.traced  # the scales of the traced cable: branches the option added do not change the window
    et = e[tr[e[:, 0]] & tr[e[:, 1]]] if tr.any() else e
    et = et if len(et) else e
    step = float(np.median(np.linalg.norm(sv[et[:, 0]] - sv[et[:, 1]], axis=1)))
    scale = float(np.median(r_sk[tr])) if tr.any() else float(np.median(r_sk))
    hops = int(np.clip(np.ceil(window * scale / max(step, 1.0)), 2, 40))
    hood = hop_neighbourhoods(ns, e, hops)
    for i in range(ns) if only is None else only:
        nb = hood.indices[hood.indptr[i]:hood.indptr[i + 1]]
        nb = nb[np.linalg.norm(sv[nb] - sv[i], axis=1) <= window * r_sk[i]]
        if len(nb) >= 3:
            nb = np.sort(nb)
            out[i] = _signed(np.linalg.svd(sv[nb] - sv[nb].mean(0), full_matrices=False)[2][0])
    return out


def _signed(u: np.ndarray) -> np.ndarray:
    """``u`` or ``-u``, whichever has its largest-magnitude component positive: an axis's sign from its
    geometry, not from the order an SVD happened to see the points in (a flipped normal mirrors the section's
    2D frame, and the inscribed circle's search grid with it)."""
    return -u if u[np.argmax(np.abs(u))] < 0 else u


def off_shaft_share(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray,
                    sample: int = CRITERION_SAMPLE, reach: float = REACH, where: np.ndarray | None = None,
                    local=None) -> float:
    """The criterion "skeleton off shaft", per cell: median over <= ``sample`` evenly spread path vertices
    (degree 2) of (distance to the inscribed centre of the section perpendicular to the skeleton's direction
    over ``AXIS_WINDOW`` radii there) /
    (inscribed radius), over the vertices whose section outline holds them (closed within ``reach`` radii).
    ``where``: (N,) bool vertices that may be sampled (None: all); ``local``: :func:`_local_faces` when already
    built. NaN: no such vertex."""
    deg = np.bincount(np.asarray(skel.edges).reshape(-1), minlength=skel.n_vertices)
    path = (deg == 2) & (True if where is None else np.asarray(where, dtype=bool))
    if not path.any():
        return np.nan
    path = along_tree(skel, np.flatnonzero(path))
    pick = path[np.unique(np.linspace(0, len(path) - 1, min(sample, len(path))).round().astype(int))]
    tangent = windowed_axes(skel, window=AXIS_WINDOW, only=pick)
    local = local or _local_faces(verts, faces, eligible_faces)
    if local.tree is None:
        return np.nan
    rad = _reach_nm(skel, reach, local.edge)
    pick = pick[np.isfinite(tangent[pick]).all(1)]
    ratio = [np.linalg.norm(skel.vertices[i] - c) / r
             for i, (c, r) in zip(pick, _sections(local, verts, faces, skel.vertices[pick], tangent[pick], rad[pick]))
             if np.isfinite(r)]
    return float(np.median(ratio)) if ratio else np.nan


def fixed_vertices(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray,
                   reach_nm: np.ndarray, somas: tuple = (), soma_factor: float = 1.2) -> np.ndarray:
    """(N,) bool: the perisomatic skeleton vertices, left where they are (session 17): within ``soma_factor``
    radii of a soma's centre (``somas``: objects with ``center_nm`` / ``radius_nm``), or with a face the spine
    stage leaves out (soma, axon: not ``eligible_faces``) within their section's face search radius ``reach_nm``
    ((N,) nm), where the section would be cut open. Moved, they pull the shaft samples that the soma's synapses
    read (real cell: soma synapses 73 -> 66)."""
    from scipy.spatial import cKDTree

    sv = np.asarray(skel.vertices, dtype=np.float64)
    out = np.zeros(len(sv), dtype=bool)
    for so in somas:
        out |= np.linalg.norm(sv - np.asarray(so.center_nm, dtype=np.float64), axis=1) <= soma_factor * so.radius_nm
    bad = np.flatnonzero(~np.asarray(eligible_faces, dtype=bool))
    if len(bad):
        d, _ = cKDTree(verts[faces[bad]].mean(1)).query(sv)
        out |= d <= reach_nm
    return out


def owning_vertices(n_vertices: int, face_to_skeleton: np.ndarray | None, eligible_faces: np.ndarray
                    ) -> np.ndarray:
    """(N,) bool: skeleton vertices that own (``face_to_skeleton``) a face the spine stage searches; only there is
    a section cut (the others, e.g. along an axon, have no shaft faces in reach). All when the map is None."""
    if face_to_skeleton is None:
        return np.ones(n_vertices, dtype=bool)
    own = np.asarray(face_to_skeleton, dtype=np.int64)[np.asarray(eligible_faces, dtype=bool)]
    out = np.zeros(n_vertices, dtype=bool)
    out[own[(own >= 0) & (own < n_vertices)]] = True
    return out


def _sources(skel: Skeleton):
    """(CSR skeleton graph weighted by edge length nm, ``Skeleton.csgraph``, (N,) piece id, one source vertex per
    piece): the root in its piece, elsewhere the vertex first by coordinates (x, then y, then z); none depends on
    listing order."""
    from scipy.sparse.csgraph import connected_components

    ns = skel.n_vertices
    sv = np.asarray(skel.vertices, dtype=np.float64)
    g = skel.csgraph  # cached on the skeleton: built once for the criterion, the spacing and the ordering
    n_p, piece = connected_components(g, directed=False)
    by_xyz = coordinate_order(sv)[0]
    src = np.full(n_p, -1, dtype=np.int64)
    src[piece[by_xyz[::-1]]] = by_xyz[::-1]  # the last write per piece: its first vertex by coordinates
    if skel.root is not None and 0 <= int(skel.root) < ns:
        src[piece[int(skel.root)]] = int(skel.root)
    return g, piece, src


def along_tree(skel: Skeleton, idx: np.ndarray) -> np.ndarray:
    """The skeleton vertices ``idx`` ordered along the tree: by piece (:func:`arc_length_key`), then arc length
    from the piece's source, then coordinates; by where they are, not by where they are listed."""
    key = arc_length_key(skel)[idx]
    return idx[np.lexsort((*skel.vertices[idx].T[::-1], key[:, 1], key[:, 0]))]


def arc_length_key(skel: Skeleton) -> np.ndarray:
    """(N, 2): per skeleton vertex (rank of its piece by its source's coordinates, arc length nm from the piece's
    source along the tree; see :func:`_sources`)."""
    from scipy.sparse.csgraph import dijkstra

    g, piece, src = _sources(skel)
    if not skel.n_vertices:
        return np.zeros((0, 2))
    rank = coordinate_order(np.asarray(skel.vertices)[src])[1]
    d = dijkstra(g, directed=False, indices=src, min_only=True)
    return np.column_stack([rank[piece].astype(np.float64), d])


def spaced_vertices(skel: Skeleton, among: np.ndarray, every: int) -> np.ndarray:
    """Indices of the vertices ``among`` ((N,) bool), every ``every``-th along the skeleton by hop depth from each
    connected piece's source (:func:`_sources`), and of each run of ``among`` that would otherwise have none its
    vertex nearest the source along the tree: chosen by where they are, not by where they are listed."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    e = np.asarray(skel.edges, dtype=np.int64)
    ns = skel.n_vertices
    among = np.asarray(among, dtype=bool)
    if every <= 1 or not len(e):
        return np.flatnonzero(among)
    g, _, src = _sources(skel)
    depth = dijkstra(g, directed=False, unweighted=True, indices=src, min_only=True)
    pick = among & np.isfinite(depth) & (np.nan_to_num(depth, posinf=1).astype(np.int64) % every == 0)
    inner = e[among[e[:, 0]] & among[e[:, 1]]]  # runs of ``among``: pieces of the graph restricted to it
    _, run = connected_components(coo_matrix((np.ones(len(inner)), (inner[:, 0], inner[:, 1])), shape=(ns, ns)),
                                  directed=False)
    has = np.zeros(run.max() + 1, dtype=bool)
    has[run[pick]] = True
    idx = np.flatnonzero(among & ~has[run])
    idx = along_tree(skel, idx)  # nearest the source first
    pick[idx[np.unique(run[idx], return_index=True)[1]]] = True
    return np.flatnonzero(pick)


def _within_hops(skel: Skeleton, seeds: np.ndarray, hops: int) -> np.ndarray:
    """(N,) bool: skeleton vertices within ``hops`` edges of a ``seeds`` vertex ((N,) bool)."""
    from scipy.sparse.csgraph import dijkstra

    if not seeds.any() or not len(skel.edges):
        return np.asarray(seeds, dtype=bool).copy()
    return np.isfinite(dijkstra(skel.csgraph, directed=False, unweighted=True, indices=np.flatnonzero(seeds),
                                min_only=True, limit=hops + 0.5))


def _harmonic(ns: int, pairs: np.ndarray, free: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``value`` ((N, 3)) with the ``free`` vertices replaced by the harmonic interpolation over the directed
    neighbour ``pairs`` (a -> b, both ways) of the others' values (linear along a path); a free vertex with no
    fixed vertex in reach gets 0."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    out = value.copy()
    m = int(free.sum())
    if not m:
        return out
    idx = np.full(ns, -1, dtype=np.int64)
    idx[free] = np.arange(m)
    a, b = pairs[free[pairs[:, 0]], 0], pairs[free[pairs[:, 0]], 1]
    deg = np.bincount(idx[a], minlength=m).astype(np.float64)
    both = free[b]
    lap = coo_matrix((np.ones(both.sum()), (idx[a[both]], idx[b[both]])), shape=(m, m))
    rhs = np.zeros((m, 3))
    np.add.at(rhs, idx[a[~both]], value[b[~both]])
    mat = (coo_matrix((deg + 1e-9, (np.arange(m), np.arange(m))), shape=(m, m)) - lap).tocsc()
    sol = spsolve(mat, rhs) if m > 1 else rhs / (deg[:, None] + 1e-9)
    out[free] = np.asarray(sol).reshape(m, 3)
    return out


def inscribed_skeleton(skel: Skeleton, verts: np.ndarray, faces: np.ndarray, eligible_faces: np.ndarray,
                       fraction: float, reach: float = REACH, share: float | None = None,
                       fixed: np.ndarray | None = None, owns: np.ndarray | None = None,
                       every: int = SECTION_EVERY, local=None) -> tuple[Skeleton, np.ndarray, float]:
    """When :func:`off_shaft_share` exceeds ``fraction`` (the skeleton runs off its shaft): ``skel`` with its path
    vertices (degree <= 2, not ``fixed``, not cut ends) moved onto the centres of the largest circles inscribed in
    their cross-sections (perpendicular to the skeleton's direction over ``AXIS_WINDOW`` radii, which single
    spines cannot tilt; the outline holding the vertex). Sections are cut at path vertices that own a searched
    face (``owns``, (N,) bool; None: all), at every ``every``-th (:func:`spaced_vertices`; then at the rest of
    those where none within ``every`` edges found an outline); every other path vertex, and one without an
    outline, takes the move interpolated along the path between them (cut ends and ``fixed`` vertices anchor
    it: move 0); then two rounds of smoothing along the path. Branch points, edges, radius and root unchanged.
    Returns (skeleton, (N,) bool moved, the criterion's value; ``share``: its value when already measured)."""
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fixed = np.zeros(skel.n_vertices, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    owns = np.ones(skel.n_vertices, dtype=bool) if owns is None else np.asarray(owns, dtype=bool)
    local = local or _local_faces(v, f, eligible_faces)
    if share is None:
        share = off_shaft_share(skel, v, f, eligible_faces, reach=reach, where=owns & ~fixed, local=local)
    moved = np.zeros(skel.n_vertices, dtype=bool)
    if not share > fraction:
        return skel, moved, share
    rad = _reach_nm(skel, reach, local.edge)
    e = np.asarray(skel.edges, dtype=np.int64)
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    cut = np.asarray(skel.vertex_properties.get("cut_end", np.zeros(len(deg), bool)), dtype=bool)
    anchor = cut | fixed
    path = (deg <= 2) & ~anchor
    shift = np.zeros((skel.n_vertices, 3))
    found = np.zeros(skel.n_vertices, dtype=bool)
    cand = spaced_vertices(skel, path & owns, every)
    tried = np.zeros(skel.n_vertices, dtype=bool)
    for _ in range(2):  # every k-th vertex; then, where none of those within k hops found an outline, the rest
        tangent = windowed_axes(skel, window=AXIS_WINDOW, only=cand)
        tried[cand] = True
        cut_at = cand[np.isfinite(tangent[cand]).all(1)]
        for i, (c, r) in zip(cut_at, _sections(local, v, f, skel.vertices[cut_at], tangent[cut_at], rad[cut_at])):
            if np.isfinite(r):
                shift[i], found[i] = c - skel.vertices[i], True
        if every <= 1:
            break
        cand = np.flatnonzero(path & owns & ~tried & ~_within_hops(skel, found, every))
    ab = np.vstack([e, e[:, ::-1]])
    ab = ab[path[ab[:, 0]] & (path | anchor)[ab[:, 1]]]
    pos = skel.vertices + _harmonic(skel.n_vertices, ab, path & ~found, shift)
    # two rounds of smoothing along the path (the section centres scatter by the outline tolerance and the
    # direction grid); anchors never move
    for _ in range(2):
        acc, cnt = pos.copy(), np.ones(len(pos))
        np.add.at(acc, ab[:, 0], pos[ab[:, 1]])
        np.add.at(cnt, ab[:, 0], 1.0)
        pos[path] = acc[path] / cnt[path, None]
    moved = path & (np.linalg.norm(pos - skel.vertices, axis=1) > 0)
    out = Skeleton(pos, skel.edges.copy(), skel.radius.copy(), skel.root, dict(skel.vertex_properties))
    return out, moved, share


def shaft_skeleton(n, skel: Skeleton, centred: Skeleton | None, verts: np.ndarray, faces: np.ndarray,
                   eligible_faces: np.ndarray, p, soma_factor: float = 1.2) -> Skeleton:
    """The spine stage's skeleton with ``p.inscribed_axis_fraction`` > 0 (``p``: SpineParams). When its "auto"
    rule would centre ``skel`` on the centroids of the surface it owns (``centred`` given), the one of the two
    with the smaller :func:`off_shaft_share` is kept (centroids are pulled toward the spines where spines are
    much of the surface); when that share exceeds the fraction the skeleton is moved onto the inscribed
    centres (:func:`inscribed_skeleton`), except the perisomatic vertices (:func:`fixed_vertices`, soma
    ``soma_factor`` radii). Records the shares and the number of moved vertices in
    ``n.provenance["spines_notes"]``."""
    from .shaft import canonical_skeleton

    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    local = _local_faces(v, f, eligible_faces)
    fixed = fixed_vertices(skel, v, f, eligible_faces, _reach_nm(skel, REACH, local.edge), tuple(n.somas),
                           soma_factor)
    owns = owning_vertices(skel.n_vertices, n.face_to_skeleton, eligible_faces)
    # work on the skeletons listed by coordinates (the same arrays whatever the input's listing order, so the
    # sums along the path and the harmonic solve add in the same order); the result goes back to input order
    arms = {"skeleton": (skel, *canonical_skeleton(skel))}
    if centred is not None:
        arms["centred"] = (centred, *canonical_skeleton(centred))
    notes = n.provenance.setdefault("spines_notes", {})
    share = {k: off_shaft_share(c, v, f, eligible_faces, where=(owns & ~fixed)[o], local=local)
             for k, (_, c, o) in arms.items()}
    notes["off_shaft_share"] = {k: _num(x) for k, x in share.items()}
    arm = "centred" if centred is not None and not share["skeleton"] <= share["centred"] else "skeleton"
    if arm == "centred":  # NaN for the skeleton (no outline holds it): the centroids
        notes["skeleton_centred"] = True
    src, canon, order = arms[arm]
    out, moved, _ = inscribed_skeleton(canon, v, f, eligible_faces, p.inscribed_axis_fraction, share=share[arm],
                                       fixed=fixed[order], owns=owns[order], local=local,
                                       every=int(p.inscribed_section_every))
    notes["inscribed_axis_moved"] = int(moved.sum())
    if not moved.any():
        return src
    pos = np.empty_like(src.vertices)
    pos[order] = out.vertices
    return Skeleton(pos, src.edges.copy(), src.radius.copy(), src.root, dict(src.vertex_properties))


def _num(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None

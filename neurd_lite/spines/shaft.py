"""The dendritic shaft model used by spine detection and synapse-target features (nm throughout).

The skeleton is pruned of short terminal twigs (spines that a skeletonizer followed), resampled densely,
and every mesh vertex gets its distance to the nearest shaft sample and the local shaft radius in its direction
(see :func:`shaft_field`). ``protrusion = distance - shaft radius``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..checks import check_params
from ..geometry.meshes import coordinate_order, vertex_areas_nm2, vertex_normals
from ..geometry.meshgraph import edge_components
from ..geometry.nearest import query_sets
from ..geometry.sampling import area_points
from ..geometry.stats import group_normal_equations, group_quantiles, weighted_group_quantile
from ..skeleton.model import Skeleton
from .axial import _window_ids, local_radius, on_surface_samples, tip_extensions
from .facing import radial_cos, reassign_facing
from .prune import pruned_skeleton_mask
from .radius_cap import cap_chunk_radius, chunk_neighbours

SPREAD_QUANTILE = 0.1  # ShaftField.spread_nm: the chunk radius minus this quantile of its surface distances


@dataclass(frozen=True)
class ShaftParams:
    """Shaft-model parameters (nm).

    prune_twig_nm: terminal skeleton twigs shorter than this are treated as protrusions, not shaft.
    sample_spacing_nm: resampling step along skeleton edges.
    chunk_nm: length of skeleton over which the shaft radius is pooled.
    thin_end_fraction: skeleton ends thinner than this fraction of the median radius are spines, not shaft.
    thin_end_local_fraction: also, a path end whose radius within ``prune_twig_nm`` of the end falls below this
    fraction of the median radius of the same path ``prune_twig_nm`` to 3 x ``prune_twig_nm`` in from the end is
    cut back to past its last such vertex: a skeletonizer that runs from a dendrite tip into a spine there leaves
    a path end far thinner than the dendrite it belongs to, whatever the cell's median radius (0: off).
    radius_quantile: the area-weighted quantile of face distances per chunk taken as the shaft radius.
    fit_axis: move the resampled axis onto the centre of circles fitted to the shaft cross-sections
    (:func:`fit_axis_offsets`; windows of ``fit_window_nm`` along each segment, ``fit_iterations`` rounds of
    spine trimming, at most ``fit_max_points`` mesh vertices sampled for the fit).
    fit_local_nm: then each axis sample gets its own circle fit from the surface within this distance along the
    axis (:func:`refine_axis_local`, ``fit_local_points`` of the cloud) and keeps whichever of the skeleton,
    window-fit and local-fit positions leaves the roundest cross-section (:func:`best_axis`); 0 disables.
    min_clearance (x the cross-section radius; 0.5): an axis candidate closer to the surface than this is refused
    unless every candidate is (:func:`best_axis`; 0: off): it sits in a spine neck or against the wall.
    extend_tips: where the surface runs on past a terminal end of the skeleton by more than a radius (a
    skeleton that stops short of a dendrite tip), the axis is extended along the end's tangent over it
    (:func:`neurd_lite.spines.axial.tip_extensions`), so spines there are searched instead of being taken for an end cap.
    max_off_surface / off_surface_floor_nm: axis samples farther from the surface than max_off_surface x the
    median for their unbranched segment + off_surface_floor_nm are dropped (:func:`on_surface_samples`; 0: off).
    far_factor / far_quantile / far_floor_nm: surface farther from the axis than far_factor x the chunk's
    far_quantile (area-weighted) of distances + far_floor_nm does not inform the chunk's radius (0: off).
    local_radius_nm: > 0 also measures the radius per axis sample from the surface within this distance along
    the axis (:func:`neurd_lite.spines.axial.local_radius`, same quantile); ``local_radius_mode`` "max" takes the larger of the chunk
    and local radius (a varicosity, a smooth swelling of the whole circumference, becomes part of the shaft
    model), "local" the local radius alone. Spines cover a small part of the circumference, so a low quantile
    of a short window still reads the shaft under them.
    facing_cos: > 0: only surface whose outward normal makes a cosine >= this with its radial direction from the
    axis informs a chunk's radius (the wall of a neighbouring branch turned towards this axis, spine necks and
    head undersides do not; :mod:`neurd_lite.spines.facing`); a chunk left without such surface keeps its
    plain radius. facing_reassign: also move vertices facing their nearest axis from outside (cosine < 0)
    to the nearest axis sample of another segment they face (cosine >= facing_cos, <= 2 x as far), for
    distance and radius (0 / False: off). cap_neighbour_ratio > 0: a chunk radius > this x its neighbours' median
    (chunks within 2 skeleton-chunk steps) takes that median (:mod:`neurd_lite.spines.radius_cap`; 0: off).
    """

    prune_twig_nm: float = 2500.0
    sample_spacing_nm: float = 80.0
    chunk_nm: float = 2000.0
    radius_quantile: float = 0.45
    thin_end_fraction: float = 0.4
    thin_end_local_fraction: float = 0.0
    fit_axis: bool = True
    fit_window_nm: float = 1500.0
    fit_iterations: int = 6
    fit_max_points: int = 60000
    fit_local_nm: float = 500.0
    fit_local_points: int = 60000
    min_clearance: float = 0.5
    local_radius_nm: float = 0.0
    local_radius_mode: str = "max"
    extend_tips: bool = False
    max_off_surface: float = 0.0
    far_factor: float = 0.0
    far_quantile: float = 0.1
    far_floor_nm: float = 1000.0
    off_surface_floor_nm: float = 250.0
    facing_cos: float = 0.0
    facing_reassign: bool = False
    cap_neighbour_ratio: float = 0.0

    def __post_init__(self) -> None:
        check_params(self, choices={"local_radius_mode": ("max", "local")},
                     ranges={"sample_spacing_nm": "> 0", "chunk_nm": "> 0", "fit_iterations": ">= 0",
                             "fit_max_points": ">= 1", "fit_local_points": ">= 1", "min_clearance": ">= 0",
                             "max_off_surface": ">= 0"})


@dataclass
class ShaftField:
    """Per-vertex shaft geometry (nm) for a mesh.

    distance_nm: (V,) distance of each vertex to the pruned skeleton. radius_nm: (V,) local shaft radius at the vertex's
    nearest sample. sample_vertex: (V,) nearest skeleton vertex (-1 where not computed). sample_points_nm /
    sample_radius_nm / sample_skel_vertex / sample_tangent: the resampled skeleton (unit tangents of the skeleton edges
    each sample lies on). spread_nm: (V,) how far the shaft surface of the vertex's chunk scatters below its radius (the
    radius minus the chunk's area-weighted 10th percentile of distances: vertex noise, an elliptic section, an axis off
    centre; spines sit above the radius and do not enter it). vertex_normals: (V, 3) :func:`vertex_normals` of the mesh
    when the fit computed them (else None; the ring features reuse them).
    """

    distance_nm: np.ndarray
    radius_nm: np.ndarray
    sample_vertex: np.ndarray
    sample_index: np.ndarray
    sample_points_nm: np.ndarray
    sample_radius_nm: np.ndarray
    sample_skel_vertex: np.ndarray
    beyond_end: np.ndarray
    sample_tangent: np.ndarray | None = None
    spread_nm: np.ndarray | None = None
    vertex_normals: np.ndarray | None = None

    @property
    def protrusion_nm(self) -> np.ndarray:
        """(V,) distance beyond the local shaft surface, nm (NaN where unknown)."""
        return self.distance_nm - self.radius_nm

    def vertex_angle(self, vertices_nm: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """(len(idx),) angle (radians, 0..2pi) of vertices ``idx`` around the axis at their nearest sample, in a
        frame fixed per tangent direction (neighbouring samples of a smooth axis share it to first order)."""
        s = self.sample_index[idx]
        t = self.sample_tangent[s] if self.sample_tangent is not None else np.tile([0.0, 0.0, 1.0], (len(s), 1))
        ref = np.where(np.abs(t[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
        u = np.cross(t, ref)
        u /= np.maximum(np.linalg.norm(u, axis=1), 1e-12)[:, None]
        w = np.cross(t, u)
        o = np.asarray(vertices_nm)[idx] - self.sample_points_nm[s]
        return np.mod(np.arctan2((o * w).sum(1), (o * u).sum(1)), 2 * np.pi)


def canonical_skeleton(skel: Skeleton) -> tuple[Skeleton, np.ndarray]:
    """The same skeleton listed in a geometric order: vertices sorted by their coordinates (x, then y, then z),
    each edge from its lower to its higher vertex, edges sorted. Returns it and (N,) the input index of each of
    its vertices. The shaft field's samples, segments, chunk keys and tangent signs follow vertex and edge order,
    and a mesh whose vertices are listed in another order skeletonises to the same tree listed in another order;
    working on this copy makes the field independent of that order."""
    n = skel.n_vertices
    order, rank = coordinate_order(skel.vertices)
    e = np.sort(rank[skel.edges], axis=1)
    e = e[np.lexsort(e.T[::-1])] if len(e) else e
    root = None if skel.root is None else int(rank[skel.root])
    props = {k: np.asarray(val)[order] if np.ndim(val) and len(val) == n else val
             for k, val in skel.vertex_properties.items()}
    return Skeleton(skel.vertices[order], e, skel.radius[order], root, props), order


def resample_skeleton(skel: Skeleton, keep: np.ndarray, spacing_nm: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing_nm`` along kept skeleton edges.

    Returns points (M, 3) nm, nearest skeleton vertex (M,) and unit tangent (M, 3) of each point.
    """
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    tang_v = np.zeros_like(skel.vertices)
    if len(e):
        a, b = skel.vertices[e[:, 0]], skel.vertices[e[:, 1]]
        length = np.linalg.norm(b - a, axis=1)
        dirs = (b - a) / np.maximum(length, 1e-9)[:, None]
        np.add.at(tang_v, e[:, 0], dirs)
        np.add.at(tang_v, e[:, 1], dirs)
    pts, owner, tang = [skel.vertices[keep]], [np.flatnonzero(keep)], [tang_v[keep]]
    if len(e):
        k = np.maximum(np.ceil(length / spacing_nm).astype(np.int64) - 1, 0)
        rep = np.repeat(np.arange(len(e)), k)
        if len(rep):
            step = np.concatenate([np.arange(1, kk + 1) for kk in k[k > 0]]) / np.repeat(k + 1, k)
            pts.append(a[rep] + (b[rep] - a[rep]) * step[:, None])
            owner.append(np.where(step < 0.5, e[rep, 0], e[rep, 1]))
            tang.append(dirs[rep])
    t = np.concatenate(tang)
    norm = np.linalg.norm(t, axis=1)
    t = np.where(norm[:, None] > 1e-9, t / np.maximum(norm, 1e-9)[:, None], np.array([0.0, 0.0, 1.0]))
    return np.concatenate(pts), np.concatenate(owner), t


def _segments(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(N,) id of the unbranched skeleton segment of each kept vertex (branch points are their own segment)."""
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    n = skel.n_vertices
    deg = np.bincount(e.reshape(-1), minlength=n)
    ok = (deg[e[:, 0]] <= 2) & (deg[e[:, 1]] <= 2)
    return edge_components(n, e[ok])[1]


def _kasa_offsets(o: np.ndarray, t: np.ndarray, w: np.ndarray, grp: np.ndarray, n_grp: int, min_points: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted algebraic (Kasa) fit of a cylinder with a straight axis per group of points.

    ``o`` (K, 3) nm: offsets of the points from their own axis sample, in that sample's cross-section plane;
    ``t`` (K,): the sample's position along the group (about -1..1). The axis centre at position t is
    delta0 + t delta1 and |o - centre(t)|^2 = r^2 is linear in (delta0, delta1, k0, k1, k2) once expanded
    (|o|^2 = 2 o.delta0 + 2 t o.delta1 + k0 + k1 t + k2 t^2). Returns delta0 (n_grp, 3), delta1 (n_grp, 3)
    and the radius at t = 0 (n_grp,); zeros / NaN for groups with fewer than ``min_points`` weighted points.
    A small ridge keeps the offsets in the cross-section planes (o has no component along the axis).
    """
    q = (o * o).sum(1)
    o2 = [2.0 * o[:, c] for c in range(3)]
    t2 = 2.0 * t
    feats = [*o2, *(t2 * o[:, c] for c in range(3)), np.ones(len(o)), t, t * t]  # 9 columns of (K,)
    A, b = group_normal_equations(grp, w, feats, q, n_grp)
    cnt = np.bincount(grp, weights=(w > 0).astype(float), minlength=n_grp)
    ridge = 1e-3 * np.trace(A[:, :3, :3], axis1=1, axis2=2) / 3.0 + 1e-9
    A[:, :6, :6] += ridge[:, None, None] * np.eye(6)[None]
    A[:, 6:, 6:] += 1e-9 * np.eye(3)[None] * np.maximum(A[:, 6, 6], 1.0)[:, None, None]
    ok = (cnt >= min_points) & (A[:, 6, 6] > 0)
    d0 = np.zeros((n_grp, 3))
    d1 = np.zeros((n_grp, 3))
    rad = np.full(n_grp, np.nan)
    if ok.any():
        x = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        d0[ok], d1[ok] = x[:, :3], x[:, 3:6]
        rad[ok] = np.sqrt(np.maximum(x[:, 6] + (x[:, :3] ** 2).sum(1), 0.0))
    return d0, d1, rad


def surface_samples(tri: np.ndarray, area: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """(<= count, 3) points spread uniformly over the triangles ``tri`` (K, 3, 3) by area, so that a fit sees a
    coarsely tessellated shaft and a finely tessellated spine in proportion to their surface. Each face's
    samples follow from its own coordinates (:func:`neurd_lite.geometry.sampling.area_points`), so the same
    surface listed in another order, or cut out of a larger mesh, gets the same points."""
    return area_points(tri, area, count, seed)


def fit_axis_offsets(v: np.ndarray, area: np.ndarray, pts: np.ndarray, tang: np.ndarray, seg: np.ndarray,
                     droot: np.ndarray, p: "ShaftParams", rng_seed: int = 0, nearest: np.ndarray | None = None
                     ) -> np.ndarray:
    """Resampled axis points (M, 3) nm moved onto the centres of their shaft cross-sections.

    A skeleton that runs off the shaft centre (surface-walking skeletonizers; a skeleton re-centred on a
    spiny or partly missing surface) biases every distance-to-axis. Each mesh vertex (``v`` with areas ``area``; a
    random subset of at most ``fit_max_points``) is assigned to its nearest axis point and projected onto that
    point's cross-section plane. One circle is fitted per window of ``fit_window_nm`` along each unbranched
    segment (two grids shifted by half a window, averaged, so offsets change smoothly), with the axis offset
    shared by the window. Vertices farther out than the fitted circle by max(60 nm, 0.25 r) (spines) or
    farther in than max(150 nm, 0.5 r) (other neurites) are dropped and the fit repeated. nearest: the index
    of each point of ``v``'s nearest row of ``pts`` when the caller has it (used only when ``v`` is not subsampled).
    """
    if len(v) > p.fit_max_points:
        nearest = None
        pick = np.random.default_rng(rng_seed).choice(len(v), p.fit_max_points, replace=False)
        v, area = v[pick], area[pick]
    grids = [_window_ids(seg, droot, p.fit_window_nm, s) for s in (0.0, 0.5)]
    base = pts.copy()
    offset = np.zeros_like(pts)
    s_idx = cKDTree(base).query(v)[1] if nearest is None else nearest
    g0 = grids[0]
    # total move of a sample: at most its plain radius estimate
    q0 = weighted_group_quantile(g0[s_idx], np.linalg.norm(v - base[s_idx], axis=1), area, 0.45, int(g0.max()) + 1)
    r_cap = np.nan_to_num(q0[g0], nan=0.0)
    t_grid = []
    for g in grids:
        n_g = int(g.max()) + 1
        mid = np.bincount(g, weights=droot, minlength=n_g) / np.maximum(np.bincount(g, minlength=n_g), 1)
        t_grid.append((droot - mid[g]) / (0.5 * p.fit_window_nm))
    ts = tang[s_idx]  # each point's sample tangent, gathered again only when s_idx changes
    for it in range(p.fit_iterations + 1):
        cur = base + offset
        o = v - cur[s_idx]
        o -= (o * ts).sum(1)[:, None] * ts
        if it == 0:
            # start from the nearer part of each window: far points are spines or other neurites
            dist0 = np.linalg.norm(o, axis=1)
            med = weighted_group_quantile(g0[s_idx], dist0, area, 0.5, int(g0.max()) + 1)
            inlier = dist0 <= 1.6 * med[g0[s_idx]]
        new = np.zeros_like(pts)
        rads = []
        if it == 0:
            q_grid = [weighted_group_quantile(g[s_idx], dist0, area, 0.45, int(g.max()) + 1) for g in grids]
        for k, (g, tg) in enumerate(zip(grids, t_grid)):
            n_g = int(g.max()) + 1
            d0, d1, rad = _kasa_offsets(o, tg[s_idx], area * inlier, g[s_idx], n_g, 30)
            # a window whose circle disagrees with the plain radius estimate is not trusted (another neurite
            # near a branch point, a mostly missing surface): it keeps its axis
            q = q_grid[k]
            bad = ~((rad > 0.5 * q) & (rad < 1.5 * q + 100.0))
            d0[bad], d1[bad], rad[bad] = 0.0, 0.0, np.nan
            delta = d0[g] + tg[:, None] * d1[g]
            lim = np.nan_to_num(np.minimum(rad, q)[g], nan=0.0)
            norm = np.linalg.norm(delta, axis=1)
            delta *= np.minimum(1.0, lim / np.maximum(norm, 1e-9))[:, None]  # never beyond the fitted radius
            new += 0.5 * delta
            rads.append(rad[g])
        offset = offset + new
        offset -= (offset * tang).sum(1)[:, None] * tang
        norm = np.linalg.norm(offset, axis=1)
        offset *= np.minimum(1.0, r_cap / np.maximum(norm, 1e-9))[:, None]
        if it == p.fit_iterations:
            break
        r_all = np.column_stack(rads)
        n_ok = np.isfinite(r_all).sum(1)
        r_s = np.where(n_ok > 0, np.nansum(r_all, axis=1) / np.maximum(n_ok, 1), np.nan)
        r_v = r_s[s_idx]
        o = v - (base + offset)[s_idx]
        o -= (o * ts).sum(1)[:, None] * ts
        res = np.linalg.norm(o, axis=1) - r_v
        inlier = np.isfinite(res) & (res < np.maximum(60.0, 0.25 * r_v)) & (res > -np.maximum(150.0, 0.5 * r_v))
        if it == p.fit_iterations // 2:  # points follow the moved axis once (the first assignment is a slab)
            s_idx = cKDTree(base + offset).query(v)[1]
            ts = tang[s_idx]
    return base + offset


def shaft_field(vertices_nm: np.ndarray, faces: np.ndarray, skel: Skeleton, eligible_faces: np.ndarray | None = None,
                params: ShaftParams | None = None) -> ShaftField:
    """Distance of each mesh vertex to the pruned skeleton and the local shaft radius there (nm).

    The skeleton is cut into chunks of ``chunk_nm`` along each unbranched segment. A chunk's shaft radius is the
    ``radius_quantile`` of the distances of its vertices weighted by vertex area (a third of the incident face
    areas): weighting by area, not by vertex count, keeps finely tessellated spines from outvoting a coarsely
    tessellated shaft, and the low quantile ignores spines while the shaft holds more than that fraction of the
    chunk's surface.

    vertices_nm: (V, 3) nm; faces: (F, 3); eligible_faces: (F,) bool, faces that may inform the radius.
    """
    p = params or ShaftParams()
    v = np.asarray(vertices_nm, dtype=np.float64)
    f, nrm = np.asarray(faces, dtype=np.int64), None  # nrm: vertex normals, computed at most once
    skel, to_input = canonical_skeleton(skel)
    eligible_faces = np.ones(len(f), bool) if eligible_faces is None else np.asarray(eligible_faces, bool)
    keep = pruned_skeleton_mask(skel, p.prune_twig_nm, p.thin_end_fraction, p.thin_end_local_fraction)
    pts, owner, tang = resample_skeleton(skel, keep, p.sample_spacing_nm)
    seg = _segments(skel, keep)[owner]
    droot = skel.distance_to_root_nm[owner]
    droot = np.where(np.isfinite(droot), droot, 0.0)
    key = seg.astype(np.int64) * (int(droot.max() // p.chunk_nm) + 2) + (droot // p.chunk_nm).astype(np.int64)
    _, chunk_of_sample = np.unique(key, return_inverse=True)
    n_chunks = int(chunk_of_sample.max()) + 1
    tri = v[f[eligible_faces]]
    a_face = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    a = vertex_areas_nm2(f[eligible_faces], a_face, len(v))
    used = a > 0
    is_vertex_sample = np.zeros(len(pts), dtype=bool)
    is_vertex_sample[:int(keep.sum())] = True
    if p.fit_axis and used.sum() >= 12:
        cloud = surface_samples(tri, a_face, min(p.fit_max_points, 4 * len(tri)))
        near = cKDTree(pts).query(cloud)[1]  # each point's nearest sample: read by the fit and the window pairs
        fitted = fit_axis_offsets(cloud, np.ones(len(cloud)), pts, tang, seg, droot, p, nearest=near)
        if p.fit_local_nm > 0:
            cloud = cloud[:p.fit_local_points]  # a random subset already (ordered by sample key)
            pairs = _window_pairs(cloud, pts, seg, droot, p.fit_local_nm, near[:len(cloud)])
            local = refine_axis_local(cloud, fitted, tang, pairs, p.fit_local_nm)
            on = np.zeros(len(v), dtype=bool)
            on[f[eligible_faces].reshape(-1)] = True
            on = np.flatnonzero(on)  # = np.unique(f[eligible_faces]), without a sort
            pts = best_axis(cloud, [fitted, pts, local], tang, seg, droot, p.fit_local_nm,
                            v[on], p.min_clearance, (nrm := vertex_normals(v, f))[on])
        else:
            pts = fitted
    if p.max_off_surface > 0 and used.any():
        inside = on_surface_samples(pts, seg, v[used], p.max_off_surface, p.off_surface_floor_nm)
        if inside.any() and not inside.all():
            pts, owner, tang, seg, droot = pts[inside], owner[inside], tang[inside], seg[inside], droot[inside]
            is_vertex_sample = is_vertex_sample[inside]
            chunk_of_sample = np.unique(chunk_of_sample[inside], return_inverse=True)[1].reshape(-1)
            n_chunks = int(chunk_of_sample.max()) + 1
    kept_deg = np.bincount(skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]].reshape(-1),
                           minlength=skel.n_vertices)
    # vertices at or past a terminal end of the kept skeleton (dendrite tips) are end caps, not protrusions, and
    # do not inform the radius (a flat cap would pull the last chunk's radius towards zero); a cut end of a
    # cropped fragment is not a tip: what lies past it is spines
    end_sample = is_vertex_sample & (kept_deg[owner] <= 1) & ~skel.cut_ends[owner]
    out_s = _outward_tangent(skel, keep)[owner]
    d, s = cKDTree(pts).query(v)
    if p.extend_tips:
        past = end_sample[s] & (((v - pts[s]) * out_s[s]).sum(1) > -0.5 * p.sample_spacing_nm)
        r0 = weighted_group_quantile(chunk_of_sample[s[used & ~past]], d[used & ~past], a[used & ~past],
                                     p.radius_quantile, n_chunks)[chunk_of_sample]
        ext = tip_extensions(v, s, used, pts, end_sample, out_s, owner, skel.root, r0, p.sample_spacing_nm)
        if ext is not None:
            e_idx, k = ext
            rep = np.repeat(e_idx, k)
            step = np.concatenate([np.arange(1, kk + 1) for kk in k]) * p.sample_spacing_nm
            last = np.cumsum(k) - 1 + len(pts)
            pts = np.vstack([pts, pts[rep] + out_s[rep] * step[:, None]])
            owner, tang, seg = np.concatenate([owner, owner[rep]]), np.vstack([tang, out_s[rep]]), \
                np.concatenate([seg, seg[rep]])
            droot = np.concatenate([droot, droot[rep] + step])
            end_sample = np.concatenate([end_sample, np.zeros(len(rep), bool)])
            end_sample[e_idx] = False
            end_sample[last] = True
            out_s = np.vstack([out_s, out_s[rep]])
            is_vertex_sample = np.concatenate([is_vertex_sample, np.zeros(len(rep), bool)])
            key = seg.astype(np.int64) * (int(droot.max() // p.chunk_nm) + 2) + (droot // p.chunk_nm).astype(np.int64)
            _, chunk_of_sample = np.unique(key, return_inverse=True)
            n_chunks = int(chunk_of_sample.max()) + 1
            d, s = cKDTree(pts).query(v)
    cos = None
    if p.facing_cos > 0:
        nrm = vertex_normals(v, f) if nrm is None else nrm  # computed once per call (v, f unchanged)
        if p.facing_reassign:
            d, s, cos = reassign_facing(v, nrm, pts, tang, d, s, p.facing_cos, seg)
        else:
            cos = radial_cos(v, nrm, pts, tang, s)
    at_end = end_sample[s]  # past a cut: spines
    beyond = at_end & (((v - pts[s]) * out_s[s]).sum(1) > -0.5 * p.sample_spacing_nm)
    used &= ~beyond
    plain = used.copy()
    if cos is not None:
        used &= cos >= p.facing_cos
    if p.far_factor > 0:
        # surface far beyond the chunk's inner wall (a mesh piece the skeleton never reached, assigned here only
        # because this is the nearest axis) does not vote on the chunk's radius
        q_low = weighted_group_quantile(chunk_of_sample[s[used]], d[used], a[used], p.far_quantile, n_chunks)
        used &= ~(d > p.far_factor * np.nan_to_num(q_low[chunk_of_sample[s]], nan=np.inf) + p.far_floor_nm)
    r_chunk = weighted_group_quantile(chunk_of_sample[s[used]], d[used], a[used], p.radius_quantile, n_chunks)
    if cos is not None:  # a chunk with no surface facing out of it keeps its plain radius
        lost = ~np.isfinite(r_chunk)
        used |= plain & lost[chunk_of_sample[s]]
        r_chunk[lost] = weighted_group_quantile(chunk_of_sample[s[used]], d[used], a[used], p.radius_quantile,
                                                n_chunks)[lost]
    if p.cap_neighbour_ratio > 0:
        nbr = chunk_neighbours(skel, keep, owner, is_vertex_sample, chunk_of_sample, n_chunks)
        r_chunk = cap_chunk_radius(r_chunk, *nbr, p.cap_neighbour_ratio)[0]
    r_low = weighted_group_quantile(chunk_of_sample[s[used]], d[used], a[used], SPREAD_QUANTILE, n_chunks)
    spread_v = (r_chunk - r_low)[chunk_of_sample][s]
    r_sample = r_chunk[chunk_of_sample]
    if p.local_radius_nm > 0:
        r_loc = local_radius(s[used], d[used], a[used], seg, droot, p.local_radius_nm, p.radius_quantile)
        has = np.isfinite(r_loc)
        if p.local_radius_mode == "local":
            r_sample = np.where(has, r_loc, r_sample)
        else:
            r_sample = np.where(has & (r_loc > r_sample), r_loc, r_sample)
    r_v = r_sample[s]
    owner = to_input[owner]  # back to the caller's skeleton indices
    return ShaftField(distance_nm=d, radius_nm=r_v, sample_vertex=owner[s], sample_index=s,
                      sample_points_nm=pts, sample_radius_nm=r_sample, sample_skel_vertex=owner,
                      beyond_end=beyond, sample_tangent=tang, spread_nm=spread_v, vertex_normals=nrm)


def _outward_tangent(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(N, 3) unit vector pointing out of the skeleton at kept end points (zeros elsewhere)."""
    e = skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]
    out = np.zeros_like(skel.vertices)
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    for a, b in ((0, 1), (1, 0)):
        m = deg[e[:, a]] == 1
        vec = skel.vertices[e[m, a]] - skel.vertices[e[m, b]]
        out[e[m, a]] = vec / np.maximum(np.linalg.norm(vec, axis=1), 1e-9)[:, None]
    return out


def _window_pairs(cloud: np.ndarray, pts: np.ndarray, seg: np.ndarray, droot: np.ndarray, half_window_nm: float,
                  nearest: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(point, sample) index pairs: each cloud point with the axis samples of its nearest sample's unbranched
    segment that lie within about ``half_window_nm`` of it along the segment (by sample rank). nearest: that
    nearest sample of each point when the caller has it."""
    m = len(pts)
    order = np.lexsort((droot, seg))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    s_idx = cKDTree(pts).query(cloud)[1] if nearest is None else nearest
    step = np.median(np.linalg.norm(np.diff(pts[order], axis=0), axis=1)) if m > 1 else 1.0
    k = int(np.clip(np.ceil(half_window_nm / max(step, 1.0)), 2, 16))
    pos = rank[s_idx][:, None] + np.arange(-k, k + 1)[None, :]
    valid = (pos >= 0) & (pos < m)
    j = order[np.clip(pos, 0, m - 1)]
    valid &= seg[j] == seg[s_idx][:, None]
    return np.nonzero(valid)[0], j[valid]


def _cdot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products of the columns of two (3, K) column stacks: ``(a.T * b.T).sum(1)`` bit for bit (the same
    left-to-right sum of the three products) on contiguous rows, without the strided reduction."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _paired(cloud: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cloud point (3, K) nm, its sample's unit tangent (3, K), sample index (K,)) of each pair, coordinates as
    contiguous columns: gathered once for every centre tried on the same pairs."""
    pi, j = pairs
    return np.ascontiguousarray(cloud.T).take(pi, axis=1), np.ascontiguousarray(tang.T).take(j, axis=1), j


def _plane_offsets(paired: tuple[np.ndarray, np.ndarray, np.ndarray], centre: np.ndarray, half_window_nm: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (3, K) of paired points (:func:`_paired`) from their sample's centre in its cross-section plane,
    and a mask of pairs within ``half_window_nm`` along the axis. Column for column the same arithmetic as on
    (K, 3) rows (bit for bit), without strided access."""
    cp, tj, j = paired
    ct, o = np.ascontiguousarray(centre.T), np.empty_like(cp)
    for c in range(3):  # one contiguous take per coordinate: ~3x faster than the (3, K) gather ct[:, j]
        np.subtract(cp[c], ct[c].take(j), out=o[c])
    along = _cdot3(o, tj)
    o -= along * tj
    return o, np.abs(along) <= half_window_nm


def refine_axis_local(cloud: np.ndarray, pts: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                      half_window_nm: float = 500.0, iterations: int = 4, min_points: int = 20) -> np.ndarray:
    """Axis samples (M, 3) nm moved onto the centre of a circle fitted to the surface around each sample alone.

    The window fit of :func:`fit_axis_offsets` shares one straight axis per window, so an axis that kinks or
    bends stays off centre. Each sample gets its own algebraic circle fit in its cross-section plane from the
    paired cloud points (``pairs`` from :func:`_window_pairs`) within ``half_window_nm`` along the axis; points
    beyond the circle by max(60 nm, 0.25 r) or inside by max(150 nm, 0.5 r) are trimmed (``iterations`` rounds).
    Samples with fewer than ``min_points`` points keep their position; a move never exceeds the fitted radius.
    """
    paired = _paired(cloud, tang, pairs)
    j = paired[2]
    m = len(pts)
    centre = pts.copy()
    rad = np.full(m, np.nan)
    for it in range(iterations):
        o, near = _plane_offsets(paired, centre, half_window_nm)
        q = _cdot3(o, o)
        dist = np.sqrt(q)  # np.linalg.norm(o, axis=1), bit for bit
        if it == 0:
            med = group_quantiles(j[near], dist[near], (0.5,), m)[:, 0]
            w = near & (dist <= 1.6 * med[j])
        else:
            rj = rad[j]  # gathered once
            res = dist - rj
            w = near & np.isfinite(res) & (res < np.maximum(60.0, 0.25 * rj)) & (res > -np.maximum(150.0, 0.5 * rj))
        A, b = group_normal_equations(j, w, [2.0 * o[0], 2.0 * o[1], 2.0 * o[2], np.ones(len(q))], q, m)
        cnt = np.bincount(j[w], minlength=m)  # the weights 0 / 1 summed: exact counts
        ridge = 1e-3 * np.trace(A[:, :3, :3], axis1=1, axis2=2) / 3.0 + 1e-9
        A[:, :3, :3] += ridge[:, None, None] * np.eye(3)[None]
        ok = (cnt >= min_points) & (A[:, 3, 3] > 0)
        if not ok.any():
            break
        x = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        delta = x[:, :3] - (x[:, :3] * tang[ok]).sum(1)[:, None] * tang[ok]
        r_new = np.sqrt(np.maximum(x[:, 3] + (x[:, :3] ** 2).sum(1), 0.0))
        step = np.linalg.norm(delta, axis=1)
        delta *= np.minimum(1.0, r_new / np.maximum(step, 1e-9))[:, None]
        centre[ok] += delta
        rad[ok] = r_new
    return centre


def roundness_cost(cloud: np.ndarray, centre: np.ndarray, tang: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
                   half_window_nm: float, low: float = 0.1, high: float = 0.55, with_radius: bool = False,
                   paired: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """(M,) spread of the shaft surface around each axis sample, nm: the ``high`` minus the ``low`` quantile of
    the paired points' distances from the axis. Spines only lift the upper tail; an off-centre axis widens the
    lower part of the distribution by about its offset. NaN for samples without points. ``with_radius``: also
    return the ``high`` quantile (a radius estimate around the sample). ``paired``: :func:`_paired` of
    (cloud, tang, pairs) when the caller already has it."""
    paired = _paired(cloud, tang, pairs) if paired is None else paired
    j = paired[2]
    o, near = _plane_offsets(paired, centre, half_window_nm)
    q = group_quantiles(j[near], np.sqrt(_cdot3(o, o))[near], (low, high), len(centre))
    return (q[:, 1] - q[:, 0], q[:, 1]) if with_radius else q[:, 1] - q[:, 0]


def best_axis(cloud: np.ndarray, candidates: list[np.ndarray], tang: np.ndarray, seg: np.ndarray,
              droot: np.ndarray, half_window_nm: float, surface: np.ndarray | None = None,
              min_clearance: float = 0.0, surface_normals: np.ndarray | None = None) -> np.ndarray:
    """Per axis sample, the candidate position (each (M, 3) nm) with the roundest cross-section around it
    (smallest :func:`roundness_cost`; the first candidate where no cost is known).

    With ``surface`` (mesh vertices, nm) and ``min_clearance`` > 0, a candidate closer to the surface than
    ``min_clearance`` x its cross-section radius is not an axis (it sits in a spine neck or against the wall)
    and is chosen only when every candidate is that close (then the one farthest from the surface, relative to
    its radius). With ``surface_normals`` (outward unit normals of ``surface``), a candidate on the outer side
    of its nearest surface vertex lies outside the mesh and is refused unless every candidate does (where
    spines cover most of the window, a point out in the extracellular space can read rounder than the axis)."""
    pairs = _window_pairs(cloud, candidates[0], seg, droot, half_window_nm)
    paired = _paired(cloud, tang, pairs)
    cr = [roundness_cost(cloud, c, tang, pairs, half_window_nm, with_radius=True, paired=paired) for c in candidates]
    cost = np.column_stack([c for c, _ in cr])
    known = np.isfinite(cost).all(1)
    guarded = surface is not None and min_clearance > 0 and len(surface) > 0
    if guarded:
        tree = cKDTree(surface)
        rad = np.column_stack([r for _, r in cr])
        near = query_sets(tree, candidates)  # = [tree.query(c) for c in candidates], repeated rows once
        ratio = np.column_stack([d for d, _ in near]) / np.maximum(rad, 1.0)
        close = ratio < min_clearance
        if surface_normals is not None:
            outside = np.column_stack([((c - surface[i]) * surface_normals[i]).sum(1) > 0
                                       for c, (_, i) in zip(candidates, near)])
            outside &= ~outside.all(1)[:, None]
            close |= outside
            ratio = np.where(outside, -np.inf, ratio)  # the all-close fallback never goes outside either
        all_close = close.all(1)
        cost = np.where(close & ~all_close[:, None], np.inf, cost)
        pick_close = np.argmax(np.nan_to_num(ratio, nan=-np.inf), axis=1)
    pick = np.where(known, np.argmin(np.nan_to_num(cost, nan=np.inf), axis=1), 0)
    if guarded:
        pick = np.where(known & all_close, pick_close, pick)
    stack = np.stack(candidates, 1)
    return stack[np.arange(len(pick)), pick]

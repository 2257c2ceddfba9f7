"""The dendritic shaft model used by spine detection and synapse-target features (nm throughout).

The skeleton is pruned of short terminal twigs (spines that a skeletonizer followed), resampled densely,
and every mesh vertex gets its distance to the nearest shaft sample and the local shaft radius in its direction
(see :func:`shaft_field`). ``protrusion = distance - shaft radius``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.meshes import coordinate_order, vertex_areas_nm2, vertex_normals
from ..geometry.meshgraph import edge_components
from ..geometry.stats import weighted_group_quantile
from ..skeleton.model import Skeleton
from .axial import local_radius, on_surface_samples, tip_extensions
from .facing import radial_cos, reassign_facing
from .params import ShaftParams  # noqa: F401 - moved to params.py, re-exported
from .prune import pruned_skeleton_mask
from .radius_cap import cap_chunk_radius, chunk_neighbours
from .shaft_axis import (_window_pairs, best_axis, fit_axis_offsets, refine_axis_local,  # noqa: F401 - moved
                         roundness_cost, surface_samples)

SPREAD_QUANTILE = 0.1  # ShaftField.spread_nm: the chunk radius minus this quantile of its surface distances


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

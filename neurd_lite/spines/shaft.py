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
    e = _kept_edges(skel, keep)
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
    e = _kept_edges(skel, keep)
    n = skel.n_vertices
    deg = np.bincount(e.reshape(-1), minlength=n)
    ok = (deg[e[:, 0]] <= 2) & (deg[e[:, 1]] <= 2)
    return edge_components(n, e[ok])[1]


@dataclass
class _Samples:
    """The resampled shaft axis the field is measured from: one row per sample (nm; skeleton in canonical order)."""

    pts: np.ndarray  # (M, 3) sample positions, nm
    owner: np.ndarray  # (M,) skeleton vertex each sample belongs to
    tang: np.ndarray  # (M, 3) unit tangent
    seg: np.ndarray  # (M,) unbranched skeleton segment id
    droot: np.ndarray  # (M,) path distance of the owner to the root, nm (0 where unreachable)
    is_vertex: np.ndarray  # (M,) bool: the sample sits on a skeleton vertex (the first ones)
    chunk: np.ndarray  # (M,) chunk id (``ShaftParams.chunk_nm`` along each segment)
    n_chunks: int

    def take(self, m: np.ndarray) -> _Samples:
        """The samples where ``m`` (bool (M,)) holds, chunk ids renumbered over the chunks left."""
        chunk = np.unique(self.chunk[m], return_inverse=True)[1].reshape(-1)
        return _Samples(self.pts[m], self.owner[m], self.tang[m], self.seg[m], self.droot[m], self.is_vertex[m],
                        chunk, int(chunk.max()) + 1)


def _kept_edges(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(E', 2) the skeleton edges between two kept vertices."""
    return skel.edges[keep[skel.edges[:, 0]] & keep[skel.edges[:, 1]]]


def _chunks(seg: np.ndarray, droot: np.ndarray, chunk_nm: float) -> tuple[np.ndarray, int]:
    """(M,) chunk id of each sample (``chunk_nm`` pieces of path distance ``droot``, nm, within its segment ``seg``)
    and the number of chunks."""
    key = seg.astype(np.int64) * (int(droot.max() // chunk_nm) + 2) + (droot // chunk_nm).astype(np.int64)
    _, chunk = np.unique(key, return_inverse=True)
    return chunk, int(chunk.max()) + 1


def _axis_samples(skel: Skeleton, keep: np.ndarray, p: ShaftParams) -> _Samples:
    """The kept skeleton resampled every ``sample_spacing_nm`` with segment, root distance (nm) and chunk per
    sample."""
    pts, owner, tang = resample_skeleton(skel, keep, p.sample_spacing_nm)
    seg = _segments(skel, keep)[owner]
    droot = skel.distance_to_root_nm[owner]
    droot = np.where(np.isfinite(droot), droot, 0.0)
    chunk, n_chunks = _chunks(seg, droot, p.chunk_nm)
    is_vertex = np.zeros(len(pts), dtype=bool)
    is_vertex[:int(keep.sum())] = True
    return _Samples(pts, owner, tang, seg, droot, is_vertex, chunk, n_chunks)


def _fitted_axis(v: np.ndarray, f: np.ndarray, eligible_faces: np.ndarray, tri: np.ndarray, a_face: np.ndarray,
                 smp: _Samples, p: ShaftParams) -> tuple[np.ndarray, np.ndarray | None]:
    """Sample positions (M, 3) nm moved onto the axis fitted to the eligible surface (``ShaftParams.fit_axis``;
    ``tri``: (F', 3, 3) nm eligible triangles, ``a_face``: (F',) their areas nm²), and the vertex normals when the
    local refinement computed them (else None)."""
    pts, tang, seg, droot = smp.pts, smp.tang, smp.seg, smp.droot
    cloud = surface_samples(tri, a_face, min(p.fit_max_points, 4 * len(tri)))
    near = cKDTree(pts).query(cloud)[1]  # each point's nearest sample: read by the fit and the window pairs
    fitted = fit_axis_offsets(cloud, np.ones(len(cloud)), pts, tang, seg, droot, p, nearest=near)
    if p.fit_local_nm <= 0:
        return fitted, None
    cloud = cloud[:p.fit_local_points]  # a random subset already (ordered by sample key)
    pairs = _window_pairs(cloud, pts, seg, droot, p.fit_local_nm, near[:len(cloud)])
    local = refine_axis_local(cloud, fitted, tang, pairs, p.fit_local_nm)
    on = np.zeros(len(v), dtype=bool)
    on[f[eligible_faces].reshape(-1)] = True
    on = np.flatnonzero(on)  # = np.unique(f[eligible_faces]), without a sort
    nrm = vertex_normals(v, f)
    return best_axis(cloud, [fitted, pts, local], tang, seg, droot, p.fit_local_nm, v[on], p.min_clearance,
                     nrm[on], p.stable_ties), nrm


def _end_samples(skel: Skeleton, keep: np.ndarray, smp: _Samples) -> tuple[np.ndarray, np.ndarray]:
    """(M,) bool: samples on a terminal end of the kept skeleton (a dendrite tip; a cut end of a cropped fragment is
    not one), and (M, 3) the outward unit tangent at each sample's owner (zeros off the ends)."""
    kept_deg = np.bincount(_kept_edges(skel, keep).reshape(-1), minlength=skel.n_vertices)
    end_sample = smp.is_vertex & (kept_deg[smp.owner] <= 1) & ~skel.cut_ends[smp.owner]
    return end_sample, _outward_tangent(skel, keep)[smp.owner]


def _past_end(v: np.ndarray, pts: np.ndarray, s: np.ndarray, end_sample: np.ndarray, out_s: np.ndarray,
              spacing_nm: float) -> np.ndarray:
    """(V,) bool: vertices (nm) whose nearest sample ``s`` is an end sample and that lie no more than half a
    sample spacing behind it along its outward tangent (the end cap)."""
    return end_sample[s] & (((v - pts[s]) * out_s[s]).sum(1) > -0.5 * spacing_nm)


def _extend_tips(v: np.ndarray, a: np.ndarray, used: np.ndarray, d: np.ndarray, s: np.ndarray, smp: _Samples,
                 end_sample: np.ndarray, out_s: np.ndarray, root: int | None, p: ShaftParams
                 ) -> tuple[_Samples, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Extend the axis past terminal ends the surface runs on beyond (:func:`~.axial.tip_extensions`; ``a``: (V,)
    vertex areas nm², ``used``: (V,) vertices that may vote, ``d``, ``s``: each vertex's distance (nm) to and index
    of its nearest sample). Returns (samples, end_sample, out_s, d, s), unchanged when no end extends."""
    past = _past_end(v, smp.pts, s, end_sample, out_s, p.sample_spacing_nm)
    m = used & ~past
    r0 = weighted_group_quantile(smp.chunk[s[m]], d[m], a[m], p.radius_quantile, smp.n_chunks)[smp.chunk]
    ext = tip_extensions(v, s, used, smp.pts, end_sample, out_s, smp.owner, root, r0, p.sample_spacing_nm)
    if ext is None:
        return smp, end_sample, out_s, d, s
    e_idx, k = ext
    rep = np.repeat(e_idx, k)
    step = np.concatenate([np.arange(1, kk + 1) for kk in k]) * p.sample_spacing_nm
    last = np.cumsum(k) - 1 + len(smp.pts)
    pts = np.vstack([smp.pts, smp.pts[rep] + out_s[rep] * step[:, None]])
    owner, tang, seg = np.concatenate([smp.owner, smp.owner[rep]]), np.vstack([smp.tang, out_s[rep]]), \
        np.concatenate([smp.seg, smp.seg[rep]])
    droot = np.concatenate([smp.droot, smp.droot[rep] + step])
    end_sample = np.concatenate([end_sample, np.zeros(len(rep), bool)])
    end_sample[e_idx] = False
    end_sample[last] = True
    out_s = np.vstack([out_s, out_s[rep]])
    is_vertex = np.concatenate([smp.is_vertex, np.zeros(len(rep), bool)])
    chunk, n_chunks = _chunks(seg, droot, p.chunk_nm)
    d, s = cKDTree(pts).query(v)
    return _Samples(pts, owner, tang, seg, droot, is_vertex, chunk, n_chunks), end_sample, out_s, d, s


def _chunk_radius(d: np.ndarray, s: np.ndarray, a: np.ndarray, used: np.ndarray, cos: np.ndarray | None,
                  smp: _Samples, skel: Skeleton, keep: np.ndarray, p: ShaftParams) -> tuple[np.ndarray, np.ndarray]:
    """(n_chunks,) shaft radius per chunk, nm: the area-weighted ``radius_quantile`` of the distances ``d`` (nm) of
    the vertices that vote (``used``, narrowed to those facing out of their axis when ``cos`` is given and to
    those not far beyond the chunk's inner wall), capped against the neighbouring chunks. Also returns (V,) the
    vertices that voted."""
    plain = used.copy()
    if cos is not None:
        used = used & (cos >= p.facing_cos)
    if p.far_factor > 0:
        # surface far beyond the chunk's inner wall (a mesh piece the skeleton never reached, assigned here only
        # because this is the nearest axis) does not vote on the chunk's radius
        q_low = weighted_group_quantile(smp.chunk[s[used]], d[used], a[used], p.far_quantile, smp.n_chunks)
        used = used & ~(d > p.far_factor * np.nan_to_num(q_low[smp.chunk[s]], nan=np.inf) + p.far_floor_nm)
    r_chunk = weighted_group_quantile(smp.chunk[s[used]], d[used], a[used], p.radius_quantile, smp.n_chunks)
    if cos is not None:  # a chunk with no surface facing out of it keeps its plain radius
        lost = ~np.isfinite(r_chunk)
        used = used | (plain & lost[smp.chunk[s]])
        r_chunk[lost] = weighted_group_quantile(smp.chunk[s[used]], d[used], a[used], p.radius_quantile,
                                                smp.n_chunks)[lost]
    if p.cap_neighbour_ratio > 0:
        nbr = chunk_neighbours(skel, keep, smp.owner, smp.is_vertex, smp.chunk, smp.n_chunks)
        r_chunk = cap_chunk_radius(r_chunk, *nbr, p.cap_neighbour_ratio)[0]
    return r_chunk, used


def _sample_radius(r_chunk: np.ndarray, d: np.ndarray, s: np.ndarray, a: np.ndarray, used: np.ndarray,
                   smp: _Samples, p: ShaftParams) -> np.ndarray:
    """(M,) shaft radius per sample, nm: its chunk's, or the per-sample local radius (``local_radius_nm``) where
    that is known (``local_radius_mode`` "local") or larger (otherwise)."""
    r_sample = r_chunk[smp.chunk]
    if p.local_radius_nm > 0:
        r_loc = local_radius(s[used], d[used], a[used], smp.seg, smp.droot, p.local_radius_nm, p.radius_quantile)
        has = np.isfinite(r_loc)
        if p.local_radius_mode == "local":
            r_sample = np.where(has, r_loc, r_sample)
        else:
            r_sample = np.where(has & (r_loc > r_sample), r_loc, r_sample)
    return r_sample


def shaft_field(vertices_nm: np.ndarray, faces: np.ndarray, skel: Skeleton, eligible_faces: np.ndarray | None = None,
                params: ShaftParams | None = None) -> ShaftField:
    """Distance of each mesh vertex to the pruned skeleton and the local shaft radius there (nm).

    The skeleton is cut into chunks of ``chunk_nm`` along each unbranched segment. A chunk's shaft radius is the
    ``radius_quantile`` of the distances of its vertices weighted by vertex area (a third of the incident face
    areas): weighting by area, not by vertex count, keeps finely tessellated spines from outvoting a coarsely
    tessellated shaft, and the low quantile ignores spines while the shaft holds more than that fraction of the
    chunk's surface.

    Steps: resample the pruned skeleton (:func:`_axis_samples`), optionally fit the axis to the surface
    (:func:`_fitted_axis`), drop samples off the surface, extend the axis past tips the surface runs on beyond
    (:func:`_extend_tips`), optionally reassign vertices to the axis they face, then the chunk radii
    (:func:`_chunk_radius`) and the per-sample radii (:func:`_sample_radius`).

    vertices_nm: (V, 3) nm; faces: (F, 3); eligible_faces: (F,) bool, faces that may inform the radius.
    """
    p = params or ShaftParams()
    v = np.asarray(vertices_nm, dtype=np.float64)
    f, nrm = np.asarray(faces, dtype=np.int64), None  # nrm: vertex normals, computed at most once
    skel, to_input = canonical_skeleton(skel)
    eligible_faces = np.ones(len(f), bool) if eligible_faces is None else np.asarray(eligible_faces, bool)
    keep = pruned_skeleton_mask(skel, p.prune_twig_nm, p.thin_end_fraction, p.thin_end_local_fraction)
    smp = _axis_samples(skel, keep, p)
    tri = v[f[eligible_faces]]
    a_face = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    a = vertex_areas_nm2(f[eligible_faces], a_face, len(v))
    used = a > 0
    if p.fit_axis and used.sum() >= 12:
        smp.pts, nrm = _fitted_axis(v, f, eligible_faces, tri, a_face, smp, p)
    if p.max_off_surface > 0 and used.any():
        inside = on_surface_samples(smp.pts, smp.seg, v[used], p.max_off_surface, p.off_surface_floor_nm)
        if inside.any() and not inside.all():
            smp = smp.take(inside)
    # vertices at or past a terminal end of the kept skeleton (dendrite tips) are end caps, not protrusions, and
    # do not inform the radius (a flat cap would pull the last chunk's radius towards zero); a cut end of a
    # cropped fragment is not a tip: what lies past it is spines
    end_sample, out_s = _end_samples(skel, keep, smp)
    d, s = cKDTree(smp.pts).query(v)
    if p.extend_tips:
        smp, end_sample, out_s, d, s = _extend_tips(v, a, used, d, s, smp, end_sample, out_s, skel.root, p)
    cos = None
    if p.facing_cos > 0:
        nrm = vertex_normals(v, f) if nrm is None else nrm  # computed once per call (v, f unchanged)
        if p.facing_reassign:
            d, s, cos = reassign_facing(v, nrm, smp.pts, smp.tang, d, s, p.facing_cos, smp.seg)
        else:
            cos = radial_cos(v, nrm, smp.pts, smp.tang, s)
    beyond = _past_end(v, smp.pts, s, end_sample, out_s, p.sample_spacing_nm)  # past a cut: spines
    r_chunk, used = _chunk_radius(d, s, a, used & ~beyond, cos, smp, skel, keep, p)
    r_low = weighted_group_quantile(smp.chunk[s[used]], d[used], a[used], SPREAD_QUANTILE, smp.n_chunks)
    spread_v = (r_chunk - r_low)[smp.chunk][s]
    r_sample = _sample_radius(r_chunk, d, s, a, used, smp, p)
    owner = to_input[smp.owner]  # back to the caller's skeleton indices
    return ShaftField(distance_nm=d, radius_nm=r_sample[s], sample_vertex=owner[s], sample_index=s,
                      sample_points_nm=smp.pts, sample_radius_nm=r_sample, sample_skel_vertex=owner,
                      beyond_end=beyond, sample_tangent=smp.tang, spread_nm=spread_v, vertex_normals=nrm)


def _outward_tangent(skel: Skeleton, keep: np.ndarray) -> np.ndarray:
    """(N, 3) unit vector pointing out of the skeleton at kept end points (zeros elsewhere)."""
    e = _kept_edges(skel, keep)
    out = np.zeros_like(skel.vertices)
    deg = np.bincount(e.reshape(-1), minlength=skel.n_vertices)
    for a, b in ((0, 1), (1, 0)):
        m = deg[e[:, a]] == 1
        vec = skel.vertices[e[m, a]] - skel.vertices[e[m, b]]
        out[e[m, a]] = vec / np.maximum(np.linalg.norm(vec, axis=1), 1e-9)[:, None]
    return out

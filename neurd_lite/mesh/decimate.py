"""Optional decimation (quadric edge collapse, fast-simplification) with face maps both ways.

Per-face results computed on the decimated "working" mesh land on input faces through
``input_to_working``: read from fast-simplification's collapse list when it decimated the input itself
(:mod:`neurd_lite.mesh.collapse_map`), otherwise searched for (:func:`map_faces`: nearest centroid facing the
same way).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geometry.meshes import compact_faces, face_areas_nm2, face_centroids_nm, face_centroids_normals_nm
from ..geometry.nearest import HASH_CELLS, cell_hash as _cell_hash
from .border import border_fragmented
from .cluster import cluster_reduce
from .collapse_map import collapse_face_map, collapse_vertex_map, vertex_face_map
from .refit import refit_to_input
from .simplify_fork import simplify_forked, simplify_here
from .params import AUTO, AUTO_EDGE_NM, DecimateParams  # noqa: F401 - moved to params.py, re-exported
from .weld import dropped_to_kept, weld


@dataclass
class DecimationResult:
    """vertices (V', 3) nm and faces (F', 3) of the working mesh; input_to_working (F,) working face of each
    input face; working_to_input (F',) one representative input face per working face; seconds spent;
    prereduced_faces: faces after the pre-reduction (meshoptimizer or clustering; 0: none); input_centroids:
    (F, 3) input-face centroids (nm) the face map was built from (None for the identity), for reuse;
    centroid_tree: the k-d tree over the working faces' centroids when the face map built one (else None)."""

    vertices: np.ndarray
    faces: np.ndarray
    input_to_working: np.ndarray
    working_to_input: np.ndarray
    seconds: float
    prereduced_faces: int = 0
    input_centroids: np.ndarray | None = None
    centroid_tree: cKDTree | None = None

    @property
    def is_identity(self) -> bool:
        return len(self.input_to_working) == len(self.faces) and bool(
            np.array_equal(self.input_to_working, np.arange(len(self.faces))))


def identity(vertices: np.ndarray, faces: np.ndarray) -> DecimationResult:
    """A no-op result: the working mesh is the input mesh."""
    nf = len(faces)
    return DecimationResult(np.asarray(vertices, np.float64), np.asarray(faces, np.int64), np.arange(nf),
                            np.arange(nf), 0.0)


MAP_CHUNK = 1_000_000  # input faces per block of the face-map query
MAP_BOUND_EDGES = 2.0  # first nearest-centroid query bound, in median working-mesh edges (see _nearest_same_way)


def _centroids_normals(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face centroids (nm) and un-normalised face normals (only their sign against another normal is used)."""
    return face_centroids_normals_nm(vertices, faces)


def _nearest_same_way(tree: cKDTree, dst_normals: np.ndarray, src_cent: np.ndarray, src_normals: np.ndarray,
                      k: int, bound_nm: float | None = None) -> np.ndarray:
    """Index (into the tree's points) of the nearest point facing the same way as each src face.

    bound_nm: the nearest-point query first looks only this far (nm; the tree prunes more), and asks again
    without a bound for the few points with nothing that close: the same nearest point (the search visits the
    same nodes in the same order up to the bound; checked equal on the real cell at 1.3M and 5.2M faces), ~20 %
    less CPU with twice the working mesh's median edge."""
    if bound_nm is None:
        near = tree.query(src_cent, k=1)[1]
    else:
        near = tree.query(src_cent, k=1, distance_upper_bound=float(bound_nm))[1]
        miss = np.flatnonzero(near >= tree.n)
        if len(miss):
            near[miss] = tree.query(src_cent[miss], k=1)[1]
    near = np.asarray(near, dtype=np.int64).reshape(-1)
    bad = np.flatnonzero(np.einsum("fd,fd->f", dst_normals[near], src_normals) <= 0)
    k = max(1, min(k, tree.n))
    if len(bad) and k > 1:
        _, cand = tree.query(src_cent[bad], k=k)
        cand = cand.reshape(len(bad), k)
        same = np.einsum("fkd,fd->fk", dst_normals[cand], src_normals[bad]) > 0
        pick = np.where(same.any(axis=1), np.argmax(same, axis=1), 0)
        near[bad] = cand[np.arange(len(bad)), pick]
    return near


def _nearest_input_same_way(in_cent: np.ndarray, vertices: np.ndarray, faces: np.ndarray, q_cent: np.ndarray,
                            q_normals: np.ndarray, k: int, radius_nm: float) -> np.ndarray:
    """For each query point (nm), the input face :func:`_nearest_same_way` picks among *all* input faces
    (nearest centroid facing the same way among the ``k`` nearest; equal distances: lowest face id), without a
    KD-tree over all input centroids (2 s to build at 5M faces): a tree over the input centroids in the grid cells
    (side ``radius_nm``) around the queries holds every centroid within ``radius_nm`` of a query, so a query whose
    ``k``-th neighbour there is within ``radius_nm`` has the same ``k`` nearest as in the full tree; the others
    are asked again with the radius doubled (the full tree after four rounds). Cells are marked in a hashed
    table (a collision only adds centroids to the tree)."""
    out = np.full(len(q_cent), -1, dtype=np.int64)
    todo = np.arange(len(q_cent))
    k = max(1, min(k, len(in_cent)))
    lo = np.minimum(in_cent.min(axis=0), q_cent.min(axis=0)) - 1.0
    r = float(radius_nm)
    table = np.zeros(HASH_CELLS, dtype=bool)
    steps = np.stack(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    for _ in range(4):
        if not len(todo):
            return out
        table[:] = False
        qc = np.floor((q_cent[todo] - lo) / r).astype(np.int64)
        table[_cell_hash((qc[:, None, :] + steps[None]).reshape(-1, 3))] = True
        sub = np.concatenate([blo + np.flatnonzero(table[_cell_hash(np.floor((in_cent[blo:blo + MAP_CHUNK] - lo) / r)
                                                                    .astype(np.int64))])
                              for blo in range(0, len(in_cent), MAP_CHUNK)])
        if len(sub) >= k:
            dist, cand = cKDTree(in_cent[sub]).query(q_cent[todo], k=k)
            dist, cand = dist.reshape(len(todo), k), sub[cand.reshape(len(todo), k)]
            o = np.lexsort((cand, dist), axis=-1)  # equal distances (common on subdivided meshes): lowest face first
            dist, cand = np.take_along_axis(dist, o, axis=1), np.take_along_axis(cand, o, axis=1)
            ok = dist[:, -1] <= r
            if ok.any():
                rows, cand = todo[ok], cand[ok]
                same = np.einsum("fkd,fd->fk", _centroids_normals(vertices, faces[cand.reshape(-1)])[1]
                                 .reshape(len(rows), k, 3), q_normals[rows]) > 0
                first_same = np.where(same.any(axis=1), np.argmax(same, axis=1), 0)
                out[rows] = cand[np.arange(len(rows)), np.where(same[:, 0], 0, first_same)]
                todo = todo[~ok]
        r *= 2.0
    if len(todo):
        box_n = _centroids_normals(vertices, faces)[1]
        out[todo] = _nearest_same_way(cKDTree(in_cent), box_n, q_cent[todo], q_normals[todo], k)
    return out


def map_faces(src_vertices: np.ndarray, src_faces: np.ndarray, dst_vertices: np.ndarray, dst_faces: np.ndarray,
              k: int = 6) -> np.ndarray:
    """(F_src,) index of a dst face for every src face (coordinates nm).

    Each src face goes to the dst face with the nearest centroid when that face points the same way
    (positive normal dot product). Only the few faces whose nearest dst face points the other way (the
    facing wall of a touching neurite, a thin sheet) are re-queried among their ``k`` nearest, taking the
    nearest facing the same way (the nearest overall when none does). One k=1 KD-tree query over all faces
    plus a small k query: about 2 s of CPU for 1.3M -> 250k faces.
    """
    src_cent, src_n = _centroids_normals(np.asarray(src_vertices, np.float64), np.asarray(src_faces, np.int64))
    dst_cent, dst_n = _centroids_normals(np.asarray(dst_vertices, np.float64), np.asarray(dst_faces, np.int64))
    return _nearest_same_way(cKDTree(dst_cent), dst_n, src_cent, src_n, k)


PREREDUCE_MAX_ERROR = 1e-3  # meshoptimizer's error bound, relative to the mesh extent (150 nm on a 150 µm cell)


def prereduce(vertices_nm: np.ndarray, faces: np.ndarray, target_faces: int,
              lock_border: bool = False, error_nm: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertices nm, faces) of the mesh reduced to about ``target_faces`` faces by meshoptimizer's quadric
    edge collapse, or None when meshoptimizer is not installed (``pip install neurd-lite[large]``).
    lock_border: never move or collapse a vertex on an open border (see :func:`is_fragmented`).
    error_nm: stop instead before the first collapse that would move the surface by more than this many nm
    (meshoptimizer's absolute error); None: the relative bound ``PREREDUCE_MAX_ERROR``.

    meshoptimizer keeps the input vertex positions (a collapse moves a vertex onto its neighbour), does not
    change the topology and needs ~30 bytes per face (fast-simplification: ~560), ~6 s of CPU for 5.2M ->
    1.2M or 400k faces. It stops early when the next collapse would move the surface by more than
    ``PREREDUCE_MAX_ERROR`` of the mesh extent; the quadric pass after it then gets more faces."""
    try:
        import meshoptimizer
    except ImportError:
        return None
    v = np.asarray(vertices_nm, dtype=np.float64)
    pos = np.ascontiguousarray(v - v.mean(axis=0), dtype=np.float32)  # float32 around the centre: < 0.1 nm
    idx = np.ascontiguousarray(np.asarray(faces).reshape(-1), dtype=np.uint32)
    out = np.empty_like(idx)
    opt = (meshoptimizer.SIMPLIFY_LOCK_BORDER if lock_border else 0) | (
        meshoptimizer.SIMPLIFY_ERROR_ABSOLUTE if error_nm is not None else 0)
    n = int(meshoptimizer.simplify(out, idx, pos, target_index_count=3 * int(target_faces),
                                   target_error=PREREDUCE_MAX_ERROR if error_nm is None else float(error_nm),
                                   options=opt))
    del idx, pos
    used, f = compact_faces(out[:n].reshape(-1, 3), len(v))  # np.unique's values, without its sort
    return v[used], f


FRAGMENTED_VERTICES_PER_FACE = 0.6  # see is_fragmented


def is_fragmented(faces: np.ndarray, n_vertices: int) -> bool:
    """True when the mesh is made of many small open pieces (a chunked segmentation): more than
    ``FRAGMENTED_VERTICES_PER_FACE`` used vertices per face. A closed surface has about 0.5 (V - E + F = 2 - 2g,
    E = 1.5 F); open borders add vertices (synthetic chunked merges: 0.65-0.66; the real MICrONS cell: 0.42,
    subdivided 0.48). On such a mesh quadric collapse closes the small pieces and cuts the soma off from its
    neurites, so :func:`decimate` then keeps every open border (meshoptimizer's border lock)."""
    if not len(faces):
        return False
    used = int(np.count_nonzero(np.bincount(np.asarray(faces).reshape(-1), minlength=n_vertices)))
    return used > FRAGMENTED_VERTICES_PER_FACE * len(faces)


FORK_ABOVE_FACES = 1_000_000  # simplify larger inputs in a forked child (see _simplify)


def _simplify(points: np.ndarray, faces: np.ndarray, target: int, agg: int,
              give_up: tuple[int, float, float] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """fast-simplification (points, faces, collapse list or None), in a forked child process above
    ``FORK_ABOVE_FACES`` faces (POSIX; :func:`neurd_lite.mesh.simplify_fork.simplify_forked`, which frees its
    memory on exit and can stop a run foreseen to stall: None when it did, see ``give_up`` there)."""
    if len(faces) <= FORK_ABOVE_FACES or not hasattr(os, "fork"):
        return simplify_here(points, faces, target, agg)
    return simplify_forked(points, faces, target, agg, give_up)


def _maps_from_collapses(vertices: np.ndarray, faces: np.ndarray, collapses: np.ndarray, wf: np.ndarray,
                         w_cent: np.ndarray, w_n: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, cKDTree | None] | None:
    """(input_to_working, working_to_input, input centroids nm, k-d tree over w_cent or None) from
    fast-simplification's collapse list
    (:func:`neurd_lite.mesh.collapse_map.collapse_face_map`); the few input faces of pieces that collapsed away
    go to the nearest working face facing the same way. None when the collapses do not rebuild the working faces."""
    in_cent, in_n = _centroids_normals(vertices, faces)
    return _place_unplaced(collapse_face_map(len(vertices), faces, collapses, wf, w_cent, w_n, in_cent, in_n),
                           in_cent, in_n, w_cent, w_n)


def _place_unplaced(maps: tuple[np.ndarray, np.ndarray, np.ndarray] | None, in_cent: np.ndarray, in_n: np.ndarray,
                    w_cent: np.ndarray, w_n: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, cKDTree | None] | None:
    """The maps of :func:`_maps_from_collapses` from (input_to_working, working_to_input, unplaced input faces):
    the unplaced faces go to the nearest working face facing the same way."""
    if maps is None:
        return None
    in2w, w2in, unplaced = maps
    tree = None
    if len(unplaced):
        tree = cKDTree(w_cent)
        in2w[unplaced] = _nearest_same_way(tree, w_n, in_cent[unplaced], in_n[unplaced], 6)
    return in2w, w2in, in_cent, tree


def _maps_from_clustering(vertices: np.ndarray, faces: np.ndarray, cluster_vmap: np.ndarray, pre_faces: np.ndarray,
                          collapses: np.ndarray | None, wf: np.ndarray, w_cent: np.ndarray, w_n: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, cKDTree | None] | None:
    """The maps of :func:`_maps_from_collapses` after the cluster pre-reduction, read off the clustering
    (cluster_vmap: the (V,) clustered vertex of each input vertex, -1: none; pre_faces: the clustered faces)
    composed with fast-simplification's collapses when it ran on the clustered mesh (collapses None: the clustered
    mesh is the working mesh); :func:`neurd_lite.mesh.collapse_map.vertex_face_map`. working_to_input holds -1
    where no input face is a working face. None when the collapses do not rebuild the working faces."""
    vmap = cluster_vmap
    if collapses is not None:
        got = collapse_vertex_map(int(pre_faces.max()) + 1, pre_faces, collapses, wf)
        if got is None:
            return None
        vmap = np.where(cluster_vmap >= 0, got[0][np.maximum(cluster_vmap, 0)], -1)
    in_cent, in_n = _centroids_normals(vertices, faces)
    return _place_unplaced(vertex_face_map(vmap, faces, wf, w_cent, w_n, in_cent, in_n), in_cent, in_n, w_cent, w_n)


def edge_target_faces(vertices: np.ndarray, faces: np.ndarray, p: DecimateParams,
                      face_areas: np.ndarray | None = None) -> int | None:
    """Working faces asked for the mesh (nm): ``p.target_faces`` when it is an int without ``target_edge_nm``
    (None: no decimation); else the input's area over an equilateral face of mean edge ``target_edge_nm``
    (:data:`AUTO_EDGE_NM` for ``"auto"`` without one), clipped to [floor, ``p.max_target_faces``]: the floor is
    ``p.min_target_faces`` for ``"auto"``, the int ``target_faces`` otherwise (session 16 opt-in).
    face_areas: the (F,) face areas (nm², :func:`face_areas_nm2` of these arrays) when already computed."""
    if p.target_faces is None or (p.target_faces != AUTO and p.target_edge_nm is None):
        return p.target_faces
    auto = p.target_faces == AUTO
    edge = AUTO_EDGE_NM if p.target_edge_nm is None else float(p.target_edge_nm)
    floor = int(p.min_target_faces) if auto else int(p.target_faces)
    area = float((face_areas_nm2(vertices, faces) if face_areas is None else face_areas).sum())
    want = int(round(area / (np.sqrt(3.0) / 4.0 * edge ** 2)))
    return max(floor, min(int(p.max_target_faces), want))


def decimate(vertices: np.ndarray, faces: np.ndarray, params: DecimateParams | None = None,
             face_areas: np.ndarray | None = None, min_edge_nm: float | None = None) -> DecimationResult:
    """Decimate a mesh (nm) to about ``params.target_faces`` faces, keeping face maps both ways.

    Returns the identity result when decimation is disabled or the mesh is already small enough.
    face_areas ((F,) nm², :func:`face_areas_nm2` of these arrays) and min_edge_nm (the shortest face edge): what
    ``load_mesh`` measured, when known (the "auto" size and the weld then skip a pass over the faces).
    """
    p = params or DecimateParams()
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    least = p.min_target_faces if p.target_faces == AUTO else p.target_faces  # the smallest size it can ask for
    if least is None or len(faces) <= max(least, p.min_faces_to_decimate):
        return identity(vertices, faces)
    if least < 4:
        raise InputError(f"decimation target of {least} faces is too small", hint="use at least 1000")
    target = edge_target_faces(vertices, faces, p, face_areas)  # by area for "auto" / target_edge_nm; else target_faces
    if len(faces) <= target:
        return identity(vertices, faces)
    p = replace(p, target_faces=target)
    t0 = time.perf_counter()
    fragmented = (is_fragmented(faces, len(vertices))  # read on the input: a weld would hide seam borders
                  or border_fragmented(vertices, faces, p.fragmented_border_um_per_um2, face_areas))
    welded = weld(vertices, faces, p.weld_nm, p.weld_edges_only, min_edge_nm) if p.weld_nm > 0 else None
    if welded is None:
        return _decimate_to(vertices, faces, p, fragmented, t0)
    wv, corners, kept = welded
    welded_faces = corners[kept]  # uint32 (weld): read as it is by meshoptimizer and as indices by the face map
    if not _prereduces(p, len(welded_faces), fragmented):  # fast-simplification and the collapse map: int64 as ever
        welded_faces = welded_faces.astype(np.int64)
    in2w = dropped_to_kept(welded_faces, len(faces), kept, corners)  # welded face of each input face, -1: none
    del welded, corners  # (F, 3) each: freed before the decimation rather than held through it
    res = _decimate_to(wv, welded_faces, p, fragmented, t0)
    del wv, welded_faces
    lost = np.flatnonzero(in2w < 0)
    in2w[in2w >= 0] = res.input_to_working[in2w[in2w >= 0]]
    if len(lost):  # faces of pieces that welded away entirely: nearest working face facing the same way
        w_cent, w_n = _centroids_normals(res.vertices, res.faces)
        tree = res.centroid_tree if res.centroid_tree is not None else cKDTree(w_cent)
        c, nrm = _centroids_normals(vertices, faces[lost])
        in2w[lost] = _nearest_same_way(tree, w_n, c, nrm, 6)
    w2in, has_cent = kept[res.working_to_input], res.input_centroids is not None
    res = replace(res, input_to_working=None, working_to_input=None, input_centroids=None)  # the welded mesh's
    del kept
    in_cent = face_centroids_nm(vertices, faces) if has_cent else None  # the input's own
    return DecimationResult(res.vertices, res.faces, in2w, w2in, round(time.perf_counter() - t0, 4),
                            res.prereduced_faces, in_cent, res.centroid_tree)


def _prereduces(p: DecimateParams, n_faces: int, fragmented: bool) -> bool:
    """True when :func:`_decimate_to` hands the mesh to meshoptimizer first (:func:`prereduce`; installed), so
    that its faces are only read as indices (the pre-reduction, the face map's chunked gathers)."""
    import importlib.util

    big = p.prereduce_above_faces is not None and n_faces > p.prereduce_above_faces
    return (fragmented or big) and importlib.util.find_spec("meshoptimizer") is not None


def _prereduce_large(vertices: np.ndarray, faces: np.ndarray, p: DecimateParams
                     ) -> tuple[np.ndarray, ...] | None:
    """The meshoptimizer pre-reduction of an input above ``p.prereduce_above_faces`` (nm): to
    ``p.prereduce_to_faces``; with ``p.prereduce_error_nm``, toward the working target but only by collapses that
    move the surface less than that many nm (fast-simplification then does the rest, as for a smaller input),
    and on to ``p.prereduce_above_faces`` when that leaves more (fast-simplification's memory stays that of an
    input of that size); with ``p.prereduce_method="cluster"``, by vertex clustering to ``p.prereduce_to_faces``
    (:func:`neurd_lite.mesh.cluster.cluster_reduce`; with ``p.prereduce_cluster_map`` a third array, the (V,)
    clustered vertex of each input vertex)."""
    if p.prereduce_method == "cluster":
        asked = max(int(p.prereduce_to_faces), int(p.target_faces))
        if p.prereduce_cluster_ratio is not None:
            ceiling = max(asked, int(p.prereduce_above_faces or len(faces)))
            asked = min(max(asked, int(p.prereduce_cluster_ratio * int(p.target_faces))), ceiling)
        return cluster_reduce(vertices, faces, asked, keep_border=p.prereduce_cluster_keep_border,
                              clip_box=p.prereduce_cluster_clip_box, vertex_map=p.prereduce_cluster_map)
    if p.prereduce_error_nm is None:
        return prereduce(vertices, faces, max(int(p.prereduce_to_faces), int(p.target_faces)))
    pre = prereduce(vertices, faces, int(p.target_faces), error_nm=p.prereduce_error_nm)
    if pre is not None and len(pre[1]) > p.prereduce_above_faces:
        pre = prereduce(pre[0], pre[1], max(int(p.prereduce_above_faces), int(p.target_faces)))
    return pre


def _decimate_to(vertices: np.ndarray, faces: np.ndarray, p: DecimateParams, fragmented: bool, t0: float
                 ) -> DecimationResult:
    """The decimation of :func:`decimate` once its target (``p.target_faces``, an int) is set; fragmented:
    :func:`is_fragmented` of the input; t0: the start time (perf_counter) for ``seconds``."""
    # fast-simplification's collapse threshold starts at 1e-9 (squared coordinate units) and grows each pass;
    # in nm the quadric errors of a smooth mesh are so large that it first loops through many empty passes
    # (1M-face synthetic neuron: 16.8 s of CPU in nm, 7.6 s in units of 10 nm, same area). Coarser units
    # (µm) are faster still but lose thin parts of small meshes, so the unit is a parameter.
    origin_nm = vertices.mean(axis=0)
    unit = float(p.simplify_unit_nm)
    sv, sf, n_pre, cluster_vmap = vertices, faces, 0, None
    locked = fragmented and (pre := prereduce(
        vertices, faces, max(int(p.target_faces), int(p.fragmented_target_faces)), lock_border=True)) is not None
    if locked:  # fragmented: the border-locked reduction is the working mesh (it may stay above the target)
        sv, sf = pre
        n_pre = len(sf)
    elif p.prereduce_above_faces is not None and len(faces) > p.prereduce_above_faces:
        pre = _prereduce_large(vertices, faces, p)
        if pre is not None:
            sv, sf = pre[:2]
            cluster_vmap = pre[2] if len(pre) == 3 else None
            if p.prereduce_refit == "prereduced":
                sv = refit_to_input(vertices, faces, sv, sf)
            n_pre = len(sf)
    collapses = None
    if locked or (n_pre and n_pre <= 1.02 * p.target_faces) or len(sf) <= p.target_faces:
        # border-locked, pre-reduced to the target, or already at it (a weld can take the input below it)
        wv = sv
        wf = sf
    else:
        rescues = p.stall_rescue_ratio is not None and not n_pre
        give_up = ((int(p.stall_check_from_pass), p.stall_rescue_ratio * int(p.target_faces), float(p.aggressiveness))
                   if rescues and p.stall_check_from_pass is not None else None)
        out = _simplify((sv - origin_nm) / unit, sf, int(p.target_faces), p.aggressiveness, give_up)
        if out is None or (rescues and len(out[1]) > p.stall_rescue_ratio * p.target_faces):
            # stalled (or given up on early): start again from the input, meshoptimizer first
            del out, sv, sf
            return _decimate_to(vertices, faces, replace(p, prereduce_above_faces=0, stall_rescue_ratio=None,
                                                         prereduce_error_nm=None, prereduce_method="meshoptimizer"),
                                fragmented, t0)
        wv_u, wf, collapses = out
        del out
        wv = np.asarray(wv_u, dtype=np.float64) * unit + origin_nm
    pre_faces = sf if cluster_vmap is not None else None
    del sv, sf
    wf = np.asarray(wf, dtype=np.int64).reshape(-1, 3)
    if len(wf) == 0:
        raise InputError("decimation removed every face", hint="raise target_faces or disable decimation")
    if n_pre and not locked and p.prereduce_refit == "working":
        wv = refit_to_input(vertices, faces, wv, wf)
    w_cent, w_n = _centroids_normals(wv, wf)
    if collapses is not None and not n_pre and p.map_from_collapses:
        maps = _maps_from_collapses(vertices, faces, collapses, wf, w_cent, w_n)
        if maps is not None:
            return DecimationResult(wv, wf, maps[0], maps[1], round(time.perf_counter() - t0, 4), 0, maps[2], maps[3])
    edge_nm = float(np.median(np.linalg.norm(wv[wf[:, 0]] - wv[wf[:, 1]], axis=1)))
    maps = None
    if cluster_vmap is not None and p.prereduce_refit is None:  # the face map read off the clustering
        maps = _maps_from_clustering(vertices, faces, cluster_vmap, pre_faces, collapses, wf, w_cent, w_n)
    del pre_faces, cluster_vmap
    if maps is not None:
        in2w, w2in, in_cent, tree = maps
        w2in = _fill_unchosen(w2in, in_cent, vertices, faces, w_cent, w_n, edge_nm)
        return DecimationResult(wv, wf, in2w, w2in, round(time.perf_counter() - t0, 4), n_pre, in_cent,
                                tree if tree is not None else cKDTree(w_cent))
    tree = cKDTree(w_cent)
    in2w = np.empty(len(faces), dtype=np.int64)
    in_cent = np.empty((len(faces), 3))
    for lo in range(0, len(faces), MAP_CHUNK):  # input faces in blocks: no (F, 3) normal / corner temporaries
        c, nrm = _centroids_normals(vertices, faces[lo:lo + MAP_CHUNK])
        in_cent[lo:lo + len(c)] = c
        in2w[lo:lo + len(c)] = _nearest_same_way(tree, w_n, c, nrm, 6, MAP_BOUND_EDGES * edge_nm)
    w2in = np.full(len(wf), -1, dtype=np.int64)
    w2in[in2w[::-1]] = np.arange(len(faces))[::-1]  # first input face mapped to each working face
    w2in = _fill_unchosen(w2in, in_cent, vertices, faces, w_cent, w_n, edge_nm)
    return DecimationResult(wv, wf, in2w, w2in, round(time.perf_counter() - t0, 4), n_pre, in_cent, tree)


def _fill_unchosen(w2in: np.ndarray, in_cent: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                   w_cent: np.ndarray, w_n: np.ndarray, edge_nm: float) -> np.ndarray:
    """working_to_input with its -1 entries (working faces no input face chose: slivers) set to the nearest input
    face facing the same way (in_cent: (F, 3) input centroids nm; edge_nm: the working mesh's median edge)."""
    missing = np.flatnonzero(w2in < 0)
    if len(missing) >= 1000:  # among all input faces
        w2in[missing] = _nearest_input_same_way(in_cent, vertices, faces, w_cent[missing], w_n[missing], 6,
                                                edge_nm)
    elif len(missing):  # a few: among the input faces in the box around them
        lo, hi = w_cent[missing].min(axis=0) - 1.0, w_cent[missing].max(axis=0) + 1.0
        box = np.flatnonzero(np.all((in_cent >= lo) & (in_cent <= hi), axis=1))
        box_n = _centroids_normals(vertices, faces[box])[1]
        w2in[missing] = box[_nearest_same_way(cKDTree(in_cent[box]), box_n, w_cent[missing], w_n[missing], 6)]
    return w2in

"""Soma detection on raw EM surface meshes (nm) by the depth of the enclosed volume.

The mesh surface is rasterised on a voxel grid (default 0.5 µm), gaps between mesh chunks are sealed by a
~1 µm closing, and the enclosed volume is found by labelling the empty space that reaches the grid border
(flat cuts of the bounding box count as walls, so a soma cut by the imaged volume still encloses space).
The Euclidean distance transform of that volume gives every interior voxel its depth (distance to the
outside). Dendrites are at most ~1.5 µm deep; somata are 2.5-10 µm deep. Connected **cores** of voxels
deeper than ``core_depth_nm`` are soma candidates; a core whose deepest voxel is shallower than
``min_inscribed_radius_nm`` is dropped. A core holding two deep peaks joined by a shallower neck is split
(touching somata). Each soma **body** is the union of the balls centred on its core voxels with their depth
as radius (approximated by nearest-core assignment), so it reaches the membrane but not far into the
dendrites. Bodies that are not round (a thick trunk) or whose boundary is mostly not mesh surface (a tangle of
thin neurites filled in by the closing) are dropped. Input faces whose centroid falls in a body are the soma's
faces: the membrane and the inner surfaces (nucleus), so that no later stage skeletonises the nucleus. Which
of them are membrane is decided by rays (:mod:`.visibility`): ``properties["area_um2"]`` is the membrane
area and ``Soma.membrane_faces`` holds the membrane faces (:func:`soma_surface_faces` recomputes them for a
soma that does not carry them).

Large meshes (a fine grid over ``max_voxels``) are first scanned on a coarse grid; the fine pass then runs on
the mesh cropped around each deep region. Crop planes are walls too, with the large empty regions on them
counted as outside, so neurites cut by a crop do not open the soma to the outside through their lumen.

Because the method works on volume, it ignores face orientation and mesh connectivity (chunked meshes with
thousands of pieces and flipped normals are fine) and it is not fooled by the nucleus surface. Cost: a few
linear passes over grids of bounded size plus a few passes over the faces.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from ...errors import InputError
from ...geometry.meshes import compact_faces, face_centroids_nm
from ...neuron import Soma, SomaExit
from ..voxel_fill import (VoxelGrid, cut_sides, depth_map, make_grid, solid_interior, surface_points,
                         wall_slabs)
from ..params import SomaParams  # noqa: F401 - moved to mesh/params.py, re-exported
from ..visibility import outer_faces
from .extent import ExitVoxels, core_groups, soma_bodies


@dataclass
class SomaVolume:
    """The filled volume of a mesh: grid, solid and outside masks, depth (nm), each face's voxel index and (when
    computed) each face's centroid (nm; read again by the soma's outer-face test)."""

    grid: VoxelGrid
    solid: np.ndarray
    outside: np.ndarray
    surface: np.ndarray
    depth_nm: np.ndarray
    face_ijk: np.ndarray
    timings_s: dict[str, float] = field(default_factory=dict)
    face_centroids: np.ndarray | None = None


def _mesh_arrays(mesh: object) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (nm, float64) and faces (int64) of a trimesh-like object, validated."""
    try:
        v = np.asarray(mesh.vertices, dtype=np.float64)  # type: ignore[attr-defined]
        f = np.asarray(mesh.faces, dtype=np.int64)  # type: ignore[attr-defined]
    except AttributeError as e:
        raise InputError(f"soma detection needs a mesh with vertices and faces, got {type(mesh).__name__}",
                         hint="load it with neurd_lite.load_mesh or trimesh.load") from e
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0 or v.ndim != 2 or v.shape[1] != 3:
        raise InputError(f"soma detection needs a triangle mesh, got vertices {v.shape} and faces {f.shape}",
                         hint="pass a non-empty triangle surface mesh")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError("mesh faces refer to vertices that do not exist", hint="the mesh file is corrupt")
    if not np.all(np.isfinite(v)):
        raise InputError("mesh vertices contain NaN or inf", hint="clean the mesh before soma detection")
    return v, f


def mesh_volume(vertices_nm: np.ndarray, faces: np.ndarray, params: SomaParams,
                min_depth_nm: float | None = None, sides: np.ndarray | None = None,
                crop_sides: np.ndarray | None = None, face_voxels: bool = True) -> SomaVolume:
    """Rasterise, seal and fill the mesh; return the solid and its depth map (nm).

    The depth is exact wherever it is at least ``min_depth_nm`` (default: the smaller of the core depth and
    the minimum inscribed radius); shallower voxels may read 0. Pass 0 for an exact map everywhere.
    sides: (3, 2) bool flat cuts of the bounding box treated as walls (default: detected on these vertices).
    crop_sides: (3, 2) bool sides where the mesh was cropped by a box: walls too, but the large empty regions
    on the crop plane are outside (neurites cut by the crop stay closed, the space around them does not).
    face_voxels: False leaves ``face_ijk`` empty (a pass that reads only the depth; saves a (F, 3, 3) temporary).
    """
    t0 = time.perf_counter()
    pad = int(np.ceil(params.close_radius_nm / params.voxel_nm)) + 2
    grid = make_grid(vertices_nm, params.voxel_nm, pad_voxels=pad, max_voxels=params.max_voxels)
    close_vox = params.close_radius_nm / grid.voxel_nm
    pts = surface_points(vertices_nm, faces, 0.5 * grid.voxel_nm)
    surface = np.zeros(grid.shape, dtype=bool)
    ijk = grid.index(pts)
    surface[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = True
    t1 = time.perf_counter()
    if sides is None:
        sides = cut_sides(vertices_nm, params.cut_tol_nm, params.cut_min_fraction)
    crop = np.zeros((3, 2), dtype=bool) if crop_sides is None else crop_sides
    walls, planes = wall_slabs(grid, vertices_nm, sides | crop) if (sides | crop).any() else (None, [])
    seed_planes = [pl for pl, (ax, side) in zip(planes, np.argwhere(sides | crop)) if crop[ax, side]]
    min_pixels = int(np.ceil(params.min_outside_area_um2 * 1e6 / grid.voxel_nm ** 2))
    solid = solid_interior(surface, close_vox, walls, seed_planes, min_pixels)
    outside = ~solid
    t2 = time.perf_counter()
    if min_depth_nm is None:
        min_depth_nm = min(params.core_depth_nm, params.min_inscribed_radius_nm)
    depth = depth_map(solid, grid.voxel_nm, min_depth_nm)
    if walls is not None:
        solid &= ~walls
        depth[walls] = 0.0
    t3 = time.perf_counter()
    cen = face_centroids_nm(vertices_nm, faces) if face_voxels else None
    face_ijk = grid.index(cen) if face_voxels else np.zeros((0, 3), dtype=np.int64)
    return SomaVolume(grid, solid, outside, surface, depth, face_ijk,
                      {"rasterise": t1 - t0, "fill": t2 - t1, "depth": t3 - t2}, cen)


def _segment_min_depth(depth: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Smallest depth sampled along the voxel segment from a to b (voxel indices)."""
    n = int(np.ceil(np.linalg.norm(b - a))) * 2 + 2
    t = np.linspace(0.0, 1.0, n)[:, None]
    p = np.rint(a[None] * (1 - t) + b[None] * t).astype(np.int64)
    return float(depth[p[:, 0], p[:, 1], p[:, 2]].min())


def _split_core(depth: np.ndarray, core: np.ndarray, params: SomaParams, voxel_nm: float) -> np.ndarray:
    """Label one core (bool crop) into touching somata: 1..k per voxel (0 outside the core).

    Peaks are depth maxima at least ``min_inscribed_radius_nm`` deep and apart; peaks whose joining segment
    stays deeper than ``split_neck_ratio`` of the shallower peak are merged; core voxels go to the peak group
    with the smallest power distance ``|v - p|^2 - depth(p)^2``.
    """
    d = np.where(core, depth, 0.0)
    r_vox = max(1, int(params.min_inscribed_radius_nm / voxel_nm))
    local_max = (d == ndimage.maximum_filter(d, size=2 * r_vox + 1)) & (d >= params.min_inscribed_radius_nm)
    cand = np.argwhere(local_max)
    if len(cand) <= 1:
        return core.astype(np.int32)
    cand = cand[np.argsort(-d[tuple(cand.T)], kind="stable")]
    peaks: list[np.ndarray] = []
    for c in cand:  # non-maximum suppression: a peak must lie outside the inscribed ball of deeper peaks
        if all(np.linalg.norm(c - p) * voxel_nm > d[tuple(p)] for p in peaks):
            peaks.append(c)
    if len(peaks) == 1:
        return core.astype(np.int32)
    parent = list(range(len(peaks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(peaks)):
        for j in range(i + 1, len(peaks)):
            shallow = min(d[tuple(peaks[i])], d[tuple(peaks[j])])
            if _segment_min_depth(d, peaks[i], peaks[j]) >= params.split_neck_ratio * shallow:
                parent[find(j)] = find(i)
    roots = sorted({find(i) for i in range(len(peaks))})
    if len(roots) == 1:
        return core.astype(np.int32)
    group = np.array([roots.index(find(i)) + 1 for i in range(len(peaks))])
    vox = np.argwhere(core)
    P = np.asarray(peaks, dtype=np.float64)
    rp = np.array([d[tuple(p)] / voxel_nm for p in peaks])
    power = ((vox[:, None, :] - P[None]) ** 2).sum(axis=2) - rp[None] ** 2
    out = np.zeros(core.shape, dtype=np.int32)
    out[tuple(vox.T)] = group[np.argmin(power, axis=1)]
    return out


def _face_labels(vol: SomaVolume, body: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
    """Body label of every input face (0 = none), looked up at the face centroid's voxel."""
    lo = np.array([s.start for s in box])
    rel = vol.face_ijk - lo
    ok = np.all((rel >= 0) & (rel < np.asarray(body.shape)), axis=1)
    out = np.zeros(len(vol.face_ijk), dtype=np.int32)
    out[ok] = body[rel[ok, 0], rel[ok, 1], rel[ok, 2]]
    return out


def _make_soma(vol: SomaVolume, body_mask: np.ndarray, box: tuple[slice, ...], face_ids: np.ndarray,
               v: np.ndarray, f: np.ndarray, params: SomaParams, method: str,
               exits: list[SomaExit] | None = None) -> Soma:
    """Assemble a Soma from a body mask (crop) and the input faces (of vertices v, faces f) that fall in it."""
    h = vol.grid.voxel_nm
    lo = np.array([s.start for s in box])
    vox = np.argwhere(body_mask) + lo
    center = vol.grid.centers(vox).mean(axis=0)
    exits = exits or []
    for e in exits:
        u = e.point_nm - center
        e.direction = u / max(float(np.linalg.norm(u)), 1e-9)
    # surface voxels reach ~half a voxel beyond the membrane: count the body's boundary voxels half
    boundary = body_mask & ~ndimage.binary_erosion(body_mask, border_value=0)
    # a soma's outer boundary is membrane; a region filled by the closing between neurites is mostly not
    exposed = boundary & ndimage.binary_dilation(vol.outside[box])
    coverage = float(np.count_nonzero(exposed & vol.surface[box]) / max(1, np.count_nonzero(exposed)))
    volume_nm3 = (len(vox) - 0.5 * np.count_nonzero(boundary)) * h ** 3
    # vol is the volume of (v, f)
    surface = outer_faces(v, f, face_ids, vol.outside, vol.grid, params.outer_reach_nm, params.max_ray_faces,
                          centroids=vol.face_centroids, sample_by_coordinates=params.ray_sample_by_coordinates)
    inscribed = float(vol.depth_nm[tuple(vox.T)].max())
    radius = float((3.0 * volume_nm3 / (4.0 * np.pi)) ** (1.0 / 3.0))
    props = {
        "volume_um3": float(volume_nm3) / 1e9,
        "area_um2": float(_face_areas(v, f[face_ids[surface]]).sum()) / 1e6,  # membrane only
        "inscribed_radius_um": inscribed / 1000.0,
        "roundness": float(inscribed / radius),  # 1 for a ball, lower for elongated bodies
        "membrane_coverage": coverage,
        "n_surface_faces": float(np.count_nonzero(surface)),
        "n_inner_faces": float(np.count_nonzero(~surface)),
        "voxel_um": h / 1000.0,
        "too_large": float(inscribed > params.max_inscribed_radius_nm),
        "too_small": float(inscribed < params.min_inscribed_radius_nm),  # only possible from a given point
        "n_processes": float(len(exits)),
    }
    return Soma(center_nm=center, radius_nm=radius, faces=np.sort(face_ids), method=method, properties=props,
                membrane_faces=np.sort(face_ids[surface]), exits=exits)


def _touches_crop(points_nm: np.ndarray, lo: np.ndarray, hi: np.ndarray, crop: np.ndarray, tol_nm: float) -> bool:
    """Whether points (nm) come within ``tol_nm`` of a side of the box [lo, hi] where the box cuts the mesh."""
    near = np.stack([points_nm.min(axis=0) - lo <= tol_nm, hi - points_nm.max(axis=0) <= tol_nm], axis=1)
    return bool((near & crop).any())


def _crop_mesh(v: np.ndarray, f: np.ndarray, lo: np.ndarray, hi: np.ndarray, sides: np.ndarray,
               candidates: np.ndarray | None = None, bounds: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces with a vertex in the box [lo, hi] (nm), their vertices clipped to the box: (input face ids,
    vertices, re-indexed faces, the full mesh's cut sides that the box still touches, the sides where the box
    cuts the mesh). Clipping lays every cut neurite's surface onto the crop plane, where the crop wall closes
    it, whatever the size of its faces (a cut that stopped at whole faces would leave the lumen open).
    ``candidates``: face ids that hold every face with a vertex in the box (only those are tested); ``bounds``:
    the vertices' (min, max) when known."""
    if candidates is None:
        keep = np.flatnonzero(np.all((v >= lo) & (v <= hi), axis=1)[f].any(axis=1))
    else:
        fv = v[f[candidates]]
        keep = np.sort(candidates[np.all((fv >= lo) & (fv <= hi), axis=2).any(axis=1)])
    used, f_sub = compact_faces(f[keep], len(v))  # np.unique(f[keep], return_inverse=True)'s values, no sort
    vmin, vmax = bounds if bounds is not None else (v.min(axis=0), v.max(axis=0))
    touch = np.stack([lo <= vmin, hi >= vmax], axis=1)
    return keep, np.clip(v[used], lo, hi), f_sub.reshape(-1, 3), sides & touch, ~touch


def _find(v: np.ndarray, f: np.ndarray, p: SomaParams, sides: np.ndarray, crop_sides: np.ndarray | None = None,
          face_index: np.ndarray | None = None, volume_out: list[SomaVolume] | None = None) -> list[Soma]:
    """Single-grid soma detection on vertices/faces (nm); ``face_index`` maps faces to input faces;
    ``volume_out`` (a list) receives the filled volume."""
    vol = mesh_volume(v, f, p, sides=sides, crop_sides=crop_sides)
    if volume_out is not None:
        volume_out.append(vol)
    core = vol.depth_nm >= p.core_depth_nm
    if not core.any():
        return []
    labels, n = ndimage.label(core, structure=np.ones((3, 3, 3), dtype=bool))
    objects = ndimage.find_objects(labels)
    core_labels = np.zeros(vol.grid.shape, dtype=np.int32)
    next_id = 1
    for i, sl in enumerate(objects, start=1):
        sub = labels[sl] == i
        if vol.depth_nm[sl][sub].max() < p.min_inscribed_radius_nm:
            continue
        parts = _split_core(vol.depth_nm[sl], sub, p, vol.grid.voxel_nm)
        view = core_labels[sl]
        view[parts > 0] = parts[parts > 0] + next_id - 1
        next_id += int(parts.max())
    return _somas_from_cores(vol, core_labels, next_id - 1, v, f, p, "volume_depth", face_index)


def _somas_from_cores(vol: SomaVolume, core_labels: np.ndarray, n_cores: int, v: np.ndarray, f: np.ndarray,
                      p: SomaParams, method: str, face_index: np.ndarray | None = None) -> list[Soma]:
    """Grow bodies around labelled cores (1..n_cores) and build one Soma per body that passes the size tests.

    Cores far enough apart not to reach each other's processes are grown separately (small crops); the others
    together, so that touching somata share their boundary. face_index maps the faces ``f`` to input-face ids
    when ``f`` is a crop of the input mesh.
    """
    somas: list[Soma] = []
    for group in core_groups(vol.depth_nm, core_labels, n_cores, vol.grid.voxel_nm):
        relabel = np.zeros(n_cores + 1, dtype=np.int32)
        relabel[group] = np.arange(1, len(group) + 1)
        somas += _somas_of_group(vol, relabel[core_labels], len(group), v, f, p, method, face_index)
    somas.sort(key=lambda s: -s.radius_nm)
    return somas


def _somas_of_group(vol: SomaVolume, core_labels: np.ndarray, n_cores: int, v: np.ndarray, f: np.ndarray,
                    p: SomaParams, method: str, face_index: np.ndarray | None) -> list[Soma]:
    """Somata grown together from cores 1..n_cores (see :func:`_somas_from_cores`)."""
    h = vol.grid.voxel_nm
    while True:  # a peak thinner than twice a process leaving it is a piece of that process (a thick trunk)
        body, box, exit_vox, r0s = soma_bodies(vol.solid, vol.depth_nm, core_labels, n_cores, h, p.core_fraction,
                                               max(p.body_margin_nm, h), p.cap_reach_nm, p.taper_slope_ratio,
                                               p.taper_window_nm)
        flat = [k + 1 for k in range(n_cores)
                if any(e.radius_nm > p.max_exit_ratio * r0s[k] for e in exit_vox[k])]
        if not flat:
            break
        relabel = np.zeros(n_cores + 1, dtype=np.int32)
        kept = [k for k in range(1, n_cores + 1) if k not in flat]
        relabel[kept] = np.arange(1, len(kept) + 1)
        core_labels, n_cores = relabel[core_labels], len(kept)
        if n_cores == 0:
            return []
    face_lab = _face_labels(vol, body, box)
    ring_face = _face_labels(vol, _ring_labels(body.shape, exit_vox), box)
    first_ring = np.cumsum([0] + [len(ex) for ex in exit_vox])
    lo = np.array([s.start for s in box])
    somas = []
    for k in range(1, n_cores + 1):
        face_ids = np.flatnonzero(face_lab == k)
        mask = body == k
        if len(face_ids) < p.min_faces or mask.sum() * h ** 3 / 1e9 < p.min_volume_um3:
            continue
        exits = []
        for j, e in enumerate(exit_vox[k - 1], start=first_ring[k - 1] + 1):
            ef = np.flatnonzero(ring_face == j)
            exits.append(SomaExit(vol.grid.centers(e.ring + lo).mean(axis=0), e.radius_nm, np.zeros(3),
                                  ef if face_index is None else face_index[ef]))
        soma = _make_soma(vol, mask, box, face_ids, v, f, p, method, exits)
        if (soma.properties["roundness"] < p.min_roundness_ratio
                or soma.properties["membrane_coverage"] < p.min_membrane_coverage_ratio):
            continue
        if face_index is not None:
            soma.faces = np.sort(face_index[soma.faces])
            soma.membrane_faces = np.sort(face_index[soma.membrane_faces])
        somas.append(soma)
    return somas


def _ring_labels(shape: tuple[int, ...], exits: list[list[ExitVoxels]]) -> np.ndarray:
    """Label volume of every exit's first layer: 1..n over all somata, soma by soma."""
    lab = np.zeros(shape, dtype=np.int32)
    for j, e in enumerate((e for ex in exits for e in ex), start=1):
        lab[tuple(e.ring.T)] = j
    return lab


def soma_from_point(mesh: object, center_nm: np.ndarray, radius_nm: float | None = None,
                    params: SomaParams | None = None) -> Soma:
    """The soma around a known position (e.g. a nucleus centre), in nm.

    The mesh is cropped to a box around ``center_nm`` (half-size the larger of 30 µm and 3 x ``radius_nm``),
    filled as in :func:`find_somas`, and the deepest interior point within 3 µm of the given centre seeds the
    core: the connected voxels at least 60 % as deep and within twice its depth + 3 µm of the centre (or, when
    ``radius_nm`` is given, within that radius of the centre and at least ``core_depth_nm`` / 2 deep).
    ``properties["too_small"]`` is 1 when the result is shallower than ``min_inscribed_radius_nm`` (the point
    was probably not in a soma). The body, faces and properties are built as in
    :func:`find_somas`; ``properties["offset_from_given_um"]`` is the distance from the given point to the
    returned centre. Raises InputError when the point does not lie in or next to an enclosed volume.
    """
    p = params or SomaParams()
    v, f = _mesh_arrays(mesh)
    c = np.asarray(center_nm, dtype=np.float64).reshape(-1)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise InputError(f"soma centre must be three finite coordinates in nm, got {center_nm!r}")
    if radius_nm is not None and not (np.isfinite(radius_nm) and radius_nm > 0):
        raise InputError(f"soma radius must be a positive length in nm, got {radius_nm!r}")
    half = max(30000.0, 3.0 * (radius_nm or 0.0))
    sides = cut_sides(v, p.cut_tol_nm, p.cut_min_fraction)
    keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, c - half, c + half, sides)
    if len(keep) < p.min_faces:
        raise InputError(f"only {len(keep)} mesh faces lie within {half / 1000:.0f} µm of the given soma centre "
                         f"{np.round(c / 1000, 2).tolist()} µm", hint="check that the centre is in nm and on this mesh")
    vol = mesh_volume(v_sub, f_sub, p, min_depth_nm=0.0, sides=sides_sub, crop_sides=crop_sub)
    seed, depth0 = _deepest_near(vol, c, 3000.0)
    if depth0 <= 0:
        raise InputError(f"the given soma centre {np.round(c / 1000, 2).tolist()} µm is not inside an enclosed part "
                         "of the mesh", hint="pass a point inside the soma, or heal the mesh first")
    grid_pts = np.argwhere(vol.solid)
    dist = np.full(vol.grid.shape, np.inf, dtype=np.float32)
    dist[tuple(grid_pts.T)] = np.linalg.norm(vol.grid.centers(grid_pts) - c, axis=1)
    if radius_nm is None:  # stay near the point: a point in a dendrite must not grow into a nearby soma
        deep = (vol.depth_nm >= 0.6 * depth0) & (dist <= 2.0 * depth0 + 3000.0)
    else:
        deep = (dist <= radius_nm) & (vol.depth_nm >= min(0.5 * p.core_depth_nm, 0.6 * depth0))
    deep[tuple(seed)] = True
    labels, _ = ndimage.label(deep, structure=np.ones((3, 3, 3), dtype=bool))
    core_labels = (labels == labels[tuple(seed)]).astype(np.int32)
    q = replace(p, min_faces=1, min_volume_um3=0.0, min_roundness_ratio=0.0, min_membrane_coverage_ratio=0.0,
                max_exit_ratio=np.inf)
    somas = _somas_from_cores(vol, core_labels, 1, v_sub, f_sub, q, "from_point", face_index=keep)
    if not somas:
        raise InputError("no mesh faces surround the given soma centre", hint="pass a point inside the soma")
    soma = somas[0]
    soma.properties["offset_from_given_um"] = float(np.linalg.norm(soma.center_nm - c)) / 1000.0
    return soma


def soma_surface_faces(mesh: object, soma: Soma, params: SomaParams | None = None) -> np.ndarray:
    """The faces of ``soma.faces`` on the soma membrane (input-face ids), without the inner surfaces
    (nucleus) that ``soma.faces`` also holds. Recomputed on the mesh cropped around the soma (nm)."""
    p = params or SomaParams()
    v, f = _mesh_arrays(mesh)
    ids = np.unique(np.asarray(soma.faces, dtype=np.int64))
    if len(ids) == 0:
        return ids
    centroids = v[f].mean(axis=1)
    pad = p.outer_reach_nm + 5000.0
    lo, hi = centroids[ids].min(axis=0) - pad, centroids[ids].max(axis=0) + pad
    all_sides = cut_sides(v, p.cut_tol_nm, p.cut_min_fraction)
    keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, lo, hi, all_sides)
    vol = mesh_volume(v_sub, f_sub, p, min_depth_nm=np.inf, sides=sides_sub, crop_sides=crop_sub)
    local = np.searchsorted(keep, ids)
    return ids[outer_faces(v_sub, f_sub, local, vol.outside, vol.grid, p.outer_reach_nm, p.max_ray_faces,
                           centroids=vol.face_centroids, sample_by_coordinates=p.ray_sample_by_coordinates)]


def _deepest_near(vol: SomaVolume, c: np.ndarray, within_nm: float) -> tuple[np.ndarray, float]:
    """Voxel index and depth (nm) of the deepest voxel within ``within_nm`` of point c."""
    h = vol.grid.voxel_nm
    ci = vol.grid.index(c[None])[0]
    r = int(np.ceil(within_nm / h))
    lo = np.maximum(ci - r, 0)
    hi = np.minimum(ci + r + 1, vol.grid.shape)
    sub = vol.depth_nm[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    g = np.argwhere(np.ones(sub.shape, dtype=bool)) + lo
    d = sub.reshape(-1).copy()
    d[np.linalg.norm(vol.grid.centers(g) - c, axis=1) > within_nm] = 0.0
    i = int(np.argmax(d))
    return g[i], float(d[i])


def _face_areas(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Area of every face (nm²)."""
    t = v[f]
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)

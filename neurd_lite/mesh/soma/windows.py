"""Soma search on large meshes in local windows (nm): a coarse pass finds regions deep enough for a soma, the
fine grid (``SomaParams.voxel_nm``) runs only in boxes around them, so the voxel size is set in nm and not by the
mesh's bounding box (a merge of several cells spans 500 µm).

A coarse region that no soma found in its box accounts for is looked at again in the same box at the fine voxel
with wider closings (``SomaParams.seal_radii_nm``): the membrane of a chunked mesh has holes about one face wide
where faces were lost at chunk seams, wider than the default 1 µm closing seals. Only somata near such a region
are taken from a retry. When the mesh was decimated (``detail``: the full-resolution mesh and its face map),
a region still unaccounted for is searched on the full-resolution mesh in that box: decimation collapses the small
open pieces a chunked soma membrane is made of, so the working mesh can lose a soma the input holds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ...neuron import Soma
from ..voxel_fill import cut_sides
from .detect import SomaParams, _crop_mesh, _find, _mesh_arrays, _touches_crop, mesh_volume


WINDOW_MARGIN_NM = 10000.0  # a window reaches this far beyond its coarse region (and its depth and one voxel)
PROBE_INSET_NM = 7000.0  # a probe box is its window less this a side (reach: depth + one coarse voxel + 3 µm)


@dataclass(frozen=True)
class DetailMesh:
    """The full-resolution mesh a working mesh was decimated from: vertices (nm), faces, and the working face of
    every full-resolution face (``input_to_working`` of :func:`neurd_lite.mesh.decimate.decimate`)."""

    vertices_nm: np.ndarray
    faces: np.ndarray
    to_working: np.ndarray


@dataclass
class Window:
    """A fine-pass box [lo, hi] (nm), its deepest coarse depth (nm) and the coarse regions it holds: peak
    position (nm) and depth (nm) of each."""

    lo: np.ndarray
    hi: np.ndarray
    depth_nm: float
    peaks_nm: np.ndarray
    peak_depth_nm: np.ndarray


def candidate_windows(v: np.ndarray, f: np.ndarray, p: SomaParams, sides: np.ndarray,
                      margin_nm: float = WINDOW_MARGIN_NM) -> tuple[list[Window], float, list[Window]]:
    """Boxes around the regions of a coarse grid deep enough to hold a soma, deepest first, merged when they
    overlap and their union still fits ``max_voxels`` at ``voxel_nm`` (so the fine pass keeps its resolution
    however many regions a cell has, e.g. along a thick trunk); and the coarse pass's closing radius (nm). The
    coarse grid has ``coarse_voxels`` voxels; a region qualifies when its coarse depth reaches
    ``min_inscribed_radius_nm`` less one coarse voxel (but at least ``coarse_floor_voxels`` voxels). Third:
    the shallower regions of :func:`shallow_regions` (empty unless ``probe_floor_voxels`` > 0 and the threshold
    exceeds ``min_inscribed_radius_nm``: only then can a soma of the smallest size read below it)."""
    h = float(np.cbrt(np.prod(np.ptp(v, axis=0) + 4 * p.close_radius_nm) / p.coarse_voxels))
    h = max(h, p.voxel_nm)
    pc = replace(p, voxel_nm=h, close_radius_nm=max(p.close_radius_nm, h), max_voxels=2 * p.coarse_voxels)
    thr = max(p.min_inscribed_radius_nm - h, p.coarse_floor_voxels * h)
    vol = mesh_volume(v, f, pc, min_depth_nm=0.0, sides=sides, face_voxels=False)
    lab, _ = ndimage.label(vol.depth_nm >= thr, structure=np.ones((3, 3, 3), dtype=bool))
    wins = []
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        d = np.where(lab[sl] == i, vol.depth_nm[sl], -1.0)
        k = np.unravel_index(int(np.argmax(d)), d.shape)
        peak = vol.grid.centers(np.array([[a.start + j for a, j in zip(sl, k)]]))[0]
        reach = float(d[k]) + h + margin_nm
        lo = vol.grid.centers(np.array([[a.start for a in sl]]))[0] - reach
        hi = vol.grid.centers(np.array([[a.stop - 1 for a in sl]]))[0] + reach
        wins.append(Window(lo, hi, float(d[k]), peak[None], np.array([float(d[k])])))
    # only where the floor lifts the threshold above the smallest soma's own depth (h > 1.67 µm at 1.5: big merges)
    probe = p.probe_floor_voxels > 0 and thr > p.min_inscribed_radius_nm
    shallow = shallow_regions(vol, thr, p, margin_nm) if probe else []
    wins = [wins[i] for i in np.argsort([w.depth_nm for w in wins])[::-1]]  # deepest first (its own box first)
    pad = 2 * p.close_radius_nm + 5 * p.voxel_nm

    def fits(lo: np.ndarray, hi: np.ndarray) -> bool:  # the fine grid over the box keeps voxel_nm
        return float(np.prod((hi - lo + pad) / p.voxel_nm)) <= p.max_voxels

    merged = True
    while merged and len(wins) > 1:  # union overlapping boxes while the union still fits the fine grid
        merged = False
        for i in range(len(wins)):
            for j in range(i + 1, len(wins)):
                a, b = wins[i], wins[j]
                u0, u1 = np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi)
                if np.all(a.lo <= b.hi) and np.all(b.lo <= a.hi) and fits(u0, u1):
                    wins[i] = Window(u0, u1, max(a.depth_nm, b.depth_nm), np.vstack([a.peaks_nm, b.peaks_nm]),
                                     np.concatenate([a.peak_depth_nm, b.peak_depth_nm]))
                    del wins[j]
                    merged = True
                    break
            if merged:
                break
    return wins, pc.close_radius_nm, shallow


def shallow_regions(vol: object, thr_nm: float, p: SomaParams, margin_nm: float) -> list[Window]:
    """Boxes (nm) around the coarse regions at least ``probe_floor_voxels`` coarse voxels deep that stay below the
    window threshold ``thr_nm`` (on a coarse grid a small soma reads sqrt(2) voxels deep, like many thick
    dendrites); each keeps its own box (never merged)."""
    g = vol.grid  # type: ignore[attr-defined]
    depth = vol.depth_nm  # type: ignore[attr-defined]
    h = g.voxel_nm
    lab, _ = ndimage.label(depth >= p.probe_floor_voxels * h, structure=np.ones((3, 3, 3), dtype=bool))
    out = []
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        d = np.where(lab[sl] == i, depth[sl], -1.0)
        k = np.unravel_index(int(np.argmax(d)), d.shape)
        if float(d[k]) >= thr_nm:
            continue
        peak = g.centers(np.array([[a.start + j for a, j in zip(sl, k)]]))[0]
        reach = float(d[k]) + h + margin_nm
        lo = g.centers(np.array([[a.start for a in sl]]))[0] - reach
        hi = g.centers(np.array([[a.stop - 1 for a in sl]]))[0] + reach
        out.append(Window(lo, hi, float(d[k]), peak[None], np.array([float(d[k])])))
    return out


@dataclass(frozen=True)
class FaceSlabs:
    """Faces sorted by their smallest vertex x (nm): ``order``, ``x0`` (sorted), ``width`` (the widest face in
    x), so the faces that can reach an x interval are one slice (cheap crops of many small boxes); ``bounds``:
    the vertices' (min, max) (nm)."""

    order: np.ndarray
    x0: np.ndarray
    width: float
    bounds: tuple[np.ndarray, np.ndarray]

    @staticmethod
    def of(v: np.ndarray, f: np.ndarray) -> "FaceSlabs":
        x = v[:, 0][f]
        x0 = x.min(axis=1)
        order = np.argsort(x0, kind="stable")
        return FaceSlabs(order, x0[order], float((x.max(axis=1) - x0).max()) if len(f) else 0.0,
                         (v.min(axis=0), v.max(axis=0)))


def _probe(v: np.ndarray, f: np.ndarray, p: SomaParams, w: Window, sides: np.ndarray, coarse_nm: float,
           slabs: FaceSlabs) -> bool:
    """Whether the fine grid, in a small box around a shallow coarse region (its window box less
    ``PROBE_INSET_NM`` a side), reads a depth of ``min_inscribed_radius_nm`` within one coarse voxel of the
    region's peak: a soma's inscribed ball, which a trunk thinner than the smallest soma lacks."""
    lo, hi = w.lo + PROBE_INSET_NM, w.hi - PROBE_INSET_NM
    cand = slabs.order[np.searchsorted(slabs.x0, lo[0] - slabs.width):np.searchsorted(slabs.x0, hi[0], "right")]
    keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, lo, hi, sides, candidates=cand, bounds=slabs.bounds)
    if len(keep) < p.min_faces:
        return False
    vol = mesh_volume(v_sub, f_sub, p, sides=sides_sub, crop_sides=crop_sub)
    return bool(_enclosed(vol, w.peaks_nm, p.min_inscribed_radius_nm, coarse_nm)[0])


def _unexplained(peaks_nm: np.ndarray, depth_nm: np.ndarray, somas: list[Soma], p: SomaParams,
                 coarse_nm: float) -> np.ndarray:
    """Which coarse regions (peak nm, depth nm) deep enough for a soma (``min_inscribed_radius_nm``) lie in no
    found soma (farther than its radius plus one coarse voxel from its centre): a bool mask over the peaks."""
    out = depth_nm >= p.min_inscribed_radius_nm
    if not somas or not out.any():
        return out
    c = np.array([s.center_nm for s in somas])
    r = np.array([s.radius_nm for s in somas]) + coarse_nm
    d = np.linalg.norm(peaks_nm[:, None] - c[None], axis=2)
    return out & ~(d <= r[None]).any(axis=1)


def _near(somas: list[Soma], peaks_nm: np.ndarray, coarse_nm: float) -> list[Soma]:
    """The somata whose body holds one of the peaks (within radius + one coarse voxel of the centre)."""
    return [s for s in somas
            if np.any(np.linalg.norm(peaks_nm - s.center_nm, axis=1) <= s.radius_nm + coarse_nm)]


def _sealed(v: np.ndarray, f: np.ndarray, p: SomaParams, w: Window, sides: np.ndarray, missing: np.ndarray,
            coarse_nm: float) -> tuple[list[Soma], np.ndarray]:
    """Somata at the missing peaks (nm) found with the wider closings of ``seal_radii_nm`` (face ids of v/f),
    the narrowest closing first, each on a grid of half its radius (at least ``voxel_nm``: the membrane-coverage
    test counts boundary voxels that hold mesh surface, and a grid much finer than the holes reads them as
    bare); a soma found with a closing of radius r must be at least r / ``seal_depth_ratio``
    deep (a closing seals gaps narrower than 2 r and must stay smaller than the body it seals). The peaks still
    missing: a peak that lies inside the filled volume at some radius (sealed) but in no soma is given up (a
    thick trunk or a tangle of neurites; a soma whose membrane is open reads depth 0 at its centre)."""
    keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, w.lo, w.hi, sides)
    out: list[Soma] = []
    if len(keep) < p.min_faces:
        return out, missing
    for r in p.seal_radii_nm:
        if not len(missing):
            break
        q = replace(p, close_radius_nm=max(float(r), p.close_radius_nm), voxel_nm=max(p.voxel_nm, r / 2.0))
        vols: list = []
        new = [s for s in _near(_find(v_sub, f_sub, q, sides_sub, crop_sub, face_index=keep, volume_out=vols),
                                missing, coarse_nm)
               if s.properties["inscribed_radius_um"] * 1000.0 * p.seal_depth_ratio >= r]
        out += new
        missing = missing[_unexplained(missing, np.full(len(missing), np.inf), new, p, coarse_nm)]
        missing = missing[~_enclosed(vols[0], missing, p.voxel_nm, p.voxel_nm)]
        del vols
    return out, missing


def _enclosed(vol: object, peaks_nm: np.ndarray, depth_nm: float, within_nm: float) -> np.ndarray:
    """Whether the filled volume is at least ``depth_nm`` deep within ``within_nm`` of each peak (nm)."""
    g = vol.grid  # type: ignore[attr-defined]
    r = int(np.ceil(within_nm / g.voxel_nm))
    out = np.zeros(len(peaks_nm), dtype=bool)
    for i, ci in enumerate(g.index(peaks_nm)):
        lo, hi = np.maximum(ci - r, 0), np.minimum(ci + r + 1, g.shape)
        sub = vol.depth_nm[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]  # type: ignore[attr-defined]
        out[i] = sub.size > 0 and float(sub.max()) >= depth_nm
    return out


def _to_working(s: Soma, to_working: np.ndarray) -> Soma:
    """A soma found on the full-resolution mesh with its faces given as working-mesh faces."""
    s.faces = np.unique(to_working[s.faces])
    if s.membrane_faces is not None:
        s.membrane_faces = np.unique(to_working[s.membrane_faces])
    for e in s.exits:
        e.faces = np.unique(to_working[e.faces])
    s.properties["from_full_resolution"] = 1.0
    return s


def _accept(somas: list[Soma], found: list[tuple[Soma, np.ndarray]], v: np.ndarray, f: np.ndarray, p: SomaParams,
            w: Window, crop_sub: np.ndarray, detail: DetailMesh | None) -> None:
    """Append to ``somas`` the somata a window found (each with the vertices it was found on) that its crop does
    not cut and that no soma already taken holds."""
    for s, sv in found:
        # a soma cut by the crop is whole in the box of its own deep region; overlapping boxes find a soma
        # more than once: keep the first (boxes come deepest region first)
        sf = f if sv is v else detail.faces  # type: ignore[union-attr]
        if _touches_crop(sv[sf[s.faces]].reshape(-1, 3), w.lo, w.hi, crop_sub, 2.0 * p.voxel_nm):
            continue
        if sv is not v:
            s = _to_working(s, detail.to_working)  # type: ignore[union-attr]
        if all(np.linalg.norm(s.center_nm - o.center_nm) > max(p.min_inscribed_radius_nm, 0.5 * o.radius_nm)
               and np.isin(s.faces, o.faces).mean() < 0.5 for o in somas):
            somas.append(s)


def _unsearched(shallow: list[Window], wins: list[Window], somas: list[Soma], coarse_nm: float,
                p: SomaParams) -> list[Window]:
    """The shallow regions whose peak lies in no soma found (radius plus one coarse voxel) and not at least
    3 ``min_inscribed_radius_nm`` inside a box the fine pass already searched (the smallest somata, elongated,
    reach about twice their inscribed radius from the centre: one that deep in a box was whole there)."""
    inside_nm = 3.0 * p.min_inscribed_radius_nm
    out = []
    for w in shallow:
        pk = w.peaks_nm[0]
        if any(np.all(pk >= b.lo + inside_nm) and np.all(pk <= b.hi - inside_nm) for b in wins):
            continue
        if any(np.linalg.norm(pk - s.center_nm) <= s.radius_nm + coarse_nm for s in somas):
            continue
        out.append(w)
    return out


def find_in_windows(v: np.ndarray, f: np.ndarray, p: SomaParams, sides: np.ndarray,
                    detail: DetailMesh | None = None) -> list[Soma]:
    """Somata of a large mesh (nm) found window by window (see the module docstring), largest first."""

    somas: list[Soma] = []
    wins, coarse_close_nm, shallow = candidate_windows(v, f, p, sides)
    for w in wins:
        keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, w.lo, w.hi, sides)
        if len(keep) < p.min_faces:
            continue
        vols: list = []
        found = [(s, v) for s in _find(v_sub, f_sub, p, sides_sub, crop_sub, face_index=keep, volume_out=vols)]
        missing = w.peaks_nm[_unexplained(w.peaks_nm, w.peak_depth_nm, [s for s, _ in found], p, coarse_close_nm)]
        if len(missing) and vols:  # a region the fine pass encloses but holds no soma is not a soma (a trunk)
            missing = missing[~_enclosed(vols[0], missing, p.voxel_nm, p.voxel_nm)]
        del vols
        if len(missing) and detail is None:
            new, missing = _sealed(v, f, p, w, sides, missing, coarse_close_nm)
            found += [(s, v) for s in new]
        elif len(missing):  # the working mesh is decimated: its lost membrane is not sealed by closing
            dv, df = detail.vertices_nm, detail.faces
            new, missing = _sealed(dv, df, p, w, cut_sides(dv, p.cut_tol_nm, p.cut_min_fraction), missing,
                                   coarse_close_nm)
            found += [(s, dv) for s in new]
        _accept(somas, found, v, f, p, w, crop_sub, detail)
    probes = _unsearched(shallow, wins, somas, coarse_close_nm, p)
    slabs = FaceSlabs.of(v, f) if probes else None
    for w in probes:  # small somata the coarse grid reads shallow
        if not _probe(v, f, p, w, sides, coarse_close_nm, slabs):
            continue
        keep, v_sub, f_sub, sides_sub, crop_sub = _crop_mesh(v, f, w.lo, w.hi, sides)
        if len(keep) >= p.min_faces:
            new = _near(_find(v_sub, f_sub, p, sides_sub, crop_sub, face_index=keep), w.peaks_nm, coarse_close_nm)
            _accept(somas, [(s, v) for s in new], v, f, p, w, crop_sub, detail)
    somas.sort(key=lambda s: -s.radius_nm)
    return somas


def find_somas(mesh: object, params: SomaParams | None = None, detail: "DetailMesh | None" = None) -> list[Soma]:
    """Every soma of a mesh (trimesh.Trimesh or anything with ``vertices``/``faces``, in nm).

    Returns a list of :class:`neurd_lite.neuron.Soma` (centre and equivalent-sphere radius in nm, the input
    faces of the soma: membrane plus inner surfaces such as the nucleus, properties in µm units), largest first; empty when there is none. Raises
    InputError for an unusable mesh. When the grid at ``voxel_nm`` would exceed ``max_voxels`` (whole
    cells), a coarse pass over the whole mesh finds the regions deep enough to hold a soma and the fine
    pass runs on the mesh cropped around each of them (:mod:`.windows`; a region no soma accounts for is
    searched again with wider closings, and on ``detail``, the full-resolution mesh ``mesh`` was decimated from,
    when given: faces are then still faces of ``mesh``).
    """
    p = params or SomaParams()
    v, f = _mesh_arrays(mesh)
    sides = cut_sides(v, p.cut_tol_nm, p.cut_min_fraction)
    fine_voxels = np.prod(np.ceil(np.ptp(v, axis=0) / p.voxel_nm) + 2 * p.close_radius_nm / p.voxel_nm + 5)
    if fine_voxels <= p.max_voxels:
        return _find(v, f, p, sides)
    return find_in_windows(v, f, p, sides, detail)

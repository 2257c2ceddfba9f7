"""The extent of a soma and its boundary with the processes, on the filled volume (nm).

What makes a soma a soma: the thickest, most compact part of the cell, where the processes meet. Its
boundary is where each process leaves it: along a process the local width stops falling the way a closed
body's does and flattens into the slowly tapering width of a neurite. The steps, per soma peak (a depth
maximum of the filled volume, depth ``R0`` = radius of the largest inscribed ball):

1. **Core**: the connected voxels around the peak at least ``core_fraction * R0`` deep. A process thinner
   than that (dendrites, axons, and trunks up to ``core_fraction`` of the soma's inscribed radius) is not in
   the core.
2. **Ball union**: every core voxel's inscribed ball (radius = its depth); for a ball-like soma this is the
   soma exactly, whatever ``core_fraction``. Computed exactly up to one voxel by thresholding the depth in
   one-voxel steps (one distance transform per step on a shrinking box).
3. **Shell**: the solid voxels outside the ball union within ``probe`` of it, in connected pieces. A piece
   that ends within ``cap_reach_nm`` (the tip of an elongated soma, a bump) belongs to the soma; a piece that
   reaches farther is a process.
4. **Taper**: along each process, the radius profile r(s) (largest depth at distance s from the soma) is
   read in one-voxel steps. The soma goes on along the process as long as r falls faster than
   ``taper_slope`` per unit length (the membrane of a closed body curves toward the process axis; a
   neurite's wall is nearly parallel to it: dendrites taper ~0.01, so the knee is where the slope
   flattens). This places the boundary of a teardrop soma at the base of its apical trunk.
5. **Exits**: the first voxel layer of each process beyond the boundary: its centre (exit point), its
   largest depth (exit radius) and direction from the soma centre.

Touching somata (merges) share voxels only where their balls overlap; those go to the soma with the smaller
power distance ``|x - peak|² - R0²``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..voxel_fill import edt

_FULL = np.ones((3, 3, 3), dtype=bool)


@dataclass
class ExitVoxels:
    """One process leaving a soma: its first voxel layer beyond the boundary (crop voxel indices) and its
    radius there (nm, the layer's largest depth)."""

    ring: np.ndarray
    radius_nm: float


def _label_max(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Largest of ``values`` (>= 0) per label 1..n (0 for an empty label), as ``ndimage.maximum`` gives, read
    only at the labelled voxels (``ndimage.maximum`` sorts the whole grid: 0.4 s per call on a 4M-voxel grid)."""
    m = labels > 0
    out = np.zeros(n, dtype=values.dtype)
    np.maximum.at(out, labels[m] - 1, values[m])
    return out


def crop_box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Bounding box of ``mask`` expanded by ``margin`` voxels, as slices."""
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _peak_core(region: np.ndarray, depth: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(core mask, peak voxel, peak depth): the voxels of ``region`` at least ``fraction`` of its deepest voxel's
    depth, connected to that voxel."""
    d = np.where(region, depth, 0.0)
    peak = np.array(np.unravel_index(int(np.argmax(d)), d.shape))
    r0 = float(d[tuple(peak)])
    lab, _ = ndimage.label(d >= fraction * r0, structure=_FULL)
    return lab == lab[tuple(peak)], peak, r0


def _ball_union(core: np.ndarray, depth: np.ndarray, h: float, margin_nm: float) -> np.ndarray:
    """Voxels within (depth + ``margin_nm``) of some core voxel (nm depth, voxel size ``h``): the union of the
    core voxels' inscribed balls, thresholded in one-voxel depth steps (under-covers by less than a voxel)."""
    out = np.zeros(core.shape, dtype=bool)
    d = np.where(core, depth, 0.0)
    levels = np.arange(d[core].min(), d.max() + 1e-6, h)
    for t in levels:
        s = d >= t
        if not s.any():
            break
        reach = t + margin_nm
        box = crop_box(s, int(np.ceil(reach / h)) + 1)
        dist = edt(~s[box]) * h
        out[box] |= dist <= reach
    return out


def _profile_knee(dist_out: np.ndarray, depth: np.ndarray, h: float, slope: float, window_nm: float) -> float:
    """Distance (nm) from the soma at which a process's radius profile stops falling faster than ``slope``.

    dist_out, depth: the process voxels' distance from the soma and depth (nm). The profile is the largest depth
    per one-voxel distance band; the slope is read over ``window_nm``. 0 when it is flat from the start.
    """
    band = np.floor(dist_out / h).astype(np.int64)
    n = int(band.max()) + 1
    r = np.full(n, -np.inf)
    np.maximum.at(r, band, depth)
    for i in range(n - 2, -1, -1):  # a band with no voxel (the first, or a gap) reads the next one's radius
        if not np.isfinite(r[i]):
            r[i] = r[i + 1]
    w = max(2, int(np.ceil(window_nm / h)))
    for k in range(n - w):
        if (r[k] - r[k + w]) / (w * h) < slope:
            return k * h
    return max(0, n - w) * h


def soma_bodies(solid: np.ndarray, depth: np.ndarray, core_labels: np.ndarray, n_cores: int, h: float,
                core_fraction: float, margin_nm: float, cap_reach_nm: float, taper_slope: float,
                taper_window_nm: float) -> tuple[np.ndarray, tuple[slice, ...], list[list[ExitVoxels]], list[float]]:
    """Soma bodies grown from labelled cores (1..n_cores) on a filled grid (``depth`` in nm, voxel ``h`` nm).

    Returns (body label per voxel of the crop, crop slices, each soma's exits, each soma's peak depth nm).
    Voxel coordinates of the exits are relative to the crop.
    """
    r_max = float(_label_max(depth, core_labels, n_cores).max())
    probe = max(cap_reach_nm, 1.5 * r_max)
    box = crop_box(core_labels > 0, int(np.ceil((r_max + probe + margin_nm) / h)) + 2)
    lab, d, sol = core_labels[box], depth[box], solid[box]
    covers, peaks, r0s = [], [], []
    for k in range(1, n_cores + 1):
        core, peak, r0 = _peak_core(lab == k, d, core_fraction)
        covers.append(_ball_union(core, d, h, margin_nm) & sol)
        peaks.append(peak)
        r0s.append(r0)
    body = _resolve(covers, peaks, r0s, h)
    # shell pieces: caps join the soma, processes get a taper extension and an exit
    if n_cores == 1:
        dist_out = edt(body == 0) * h
        owner = np.ones(body.shape, dtype=np.int32)
    else:  # each shell voxel belongs to the nearest body: a dendrite joining two somata is split between them
        dist_out, idx = ndimage.distance_transform_edt(body == 0, return_indices=True)
        dist_out *= h
        owner = body[idx[0], idx[1], idx[2]]
    shell = sol & (body == 0) & (dist_out <= probe)
    pieces, n_pieces = _label_by_owner(shell, owner, n_cores)
    exits: list[list[ExitVoxels]] = [[] for _ in range(n_cores)]
    if n_pieces:
        objs = ndimage.find_objects(pieces)
        for i, sl in enumerate(objs, start=1):
            if sl is None:
                continue
            m = pieces[sl] == i
            do = dist_out[sl][m]
            k = int(owner[sl][m][0])
            vox = np.argwhere(m) + np.array([s.start for s in sl])
            if do.max() < cap_reach_nm:
                body[tuple(vox.T)] = k
                continue
            knee = _profile_knee(do, d[sl][m], h, taper_slope, taper_window_nm)
            inner = do <= knee
            body[tuple(vox[inner].T)] = k
            ring = vox[(do > knee) & (do <= knee + 1.5 * h)]
            if len(ring) == 0:
                continue
            exits[k - 1].append(ExitVoxels(ring=ring, radius_nm=float(d[tuple(ring.T)].max())))
    return body, box, exits, r0s


def _label_by_owner(shell: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Connected pieces of ``shell`` that never mix owners: labelled per owner 1..n, numbered consecutively."""
    out = np.zeros(shell.shape, dtype=np.int32)
    total = 0
    for k in range(1, n + 1):
        lab, m = ndimage.label(shell & (owner == k), structure=_FULL)
        out[lab > 0] = lab[lab > 0] + total
        total += m
    return out, total


def core_groups(depth: np.ndarray, core_labels: np.ndarray, n_cores: int, h: float) -> list[list[int]]:
    """Cores (1..n_cores) in groups whose boxes, grown by 2.5 x their deepest depth (nm; voxel ``h`` nm), overlap:
    the cores of one group can reach each other's processes and are grown together."""
    if n_cores <= 1:
        return [[1]] if n_cores == 1 else []
    objs = ndimage.find_objects(core_labels, max_label=n_cores)
    depth = _label_max(depth, core_labels, n_cores)
    boxes = []
    for sl, d in zip(objs, depth):
        r = int(np.ceil(2.5 * d / h))
        boxes.append((np.array([x.start for x in sl]) - r, np.array([x.stop for x in sl]) + r))
    parent = list(range(n_cores))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n_cores):
        for j in range(i + 1, n_cores):
            if np.all(boxes[i][0] <= boxes[j][1]) and np.all(boxes[j][0] <= boxes[i][1]):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n_cores):
        groups.setdefault(find(i), []).append(i + 1)
    return list(groups.values())


def _resolve(covers: list[np.ndarray], peaks: list[np.ndarray], r0s: list[float], h: float) -> np.ndarray:
    """One body label per voxel (0 none): voxels covered by several somata go to the smallest power distance."""
    body = np.zeros(covers[0].shape, dtype=np.int32)
    count = np.zeros(covers[0].shape, dtype=np.int8)
    for k, c in enumerate(covers, start=1):
        body[c] = k
        count += c
    clash = np.argwhere(count > 1)
    if len(clash):
        P = np.asarray(peaks, dtype=np.float64)
        power = ((clash[:, None, :] - P[None]) ** 2).sum(axis=2) * h * h - np.asarray(r0s)[None] ** 2
        cov = np.stack([c[tuple(clash.T)] for c in covers], axis=1)
        power[~cov] = np.inf
        body[tuple(clash.T)] = np.argmin(power, axis=1) + 1
    return body

"""Random dendritic spines on a synthetic tree: placement, sizes, analytic volumes and surface parts (nm)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .meshing import Tessellation, tube, uv_sphere
from .morphology import SPINY, Tree


@dataclass(frozen=True)
class SpineParams:
    """Spine shape ranges (nm) and how often a spine is stubby (no neck)."""

    neck_radius_nm: tuple[float, float] = (50.0, 100.0)
    neck_length_nm: tuple[float, float] = (400.0, 1100.0)
    head_radius_nm: tuple[float, float] = (200.0, 400.0)
    stubby_head_radius_nm: tuple[float, float] = (200.0, 350.0)
    stubby_fraction: float = 0.15
    stubby_center_offset: float = 0.4  # head centre sits this many head radii outside the shaft surface
    skip_near_soma_nm: float = 4000.0
    interneuron_density_factor: float = 0.1  # interneurons are sparsely spiny


def _interp_frame(points: np.ndarray, radii: np.ndarray, s_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centreline point, unit tangent and radius at arc lengths ``s_nm`` along a polyline."""
    seg = np.diff(points, axis=0)
    ln = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(ln)])
    k = np.clip(np.searchsorted(cum, s_nm, side="right") - 1, 0, len(seg) - 1)
    f = ((s_nm - cum[k]) / ln[k])[:, None]
    return points[k] + f * seg[k], seg[k] / ln[k][:, None], radii[k] + f[:, 0] * (radii[k + 1] - radii[k])


def sample_spines(rng: np.random.Generator, tree: Tree, density_per_um: float,
                  p: SpineParams = SpineParams()) -> pd.DataFrame:
    """Place spines on spiny sections as a Poisson process of ``density_per_um`` per µm of cable.

    Returns one row per spine: ``spine_id``, ``section``, ``compartment``, base on the centreline
    (``base_*_nm``), outward unit direction (``dir_*``), ``shaft_radius_nm``, ``head_x/y/z_nm``,
    ``head_radius_nm``, ``neck_radius_nm``, ``neck_length_nm`` (shaft surface to head surface, 0 when stubby),
    ``is_stubby`` and ``volume_nm3`` (the part outside the shaft: neck cylinder + head sphere, or for a stubby
    spine the spherical cap beyond the shaft surface taken as a plane).
    """
    rows = []
    for si, sec in enumerate(tree.sections):
        if sec.compartment not in SPINY:
            continue
        seg = np.linalg.norm(np.diff(sec.points, axis=0), axis=1)
        length = float(seg.sum())
        lo = p.skip_near_soma_nm if sec.parent < 0 else 0.0
        if length <= lo:
            continue
        n = rng.poisson(density_per_um * (length - lo) / 1000.0)
        if n == 0:
            continue
        s = np.sort(rng.uniform(lo, length, n))
        c, t, r = _interp_frame(sec.points, sec.radii, s)
        u = rng.normal(size=(n, 3))
        u -= np.einsum("ij,ij->i", u, t)[:, None] * t
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        stubby = rng.random(n) < p.stubby_fraction
        hr = np.where(stubby, rng.uniform(*p.stubby_head_radius_nm, n), rng.uniform(*p.head_radius_nm, n))
        nl = np.where(stubby, 0.0, rng.uniform(*p.neck_length_nm, n))
        nr = np.where(stubby, 0.0, rng.uniform(*p.neck_radius_nm, n))
        off = np.where(stubby, p.stubby_center_offset * hr, nl + hr)
        head = c + u * (r + off)[:, None]
        big_h = hr * (1 + p.stubby_center_offset)
        cap = np.pi * big_h**2 * (3 * hr - big_h) / 3.0
        vol = np.where(stubby, cap, 4.0 / 3.0 * np.pi * hr**3 + np.pi * nr**2 * nl)
        for j in range(n):
            rows.append((si, sec.compartment, *c[j], *u[j], r[j], *head[j], hr[j], nr[j], nl[j], bool(stubby[j]),
                         vol[j]))
    cols = ["section", "compartment", "base_x_nm", "base_y_nm", "base_z_nm", "dir_x", "dir_y", "dir_z",
            "shaft_radius_nm", "head_x_nm", "head_y_nm", "head_z_nm", "head_radius_nm", "neck_radius_nm",
            "neck_length_nm", "is_stubby", "volume_nm3"]
    df = pd.DataFrame(rows, columns=cols)
    df.insert(0, "spine_id", np.arange(len(df), dtype=np.int64))
    return df


def _cylinders(a: np.ndarray, b: np.ndarray, radius: np.ndarray, sides: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed straight cylinders from ``a`` to ``b`` (k, 3) with radii (k,), nm: (k, V, 3) vertices, (F, 3) faces."""
    axis = b - a
    u = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    ref = np.where(np.abs(u[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    n1 = np.cross(u, ref)
    n1 /= np.linalg.norm(n1, axis=1, keepdims=True)
    n2 = np.cross(u, n1)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    circle = (np.cos(ang)[None, :, None] * n1[:, None] + np.sin(ang)[None, :, None] * n2[:, None]) * radius[:, None, None]
    verts = np.concatenate([a[:, None] + circle, b[:, None] + circle, a[:, None], b[:, None]], axis=1)
    _, faces = tube(np.array([[0.0, 0, 0], [0, 0, 1]]), np.ones(2), sides)  # same vertex layout, unit template
    return verts, faces


def spine_parts(spines: pd.DataFrame, tess: Tessellation) -> list[tuple[int, str, tuple[np.ndarray, np.ndarray]]]:
    """Closed surface parts of every spine: (spine_id, "spine_head" | "spine_neck", (vertices nm, faces))."""
    sv, sf = uv_sphere(tess.n(tess.head_lon, 6), tess.n(tess.head_lat, 4))
    ids = spines["spine_id"].to_numpy()
    hr = spines["head_radius_nm"].to_numpy()
    head = spines[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    heads = head[:, None] + sv[None] * hr[:, None, None]
    out = [(int(i), "spine_head", (v, sf)) for i, v in zip(ids, heads)]
    neck = ~spines["is_stubby"].to_numpy(bool)
    if neck.any():
        # the neck starts inside the shaft and ends inside the head, so the union joins all three
        base = spines[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()[neck]
        u = spines[["dir_x", "dir_y", "dir_z"]].to_numpy()[neck]
        a = base + u * 0.6 * spines["shaft_radius_nm"].to_numpy()[neck, None]
        b = head[neck] - u * 0.5 * hr[neck, None]
        cv, cf = _cylinders(a, b, spines["neck_radius_nm"].to_numpy()[neck], tess.n(tess.neck_sides, 5))
        out += [(int(i), "spine_neck", (v, cf)) for i, v in zip(ids[neck], cv)]
    return out

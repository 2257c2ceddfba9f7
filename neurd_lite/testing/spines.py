"""Random dendritic spines on a synthetic tree: placement, sizes, analytic volumes and surface parts (nm)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scipy.spatial import cKDTree

from . import exactvec as ev
from .meshing import Tessellation, revolve
from .morphology import SPINY, Tree


@dataclass(frozen=True)
class SpineParams:
    """Spine shape ranges (nm) and how often a spine is stubby (no neck)."""

    neck_radius_nm: tuple[float, float] = (50.0, 100.0)
    neck_length_nm: tuple[float, float] = (500.0, 1500.0)
    head_radius_nm: tuple[float, float] = (200.0, 400.0)
    stubby_head_radius_nm: tuple[float, float] = (200.0, 350.0)
    stubby_fraction: float = 0.15
    stubby_center_offset: float = 0.4  # head centre sits this many head radii outside the shaft surface
    skip_near_soma_nm: float = 4000.0
    min_gap_nm: float = 20.0  # spines closer than this to an earlier spine are dropped (they would intersect)
    interneuron_density_factor: float = 0.1  # interneurons are sparsely spiny


SPINE_SHAPES: dict[str, dict[str, tuple[float, float]]] = {
    # neck radius, neck length (shaft surface to head surface) and head radius ranges, nm
    "default": {"neck_radius_nm": (50.0, 100.0), "neck_length_nm": (500.0, 1500.0), "head_radius_nm": (200.0, 400.0)},
    "thin": {"neck_radius_nm": (40.0, 70.0), "neck_length_nm": (700.0, 1800.0), "head_radius_nm": (130.0, 250.0)},
    "mushroom": {"neck_radius_nm": (60.0, 110.0), "neck_length_nm": (300.0, 900.0), "head_radius_nm": (300.0, 550.0)},
    "filopodia": {"neck_radius_nm": (40.0, 60.0), "neck_length_nm": (1500.0, 3000.0), "head_radius_nm": (70.0, 100.0)},
    "stubby": {"neck_radius_nm": (0.0, 0.0), "neck_length_nm": (0.0, 0.0), "head_radius_nm": (200.0, 350.0)},
    "branched": {"neck_radius_nm": (45.0, 80.0), "neck_length_nm": (400.0, 1200.0), "head_radius_nm": (150.0, 300.0)},
}
"""Spine shape dictionary: ``stubby`` is a sphere sunk into the shaft (no neck); the others are a neck and a
head sphere. ``default`` is the legacy necked shape of :func:`~neurd_lite.testing.synthetic.make_neuron`.
``branched`` has a second neck and head from the same base (``n_heads`` 2, ``*2*`` columns; see
:func:`add_second_branches`)."""


MIN_TUBE_SIDES = 5  # fewest sides a section tube gets (Tessellation.n(tube_sides, 5))
OVERSAMPLE = 1.5  # family spines: candidates per requested spine (overlaps and the spine-free stem are made up)


def _draw_shapes(rng: np.random.Generator, n: int, shapes: dict[str, float]) -> tuple[np.ndarray, ...]:
    """Shape name, head radius, neck length and neck radius (nm) of ``n`` spines drawn from the mix ``shapes``."""
    names = [k for k in shapes if shapes[k] > 0]
    unknown = set(names) - set(SPINE_SHAPES)
    if unknown:
        raise ValueError(f"unknown spine shape(s) {sorted(unknown)}; use {sorted(SPINE_SHAPES)}")
    w = np.array([shapes[k] for k in names], float)
    kind = np.asarray(names, dtype=object)[rng.choice(len(names), n, p=w / w.sum())]
    hr, nl, nr = np.zeros(n), np.zeros(n), np.zeros(n)
    for k in names:
        m = kind == k
        r = SPINE_SHAPES[k]
        hr[m] = rng.uniform(*r["head_radius_nm"], m.sum())
        nl[m] = rng.uniform(*r["neck_length_nm"], m.sum())
        nr[m] = rng.uniform(*r["neck_radius_nm"], m.sum())
    return kind, hr, nl, nr


def _interp_frame(points: np.ndarray, radii: np.ndarray, s_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centreline point, unit tangent and radius at arc lengths ``s_nm`` along a polyline."""
    seg = np.diff(points, axis=0)
    ln = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(ln)])
    k = np.clip(np.searchsorted(cum, s_nm, side="right") - 1, 0, len(seg) - 1)
    f = ((s_nm - cum[k]) / ln[k])[:, None]
    return points[k] + f * seg[k], seg[k] / ln[k][:, None], radii[k] + f[:, 0] * (radii[k + 1] - radii[k])


def sample_spines(rng: np.random.Generator, tree: Tree, density_per_um: float,
                  p: SpineParams = SpineParams(), shapes: dict[str, float] | None = None) -> pd.DataFrame:
    """Place spines on spiny sections as a Poisson process of ``density_per_um`` per µm of cable.

    shapes: a mix of :data:`SPINE_SHAPES` names and weights (None: the legacy mix, ``p.stubby_fraction`` stubby,
    the rest ``default``); each row's ``shape`` names its shape. With ``shapes``, spines are drawn at
    ``OVERSAMPLE`` x the density and the survivors thinned at random to a Poisson count of ``density_per_um``
    times the whole spiny cable, so the realised density matches the request (unless spines run out of room).

    Spines that would touch an earlier spine are dropped, so the realised density is slightly lower.
    Returns one row per spine: ``spine_id``, ``section``, ``compartment``, base on the centreline
    (``base_*_nm``), outward unit direction (``dir_*``), ``shaft_radius_nm``, ``head_x/y/z_nm``,
    ``head_radius_nm``, ``neck_radius_nm``, ``neck_length_nm`` (shaft surface to head surface, 0 when stubby),
    ``is_stubby`` and ``volume_nm3`` of the ideal shape outside the shaft (shaft surface taken as a plane).
    """
    cols: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    spiny_nm = 0.0
    for si, sec in enumerate(tree.sections):
        if sec.compartment not in SPINY:
            continue
        length = float(np.linalg.norm(np.diff(sec.points, axis=0), axis=1).sum())
        lo = p.skip_near_soma_nm if sec.parent < 0 else 0.0
        spiny_nm += length  # plus the edge from the parent point, which the truth's cable counts too
        if sec.parent >= 0:
            spiny_nm += float(ev.norm(sec.points[0] - tree.sections[sec.parent].points[sec.parent_point]))
        rate = density_per_um if shapes is None else density_per_um * OVERSAMPLE
        n = rng.poisson(rate * max(length - lo, 0.0) / 1000.0)
        if n == 0:
            continue
        c, t, r = _interp_frame(sec.points, sec.radii, np.sort(rng.uniform(lo, length, n)))
        u = rng.normal(size=(n, 3))
        u -= np.einsum("ij,ij->i", u, t)[:, None] * t
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        if shapes is None:
            stubby = rng.random(n) < p.stubby_fraction
            hr = np.where(stubby, rng.uniform(*p.stubby_head_radius_nm, n), rng.uniform(*p.head_radius_nm, n))
            nl = np.where(stubby, 0.0, rng.uniform(*p.neck_length_nm, n))
            nr = np.where(stubby, 0.0, rng.uniform(*p.neck_radius_nm, n))
            kinds.append(np.where(stubby, "stubby", "default").astype(object))
        else:
            kind, hr, nl, nr = _draw_shapes(rng, n, shapes)
            stubby = kind == "stubby"
            kinds.append(kind)
        cols.append(np.column_stack([np.full(n, si), c, u, r, hr, nr, nl, stubby]))
    a = np.vstack(cols) if cols else np.zeros((0, 12))
    names = ["section", "base_x_nm", "base_y_nm", "base_z_nm", "dir_x", "dir_y", "dir_z", "shaft_radius_nm",
             "head_radius_nm", "neck_radius_nm", "neck_length_nm", "is_stubby"]
    df = pd.DataFrame(a, columns=names).astype({"section": np.int64, "is_stubby": bool})
    df["shape"] = np.concatenate(kinds) if kinds else np.zeros(0, dtype=object)
    df = df[_non_overlapping(df, p)].reset_index(drop=True)
    if shapes is not None:  # thin the oversampled survivors to the requested density over the whole cable
        target = int(rng.poisson(density_per_um * spiny_nm / 1000.0))
        if len(df) > target:
            df = df.iloc[np.sort(rng.choice(len(df), target, replace=False))].reset_index(drop=True)
    base, u = df[names[1:4]].to_numpy(), df[names[4:7]].to_numpy()
    r, hr, nr, nl = (df[k].to_numpy() for k in names[7:11])
    off = np.where(df.is_stubby, p.stubby_center_offset * hr, nl + hr)
    if shapes is not None:  # family: a stubby head must reach the polygonal tube's flat sides, which lie at
        # r cos(pi / sides) (5 sides at coarse tessellations: 0.81 r, 0.66 um below r on a 3.5 um trunk)
        off = off - np.where(df.is_stubby, r * (1.0 - np.cos(np.pi / MIN_TUBE_SIDES)), 0.0)
    head = base + u * (r + off)[:, None]
    df["head_x_nm"], df["head_y_nm"], df["head_z_nm"] = head.T
    big_h = hr * (1 + p.stubby_center_offset)
    stubby_vol = np.pi * big_h**2 * (3 * hr - big_h) / 3.0
    h0 = hr * (1 - np.sqrt(1 - (nr / hr) ** 2))  # sphere cap below the neck junction
    neck_vol = np.pi * nr**2 * (nl + h0) + 4.0 / 3.0 * np.pi * hr**3 - np.pi * h0**2 * (3 * hr - h0) / 3.0
    df["volume_nm3"] = np.where(df.is_stubby, stubby_vol, neck_vol)
    df.insert(0, "compartment", [tree.sections[i].compartment for i in df["section"]])
    df.insert(0, "spine_id", np.arange(len(df), dtype=np.int64))
    if shapes is not None:
        df = add_second_branches(rng, df, p)
    return df


BRANCH2 = ["dir2_x", "dir2_y", "dir2_z", "head2_x_nm", "head2_y_nm", "head2_z_nm", "head2_radius_nm",
           "neck2_radius_nm", "neck2_length_nm"]


def add_second_branches(rng: np.random.Generator, df: pd.DataFrame, p: SpineParams = SpineParams()) -> pd.DataFrame:
    """Give every ``branched`` spine a second thin branch (neck and head, nm) from the same base, 35-60° off
    the first. A branch that would touch another spine is not added and the spine becomes ``thin``.
    Adds ``n_heads`` and the :data:`BRANCH2` columns (NaN on single spines); ``volume_nm3`` adds the branch's
    ideal volume (the shared bit at the base is counted twice)."""
    df = df.copy()
    df["n_heads"] = 1
    for c in BRANCH2:
        df[c] = np.nan
    idx = np.flatnonzero(df["shape"].to_numpy() == "branched")
    if not len(idx):
        return df
    u = df.loc[idx, ["dir_x", "dir_y", "dir_z"]].to_numpy()
    w = rng.normal(size=u.shape)
    w -= np.einsum("ij,ij->i", w, u)[:, None] * u
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    a = np.deg2rad(rng.uniform(35, 60, len(idx)))
    u2 = np.cos(a)[:, None] * u + np.sin(a)[:, None] * w
    thin = SPINE_SHAPES["thin"]
    hr, nr = rng.uniform(*thin["head_radius_nm"], len(idx)), rng.uniform(*thin["neck_radius_nm"], len(idx))
    nl = rng.uniform(*thin["neck_length_nm"], len(idx)) * 0.8
    pseudo = df.loc[idx].copy()
    pseudo[["dir_x", "dir_y", "dir_z"]] = u2
    pseudo["head_radius_nm"], pseudo["neck_radius_nm"], pseudo["neck_length_nm"] = hr, nr, nl
    both = pd.concat([df, pseudo], ignore_index=True)
    group = np.concatenate([np.arange(len(df)), idx])
    ok = _non_overlapping(both, p, group=group)[len(df):]
    base = df.loc[idx, ["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()
    head = base + u2 * (df.loc[idx, "shaft_radius_nm"].to_numpy() + nl + hr)[:, None]
    vals = np.column_stack([u2, head, hr, nr, nl])
    df.loc[idx[ok], BRANCH2] = vals[ok]
    df.loc[idx[ok], "n_heads"] = 2
    df.loc[idx[~ok], "shape"] = "thin"
    h0 = hr * (1 - np.sqrt(1 - (nr / hr) ** 2))
    vol = np.pi * nr**2 * (nl + h0) + 4.0 / 3.0 * np.pi * hr**3 - np.pi * h0**2 * (3 * hr - h0) / 3.0
    df.loc[idx[ok], "volume_nm3"] += vol[ok]
    return df


def second_branches(spines: pd.DataFrame) -> pd.DataFrame:
    """The second branches of branched spines as plain necked spine rows (for :func:`spine_mesh`)."""
    if "n_heads" not in spines:
        return spines.iloc[:0]
    b = spines[spines["n_heads"] == 2].copy()
    b[["dir_x", "dir_y", "dir_z"]] = b[["dir2_x", "dir2_y", "dir2_z"]].to_numpy()
    b[["head_x_nm", "head_y_nm", "head_z_nm"]] = b[["head2_x_nm", "head2_y_nm", "head2_z_nm"]].to_numpy()
    b["head_radius_nm"], b["neck_radius_nm"] = b["head2_radius_nm"], b["neck2_radius_nm"]
    b["neck_length_nm"], b["is_stubby"] = b["neck2_length_nm"], False
    return b


def _non_overlapping(df: pd.DataFrame, p: SpineParams, n_samples: int = 12, group: np.ndarray | None = None
                     ) -> np.ndarray:
    """Mask keeping each spine unless its axis (sampled, with its local radius) touches an earlier kept spine
    (spines of the same ``group``, branches of one spine, may touch)."""
    n = len(df)
    if n < 2:
        return np.ones(n, dtype=bool)
    base = df[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()
    u = df[["dir_x", "dir_y", "dir_z"]].to_numpy()
    r, hr, nl = df["shaft_radius_nm"].to_numpy(), df["head_radius_nm"].to_numpy(), df["neck_length_nm"].to_numpy()
    stub = df["is_stubby"].to_numpy()
    z_top = np.where(stub, (1 + 2 * p.stubby_center_offset) * hr, nl + 2 * hr)
    f = np.linspace(0, 1, n_samples)
    z = f[None] * z_top[:, None]
    rad = np.where(z >= (z_top - 2 * hr)[:, None], hr[:, None], df["neck_radius_nm"].to_numpy()[:, None])
    pts = (base[:, None] + u[:, None] * (r[:, None] + z)[..., None]).reshape(-1, 3)
    owner = np.repeat(np.arange(n), n_samples)
    rad = rad.reshape(-1)
    pairs = cKDTree(pts).query_pairs(2 * rad.max() + p.min_gap_nm, output_type="ndarray")
    a, b = owner[pairs[:, 0]], owner[pairs[:, 1]]
    d = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
    g = np.arange(n) if group is None else np.asarray(group)
    hit = (g[a] != g[b]) & (d < rad[pairs[:, 0]] + rad[pairs[:, 1]] + p.min_gap_nm)
    conflicts = sorted(zip(np.maximum(a, b)[hit], np.minimum(a, b)[hit]))
    keep = np.ones(n, dtype=bool)
    for later, earlier in conflicts:  # greedy in spine order: drop the later one if the earlier is kept
        if keep[earlier]:
            keep[later] = False
    return keep


def spine_sides(tess: Tessellation) -> int:
    """Number of vertices around a spine's axis for this tessellation."""
    return tess.n(tess.head_lon, 6)


def spine_mesh(spines: pd.DataFrame, tess: Tessellation) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All spines as one mesh of disjoint closed surfaces of revolution (nm).

    Returns vertices, faces, and per face the spine id and whether it belongs to the head (else the neck).
    A necked spine's profile starts inside the shaft, runs along the neck and closes over the head sphere;
    a stubby spine is a sphere. Faces above the neck-head junction are head faces.
    """
    around = spine_sides(tess)
    n_neck, n_head = tess.n(1, 1), tess.n(tess.head_lat, 4)
    out_v, out_f, out_s, out_h = [], [], [], []
    off = 0
    for stubby in (True, False):
        sel = spines[spines["is_stubby"] == stubby]
        if not len(sel):
            continue
        r, hr = sel["shaft_radius_nm"].to_numpy(), sel["head_radius_nm"].to_numpy()
        head_c = np.linalg.norm(sel[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
                                - sel[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy(), axis=1)
        if stubby:
            theta0, z_bottom, neck_z = np.zeros(len(sel)), head_c - hr, np.zeros((len(sel), 0))
            rho_neck = neck_z
        else:
            nr = sel["neck_radius_nm"].to_numpy()
            theta0 = np.arcsin(nr / hr)
            z_bottom = 0.6 * r
            z_j = head_c - hr * np.cos(theta0)
            neck_z = z_bottom[:, None] + (z_j - z_bottom)[:, None] * np.linspace(0, 1, n_neck + 1)[None]
            rho_neck = np.repeat(nr[:, None], n_neck + 1, axis=1)
        th = theta0[:, None] + (np.pi - theta0)[:, None] * np.arange(1, n_head)[None] / n_head
        z = np.hstack([neck_z, head_c[:, None] - hr[:, None] * np.cos(th)])
        rho = np.hstack([rho_neck, hr[:, None] * np.sin(th)])
        base = sel[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()
        u = sel[["dir_x", "dir_y", "dir_z"]].to_numpy()
        v, f, band = revolve(base, u, z_bottom, z, rho, head_c + hr, around)
        n_neck_bands = 0 if stubby else n_neck
        is_head = band > n_neck_bands if not stubby else np.ones(len(f), dtype=bool)
        out_v.append(v.reshape(-1, 3))
        nv = v.shape[1]
        out_f.append((f[None] + off + nv * np.arange(len(sel))[:, None, None]).reshape(-1, 3))
        out_s.append(np.repeat(sel["spine_id"].to_numpy(), len(f)))
        out_h.append(np.tile(is_head, len(sel)))
        off += v.shape[0] * nv
    if not out_v:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.vstack(out_v), np.vstack(out_f), np.concatenate(out_s), np.concatenate(out_h)


def mesh_volumes(spines: pd.DataFrame, verts: np.ndarray, faces: np.ndarray, face_spine: np.ndarray,
                 around: int, p: SpineParams = SpineParams()) -> np.ndarray:
    """(n,) volume (nm³) of each tessellated spine outside its shaft, from the closed spine surfaces.

    The enclosed volume of each closed spine surface (divergence theorem) minus the part inside the shaft,
    taken as a plane: for a necked spine the polygonal neck prism from 0.6 r to r; for a stubby spine the
    ideal embedded share of its sphere.
    """
    tri = verts[faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    vol = np.bincount(face_spine, weights=signed, minlength=len(spines))
    r, hr, nr = (spines[k].to_numpy() for k in ("shaft_radius_nm", "head_radius_nm", "neck_radius_nm"))
    poly_area = 0.5 * around * nr**2 * np.sin(2 * np.pi / around)
    big_h = hr * (1 + p.stubby_center_offset)
    outside_share = np.pi * big_h**2 * (3 * hr - big_h) / 3.0 / (4.0 / 3.0 * np.pi * hr**3)
    return np.where(spines["is_stubby"].to_numpy(bool), vol * outside_share, vol - poly_area * 0.4 * r)

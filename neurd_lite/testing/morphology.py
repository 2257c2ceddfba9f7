"""Random centreline trees of synthetic neurons (nm), with a compartment per section.

A tree is a list of :class:`Section` s: unbranched polylines that start next to a point of their parent
section (or on the soma surface) and carry a radius per point. Orientation follows MICrONS: +y points from
pia toward white matter, so apical dendrites grow toward -y.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeleton.model import Skeleton
from . import exactvec as ev
from .soma_shapes import SomaShape

PIA = np.array([0.0, -1.0, 0.0])  # unit vector toward pia (MICrONS: -y)
PIA_Y_NM = 420e3  # approximate y of the pia in minnie65 (nm); apical trees stop short of it
SPINY = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")


@dataclass(frozen=True)
class MorphologyParams:
    """Sizes of the synthetic trees (all lengths in nm)."""

    step_nm: float = 1000.0
    soma_radius_pyramidal_nm: tuple[float, float] = (6000.0, 8000.0)
    soma_radius_interneuron_nm: tuple[float, float] = (5000.0, 6500.0)
    apical_length_nm: tuple[float, float] = (150_000.0, 300_000.0)
    basal_stem_length_nm: tuple[float, float] = (12_000.0, 30_000.0)
    basal_child_length_nm: tuple[float, float] = (25_000.0, 60_000.0)
    oblique_length_nm: tuple[float, float] = (25_000.0, 60_000.0)
    tuft_length_nm: tuple[float, float] = (25_000.0, 55_000.0)
    axon_length_nm: tuple[float, float] = (120_000.0, 200_000.0)
    collateral_length_nm: tuple[float, float] = (30_000.0, 70_000.0)
    wander_rad: float = 0.07


@dataclass
class Section:
    """One unbranched piece of the tree: (n, 3) points and (n,) radii in nm, proximal to distal.

    parent: index of the parent section (-1 when the section leaves the soma); parent_point: index of the
    parent's point the section starts from (the section's own first point lies one step beyond it).
    """

    points: np.ndarray
    radii: np.ndarray
    compartment: str
    parent: int = -1
    parent_point: int = -1
    bumps: np.ndarray | None = None  # (k, 3) rows (arc length from the first point, height, half-width), nm

    def start_point(self, sections: list["Section"], soma_center: np.ndarray) -> np.ndarray:
        """The attachment point (nm): parent point, or the soma centre for primary sections."""
        if self.parent < 0:
            return soma_center
        return sections[self.parent].points[self.parent_point]


@dataclass
class Tree:
    """A soma (centre and axis-aligned ellipsoid semi-axes in nm, or a general ``soma_shape``) and its sections,
    parents before children."""

    soma_center: np.ndarray
    soma_axes_nm: np.ndarray
    sections: list[Section]
    soma_shape: SomaShape | None = field(default=None)

    @property
    def soma_radius_nm(self) -> float:
        """Radius of the sphere with the soma's volume, nm."""
        if self.soma_shape is not None:
            return self.soma_shape.radius_nm
        return float(np.prod(self.soma_axes_nm) ** (1 / 3))


def _perpendicular(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector perpendicular to the unit vector ``d``."""
    v = rng.normal(size=3)
    v -= ev.dot(v, d) * d
    return ev.unit(v)


def _at_angle(d: np.ndarray, angle_rad: float, rng: np.random.Generator, prefer: np.ndarray | None = None) -> np.ndarray:
    """A unit vector at ``angle_rad`` from unit ``d``; its azimuth leans toward ``prefer`` when given."""
    p = _perpendicular(d, rng)
    if prefer is not None:
        q = prefer - ev.dot(prefer, d) * d
        if ev.norm(q) > 1e-6:
            p = ev.unit(ev.unit(q) + 0.7 * p)
    return ev.unit(np.cos(angle_rad) * d + np.sin(angle_rad) * p)


def axon_origin(tree: Tree, rng: np.random.Generator, hosts: list[int], direction: np.ndarray,
                host_p: float = 0.3) -> tuple[int, int, np.ndarray]:
    """Where an axon starts: from the soma (parent -1), or with probability ``host_p`` from point 3-7 of one of
    the primary sections ``hosts``, leaving it at 35-70 degrees and leaning toward ``direction``. Returns (parent
    section, parent point, start direction)."""
    if hosts and rng.random() < host_p:
        parent = hosts[int(rng.integers(len(hosts)))]
        pp = int(rng.integers(3, 8))
        host_dir = ev.unit(tree.sections[parent].points[pp] - tree.sections[parent].points[pp - 1])
        return parent, pp, _at_angle(host_dir, rng.uniform(0.6, 1.2), rng, prefer=direction)
    return -1, -1, direction


def _walk(rng: np.random.Generator, start: np.ndarray, direction: np.ndarray, length_nm: float,
          radius_nm: tuple[float, float], p: MorphologyParams, bias: np.ndarray | None = None,
          bias_weight: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A persistent random walk of ``length_nm`` from ``start`` (excluded): points and linearly tapered radii, nm."""
    n = max(2, int(round(length_nm / p.step_nm)))
    d = ev.unit(np.asarray(direction, dtype=float))
    pts = np.empty((n, 3))
    pos = np.asarray(start, dtype=float)
    for i in range(n):
        d = d + rng.normal(0.0, p.wander_rad, 3)
        if bias is not None:
            d = d + bias_weight * bias
        d = ev.unit(d)
        pos = pos + d * p.step_nm
        pts[i] = pos
    return pts, np.linspace(radius_nm[0], radius_nm[1], n)


def _soma_surface(tree: Tree, d: np.ndarray) -> np.ndarray:
    """Point (nm) where the ray from the soma centre along unit ``d`` leaves the soma."""
    if tree.soma_shape is not None:
        return tree.soma_shape.surface_point(d)
    t = 1.0 / np.sqrt(np.sum((d / tree.soma_axes_nm) ** 2))
    return tree.soma_center + d * t


def _add(tree: Tree, rng: np.random.Generator, p: MorphologyParams, comp: str, parent: int, parent_point: int,
         direction: np.ndarray, length_nm: float, radius_nm: tuple[float, float], bias: np.ndarray | None = None,
         bias_weight: float = 0.0) -> int:
    """Grow one section from a parent point (or from the soma surface when ``parent`` is -1); return its index."""
    if parent < 0:
        start = _soma_surface(tree, ev.unit(direction)) - ev.unit(direction) * p.step_nm
    else:
        start = tree.sections[parent].points[parent_point]
    pts, rad = _walk(rng, start, direction, length_nm, radius_nm, p, bias, bias_weight)
    tree.sections.append(Section(pts, rad, comp, parent, parent_point))
    return len(tree.sections) - 1


def _branching(tree: Tree, rng: np.random.Generator, p: MorphologyParams, comp: str, parent: int,
               direction: np.ndarray, stem_nm: float, child_nm: tuple[float, float], r0: float, r_tip: float,
               depth: int, p_more: float, bias: np.ndarray | None = None, bias_weight: float = 0.0) -> None:
    """A stem that bifurcates ``depth`` times (each deeper split with probability ``p_more``), radii in nm."""
    r_mid = r0 + (r_tip - r0) * 0.4
    parent_point = -1 if parent < 0 else len(tree.sections[parent].points) - 1
    s = _add(tree, rng, p, comp, parent, parent_point, direction, stem_nm, (r0, r_mid), bias, bias_weight)
    if depth <= 0:
        return
    end_dir = ev.unit(tree.sections[s].points[-1] - tree.sections[s].points[-2])
    for k in range(2):
        d = _at_angle(end_dir, rng.uniform(0.35, 0.75), rng)
        length = rng.uniform(*child_nm)
        if depth > 1 and rng.random() < p_more:
            _branching(tree, rng, p, comp, s, d, length * 0.5, (child_nm[0] * 0.6, child_nm[1] * 0.6),
                       r_mid * 0.85, r_tip, depth - 1, p_more, bias, bias_weight)
        else:
            _add(tree, rng, p, comp, s, len(tree.sections[s].points) - 1, d, length, (r_mid * 0.85, r_tip),
                 bias, bias_weight)


def _axon(tree: Tree, rng: np.random.Generator, p: MorphologyParams, n_collaterals: tuple[int, int],
          from_dendrite_p: float, down: bool) -> None:
    """An axon (radius 0.1-0.25 µm) from the soma or from a dendrite near the soma, with collaterals."""
    def leaves_downward(s: Section) -> bool:
        return not down or (s.points[5] - s.points[0])[1] > 0.2 * ev.norm(s.points[5] - s.points[0])

    dendrites = [i for i, s in enumerate(tree.sections)
                 if s.parent < 0 and s.compartment in ("basal", "dendrite") and leaves_downward(s)]
    direction = np.array([0.0, 1.0, 0.0]) if down else ev.unit(rng.normal(size=3))
    direction = ev.unit(direction + rng.normal(0, 0.25, 3))
    parent, parent_point, direction = axon_origin(tree, rng, dendrites, direction, from_dendrite_p)
    length = rng.uniform(*p.axon_length_nm)
    bias = np.array([0.0, 1.0, 0.0]) if down else None
    main = _add(tree, rng, p, "axon", parent, parent_point, direction, length, (250.0, 130.0), bias, 0.1)
    pts = tree.sections[main].points
    n_col = int(rng.integers(n_collaterals[0], n_collaterals[1] + 1))
    for j in np.sort(rng.choice(np.arange(len(pts) // 4, len(pts) - 5), size=n_col, replace=False)):
        here = ev.unit(pts[j] - pts[j - 1])
        d = _at_angle(here, rng.uniform(0.8, 1.6), rng)
        _add(tree, rng, p, "axon", main, int(j), d, rng.uniform(*p.collateral_length_nm), (120.0, 100.0))


def grow_pyramidal(rng: np.random.Generator, soma_center: np.ndarray, p: MorphologyParams = MorphologyParams(),
                   with_axon: bool = True) -> Tree:
    """A pyramidal tree: basals, an apical shaft toward pia with obliques (80-140° off it) and a tuft, an axon."""
    r = rng.uniform(*p.soma_radius_pyramidal_nm)
    axes = np.array([1.0, 1.2, 1.0]) * r / 1.2 ** (1 / 3)  # pear-like: a little longer along the pia axis
    tree = Tree(np.asarray(soma_center, float), axes, [])
    # apical shaft, leaving the soma top toward pia
    room = tree.soma_center[1] - PIA_Y_NM - 30_000.0  # keep the tuft below the pia
    length = rng.uniform(p.apical_length_nm[0], max(p.apical_length_nm[0], min(p.apical_length_nm[1], room)))
    shaft_len = 0.8 * length
    shaft = _add(tree, rng, p, "apical_shaft", -1, -1, ev.unit(PIA + rng.normal(0, 0.1, 3)), shaft_len,
                 (rng.uniform(1000, 1200), 550.0), PIA, 0.03)
    spts = tree.sections[shaft].points
    # obliques: angle to the shaft's pia-ward direction drawn in 80-140 degrees
    n_obl = int(rng.integers(3, 7))
    idx = np.sort(rng.choice(np.arange(int(0.15 * len(spts)), int(0.7 * len(spts))), n_obl, replace=False))
    for j in idx:
        up = ev.unit(spts[min(j + 2, len(spts) - 1)] - spts[max(j - 2, 0)])
        d = _at_angle(up, np.deg2rad(rng.uniform(85, 135)), rng)
        _add(tree, rng, p, "oblique", shaft, int(j), d, rng.uniform(*p.oblique_length_nm), (500.0, 300.0), d, 0.02)
    # tuft: 2-3 branches from the shaft end, fanning out toward pia, most split once more
    top = ev.unit(spts[-1] - spts[-3])
    for _ in range(int(rng.integers(2, 4))):
        d = _at_angle(top, rng.uniform(0.5, 1.0), rng)
        _branching(tree, rng, p, "apical_tuft", shaft, d, rng.uniform(10_000, 25_000), p.tuft_length_nm,
                   520.0, 300.0, 1 if rng.random() < 0.8 else 0, 0.0, PIA, 0.015)
    # basal dendrites: 4-6 stems around the soma's lateral and lower surface
    n_basal = int(rng.integers(4, 7))
    az0 = rng.uniform(0, 2 * np.pi)
    for k in range(n_basal):
        az = az0 + 2 * np.pi * k / n_basal + rng.normal(0, 0.2)
        tilt = rng.uniform(-0.3, 0.9)  # y component: slightly up to mostly down
        d = ev.unit(np.array([np.cos(az), tilt, np.sin(az)]))
        _branching(tree, rng, p, "basal", -1, d, rng.uniform(*p.basal_stem_length_nm), p.basal_child_length_nm,
                   rng.uniform(800, 1000), 350.0, 2, 0.5)
    if with_axon:
        _axon(tree, rng, p, (2, 4), from_dendrite_p=0.3, down=True)
    return tree


def grow_interneuron(rng: np.random.Generator, soma_center: np.ndarray,
                     p: MorphologyParams = MorphologyParams(), with_axon: bool = True) -> Tree:
    """An interneuron tree: 4-8 ``dendrite`` stems in all directions, a locally branching axon."""
    r = rng.uniform(*p.soma_radius_interneuron_nm)
    tree = Tree(np.asarray(soma_center, float), np.full(3, r), [])
    n = int(rng.integers(4, 9))
    dirs = rng.normal(size=(n, 3))
    for d in dirs:
        _branching(tree, rng, p, "dendrite", -1, ev.unit(d), rng.uniform(*p.basal_stem_length_nm),
                   p.basal_child_length_nm, rng.uniform(600, 900), 300.0, 2, 0.6)
    if with_axon:
        _axon(tree, rng, p, (4, 7), from_dendrite_p=0.4, down=False)
    return tree


def tree_to_skeleton(tree: Tree) -> Skeleton:
    """The tree as a Skeleton (nm): root 0 at the soma centre, ``compartment`` and ``section`` per vertex."""
    verts = [tree.soma_center[None]]
    radius = [np.array([tree.soma_radius_nm])]
    comp = [np.array(["soma"], dtype=object)]
    sec_of = [np.array([-1])]
    edges = []
    offsets = []
    n = 1
    for i, s in enumerate(tree.sections):
        offsets.append(n)
        m = len(s.points)
        first_parent = 0 if s.parent < 0 else offsets[s.parent] + s.parent_point
        idx = np.arange(n, n + m)
        edges.append(np.column_stack([np.concatenate([[first_parent], idx[:-1]]), idx]))
        verts.append(s.points)
        radius.append(s.radii)
        comp.append(np.full(m, s.compartment, dtype=object))
        sec_of.append(np.full(m, i))
        n += m
    return Skeleton(np.concatenate(verts), np.concatenate(edges), np.concatenate(radius), 0,
                    {"compartment": np.concatenate(comp), "section": np.concatenate(sec_of)})


def strahler_orders(sk: Skeleton) -> np.ndarray:
    """(N,) Strahler order of each skeleton vertex (tips 1; +1 where two or more children share the maximum)."""
    kids = sk.children()
    order = np.zeros(sk.n_vertices, dtype=np.int64)
    for v in np.argsort(-sk.distance_to_root_nm, kind="stable"):  # children before parents
        ch = kids[v]
        if len(ch) == 0:
            order[v] = 1
            continue
        o = order[ch]
        top = o.max()
        order[v] = top + 1 if np.count_nonzero(o == top) > 1 else top
    return order


def tree_counts(sk: Skeleton) -> dict[str, int]:
    """Branch, tip and stem counts of a soma-rooted skeleton, and the Strahler order of its neurites.

    A branch is an unbranched run ending at a tip or at a branch point (a non-root vertex with >= 2
    children), so ``n_branches = n_tips + n_branch_points``; a branch's compartment is that of its distal vertex.
    The Strahler order is the maximum over the soma's children (the soma junction itself is not counted).
    """
    kids = sk.children()
    nchild = np.array([len(k) for k in kids])
    nonroot = np.arange(sk.n_vertices) != sk.root
    n_tips = int(np.count_nonzero((nchild == 0) & nonroot))
    n_bp = int(np.count_nonzero((nchild >= 2) & nonroot))
    order = strahler_orders(sk)
    stems = kids[sk.root]
    comp = sk.vertex_properties["compartment"].astype(str)
    ends = np.flatnonzero(((nchild == 0) | (nchild >= 2)) & nonroot)
    by_branch = dict(zip(*np.unique(comp[ends], return_counts=True)))
    by_stem = dict(zip(*np.unique(comp[stems], return_counts=True)))
    return {"n_tips": n_tips, "n_branch_points": n_bp, "n_branches": n_tips + n_bp, "n_stems": len(stems),
            "strahler_order": int(order[stems].max()) if len(stems) else 0,
            "n_branches_by_compartment": {str(k): int(v) for k, v in by_branch.items()},
            "n_stems_by_compartment": {str(k): int(v) for k, v in by_stem.items()}}

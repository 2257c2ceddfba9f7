"""Cortical cell classes of the synthetic family: per-class ranges, one random draw per member, tree growth (nm).

:data:`CLASS_RANGES` holds the ranges a member of each class is drawn from (µm in the ranges, nm in the tree);
:func:`draw_spec` draws one :class:`MemberSpec` from a random generator; :func:`grow_member` grows its tree
(soma body, dendrites, an axon with boutons, varicosities on aspiny dendrites). Frame: minnie65 (+y toward
white matter; pia near y = 420 µm), so apical dendrites grow toward -y.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .arbor import arbor_axon, arbor_dendrites, draw_extra
from . import exactvec as ev
from .morphology import PIA, PIA_Y_NM, MorphologyParams, Tree, _add, _at_angle, _branching, axon_origin
from .soma_shapes import make_soma_shape

Range = tuple[float, float]


@dataclass(frozen=True)
class ClassRanges:
    """Ranges of one cell class (µm unless named otherwise; counts are inclusive integer ranges)."""

    depth_um: Range
    soma_radius_um: Range
    soma_shapes: dict[str, float]
    n_basal: tuple[int, int]
    dendrite_radius_um: Range
    spine_density_per_um: Range
    spine_shapes: dict[str, float]
    inhibitory: bool = False
    apical_p: float = 0.0
    trunk_radius_um: Range = (1.0, 1.5)
    apical_um: Range = (150.0, 300.0)
    n_oblique: tuple[int, int] = (3, 6)
    n_tuft: tuple[int, int] = (2, 3)
    stem_um: Range = (12.0, 30.0)
    child_um: Range = (25.0, 60.0)
    branch_depth: int = 2
    p_more: float = 0.5
    tip_radius_um: Range = (0.3, 0.4)
    varicose_p: float = 0.0
    axon: str = "down"  # down (toward white matter), up (toward pia), local, arbor (testing/arbor.py)
    n_collaterals: tuple[int, int] = (2, 4)
    axon_um: Range = (120.0, 200.0)
    bouton_spacing_um: Range = (4.0, 8.0)
    soma_synapses: Range = (40.0, 90.0)  # expected postsynapses on the soma
    axon_ratio: Range = (0.0, 0.0)  # arbor classes (axon="arbor"): axon / dendrite cable (testing/arbor.py)
    dominant_p: float = 0.0  # arbor classes: probability of one dominant dendrite


PYR_SPINES = {"thin": 0.43, "mushroom": 0.2, "stubby": 0.15, "filopodia": 0.04, "branched": 0.03, "default": 0.15}
IN_SPINES = {"thin": 0.3, "stubby": 0.35, "filopodia": 0.2, "default": 0.15}

CLASS_RANGES: dict[str, ClassRanges] = {
    "l23_pyramidal": ClassRanges((120, 330), (5.5, 8.0), {"round": 0.3, "teardrop": 0.4, "ellipsoid": 0.3},
                                 (4, 7), (0.7, 1.0), (0.8, 2.5), PYR_SPINES, apical_p=1.0,
                                 trunk_radius_um=(0.9, 1.6), apical_um=(100, 250)),
    "l4_pyramidal": ClassRanges((340, 480), (5.0, 7.0), {"round": 0.5, "ellipsoid": 0.3, "teardrop": 0.2},
                                (4, 8), (0.6, 0.9), (0.6, 2.0), PYR_SPINES, apical_p=0.6,
                                trunk_radius_um=(0.8, 1.3), apical_um=(120, 250), n_tuft=(1, 3)),
    "l5_et": ClassRanges((520, 700), (8.5, 13.0), {"teardrop": 0.75, "ellipsoid": 0.25}, (5, 9), (1.0, 1.6),
                         (1.0, 3.0), PYR_SPINES, apical_p=1.0, trunk_radius_um=(2.2, 3.5), apical_um=(300, 480),
                         n_oblique=(4, 8), n_tuft=(3, 5), stem_um=(15, 35), child_um=(30, 70),
                         tip_radius_um=(0.35, 0.5), soma_synapses=(80, 200)),
    "l56_it": ClassRanges((500, 900), (6.0, 9.0), {"round": 0.3, "ellipsoid": 0.3, "teardrop": 0.4}, (4, 8),
                          (0.7, 1.1), (0.5, 2.0), PYR_SPINES, apical_p=1.0, trunk_radius_um=(1.0, 1.8),
                          apical_um=(120, 350), n_oblique=(2, 5), n_tuft=(0, 2)),
    "basket": ClassRanges((150, 800), (4.5, 7.0), {"round": 0.8, "ellipsoid": 0.2}, (4, 9), (0.35, 0.7),
                          (0.05, 0.15), IN_SPINES, inhibitory=True, varicose_p=0.5, axon="local",
                          n_collaterals=(5, 9), axon_um=(80, 150), tip_radius_um=(0.25, 0.35), p_more=0.6,
                          soma_synapses=(150, 300)),
    "martinotti": ClassRanges((300, 800), (5.0, 7.0), {"ellipsoid": 0.5, "elongated": 0.3, "round": 0.2}, (3, 6),
                              (0.4, 0.7), (0.1, 0.5), IN_SPINES, inhibitory=True, varicose_p=0.3, axon="up",
                              n_collaterals=(3, 6), axon_um=(150, 300), tip_radius_um=(0.25, 0.35),
                              soma_synapses=(60, 120)),
    "bipolar": ClassRanges((120, 400), (4.0, 6.0), {"elongated": 0.8, "ellipsoid": 0.2}, (2, 2), (0.35, 0.55),
                           (0.05, 0.1), IN_SPINES, inhibitory=True, varicose_p=0.4, axon="local",
                           n_collaterals=(2, 4), stem_um=(30, 60), child_um=(40, 90), branch_depth=1,
                           tip_radius_um=(0.25, 0.3)),
    "neurogliaform": ClassRanges((60, 500), (4.0, 6.0), {"round": 0.8, "ellipsoid": 0.2}, (7, 12), (0.3, 0.5),
                                 (0.05, 0.1), IN_SPINES, inhibitory=True, varicose_p=0.6, axon="local",
                                 n_collaterals=(6, 10), axon_um=(50, 100), stem_um=(5, 15), child_um=(10, 30),
                                 branch_depth=1, p_more=0.3, tip_radius_um=(0.25, 0.3)),
}
CLASSES = tuple(CLASS_RANGES)
"""The family's classes (members of these are pinned: tests/test_family_arbor.py)."""
EXTRA_CLASS_RANGES: dict[str, ClassRanges] = {
    "pvalb_arbor": ClassRanges((150, 800), (5.0, 7.5), {"round": 0.7, "ellipsoid": 0.3}, (5, 9), (0.4, 0.8),
                               (0.05, 0.15), IN_SPINES, inhibitory=True, varicose_p=0.5, axon="arbor",
                               stem_um=(15, 35), child_um=(60, 130), branch_depth=3, p_more=0.6,
                               tip_radius_um=(0.25, 0.35), soma_synapses=(150, 300), axon_ratio=(1.5, 6.5),
                               dominant_p=0.25),
    "sst_arbor": ClassRanges((300, 800), (5.0, 7.0), {"ellipsoid": 0.5, "elongated": 0.3, "round": 0.2}, (3, 7),
                             (0.4, 0.8), (0.1, 0.5), IN_SPINES, inhibitory=True, varicose_p=0.3, axon="arbor",
                             stem_um=(15, 35), child_um=(60, 130), branch_depth=2, p_more=0.6,
                             tip_radius_um=(0.25, 0.35), soma_synapses=(60, 120), axon_ratio=(1.5, 6.5),
                             dominant_p=0.4),
    "ndnf_arbor": ClassRanges((40, 600), (4.0, 6.0), {"round": 0.8, "ellipsoid": 0.2}, (5, 10), (0.3, 0.6),
                              (0.05, 0.1), IN_SPINES, inhibitory=True, varicose_p=0.6, axon="arbor",
                              stem_um=(8, 20), child_um=(25, 60), branch_depth=2, p_more=0.4,
                              tip_radius_um=(0.25, 0.3), axon_ratio=(2.5, 6.5), dominant_p=0.6),
    "pyr_arbor": ClassRanges((120, 480), (5.5, 8.0), {"round": 0.3, "teardrop": 0.4, "ellipsoid": 0.3}, (4, 8),
                             (0.7, 1.0), (0.8, 2.5), PYR_SPINES, apical_p=1.0, trunk_radius_um=(0.9, 1.6),
                             apical_um=(100, 250), axon="arbor", axon_ratio=(1.2, 4.0)),
    "pyr_local_axon": ClassRanges((120, 600), (5.5, 8.5), {"round": 0.3, "teardrop": 0.4, "ellipsoid": 0.3},
                                  (4, 8), (0.6, 1.0), (0.6, 2.5), PYR_SPINES, apical_p=1.0,
                                  trunk_radius_um=(0.8, 1.6), apical_um=(100, 300), n_tuft=(1, 3), axon="arbor",
                                  axon_ratio=(0.2, 4.0)),
}
"""Interneurons with real-sized local axons and (``pyr_arbor``) L2/3-L4 pyramids with the local axon arbor the
traced cajal pyramids carry (1.2-3.7 x the dendrite's cable) (``testing/arbor.py``, session 11); ``pyr_local_axon``
(session 12): L2/3-L5 pyramids whose local axon is anywhere from 0.2 x (the family's pyramids) to 4 x (cajal's L4
cells) the dendrite's cable, so axon size alone does not tell a pyramid from an interneuron. Drawn and grown
only when asked for by name (the compartment models' training set); not in :data:`CLASSES`."""
EXTRA_CLASSES = tuple(EXTRA_CLASS_RANGES)
CLASS_RANGES.update(EXTRA_CLASS_RANGES)


@dataclass(frozen=True)
class MemberSpec:
    """One member's drawn morphology (nm, per µm for densities). Change fields with ``dataclasses.replace``."""

    cls: str
    soma_center_nm: np.ndarray
    soma_radius_nm: float
    soma_shape: str
    n_basal: int
    dendrite_radius_nm: float
    tip_radius_nm: float
    spine_density_per_um: float
    spine_shapes: dict[str, float]
    inhibitory: bool
    apical: bool
    trunk_radius_nm: float
    apical_length_nm: float
    n_oblique: int
    n_tuft: int
    varicose: bool
    axon: str
    n_collaterals: int
    axon_length_nm: float
    bouton_spacing_nm: float
    soma_synapses: float = 60.0
    with_axon: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def n_primary(self) -> int:
        """Processes leaving the soma, axon included when it leaves the soma (its origin is drawn at growth)."""
        return self.n_basal + int(self.apical)


def draw_spec(rng: np.random.Generator, cls: str) -> MemberSpec:
    """Draw one member of class ``cls`` (see :data:`CLASS_RANGES`)."""
    if cls not in CLASS_RANGES:
        raise ValueError(f"unknown cell class {cls!r}; use one of {CLASSES}")
    c = CLASS_RANGES[cls]
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    i = lambda r: int(rng.integers(r[0], r[1] + 1))  # noqa: E731
    shapes = list(c.soma_shapes)
    w = np.array([c.soma_shapes[s] for s in shapes])
    depth = u(c.depth_um) * 1000.0
    center = np.array([rng.uniform(400e3, 900e3), PIA_Y_NM + depth, rng.uniform(700e3, 1000e3)])
    apical = bool(rng.random() < c.apical_p)
    room = depth - 30_000.0
    apical_len = min(u(c.apical_um) * 1000.0, max(room, 60_000.0))
    spec = MemberSpec(cls=cls, soma_center_nm=center, soma_radius_nm=u(c.soma_radius_um) * 1000.0,
                      soma_shape=str(rng.choice(shapes, p=w / w.sum())), n_basal=i(c.n_basal),
                      dendrite_radius_nm=u(c.dendrite_radius_um) * 1000.0, tip_radius_nm=u(c.tip_radius_um) * 1000.0,
                      spine_density_per_um=float(np.exp(rng.uniform(*np.log(c.spine_density_per_um)))),
                      spine_shapes=dict(c.spine_shapes), inhibitory=c.inhibitory, apical=apical,
                      trunk_radius_nm=u(c.trunk_radius_um) * 1000.0 if apical else 0.0,
                      apical_length_nm=apical_len if apical else 0.0, n_oblique=i(c.n_oblique), n_tuft=i(c.n_tuft),
                      varicose=bool(rng.random() < c.varicose_p), axon=c.axon, n_collaterals=i(c.n_collaterals),
                      axon_length_nm=u(c.axon_um) * 1000.0, bouton_spacing_nm=u(c.bouton_spacing_um) * 1000.0,
                      soma_synapses=u(c.soma_synapses))
    if c.axon == "arbor":  # extra draws after the ordinary ones (arbor classes only)
        spec = replace(spec, extra=draw_extra(rng, cls, c.axon_ratio, c.dominant_p))
    return spec


def _soma(rng: np.random.Generator, m: MemberSpec) -> Tree:
    axis = ev.unit(PIA + rng.normal(0, 0.08, 3))
    shape = make_soma_shape(rng, m.soma_shape, m.soma_center_nm, m.soma_radius_nm, axis,
                            tip_radius_nm=m.trunk_radius_nm or 0.3 * m.soma_radius_nm)
    return Tree(np.asarray(m.soma_center_nm, float), shape.axes_nm.copy(), [], soma_shape=shape)


def _apical(tree: Tree, rng: np.random.Generator, p: MorphologyParams, m: MemberSpec, cr: ClassRanges) -> None:
    """Apical shaft along the soma's axis toward pia, obliques (85-135° off it) and a tuft."""
    d0 = tree.soma_shape.axis if tree.soma_shape.kind == "teardrop" else ev.unit(PIA + rng.normal(0, 0.1, 3))
    end_r = max(0.3 * m.trunk_radius_nm, 450.0)
    shaft = _add(tree, rng, p, "apical_shaft", -1, -1, d0, 0.8 * m.apical_length_nm, (m.trunk_radius_nm, end_r),
                 PIA, 0.03)
    spts = tree.sections[shaft].points
    lo, hi = int(0.12 * len(spts)), int(0.7 * len(spts))
    n_obl = min(m.n_oblique, hi - lo)
    obl_r = min(0.45 * m.trunk_radius_nm, 800.0)
    for j in np.sort(rng.choice(np.arange(lo, hi), n_obl, replace=False)):
        up = ev.unit(spts[min(j + 2, len(spts) - 1)] - spts[max(j - 2, 0)])
        d = _at_angle(up, np.deg2rad(rng.uniform(85, 135)), rng)
        _add(tree, rng, p, "oblique", shaft, int(j), d, rng.uniform(*cr.child_um) * 1000.0,
             (obl_r, m.tip_radius_nm), d, 0.02)
    top = ev.unit(spts[-1] - spts[-3])
    for _ in range(m.n_tuft):
        d = _at_angle(top, rng.uniform(0.5, 1.0), rng)
        _branching(tree, rng, p, "apical_tuft", shaft, d, rng.uniform(10_000, 25_000),
                   (25_000.0, 55_000.0), end_r * 0.95, m.tip_radius_nm, 1 if rng.random() < 0.8 else 0, 0.0,
                   PIA, 0.015)


def _dendrites(tree: Tree, rng: np.random.Generator, p: MorphologyParams, m: MemberSpec, cr: ClassRanges) -> None:
    comp = "basal" if not m.inhibitory else "dendrite"
    child = (cr.child_um[0] * 1000.0, cr.child_um[1] * 1000.0)
    if m.cls == "bipolar":  # two dendrites at the poles of the long axis
        ax = tree.soma_shape.axis
        dirs = [ax, -ax]
    elif comp == "basal":  # around the lateral and lower surface
        az0 = rng.uniform(0, 2 * np.pi)
        az = az0 + 2 * np.pi * np.arange(m.n_basal) / m.n_basal + rng.normal(0, 0.2, m.n_basal)
        tilt = rng.uniform(-0.3, 0.9, m.n_basal) if m.apical else rng.uniform(-0.8, 0.8, m.n_basal)
        dirs = [ev.unit(np.array([np.cos(a), t, np.sin(a)])) for a, t in zip(az, tilt)]
    else:
        dirs = [ev.unit(v) for v in _spread(rng, m.n_basal)]
    for d in dirs:
        _branching(tree, rng, p, comp, -1, ev.unit(d + rng.normal(0, 0.05, 3)), rng.uniform(*cr.stem_um) * 1000.0,
                   child, m.dendrite_radius_nm * rng.uniform(0.85, 1.15), m.tip_radius_nm, cr.branch_depth,
                   cr.p_more)


def _spread(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` roughly evenly spread random unit vectors (best of a few random draws by minimum angle)."""
    best, score = None, -1.0
    for _ in range(12):
        v = rng.normal(size=(n, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        g = v @ v.T - 2 * np.eye(n)
        s = -g.max() if n > 1 else 1.0
        if s > score:
            best, score = v, s
    return best


def _axon(tree: Tree, rng: np.random.Generator, p: MorphologyParams, m: MemberSpec) -> None:
    """An axon (radius 0.1-0.25 µm) from the soma (or near it on a dendrite) with collaterals."""
    if m.axon == "down":
        direction, bias = ev.unit(np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.25, 3)), np.array([0.0, 1.0, 0.0])
    elif m.axon == "up":
        direction, bias = ev.unit(PIA + rng.normal(0, 0.3, 3)), PIA
    else:
        direction, bias = ev.unit(rng.normal(size=3)), None
    hosts = [i for i, s in enumerate(tree.sections) if s.parent < 0 and s.compartment in ("basal", "dendrite")
             and len(s.points) > 8]
    parent, pp, direction = axon_origin(tree, rng, hosts, direction)
    weight = 0.1 if bias is not None else 0.0
    main = _add(tree, rng, p, "axon", parent, pp, direction, m.axon_length_nm, (250.0, 130.0), bias, weight)
    pts = tree.sections[main].points
    cand = np.arange(len(pts) // 4 if m.axon != "up" else len(pts) // 2, len(pts) - 5)
    n_col = min(m.n_collaterals, len(cand))
    for j in np.sort(rng.choice(cand, size=n_col, replace=False)):
        here = ev.unit(pts[j] - pts[j - 1])
        d = _at_angle(here, rng.uniform(0.8, 1.6), rng)
        _add(tree, rng, p, "axon", main, int(j), d, rng.uniform(30_000, 70_000), (120.0, 100.0))


def _bumps(rng: np.random.Generator, length_nm: float, spacing_nm: float, height_nm: Range, half_width_nm: Range,
           skip_nm: float = 0.0) -> np.ndarray:
    """(k, 3) Gaussian bumps (arc length, height, half-width; nm) about every ``spacing_nm`` along a section."""
    s = skip_nm + np.cumsum(rng.uniform(0.6, 1.4, int(length_nm / spacing_nm) + 2) * spacing_nm)
    s = s[s < length_nm - 1000.0]
    return np.column_stack([s, rng.uniform(*height_nm, len(s)), rng.uniform(*half_width_nm, len(s))])


def add_beads(tree: Tree, rng: np.random.Generator, m: MemberSpec) -> pd.DataFrame:
    """Boutons on every axon section and varicosities on aspiny dendrites (``m.varicose``), as radius bumps.

    Returns the bouton table: ``bouton_id, section, x_nm, y_nm, z_nm`` (centreline point) and ``radius_nm``.
    """
    rows = []
    for i, s in enumerate(tree.sections):
        seg = np.linalg.norm(np.diff(s.points, axis=0), axis=1)
        length = float(seg.sum())
        if s.compartment == "axon":
            skip = 30_000.0 if s.parent < 0 or tree.sections[s.parent].compartment != "axon" else 0.0
            b = _bumps(rng, length, m.bouton_spacing_nm, (250.0, 500.0), (450.0, 800.0), skip)
            s.bumps = b
            cum = np.concatenate([[0.0], np.cumsum(seg)])
            for k, (at, h, _) in enumerate(b):
                pos = np.array([np.interp(at, cum, s.points[:, j]) for j in range(3)])
                rows.append((i, k, *pos, float(np.interp(at, cum, s.radii)) + h))
        elif m.varicose and s.compartment == "dendrite":
            r = float(np.mean(s.radii))
            s.bumps = _bumps(rng, length, rng.uniform(3000.0, 7000.0), (0.3 * r, 0.8 * r), (700.0, 1400.0))
    df = pd.DataFrame(rows, columns=["section", "k", "x_nm", "y_nm", "z_nm", "radius_nm"])
    df.insert(0, "bouton_id", np.arange(len(df), dtype=np.int64))
    return df.drop(columns="k")


def flare_roots(tree: Tree, rng: np.random.Generator) -> None:
    """Widen processes where they leave the soma, as real ones do: dendrites flare (radius x 1.3-1.8 at the
    soma, decaying over 2-4 µm), the axon leaves through a hillock (radius 0.6-1.2 µm decaying over 1.5-3 µm).
    A trunk leaving a teardrop's taper is left alone (the taper is its flare)."""
    teardrop = tree.soma_shape is not None and tree.soma_shape.kind == "teardrop"
    for s in tree.sections:
        if s.parent >= 0 or (teardrop and s.compartment == "apical_shaft"):
            continue
        d = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(s.points, axis=0), axis=1))])
        if s.compartment == "axon":
            s.radii = np.maximum(s.radii, rng.uniform(600.0, 1200.0) * np.exp(-d / rng.uniform(1500.0, 3000.0)))
        else:
            s.radii = s.radii * (1.0 + rng.uniform(0.3, 0.8) * np.exp(-d / rng.uniform(2000.0, 4000.0)))


def grow_member(rng: np.random.Generator, m: MemberSpec, p: MorphologyParams = MorphologyParams()
                ) -> tuple[Tree, pd.DataFrame]:
    """Grow the tree of member ``m``: soma body, apical (if any), dendrites, axon, boutons and varicosities.

    Returns the tree and the bouton table (see :func:`add_beads`); primary processes flare at the soma
    (:func:`flare_roots`).
    """
    cr = CLASS_RANGES[m.cls]
    tree = _soma(rng, m)
    arbor = cr.axon == "arbor"  # testing/arbor.py: interneuron dendrites and the local axon arbor
    if m.apical:
        _apical(tree, rng, p, m, cr)
    if arbor and m.inhibitory:
        arbor_dendrites(tree, rng, p, m, cr, [ev.unit(v) for v in _spread(rng, m.n_basal)])
    else:
        _dendrites(tree, rng, p, m, cr)
    if m.with_axon:
        (arbor_axon if arbor else _axon)(tree, rng, p, m)
    flare_roots(tree, rng)
    return tree, add_beads(tree, rng, m)


__all__ = ["CLASSES", "CLASS_RANGES", "EXTRA_CLASSES", "ClassRanges", "MemberSpec", "draw_spec", "grow_member"]

"""One labelled surface from one or more synthetic cells: closed parts, their union, per-face truth (nm).

Every source triangle (of the soma, a section tube or a spine) carries its truth (compartment, label, section,
spine, bouton, cell). The union (or plain concatenation) reports for each output face its source part and the
triangle index inside it, so each output face looks its truth up in the concatenated source arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import exactvec as ev
from .meshing import Tessellation, concatenate_parts, resample, tube, uv_sphere
from .smooth_refine import union_one_cpu
from .morphology import Tree
from .spines import second_branches, spine_mesh

TRUTH_KEYS = ("compartment", "labels", "spine", "section", "bouton", "cell")


@dataclass
class PartSet:
    """Closed parts (vertices nm, faces) with per-face truth, and one mesh of disjoint spine surfaces."""

    parts: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    truth: list[dict[str, np.ndarray]] = field(default_factory=list)
    extra_v: list[np.ndarray] = field(default_factory=list)
    extra_f: list[np.ndarray] = field(default_factory=list)
    extra_truth: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, v: np.ndarray, f: np.ndarray, **truth: np.ndarray) -> None:
        self.parts.append((v, f))
        self.truth.append(truth)

    def extend(self, other: "PartSet") -> None:
        self.parts += other.parts
        self.truth += other.truth
        self.extra_v += other.extra_v
        self.extra_f += other.extra_f
        self.extra_truth += other.extra_truth

    def extra(self) -> tuple[np.ndarray, np.ndarray]:
        """All spine pieces as one mesh."""
        if not self.extra_v:
            return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
        offs = np.cumsum([0] + [len(v) for v in self.extra_v])
        return np.vstack(self.extra_v), np.vstack([f + o for f, o in zip(self.extra_f, offs[:-1])])

    def n_faces(self) -> int:
        return sum(len(f) for _, f in self.parts) + sum(len(f) for f in self.extra_f)


def _fill(n: int, compartment: str, label: str | np.ndarray, section: int, cell: int,
          spine: np.ndarray | None = None, bouton: np.ndarray | None = None) -> dict[str, np.ndarray]:
    lab = np.full(n, label, dtype=object) if isinstance(label, str) else np.asarray(label, dtype=object)
    return {"compartment": np.full(n, compartment, dtype=object), "labels": lab,
            "spine": np.full(n, -1, np.int64) if spine is None else spine,
            "section": np.full(n, section, np.int64), "bouton": np.full(n, -1, np.int64) if bouton is None else bouton,
            "cell": np.full(n, cell, np.int64)}


def section_polyline(tree: Tree, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A section's points prefixed with its attachment (inside the soma for primary sections), and radii (nm)."""
    s = tree.sections[i]
    if s.parent < 0:
        attach = tree.soma_center + (s.points[0] - tree.soma_center) * 0.6
        r0 = s.radii[0]
    else:
        attach = tree.sections[s.parent].points[s.parent_point]
        r0 = min(s.radii[0], tree.sections[s.parent].radii[s.parent_point])
    return np.vstack([attach, s.points]), np.concatenate([[r0], s.radii])


def _bumped(pts: np.ndarray, rad: np.ndarray, bumps: np.ndarray | None, first_nm: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Radii with Gaussian bumps added (rows: arc length from the section's first point, height, half-width),
    and each ring's bump index (-1 none: farther than the half-width from every bump centre)."""
    which = np.full(len(pts), -1, np.int64)
    if bumps is None or not len(bumps):
        return rad, which
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]) - first_nm
    d = (s[:, None] - bumps[None, :, 0]) / bumps[None, :, 2]
    rad = rad + (bumps[None, :, 1] * np.exp(-d**2)).sum(axis=1)
    near = np.abs(d) < 1.0
    which[near.any(axis=1)] = np.argmax(near, axis=1)[near.any(axis=1)]
    return rad, which


def cell_parts(tree: Tree, spines: pd.DataFrame, tess: Tessellation, cell: int = 0,
               spine_offset: int = 0, bouton_offsets: np.ndarray | None = None) -> PartSet:
    """The soma, one tube per section (with its bumps) and the spine mesh of one cell, with per-face truth.

    spine_offset is added to spine ids (merges number spines across cells); bouton_offsets[i] is added to the
    bump index of section i so bouton ids are global (boutons are bumps on axon sections).
    """
    ps = PartSet()
    if tree.soma_shape is not None:
        sv, sf = tree.soma_shape.mesh(tess)
    else:
        sv, sf = uv_sphere(tess.n(tess.soma_lon, 8), tess.n(tess.soma_lat, 6))
        sv = tree.soma_center + sv * tree.soma_axes_nm
    ps.add(sv, sf, **_fill(len(sf), "soma", "soma", -1, cell))
    spacing = tess.tube_ring_spacing_nm / tess.scale
    for i, s in enumerate(tree.sections):
        pts, rad = section_polyline(tree, i)
        first = float(ev.norm(pts[1] - pts[0]))
        step = spacing if s.bumps is None or not len(s.bumps) else min(spacing, 0.5 * float(s.bumps[:, 2].min()))
        pts, rad = resample(pts, rad, step)
        rad, ring_bump = _bumped(pts, rad, s.bumps, first)
        sides = tess.n(tess.tube_sides if s.compartment != "axon" else 6, 5)
        v, f = tube(pts, rad, sides)
        band = np.concatenate([np.repeat(np.arange(len(pts) - 1), 2 * sides), np.full(2 * sides, -1)])
        if s.compartment == "axon" and bouton_offsets is not None:
            lo, hi = ring_bump[np.maximum(band, 0)], ring_bump[np.maximum(band, 0) + 1]
            b = np.where((band >= 0) & (lo >= 0) & (lo == hi), lo + bouton_offsets[i], -1)
        else:
            b = None
        ps.add(v, f, **_fill(len(f), s.compartment, s.compartment, i, cell, bouton=b))
    b2 = second_branches(spines)
    if len(b2):  # second branches overlap their first one: a part of the boolean, not a disjoint spine piece
        v, f, sid, head = spine_mesh(b2, tess)
        row = spines.set_index("spine_id").loc[sid]
        t = _fill(len(f), "", np.where(head, "spine_head", "spine_neck"), 0, cell, spine=sid.astype(np.int64)
                  + spine_offset)
        t["compartment"], t["section"] = row["compartment"].to_numpy().astype(object), row["section"].to_numpy()
        ps.add(v, f, **t)
    spv, spf, sp_spine, sp_head = spine_mesh(spines, tess)
    if len(spf):
        comp = spines["compartment"].to_numpy().astype(object)[sp_spine]
        sec = spines["section"].to_numpy()[sp_spine]
        ps.extra_v.append(spv)
        ps.extra_f.append(spf)
        t = _fill(len(spf), "", np.where(sp_head, "spine_head", "spine_neck"), 0, cell,
                  spine=sp_spine.astype(np.int64) + spine_offset)
        t["compartment"], t["section"] = comp, sec.astype(np.int64)
        ps.extra_truth.append(t)
    return ps


def drop_cavities(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove closed inner shells (negative signed volume: tiny voids a union can enclose between three
    overlapping parts) and unused vertices. Returns vertices, faces and the kept face indices."""
    from scipy import sparse
    from scipy.sparse import csgraph

    e = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]]])
    g = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(len(verts), len(verts)))
    _, lab = csgraph.connected_components(g, directed=False)
    comp = lab[faces[:, 0]]
    tri = verts[faces] - verts[faces].mean(axis=(0, 1))
    vol = np.bincount(comp, weights=np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])))
    keep = np.flatnonzero(vol[comp] > 0)
    used, inv = np.unique(faces[keep], return_inverse=True)
    return verts[used], inv.reshape(-1, 3), keep


def build_surface(ps: PartSet, origin: np.ndarray, union: bool = True, refine: int = 1, cavities: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Union (or concatenate) the parts; returns vertices (nm), faces and per-face truth (``TRUTH_KEYS``).
    cavities=False drops closed inner shells of the union (see :func:`drop_cavities`)."""
    extra = ps.extra()
    if union:
        verts, faces, part, fid = union_one_cpu(ps.parts, origin, extra, refine)
    else:
        verts, faces, part, fid = concatenate_parts(ps.parts, extra=extra)
    offs = np.cumsum([0] + [len(f) for _, f in ps.parts])
    src = np.where(part >= 0, offs[np.maximum(part, 0)] + fid, offs[-1] + fid)
    truth = {}
    for k in TRUTH_KEYS:
        chunks = [t[k] for t in ps.truth] + [t[k] for t in ps.extra_truth]
        truth[k] = np.concatenate(chunks)[src]
    if union and not cavities:
        verts, faces, keep = drop_cavities(verts, faces)
        truth = {k: v[keep] for k, v in truth.items()}
    return verts, faces, truth


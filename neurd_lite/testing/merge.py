"""Placing grown synthetic cells so that they touch in one place (nm): a dendrite on a dendrite, an axon on a
dendrite, or two axons. The touching tubes overlap, so the union fuses them into one surface (a merge error).

The new cell keeps the cortical orientation (it only turns about the pia axis) and is moved so that a chosen
point of its own process lies on a chosen point of an already placed cell, offset sideways so the two tubes
overlap by about half their radii. Placements that bring the cells within ``clearance_nm`` anywhere else are
refused, so each merge has exactly the contacts recorded in the truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from . import exactvec as ev
from .morphology import PIA, Tree, tree_to_skeleton

DENDRITIC = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")
CONTACTS = ("dendrite", "axon", "axon_axon")


@dataclass(frozen=True)
class MergeParams:
    """Contact search settings (nm)."""

    min_path_from_soma_nm: float = 25_000.0  # contact points lie at least this far (along the tree) from the soma
    clearance_nm: float = 4_000.0  # other parts of the cells stay this far apart (surface to surface)
    contact_zone_nm: float = 15_000.0  # skeleton points this close to the contact may touch
    spine_free_nm: float = 6_000.0  # spines this close to a contact are removed (spine pieces must not collide)
    overlap: float = 0.5  # centrelines sit (1 - overlap) x (r_a + r_b) apart at the contact
    tries: int = 400
    tip_contact_nm: float = 0.0  # > 0: both contact points lie within this (along the tree) of their farthest tip


def _rot_about_pia(angle: float) -> np.ndarray:
    """Rotation by ``angle`` (radians) about the minnie65 pia axis (y)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def move_tree(tree: Tree, rot: np.ndarray, shift: np.ndarray) -> None:
    """In place: every point p of the tree goes to ``c + rot (p - c) + shift`` (c the soma centre, nm)."""
    c = np.asarray(tree.soma_center, float).copy()
    f = lambda p: (np.asarray(p, float) - c) @ rot.T + c + shift  # noqa: E731
    for s in tree.sections:
        s.points = f(s.points)
    if tree.soma_shape is not None:
        from dataclasses import replace

        tree.soma_shape = replace(tree.soma_shape, center=f(tree.soma_shape.center),
                                  rotation=rot @ tree.soma_shape.rotation)
    tree.soma_center = f(tree.soma_center)


SPINE_POINTS = [["base_x_nm", "base_y_nm", "base_z_nm"], ["head_x_nm", "head_y_nm", "head_z_nm"],
                ["head2_x_nm", "head2_y_nm", "head2_z_nm"]]
SPINE_DIRS = [["dir_x", "dir_y", "dir_z"], ["dir2_x", "dir2_y", "dir2_z"]]


def move_table(df: pd.DataFrame | None, groups: list[list[str]], dirs: list[list[str]], rot: np.ndarray,
               c: np.ndarray, shift: np.ndarray) -> None:
    """In place: point column groups go to ``c + rot (p - c) + shift``; direction column groups are rotated.
    Groups whose columns the table lacks are skipped."""
    if df is None or not len(df):
        return
    for cols in groups:
        if cols[0] in df:
            df[cols] = (df[cols].to_numpy() - c) @ rot.T + c + shift
    for cols in dirs:
        if cols[0] in df:
            df[cols] = df[cols].to_numpy() @ rot.T


def _candidates(tree: Tree, kinds: tuple[str, ...], p: MergeParams) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton points (nm) of the given compartments far enough from the soma, and their radii."""
    sk = tree_to_skeleton(tree)
    comp = sk.vertex_properties["compartment"].astype(str)
    ok = np.isin(comp, kinds) & (sk.distance_to_root_nm >= p.min_path_from_soma_nm)
    if p.tip_contact_nm > 0:  # an end-on contact: its farthest tip within tip_contact_nm (a short fork may lie between)
        ok &= _reach_beyond_nm(sk) <= p.tip_contact_nm
    return sk.vertices[ok], sk.radius[ok]


def _reach_beyond_nm(sk) -> np.ndarray:
    """(N,) longest path (nm, along the tree) from each skeleton vertex to a tip beyond it."""
    d = np.asarray(sk.distance_to_root_nm, float)
    far = d.copy()
    kids = sk.children()
    for v in np.argsort(-d, kind="stable"):  # children before parents
        if len(kids[v]):
            far[v] = max(far[v], float(far[kids[v]].max()))
    return far - d


def _points(tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    sk = tree_to_skeleton(tree)
    return sk.vertices, sk.radius


def place(rng: np.random.Generator, placed: list[Tree], new: Tree, kind: str, p: MergeParams = MergeParams()
          ) -> dict:
    """Find a rotation about pia and a shift of ``new`` so it touches one placed tree once; apply it (in place).

    kind: ``"dendrite"`` (a dendrite of ``new`` on a dendrite of a placed cell), ``"axon"`` (the axon of
    ``new`` on a placed dendrite) or ``"axon_axon"`` (the axon of ``new`` on a placed axon). Returns the
    contact: ``with_cell``, ``point_nm``, ``rotation``, ``shift_nm``, ``radii_nm``.
    """
    if kind not in CONTACTS:
        raise ValueError(f"contact kind must be one of {CONTACTS}, got {kind!r}")
    mine = DENDRITIC if kind == "dendrite" else ("axon",)
    theirs = ("axon",) if kind == "axon_axon" else DENDRITIC
    cand_new, rad_new = _candidates(new, mine, p)
    if not len(cand_new):
        raise ValueError(f"the new cell has no {kind} far enough from its soma to make a contact")
    others = [(_candidates(t, theirs, p), _points(t), t) for t in placed]
    c_new = np.asarray(new.soma_center, float)
    pts_new, r_new = _points(new)
    for _ in range(p.tries):
        j = int(rng.integers(len(placed)))
        (cp, cr), (pts_o, r_o), t_o = others[j]
        if not len(cp):
            continue
        a = int(rng.integers(len(cp)))
        rot = _rot_about_pia(rng.uniform(0, 2 * np.pi))
        q_all = (cand_new - c_new) @ rot.T + c_new
        out_o = cp[a] - t_o.soma_center
        out_n = q_all - c_new
        cosang = (out_n @ out_o) / (np.linalg.norm(out_n, axis=1) * np.linalg.norm(out_o) + 1e-9)
        good = np.flatnonzero(cosang < -0.5)
        if not len(good):
            continue
        b = int(rng.choice(good))
        side = np.cross(out_o, PIA)
        side = side / (ev.norm(side) + 1e-9)
        gap = (1.0 - p.overlap) * (cr[a] + rad_new[b])
        shift = cp[a] + side * gap - q_all[b]
        moved = (pts_new - c_new) @ rot.T + c_new + shift
        if _clean(moved, r_new, placed, others, cp[a], new, rot, shift, p):
            move_tree(new, rot, shift)
            return {"with_cell": j, "point_nm": cp[a].copy(), "rotation": rot, "shift_nm": shift,
                    "radii_nm": (float(cr[a]), float(rad_new[b]))}
    raise RuntimeError(f"no clean {kind} contact found in {p.tries} tries")


def _clean(moved: np.ndarray, r_new: np.ndarray, placed: list[Tree], others: list, contact: np.ndarray,
           new: Tree, rot: np.ndarray, shift: np.ndarray, p: MergeParams) -> bool:
    """True when the moved cell comes near the placed cells only within the contact zone."""
    far_new = np.linalg.norm(moved - contact, axis=1) > p.contact_zone_nm
    soma_new = new.soma_center + shift
    ext_new = new.soma_shape.extent_nm if new.soma_shape is not None else float(np.max(new.soma_axes_nm))
    for t, (_, (pts_o, r_o), _) in zip(placed, others):
        ext_o = t.soma_shape.extent_nm if t.soma_shape is not None else float(np.max(t.soma_axes_nm))
        if ev.norm(soma_new - t.soma_center) < 3 * (ext_o + ext_new):
            return False
        far_o = np.linalg.norm(pts_o - contact, axis=1) > p.contact_zone_nm
        reach = float(np.nanmax(r_o)) + float(np.nanmax(r_new)) + p.clearance_nm
        tree_o = cKDTree(pts_o[far_o])
        for i, near in enumerate(tree_o.query_ball_point(moved[far_new], reach)):
            if near:
                k = np.flatnonzero(far_new)[i]
                d = np.linalg.norm(pts_o[far_o][near] - moved[k], axis=1)
                if np.any(d < r_o[far_o][near] + r_new[k] + p.clearance_nm):
                    return False
        # nothing of the new cell inside the other soma (and the reverse)
        if np.any(np.linalg.norm(moved - t.soma_center, axis=1) < ext_o + p.clearance_nm):
            return False
        if np.any(np.linalg.norm(pts_o - soma_new, axis=1) < ext_new + p.clearance_nm):
            return False
    return True


def spines_clear_of(spines: pd.DataFrame, own: int, trees: list[Tree], contacts: list[np.ndarray],
                    p: MergeParams = MergeParams()) -> np.ndarray:
    """Mask of spines of cell ``own`` that stay away from every contact point and from the other cells' tubes."""
    if not len(spines):
        return np.ones(0, bool)
    base = spines[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()
    head = spines[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    keep = np.ones(len(spines), bool)
    for c in contacts:
        keep &= np.linalg.norm(base - c, axis=1) > p.spine_free_nm
    for k, t in enumerate(trees):
        if k == own:
            continue
        pts, rad = _points(t)
        d, i = cKDTree(pts).query(head)
        keep &= d > rad[i] + spines["head_radius_nm"].to_numpy() + 1000.0
    return keep


def skeleton_vertex_cell(n, face_cell: np.ndarray) -> np.ndarray:
    """(N,) true cell of each skeleton vertex of a decomposed merge ``n``: the cell owning most of the input faces
    mapped to it (``face_cell``: (F,) true cell per input face, -1 unknown); -1 where no face maps."""
    f2s = np.asarray(n.face_to_skeleton, np.int64)
    ok = (f2s >= 0) & (face_cell >= 0)
    cnt = np.zeros((n.skeleton.n_vertices, int(face_cell.max()) + 1))
    np.add.at(cnt, (f2s[ok], face_cell[ok]), 1)
    return np.where(cnt.sum(1) > 0, cnt.argmax(1), -1)

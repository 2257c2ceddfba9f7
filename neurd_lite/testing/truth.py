"""Ground-truth tables of a synthetic tree: cable per compartment, spine densities, sections, face anchors (nm)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..skeleton.model import Skeleton
from . import exactvec as ev
from .morphology import PIA, SPINY, Tree, tree_counts


def cable_by_compartment(sk: Skeleton) -> dict[str, float]:
    """Cable length per compartment (nm); edges from the root (inside the soma) count as ``soma``; plus ``total``."""
    comp = sk.vertex_properties["compartment"]
    e = sk.edges
    child = np.where(sk.parent[e[:, 0]] == e[:, 1], e[:, 0], e[:, 1])
    parent = np.where(child == e[:, 0], e[:, 1], e[:, 0])
    lab = np.where(parent == sk.root, "soma", comp[child]).astype(str)
    out = {str(c): float(sk.edge_lengths_nm[lab == c].sum()) for c in np.unique(lab)}
    out["total"] = float(sk.edge_lengths_nm.sum())
    return out


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = float(ev.dot(a, b) / (ev.norm(a) * ev.norm(b)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def sections_table(tree: Tree, sk: Skeleton) -> pd.DataFrame:
    """One row per section: compartment, parent, skeleton vertex range, length (nm, from the attachment point),
    radii (nm), angle to the parent's distal direction at the attachment and angle to pia (degrees)."""
    rows = []
    sec_of = sk.vertex_properties["section"]
    for i, s in enumerate(tree.sections):
        idx = np.flatnonzero(sec_of == i)
        start = s.start_point(tree.sections, tree.soma_center)
        pts = np.vstack([start, s.points])
        d0 = s.points[min(3, len(s.points) - 1)] - s.points[0]
        if s.parent >= 0:
            pp = tree.sections[s.parent].points
            j = s.parent_point
            parent_dir = pp[min(j + 2, len(pp) - 1)] - pp[max(j - 2, 0)]
            angle = _angle_deg(d0, parent_dir)
        else:
            angle = np.nan
        rows.append({"section": i, "compartment": s.compartment, "parent_section": s.parent,
                     "first_vertex": int(idx[0]), "last_vertex": int(idx[-1]),
                     "length_nm": float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()),
                     "radius_start_nm": float(s.radii[0]), "radius_end_nm": float(s.radii[-1]),
                     "angle_to_parent_deg": angle, "angle_to_pia_deg": _angle_deg(d0, PIA)})
    return pd.DataFrame(rows)


def tree_truth(tree: Tree, sk: Skeleton, spines: pd.DataFrame) -> dict[str, Any]:
    """Known totals: cable per compartment (nm), spine counts and densities (per µm), tree counts, soma."""
    cable = cable_by_compartment(sk)
    n_by = spines["compartment"].value_counts().to_dict() if len(spines) else {}
    dens = {c: n_by.get(c, 0) / (cable[c] / 1000.0) for c in cable if c in SPINY and cable[c] > 0}
    spiny_um = sum(cable[c] for c in cable if c in SPINY) / 1000.0
    dens["all_dendrite"] = len(spines) / spiny_um if spiny_um else 0.0
    return {"cable_length_nm": cable, "n_spines": int(len(spines)),
            "n_spines_by_compartment": {str(k): int(v) for k, v in n_by.items()},
            "spine_density_per_um": dens, **tree_counts(sk),
            "soma_center_nm": tree.soma_center.copy(), "soma_radius_nm": tree.soma_radius_nm,
            "sections": sections_table(tree, sk)}


def spine_skeleton_vertex(sk: Skeleton, spines: pd.DataFrame) -> np.ndarray:
    """(n,) skeleton vertex of each spine's section nearest its base."""
    out = np.full(len(spines), -1, dtype=np.int64)
    sec_of = sk.vertex_properties["section"]
    base = spines[["base_x_nm", "base_y_nm", "base_z_nm"]].to_numpy()
    for s, rows in spines.groupby("section").indices.items():
        idx = np.flatnonzero(sec_of == s)
        out[rows] = idx[cKDTree(sk.vertices[idx]).query(base[rows])[1]]
    return out


def face_skeleton_vertex(sk: Skeleton, centers: np.ndarray, face_section: np.ndarray, face_spine: np.ndarray,
                         spine_vertex: np.ndarray) -> np.ndarray:
    """(F,) true skeleton vertex of each face: nearest vertex of its own section; the root for soma faces
    (``face_section`` -1); the spine's base vertex for spine faces; -1 for debris (``face_section`` -2)."""
    out = np.where(face_section == -2, -1, sk.root).astype(np.int64)
    sec_of = sk.vertex_properties["section"]
    tube = (face_section >= 0) & (face_spine < 0)
    order = np.flatnonzero(tube)
    for s in np.unique(face_section[order]):
        f = order[face_section[order] == s]
        idx = np.flatnonzero(sec_of == s)
        out[f] = idx[cKDTree(sk.vertices[idx]).query(centers[f])[1]]
    sp = face_spine >= 0
    out[sp] = spine_vertex[face_spine[sp]]
    return out

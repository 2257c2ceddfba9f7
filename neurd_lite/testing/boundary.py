"""Where each process leaves the soma: seam faces and exit points of the true soma boundary (nm)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .soma_shapes import SomaShape

if TYPE_CHECKING:
    from .synthetic import CellGrowth
    from .morphology import Tree


def soma_body(tree: "Tree") -> SomaShape:
    """The tree's soma as a :class:`SomaShape` (axis-aligned ellipsoid for trees without one)."""
    if tree.soma_shape is not None:
        return tree.soma_shape
    return SomaShape("ellipsoid", np.asarray(tree.soma_center, float), np.asarray(tree.soma_axes_nm, float))


def primary_of(tree: "Tree") -> np.ndarray:
    """(n_sections,) index of the primary section (leaving the soma) each section descends from."""
    out = np.arange(len(tree.sections))
    for i, s in enumerate(tree.sections):  # parents come before children
        if s.parent >= 0:
            out[i] = out[s.parent]
    return out


def boundary_faces(faces: np.ndarray, ft: dict[str, np.ndarray], cells: list["CellGrowth"]
                   ) -> dict[tuple[int, int], np.ndarray]:
    """{(cell, primary section): faces of that process sharing a vertex with its own cell's soma faces}.

    On a unioned surface these are the faces along the seam where the process leaves the soma.
    """
    out: dict[tuple[int, int], np.ndarray] = {}
    if not len(faces):
        return out
    nv = int(faces.max()) + 1
    for c, cg in enumerate(cells):
        soma = (ft["labels"] == "soma") & (ft["cell"] == c)
        on_soma = np.zeros(nv, bool)
        on_soma[faces[soma].reshape(-1)] = True
        touch = on_soma[faces].any(axis=1) & ~soma & (ft["cell"] == c) & (ft["section"] >= 0) & (ft["spine"] < 0)
        prim = np.full(len(faces), -1, np.int64)
        prim[touch] = primary_of(cg.tree)[ft["section"][touch]]
        for p in np.unique(prim[touch]):
            out[(c, int(p))] = np.flatnonzero(prim == p)
    return out


def _exit(body: SomaShape, pts: np.ndarray, rad: np.ndarray) -> tuple[np.ndarray, float, float]:
    """First crossing of a polyline (starting inside) out of the body: point, radius (nm), arc length (nm)."""
    ins = body.inside(pts)
    k = int(np.argmax(~ins)) if (~ins).any() else len(pts) - 1
    if k == 0:
        return pts[0], float(rad[0]), 0.0
    a, b = pts[k - 1], pts[k]
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if body.inside(a + (b - a) * mid)[0]:
            lo = mid
        else:
            hi = mid
    s = float(np.linalg.norm(np.diff(pts[:k], axis=0), axis=1).sum() + lo * np.linalg.norm(b - a))
    return a + (b - a) * lo, float(rad[k - 1] + (rad[k] - rad[k - 1]) * lo), s


def soma_boundary_table(cells: list["CellGrowth"], bfaces: dict[tuple[int, int], np.ndarray]) -> pd.DataFrame:
    """One row per primary process of every cell: ``cell, section, compartment, exit_x/y/z_nm`` (where its
    centreline leaves the soma body), ``exit_radius_nm`` (process radius there), ``n_boundary_faces``."""
    from .assemble import section_polyline

    rows = []
    for c, cg in enumerate(cells):
        body = soma_body(cg.tree)
        for i, s in enumerate(cg.tree.sections):
            if s.parent >= 0:
                continue
            pts, rad = section_polyline(cg.tree, i)
            p, r, _ = _exit(body, pts, rad)
            rows.append({"cell": c, "section": i, "compartment": s.compartment, "exit_x_nm": p[0],
                         "exit_y_nm": p[1], "exit_z_nm": p[2], "exit_radius_nm": r,
                         "n_boundary_faces": len(bfaces.get((c, i), []))})
    return pd.DataFrame(rows)

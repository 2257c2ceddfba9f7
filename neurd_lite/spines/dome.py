"""Low stubby spines told from shaft relief by their curvature (nm; used by ``detect``).

A stubby spine is a dome: its head sits partly inside the shaft, so on a wide shaft it may stand only 80-200 nm
out of the surface, below the seed threshold of the first passes. Height alone cannot tell such a dome from the
shaft's own relief (an elliptic cross-section, an axis off centre, a taper, a varicosity), but curvature can:
those errors vary over the scale of the shaft (microns), a dome over the scale of a spine head (a few hundred
nm). A candidate of height H above the growth level that covers an area A above it is fitted by a spherical cap
of base radius a = sqrt(A / pi); the cap's sphere has radius R = (a² + H²) / (2 H). The dome pass seeds at a
lower height than the first passes and keeps a candidate only when R is at most a spine head's radius
(``dome_max_cap_radius_nm``): a low bump must be as curved as a spine head to count as one.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from .relief import append_spines, keep_dense, touching_old


def cap_radius_nm(height_nm: np.ndarray, area_nm2: np.ndarray) -> np.ndarray:
    """Radius (nm) of the sphere whose cap of height ``height_nm`` has base area ``area_nm2`` (projected disc
    pi a²; inf for a non-positive height)."""
    h = np.asarray(height_nm, dtype=float)
    a2 = np.asarray(area_nm2, dtype=float) / np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(h > 0, (a2 + h * h) / (2.0 * np.maximum(h, 1e-9)), np.inf)


def dome_pass(grow_pass: Callable, area_above: Callable, verts: np.ndarray, r: np.ndarray, hn: np.ndarray,
              ok: np.ndarray, fld, eligible_v: np.ndarray, e_mesh: np.ndarray, links: np.ndarray,
              piece: np.ndarray, va: np.ndarray, mesh_faces: tuple[np.ndarray, np.ndarray], p, label: np.ndarray,
              base: np.ndarray, ring: pd.DataFrame, counts: dict) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Search the surface no spine took with the seed lowered to ``p.dome_seed_nm`` (protrusion ``hn`` from the
    shaft model, nm) and the area floor to ``p.dome_min_area_nm2``; keep the candidates whose cap radius
    (:func:`cap_radius_nm` of their height above the growth threshold and their area above it) is at most
    ``p.dome_max_cap_radius_nm`` and that touch no spine found before. ``grow_pass``: ``grow._grow_pass``;
    ``area_above``: ``detect.superlevel_vertex_area``. New spines are appended to ``label`` / ``base`` /
    ``ring``. With ``p.dome_dense_only`` only dense spiny dendrite is searched (the relief pass's gate)."""
    spine_v = label >= 0
    free = ok & ~spine_v
    counts["dome_pass"] = 0
    if p.dome_dense_only and free.any():
        # like the relief pass: only where the passes before found >= relief_min_density_per_um spines per µm
        keep_dense(free, label, fld, p)
    if not free.any():
        return label, base, ring
    pd_ = replace(p, seed_protrusion_nm=p.dome_seed_nm, seed_floor_nm=0.0, min_area_nm2=p.dome_min_area_nm2,
                  seed_protrusion_rel=min(p.seed_protrusion_rel, p.dome_seed_nm / max(p.seed_protrusion_nm, 1.0)
                                          * p.seed_protrusion_rel))
    lab4, base4, ring4, _ = grow_pass(verts, r, hn, free, fld.beyond_end, eligible_v & ~spine_v, e_mesh, links,
                                      piece, va, mesh_faces, pd_, fld)
    n4 = int(lab4.max()) + 1
    if n4 == 0:
        return label, base, ring
    t_grow = p.grow_threshold_nm(r)
    on = lab4 >= 0
    a_v = area_above(*mesh_faces, np.where(free & np.isfinite(hn), hn, 0.0), t_grow)
    area = np.bincount(lab4[on], weights=a_v[on], minlength=n4)
    top = pd.Series(hn[on] - t_grow[on]).groupby(lab4[on]).max().reindex(range(n4)).to_numpy()
    cap = cap_radius_nm(top, area)
    shaft_r = pd.Series(r[on]).groupby(lab4[on]).median().reindex(range(n4)).to_numpy()
    # more curved than a spine head may be, and than its own shaft: on a thin dendrite the shaft's relief is
    # as curved as a head, so a low dome there is not told from it
    curved = (cap <= p.dome_max_cap_radius_nm) & (cap <= p.dome_max_cap_rel * shaft_r)
    if isinstance(counts.get("dome_sink"), list):
        counts["dome_sink"].append({"label": lab4, "height_nm": top, "area_nm2": area, "cap_nm": cap,
                                    "shaft_r_nm": shaft_r})
    curved[touching_old(e_mesh, lab4, spine_v)] = False  # a spine's flank, not a spine
    keep = np.flatnonzero(curved)
    counts["dome_pass"] = len(keep)
    if len(keep) == 0:
        return label, base, ring
    return append_spines(label, base, ring, lab4, base4, ring4, keep)

"""Postsynapses as evidence for spines (nm inside; opt-in, ``SpineParams.synapse_seed_nm`` > 0).

Nearly every spine of a cortical excitatory neuron carries an excitatory synapse on its head (serial-section EM,
e.g. Harris & Stevens 1989, Arellano et al. 2007; not in shared/REFERENCES.md), and a spine head stands out of
its shaft. So where a postsynapse sits on surface that stands clearly above the shaft model, the surface there is
probably a spine that the shape cuts missed (a low stubby spine on a wide shaft, a spine where the axis is off).
The converse is not evidence: a synapse on the shaft says nothing, and a spine may carry no synapse in the table
(proofreading, segmentation, a cut).

The synapse pass runs after the shape passes, on the surface no spine took: it seeds at a lower height
(``synapse_seed_nm`` and ``synapse_seed_rel`` x r instead of the first pass's 200 nm / 0.2 r) and grows through
the detector's own hysteresis (``grow._grow_pass``: every acceptance test of the first pass applies, with the
area floor ``synapse_min_area_nm2``), then keeps only the candidates that hold the surface point of a
postsynapse which itself stands above the shaft by the margin: max(synapse_seed_nm, synapse_seed_rel x r,
synapse_spread_factor x the shaft chunk's scatter below its radius (``ShaftField.spread_nm``: noise, an elliptic
section, an axis off centre). A point within that scatter of the radius could be plain shaft read high by the
shaft model; beyond it the shaft model would have to be wrong by more than it is anywhere else on that chunk.
A candidate touching a spine found before is that spine's flank (the extension step takes it), not a new spine.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from ..names import synapse_polarity
from .relief import append_spines, touching_old


def postsynapse_vertices(mesh, synapses: pd.DataFrame | None, max_distance_nm: float) -> np.ndarray:
    """Mesh vertex nearest the closest surface point of each postsynapse within ``max_distance_nm`` of the mesh
    (nm; synapse columns ``x_nm, y_nm, z_nm, is_pre``); empty when there are none."""
    from ..geometry.nearest import closest_faces

    _, post = synapse_polarity(synapses)
    if not post.any():
        return np.zeros(0, dtype=np.int64)
    pts = synapses.loc[post, ["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    face, dist, cp = closest_faces(mesh, pts)
    near = dist <= max_distance_nm
    corners = np.asarray(mesh.faces)[face[near]]
    d = np.linalg.norm(np.asarray(mesh.vertices)[corners] - cp[near][:, None, :], axis=2)
    return corners[np.arange(len(corners)), np.argmin(d, axis=1)].astype(np.int64)


def synapse_margin_nm(p, r: np.ndarray, spread: np.ndarray | None) -> np.ndarray:
    """(V,) height (nm) a postsynapse's vertex must stand above the shaft radius to seed: the largest of
    ``p.synapse_seed_nm``, ``p.synapse_seed_rel`` x r and ``p.synapse_spread_factor`` x the chunk's scatter below
    its radius (unknown scatter counts 0)."""
    m = np.maximum(p.synapse_seed_nm, p.synapse_seed_rel * np.nan_to_num(r, nan=np.inf))
    if spread is not None and p.synapse_spread_factor > 0:
        m = np.maximum(m, p.synapse_spread_factor * np.nan_to_num(np.asarray(spread, float)[:len(m)], nan=0.0))
    return m


def synapse_pass(grow_pass: Callable, verts: np.ndarray, r: np.ndarray, hn: np.ndarray, ok: np.ndarray, fld,
                 eligible_v: np.ndarray, e_mesh: np.ndarray, links: np.ndarray, piece: np.ndarray, va: np.ndarray,
                 mesh_faces: tuple[np.ndarray, np.ndarray], p, label: np.ndarray, base: np.ndarray,
                 ring: pd.DataFrame, syn_v: np.ndarray, counts: dict
                 ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Spines seeded by postsynapses (module doc) on the surface no spine took; appended to ``label`` / ``base``
    / ``ring``. ``syn_v``: mesh vertices of the postsynapses (:func:`postsynapse_vertices`); ``grow_pass``:
    ``grow._grow_pass``; ``hn``: protrusion (nm)."""
    counts["synapse_pass"] = 0
    spine_v = label >= 0
    free = ok & ~spine_v
    syn_v = np.unique(syn_v)
    margin = synapse_margin_nm(p, r, getattr(fld, "spread_nm", None))
    syn_v = syn_v[free[syn_v] & ~fld.beyond_end[syn_v] & (hn[syn_v] > margin[syn_v])]
    counts["synapse_seeds"] = len(syn_v)
    if len(syn_v) == 0:
        return label, base, ring
    ps = replace(p, seed_protrusion_nm=p.synapse_seed_nm, seed_protrusion_rel=p.synapse_seed_rel, seed_floor_nm=0.0,
                 min_area_nm2=p.synapse_min_area_nm2)
    lab5, base5, ring5, _ = grow_pass(verts, r, hn, free, fld.beyond_end, eligible_v & ~spine_v, e_mesh, links,
                                      piece, va, mesh_faces, ps, fld)
    n5 = int(lab5.max()) + 1
    if n5 == 0:
        return label, base, ring
    keep = np.zeros(n5, dtype=bool)
    keep[lab5[syn_v][lab5[syn_v] >= 0]] = True
    keep[touching_old(e_mesh, lab5, spine_v)] = False
    idx = np.flatnonzero(keep)
    counts["synapse_pass"] = len(idx)
    if len(idx) == 0:
        return label, base, ring
    return append_spines(label, base, ring, lab5, base5, ring5, idx)

"""Which way is the pia? Infer the ``up`` direction of a soma-rooted skeleton (nm) when the caller did not give it.

Two sources of evidence, tried in order:

1. **minnie65 coordinates**: the input was in nm (or voxels, not µm), and the soma lies inside the minnie65
   volume (x 0-1.6 mm, z 0-1.2 mm, depth within the cortex range of the depth features). Then ``up = (0, -1, 0)``
   (minnie65's +y runs from pia to white matter), method ``"minnie65_coordinates"``.
2. **shape**: the apical dendrite of a pyramidal cell is its thickest primary dendrite and reaches farthest from
   the soma. Each primary dendrite (process leaving the soma, the geometric axon left out) is scored by its
   reach (farthest Euclidean distance from the soma) times the square root of its stem radius, both relative
   to the cell's best; ``up`` points from the soma to the centroid of the best-scoring limb's distal half
   (vertices beyond half its reach). Method ``"apical_limb"``; confidence = 1 - (second score / best score),
   so a cell with one dominant process (a pyramid) scores high and a cell with several equal ones
   (an interneuron, where ``up`` hardly matters because it gets no apical) scores low.

The result records the method, the confidence (0..1) and the runner-up direction; :func:`label_skeleton_vertices`
writes it to ``n.provenance["compartments"]["frame"]`` and flags ``up_inferred`` (and ``up_uncertain`` when the
confidence is below :data:`UNCERTAIN`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..geometry.depth import linear_depth_um
from ..model.frame import DEPTH_RANGE_UM
from .tree import Tree

MINNIE65_UP = (0.0, -1.0, 0.0)
MINNIE65_XZ_MM = ((0.0, 1.6), (0.0, 1.2))  # soma x and z (mm) inside the minnie65 volume
UNCERTAIN = 0.25  # confidence below this -> flag ``up_uncertain``
STEM_UM = 10.0    # stem radius = median radius over the first STEM_UM µm of a limb


@dataclass
class FrameResult:
    """The inferred pia direction (unit 3-vector in the skeleton frame), how and how sure (0..1)."""

    up: np.ndarray
    method: str
    confidence: float
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"up": [round(float(x), 4) for x in self.up], "method": self.method,
                "confidence": round(float(self.confidence), 3), **self.details}


def _micrometre_units(units: Any) -> bool:
    """True when ``units`` says the input coordinates were µm (not nm / voxels)."""
    if units is None:
        return False
    if isinstance(units, str):
        return units.strip().lower() in ("um", "µm", "micron", "microns", "micrometre", "micrometer", "1000")
    vals = np.atleast_1d(np.asarray(units, dtype=float))
    return bool(np.all(vals >= 1000))


def minnie65_frame(soma_nm: np.ndarray, units: Any = None) -> bool:
    """Does a soma at ``soma_nm`` (nm) read with input ``units`` sit in minnie65 cortex coordinates?"""
    if _micrometre_units(units):
        return False
    c = np.asarray(soma_nm, dtype=float).reshape(3)
    if not np.all(np.isfinite(c)):
        return False
    depth = float(linear_depth_um(c.reshape(1, 3))[0])
    lo, hi = DEPTH_RANGE_UM
    (x0, x1), (z0, z1) = MINNIE65_XZ_MM
    return bool(lo <= depth <= hi and x0 <= c[0] / 1e6 <= x1 and z0 <= c[2] / 1e6 <= z1)


def limb_table(tree: Tree, body: np.ndarray) -> list[dict[str, Any]]:
    """Per primary limb (start vertex) of the ``body`` vertices: reach (nm), stem radius (nm), cable (nm) and
    the centroid of its distal half (nm, relative to the soma)."""
    sk = tree.sk
    rel = sk.vertices - sk.vertices[sk.root]
    dist = np.linalg.norm(rel, axis=1)
    par = sk.parent
    edge = np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0)
    d = sk.distance_to_root_nm
    ls = tree.limb_start
    out = []
    valid = body & (ls >= 0)
    if not valid.any():
        return out
    starts, inv = np.unique(ls[valid], return_inverse=True)
    idx = np.flatnonzero(valid)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(starts) + 1))
    for k, s in enumerate(starts):
        m = idx[order[bounds[k]:bounds[k + 1]]]
        reach = float(dist[m].max())
        far = m[dist[m] >= 0.5 * reach]
        w = edge[far] + 1.0
        stem = m[d[m] - d[s] <= STEM_UM * 1000]
        r = sk.radius[stem]
        r = r[np.isfinite(r) & (r > 0)]
        out.append({"start": int(s), "reach_nm": reach, "cable_nm": float(edge[m].sum()),
                    "stem_radius_nm": float(np.median(r)) if len(r) else float("nan"),
                    "centroid": (rel[far] * w[:, None]).sum(0) / w.sum()})
    return out


def limb_scores(limbs: list[dict[str, Any]]) -> np.ndarray:
    """Apical-likeness of each limb of :func:`limb_table`, frame-free: reach x sqrt(stem radius), both relative
    to the cell's largest (stem radius 0.5 of the largest where unknown)."""
    reach = np.array([lb["reach_nm"] for lb in limbs])
    stem = np.array([lb["stem_radius_nm"] for lb in limbs])
    stem_rel = stem / np.nanmax(stem) if np.isfinite(stem).any() and np.nanmax(stem) > 0 else np.ones(len(limbs))
    return reach / max(float(reach.max()), 1e-9) * np.sqrt(np.nan_to_num(stem_rel, nan=0.5))


def infer_up(tree: Tree, body: np.ndarray, units: Any = None) -> FrameResult:
    """Infer the pia direction of a soma-rooted skeleton (nm). ``body``: bool (N,) vertices to use (non-soma,
    root tree, geometric axon removed). ``units``: the units the input was read in (µm input is never
    minnie65)."""
    sk = tree.sk
    soma = sk.vertices[sk.root]
    if minnie65_frame(soma, units):
        return FrameResult(np.asarray(MINNIE65_UP), "minnie65_coordinates", 0.9,
                           {"soma_nm": [float(x) for x in soma]})
    limbs = [lb for lb in limb_table(tree, body) if lb["cable_nm"] > 0]
    if not limbs:
        return FrameResult(np.asarray(MINNIE65_UP), "default_no_limbs", 0.0)
    score = limb_scores(limbs)
    order = np.argsort(-score)
    best = limbs[int(order[0])]
    vec = best["centroid"]
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        return FrameResult(np.asarray(MINNIE65_UP), "default_degenerate", 0.0)
    second = float(score[order[1]]) if len(order) > 1 else 0.0
    conf = float(np.clip(1.0 - second / score[order[0]], 0.0, 1.0))
    details = {"n_limbs": len(limbs), "best_reach_um": round(best["reach_nm"] / 1000, 1),
               "best_stem_radius_um": round(float(best["stem_radius_nm"]) / 1000, 3)}
    if len(order) > 1:
        alt = limbs[int(order[1])]["centroid"]
        details["runner_up"] = [round(float(x), 4) for x in alt / max(float(np.linalg.norm(alt)), 1e-9)]
    return FrameResult(vec / norm, "apical_limb", conf, details)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two 3-vectors in degrees (NaN when one is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))

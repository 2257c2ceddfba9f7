"""The axon's first stretch where it runs past a thicker neurite it touches (session 16; opt-in
``CompartmentParams(axon_thin_route=True)``, default off).

Why: where a cell's axon touches one of its own basal dendrites near the soma the mesh is fused, the surface has
a loop, and the skeleton (a tree) breaks it elsewhere: the touched basal's far part (often its whole limb, whose
stem the axon's path absorbed) hangs below the contact on the axon's path (synthetic l5_et, docs/compartments.md
"Where l5_et loses axon faces"). The axon decision takes one subtree, so its cut lands at the contact and the
axon's first stretch (the initial segment up to the contact) keeps the dendrite's label.

How (radius needed; a skeleton without radius is left alone): a neurite does not double its calibre going away
from the soma, so a sibling of the axon's cut more than ``ratio`` times the axon's calibre is another neurite
(calibre: cable-weighted median radius over ``reach_nm``). Then the route from the cut up to the soma is the
axon's own as far as the first junction whose route above is thick (the host it leaves); the pieces hanging off
that route stay dendrite. The faces mapped to that route but lying farther from it than the geometric mean of
the two calibres belong to the thick neurite (its stem has no skeleton of its own) and keep its label. Only
labels change; the skeleton is not touched.
"""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import face_centroids_nm
from ..geometry.stats import weighted_group_quantile
from ..neuron import Neuron
from .tree import Tree

CALIBRE_RATIO = 2.0  # a child side more than this many times its parent side's calibre is another neurite
REACH_NM = 5000.0  # cable (nm) over which each side's calibre is taken


def _up_walk(tree: Tree, reach_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (start, ancestor) with the ancestor (start included) within ``reach_nm`` (nm) of path above the start,
    soma vertices left out."""
    d = tree.sk.distance_to_root_nm
    par = tree.parent
    ok = tree.in_root_tree & ~tree.soma & np.isfinite(d)
    start = np.flatnonzero(ok)
    cur = start.copy()
    starts, ancs = [], []
    live = np.arange(len(start))
    while len(live):
        c = cur[live]
        keep = ok[c] & (d[start[live]] - d[c] <= reach_nm)
        live, c = live[keep], c[keep]
        starts.append(start[live])
        ancs.append(c)
        p = par[c]
        go = p >= 0
        live = live[go]
        cur[live] = p[go]
    return np.concatenate(starts), np.concatenate(ancs)


def calibres(tree: Tree, reach_nm: float = REACH_NM) -> tuple[np.ndarray, np.ndarray]:
    """(above, below): per vertex the median radius (nm), weighted by cable (each vertex stands for the edge to
    its parent), over ``reach_nm`` of path above it (itself included, soma left out) and over its subtree within
    ``reach_nm`` below it (itself included); NaN where undefined. Weighting by cable keeps the short, densely
    sampled stretch where a skeleton crosses a thicker neurite from dominating."""
    s, a = _up_walk(tree, reach_nm)
    rad = tree.sk.radius
    par = tree.parent
    d = tree.sk.distance_to_root_nm
    cable = np.where(par >= 0, d - d[np.where(par >= 0, par, 0)], 0.0)
    above = _weighted_median(s, rad[a], cable[a], tree.n)
    below = _weighted_median(a, rad[s], cable[s], tree.n)  # w below u within reach  <=>  u above w within reach
    return above, below


def _weighted_median(groups: np.ndarray, values: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """(n,) per group the lower weighted median of ``values`` (the first value whose cumulative weight reaches
    half), NaN values and non-positive weights left out (NaN for a group without any weight)."""
    ok = np.isfinite(values) & (weights > 0)
    return weighted_group_quantile(groups[ok], values[ok], weights[ok], 0.5, n)


def thin_route_axon(tree: Tree, axon: np.ndarray, cut: int, ratio: float = CALIBRE_RATIO,
                    reach_nm: float = REACH_NM) -> tuple[np.ndarray, dict]:
    """The axon extended from its cut up the route toward the soma, when the cut landed where the axon meets a
    thicker neurite (a sibling subtree more than ``ratio`` times the axon's calibre): up to the soma or to the
    first junction whose route above is thick (closer to the thick neurite's calibre than to the axon's, in log
    radius: the host the axon leaves). The pieces hanging off the route stay dendrite. Returns (axon mask,
    record)."""
    rec = {"extended": False}
    sk = tree.sk
    if cut < 0 or not np.isfinite(sk.radius).mean() > 0.5 or tree.parent[cut] < 0 or tree.soma[tree.parent[cut]]:
        return axon, rec
    above, below = calibres(tree, reach_nm)
    thin = float(below[cut])
    p = int(tree.parent[cut])
    sib = [int(c) for c in tree.children[p] if c != cut]
    thick = max((float(below[c]) for c in sib if np.isfinite(below[c])), default=np.nan)
    rec.update({"axon_calibre_nm": round(thin, 1),
                "contact_calibre_nm": round(thick, 1) if np.isfinite(thick) else None})
    if not (thin > 0 and thick > ratio * thin):
        return axon, rec
    route = tree.path_to_root(p)
    mid = np.sqrt(thin * thick)  # closer to the axon's calibre than to the thick neurite's, in log radius
    joins = np.array([len(tree.children[u]) > 1 for u in route], dtype=bool)
    stop = np.flatnonzero(tree.soma[route] | (joins & ~(above[route] < mid)))
    k = int(stop[0]) if len(stop) else len(route)
    out = axon.copy()
    out[route[:k]] = True
    rec.update({"extended": k > 0, "route_vertices": int(k), "route": [int(v) for v in route[:k]],
                "contact_child": int(sib[int(np.nanargmax([below[c] for c in sib]))]), "face_bound_nm": round(float(mid), 1),
                "route_um": round(float(sk.distance_to_root_nm[p] - sk.distance_to_root_nm[route[k - 1]]) / 1e3
                                  if k else 0.0, 2)})
    return out, rec


def faces_off_route(n: Neuron, comp: np.ndarray, labels: np.ndarray, rec: dict,
                    face_centroids: np.ndarray | None = None) -> int:
    """Faces that reach the axon through a vertex of its extended route (:func:`thin_route_axon`) but lie
    farther from that vertex than ``rec["face_bound_nm"]`` (between the axon's calibre and the thick neurite's)
    belong to the thick neurite fused there (its stem has no skeleton of its own): they take the label of the
    thick piece at the contact. In place on ``comp`` (face compartments); returns how many faces moved."""
    if not rec.get("extended") or n.mesh is None or n.face_to_skeleton is None:
        return 0
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    on_route = np.zeros(len(labels), dtype=bool)
    on_route[rec["route"]] = True
    cand = np.flatnonzero((f2s >= 0) & (f2s < len(labels)) & (comp == "axon"))
    cand = cand[on_route[f2s[cand]]]
    if not len(cand):
        return 0
    if face_centroids is not None and len(face_centroids) == len(comp):
        centres = face_centroids[cand]
    else:
        centres = face_centroids_nm(n.mesh.vertices, np.asarray(n.mesh.faces)[cand])
    far = np.linalg.norm(centres - n.skeleton.vertices[f2s[cand]], axis=1) > rec["face_bound_nm"]
    comp[cand[far]] = labels[rec["contact_child"]]
    return int(far.sum())

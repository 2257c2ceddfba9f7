"""Merge-error flags within one cell, the things a proofreader looks at (flag only; nm inside, µm in messages).

- ``merge_multiple_axons``: more than one connected axon tree of at least ``min_axon_nm`` cable;
- ``merge_dendrite_on_axon``: a dendritic branch whose parent branch is axon (followed from the soma, an axon
  that turns into a dendrite is another cell's dendrite touching the axon);
- ``merge_axon_on_dendrite``: an axon branch whose parent is a dendritic branch more than ``axon_origin_max_nm``
  from the soma along the skeleton (an axon leaves the soma or a proximal dendrite; one that starts far out on a
  dendrite is another cell's axon touching it);
- ``merge_dendrite_outputs``: a dendritic branch with at least ``min_pre`` output (presynaptic) synapses making
  at least ``min_pre_fraction`` of its synapses;
- ``merge_width_jump``: a child branch at least ``width_ratio`` times thicker than its parent (a real child is
  thinner than its parent);
- ``merge_direction_jump``: a child branch that leaves its parent's end turned back by more than
  ``max_turn_deg`` over ``direction_nm`` (a real branch rarely doubles back; 170° over 6 µm was chosen on the
  first 26 of the 53 labelled MICrONS skeletons, where 150° over 3 µm flagged 22 of 26 cells).

Each flag is one ``n.flags`` entry (``"<flag>: <details>"``) and one dict in ``n.provenance["merge_flags"]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..neuron import Neuron, synapse_polarity

DENDRITIC = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")


@dataclass(frozen=True)
class FlagParams:
    """Thresholds of the merge-error flags (lengths nm): from how real trees are built; the turn threshold was
    raised on the first half of the labelled MICrONS skeletons (module doc)."""

    min_axon_nm: float = 10000.0
    axon_origin_max_nm: float = 30000.0
    min_branch_nm: float = 5000.0
    min_pre: int = 3
    min_pre_fraction: float = 0.25
    width_ratio: float = 2.0
    max_turn_deg: float = 170.0
    direction_nm: float = 6000.0


def _branches(n: Neuron) -> list[int]:
    return [b for b, d in n.graph.nodes(data=True) if d.get("kind") == "branch"]


def _axon_trees(n: Neuron) -> list[list[int]]:
    axon = [b for b in _branches(n) if n.graph.nodes[b].get("compartment") == "axon"]
    sub = n.graph.subgraph(axon).to_undirected()
    import networkx as nx

    return [sorted(c) for c in nx.connected_components(sub)]


def _direction(x: np.ndarray, from_end: bool, length_nm: float) -> np.ndarray | None:
    """Unit direction of a polyline over its first (or last) ``length_nm``, pointing away from the junction for
    the first part and toward it for the last."""
    pts = x[::-1] if from_end else x
    if len(pts) < 2:
        return None
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    k = int(np.searchsorted(s, length_nm))
    d = pts[min(k, len(pts) - 1)] - pts[0]
    norm = np.linalg.norm(d)
    if norm == 0:
        return None
    return (-d if from_end else d) / norm


def merge_flags(n: Neuron, params: FlagParams | None = None) -> list[dict]:
    """The merge-error flags of one neuron (see module doc) as dicts: ``flag``, ``branch``, details with their
    unit in the key (``cable_um``, ``length_um``, ``from_soma_um``, ``radius_nm``, ``turn_deg``, ``n_pre``)."""
    p = params or FlagParams()
    g = n.graph
    out: list[dict] = []
    trees = [t for t in _axon_trees(n) if sum(g.nodes[b]["length_nm"] for b in t) >= p.min_axon_nm]
    if len(trees) > 1:
        out.append({"flag": "merge_multiple_axons", "branch": [t[0] for t in trees],
                    "cable_um": [round(sum(g.nodes[b]["length_nm"] for b in t) / 1000, 1) for t in trees]})
    for u, v in g.edges:
        du, dv = g.nodes[u], g.nodes[v]
        if du.get("kind") != "branch" or dv.get("kind") != "branch":
            continue
        if du.get("compartment") == "axon" and dv.get("compartment") in DENDRITIC and \
                dv["length_nm"] >= p.min_branch_nm:
            out.append({"flag": "merge_dendrite_on_axon", "branch": int(v), "parent": int(u),
                        "compartment": dv.get("compartment"), "length_um": round(dv["length_nm"] / 1000, 1)})
        if du.get("compartment") in DENDRITIC and dv.get("compartment") == "axon" and n.skeleton is not None:
            start = int(dv["skeleton_vertices"][0])
            d_soma = float(n.skeleton.distance_to_root_nm[start])
            if d_soma > p.axon_origin_max_nm:
                out.append({"flag": "merge_axon_on_dendrite", "branch": int(v), "parent": int(u),
                            "from_soma_um": round(d_soma / 1000, 1)})
        ru, rv = du.get("radius_nm", np.nan), dv.get("radius_nm", np.nan)
        if np.isfinite(ru) and np.isfinite(rv) and ru > 0 and rv / ru >= p.width_ratio and \
                dv["length_nm"] >= p.min_branch_nm:
            out.append({"flag": "merge_width_jump", "branch": int(v), "parent": int(u),
                        "radius_nm": (round(ru), round(rv))})
        if n.skeleton is not None and dv["length_nm"] >= p.min_branch_nm:
            a = _direction(n.skeleton.vertices[du["skeleton_vertices"]], True, p.direction_nm)
            b = _direction(n.skeleton.vertices[dv["skeleton_vertices"]], False, p.direction_nm)
            if a is not None and b is not None:
                turn = float(np.degrees(np.arccos(np.clip(a @ b, -1, 1))))
                if turn > p.max_turn_deg:
                    out.append({"flag": "merge_direction_jump", "branch": int(v), "parent": int(u),
                                "turn_deg": round(turn, 1)})
    out.extend(_dendrite_outputs(n, p))
    return out


def _dendrite_outputs(n: Neuron, p: FlagParams) -> list[dict]:
    syn = n.synapses
    if syn is None or len(syn) == 0 or "branch" not in syn.columns:
        return []
    is_pre, is_post = synapse_polarity(syn)
    br = np.asarray(syn["branch"].fillna(-1), dtype=np.int64)
    out = []
    for b in _branches(n):
        if n.graph.nodes[b].get("compartment") not in DENDRITIC:
            continue
        on = br == b
        pre, post = int(np.count_nonzero(is_pre & on)), int(np.count_nonzero(is_post & on))
        if pre >= p.min_pre and pre / max(pre + post, 1) >= p.min_pre_fraction:
            out.append({"flag": "merge_dendrite_outputs", "branch": int(b), "n_pre": pre, "n_post": post})
    return out


def flag_merge_errors(n: Neuron, params: FlagParams | None = None) -> list[dict]:
    """Add the merge-error flags of ``n`` to ``n.flags`` (one entry per flag kind, branches listed) and
    ``n.provenance["merge_flags"]``; returns them."""
    found = merge_flags(n, params)
    n.provenance["merge_flags"] = found
    kinds: dict[str, list[str]] = {}
    for f in found:
        detail = ", ".join(f"{k}={v}" for k, v in f.items() if k != "flag")
        kinds.setdefault(f["flag"], []).append(detail)
    for kind, details in kinds.items():
        n.flag(f"{kind}: " + "; ".join(details))
    return found

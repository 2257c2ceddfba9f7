"""Split a merged neuron into one Neuron per soma (``nl.split``); nm throughout.

The decomposed Neuron's skeleton is a tree, so two somata in one piece are joined by exactly one skeleton path.
For every such pair (closest pair first) the path is scored (:mod:`.cuts`) and cut at its best vertex (by the
learned ranker of :mod:`.cut_model` that ``SplitParams.cut_model`` names, ``split_cut_dist`` by default since
session 15, or by the hand score when it is None); side
branches that leave within ``contact_nm`` of the cut join the cell they continue (direction and calibre), the
rest stay on the side of the cut they leave from. After all cuts every skeleton vertex belongs to the soma whose
piece it is in, and every input face to the soma of its skeleton vertex (``n.face_to_skeleton``; soma faces to
their soma); faces whose vertex lies in a piece without a soma, or that were dropped as debris, belong to neither
and are reported.

Each cell is then rebuilt honestly: its input faces become a mesh of their own, its synapses are the rows whose
anchoring face (``n.synapses["face"]``) it holds, and the pipeline runs on it again (soma detection first; the
known soma centre when detection does not find exactly that soma), so skeleton, compartments, spines, synapse
targets and features are those of the cell alone. ``input_faces`` maps each cell's faces back to the input mesh.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csgraph

from ..neuron import Neuron
from .contacts import _repair_contacts
from .cuts import CUES, SplitParams, path_scores
from .forest import (NEITHER, _Forest, _branch_radius, _junction_vertices, _owners,  # moved to forest.py
                     _soma_vertices, _vertex_branch, _vertex_synapses)
from .growth import growth_moves, long_growth_vote, undecided_side, zone_growth_vote
from .junctions import own_junction_cut
from .stretch import end_on_cut


class SplitNeurons(list):
    """The cells of a split (a list of Neurons, one per soma) with ``.report`` (dict) and ``.merged`` (the input)."""

    report: dict
    merged: Any

    def __init__(self, neurons: list, report: dict, merged: Any) -> None:
        super().__init__(neurons)
        self.report = report
        self.merged = merged


def _closest_pair(forest: _Forest, sv: list[int], together: set) -> tuple[int, int, list[int]] | None:
    """The two somata joined by the shortest skeleton path in the current forest (skipping pairs kept together),
    with that path (vertex ids from the first soma's vertex to the second's)."""
    g = forest.csgraph()
    dist, pred = csgraph.dijkstra(g, directed=False, indices=sv, return_predecessors=True)
    best = None
    for i in range(len(sv)):
        for j in range(i + 1, len(sv)):
            if (i, j) in together or not np.isfinite(dist[i, sv[j]]):
                continue
            if best is None or dist[i, sv[j]] < best[0]:
                best = (dist[i, sv[j]], i, j)
    if best is None:
        return None
    _, i, j = best
    path, v = [], sv[j]
    while v != sv[i] and v >= 0:
        path.append(int(v))
        v = int(pred[i, v])
    path.append(sv[i])
    return i, j, path[::-1]


def _median_radius(radius: np.ndarray, path: list[int], s: np.ndarray, lo: float, hi: float) -> float:
    """Median finite radius (nm) of the path vertices at arclength [lo, hi]; NaN when there are none."""
    r = radius[np.asarray(path)[(s >= lo) & (s <= hi)]]
    r = r[np.isfinite(r)]
    return float(np.median(r)) if len(r) else float("nan")


def _axonness(verts: np.ndarray, evidence: tuple | None, p: SplitParams) -> tuple[float, float]:
    """(output-synapse share, axon-label share) of skeleton vertices ``verts``; NaN where there is too little
    evidence (fewer than ``synapse_min`` synapses; no labelled vertices)."""
    if evidence is None or len(verts) == 0:
        return float("nan"), float("nan")
    pre, post, is_axon, labelled = evidence
    n_pre, n_post = float(pre[verts].sum()), float(post[verts].sum())
    out = n_pre / (n_pre + n_post) if n_pre + n_post >= max(p.synapse_min, 1) else float("nan")
    lab = labelled[verts]
    return out, float(is_axon[verts][lab].mean()) if lab.any() else float("nan")


def _cells_at_cut(path: list[int], s: np.ndarray, s_cut: float, evidence: tuple | None,
                  p: SplitParams) -> tuple | None:
    """(cell A's, cell B's) :func:`_axonness` of their neurite at the cut (``synapse_window_nm`` of the path
    beyond the contact zone on each side); None without evidence."""
    if evidence is None:
        return None
    pa = np.asarray(path)
    near_a = pa[(s >= s_cut - p.synapse_window_nm) & (s <= s_cut - p.contact_nm / 2)]
    near_b = pa[(s >= s_cut + p.contact_nm / 2) & (s <= s_cut + p.synapse_window_nm)]
    return _axonness(near_a, evidence, p), _axonness(near_b, evidence, p)


def _axon_match(verts: np.ndarray, cells: tuple, evidence: tuple, p: SplitParams) -> float:
    """How much better the polarity and axon label of skeleton vertices ``verts`` match cell A's than cell B's
    (``cells``: :func:`_cells_at_cut`); summed over the two kinds where all three values are known."""
    e_s, (e_a, e_b) = _axonness(verts, evidence, p), cells
    return sum(abs(e_s[c] - e_b[c]) - abs(e_s[c] - e_a[c]) for c in range(2)
               if np.isfinite(e_s[c]) and np.isfinite(e_a[c]) and np.isfinite(e_b[c]))


def _calibre_match(r_s: float, calibre: tuple) -> float:
    """|log(r_s / B's radius)| - |log(r_s / A's radius)| (positive: closer to A's calibre); 0 if any is unknown."""
    r_a, r_b = calibre
    if np.isfinite(r_s) and np.isfinite(r_a) and np.isfinite(r_b):
        return abs(np.log(r_s / r_b)) - abs(np.log(r_s / r_a))
    return 0.0


def _evidence_vote(forest: _Forest, v: int, u: int, cells: tuple | None, evidence: tuple | None,
                   p: SplitParams) -> float:
    """The side branch entered from ``v`` through ``u``: how much better its own polarity (output-synapse share)
    and axon label (over ``side_evidence_nm``) match cell A's neurite at the cut than cell B's (``cells``);
    positive: A. 0 without evidence."""
    if cells is None or p.side_evidence_weight <= 0:
        return 0.0
    verts, _ = forest.reach(u, v, p.side_evidence_nm)
    return p.side_evidence_weight * _axon_match(verts, cells, evidence, p)


def _branch_vote(forest: _Forest, v: int, u: int, origin: np.ndarray, dirs: tuple, calibre: tuple,
                 radius: np.ndarray, p: SplitParams) -> tuple[float, float] | None:
    """(direction, calibre) votes of the off-path branch entered from ``v`` through ``u`` (positive: cell A): its
    mean direction from ``origin`` against ``dirs`` = (A's, B's outward direction there), its median radius against
    ``calibre`` = (A's, B's neurite radius, nm), halved. None for a bristle (shorter than ``side_min_nm``)."""
    verts, far = forest.reach(u, v, max(p.direction_nm, p.side_min_nm))
    if far < p.side_min_nm:
        return None
    return _direction_vote(forest.x[verts], origin, dirs), 0.5 * _calibre_match(np.nanmedian(radius[verts]), calibre)


def _direction_vote(pts: np.ndarray, origin: np.ndarray, dirs: tuple) -> float:
    """Direction vote of points ``pts`` (nm) in [-2, 2], positive for cell A: their mean's unit direction from
    ``origin`` against ``dirs`` = (A's, B's outward direction there)."""
    d_s = pts.mean(axis=0) - origin
    d_s /= max(np.linalg.norm(d_s), 1e-9)
    return float(d_s @ dirs[0] - d_s @ dirs[1])


def _assign_sides(forest: _Forest, path: list[int], s: np.ndarray, k: int, radius: np.ndarray,
                  p: SplitParams, evidence: tuple | None = None, somas: tuple | None = None,
                  branch_r: np.ndarray | None = None) -> list[dict]:
    """Cut the path after position ``k``. Every branch leaving the contact zone (the skeleton within ``contact_nm``
    of the cut, so two branch points a micron apart count as one contact) goes to the cell it continues
    (direction over ``direction_nm``, calibre as tie-breaker; with ``side_evidence_weight`` > 0 also its own
    synapse polarity and axon label, ``_evidence_vote``) when its vote passes ``move_margin``, else to the
    side of the cut it leaves from. With ``side_growth_margin`` > 0 the branches leaving the path outside the zone
    go to the soma they grow away from (:mod:`.growth`; ``somas``: (A's, B's) centre nm, the set of soma
    vertices); with ``side_calibre_ratio`` > 0 those much thicker than their parent arm go to the other cell
    (:mod:`.calibre`; ``branch_r``: branch radius per skeleton vertex, nm); with ``path_vote_nm`` > 0 a branch
    leaving the path beyond the zone but within that distance of the cut votes the same way, judged at its own
    branch point, and changes side only past ``path_vote_margin``; with ``zone_growth_weight`` > 0 a contact-zone
    branch's vote adds that times its whole subtree's growth vote (:func:`.growth.zone_growth_vote`). evidence: per skeleton vertex
    (outputs, inputs, is_axon, labelled). Returns the moved branches."""
    onpath = set(path)
    a_end, b_end = path[k], path[k + 1]
    s_cut = 0.5 * (s[k] + s[k + 1])
    x = forest.x

    def at(t: float) -> np.ndarray:
        return np.array([np.interp(np.clip(t, s[0], s[-1]), s, x[path, c]) for c in range(3)])

    def dirs(t: float) -> tuple[np.ndarray, np.ndarray]:
        d_a = at(t) - at(t - reach_nm)  # cell A's neurite runs outward along the path...
        d_b = at(t) - at(t + reach_nm)  # ...and cell B's runs outward against it
        return d_a / max(np.linalg.norm(d_a), 1e-9), d_b / max(np.linalg.norm(d_b), 1e-9)

    reach_nm = p.contact_nm + p.direction_nm
    calibre = (_median_radius(radius, path, s, s_cut - reach_nm, s_cut - p.contact_nm / 2),
               _median_radius(radius, path, s, s_cut + p.contact_nm / 2, s_cut + reach_nm))
    cells = _cells_at_cut(path, s, s_cut, evidence, p)
    zone_nm = contact_zone_nm(calibre, p)
    zone = forest.within({a_end, b_end}, zone_nm)
    zone |= _crossing_arm(forest, path, s, k, zone_nm, p.crossing_nm)
    forest.cut(a_end, b_end)
    side_a = forest.within({a_end}, np.inf, allowed=zone)
    origin, d = at(s_cut), dirs(s_cut)
    moved = []
    near = {path[q]: q for q in range(len(path)) if abs(s[q] - s_cut) <= p.path_vote_nm} if p.path_vote_nm > 0 else {}
    for v in sorted(zone) + sorted(set(near) - zone):
        default = (0 if v in side_a else 1) if v in zone else int(near[v] > k)
        margin = p.move_margin if v in zone else p.path_vote_margin
        for u in list(forest.adj[v]):
            if u in zone or u in onpath:
                continue
            o_v, d_v = (origin, d) if v in zone else (x[v], dirs(s[near[v]]))  # its own branch point
            dc = _branch_vote(forest, v, u, o_v, d_v, calibre, radius, p)
            if dc is None:
                continue  # a bristle stays where it is
            if (p.zone_scale_check or p.zone_scale_guard_nm > 0) and somas is not None and v in zone:
                dc = (_scale_checked(forest, v, u, dc[0], somas, origin, d, p), dc[1])
            vote = dc[0] + dc[1] + _evidence_vote(forest, v, u, cells, evidence, p)
            if p.zone_growth_weight > 0 and somas is not None and v in zone:
                vote += p.zone_growth_weight * zone_growth_vote(forest, v, u, somas[0], somas[1])
            side = 0 if vote > margin else (1 if vote < -margin else default)
            undecided = abs(vote) <= margin and p.zone_undecided_nm > 0 and somas is not None and v in zone
            if undecided:
                side = undecided_side(forest, v, u, default, somas[0], somas[1], p.zone_undecided_nm)
            if side != default and p.zone_long_nm > 0 and somas is not None and v in zone:
                side = _long_branch_side(forest, v, u, side, default, somas, p)
            if side != default:
                rec = _move(forest, v, u, a_end if side == 0 else b_end, side, vote)
                moved.append(dict(rec, kind="undecided") if undecided else rec)
    if p.side_growth_margin > 0 and somas is not None:
        for v, u, side, vote in growth_moves(forest, path, s, k, zone, somas[0], somas[1],
                                             p.side_growth_margin, p.side_growth_nm or np.inf):
            moved.append(dict(_move(forest, v, u, a_end if side == 0 else b_end, side, vote), kind="growth"))
    if p.side_calibre_ratio > 0 and somas is not None and branch_r is not None:
        from .calibre import calibre_moves

        for v, u, side, ratio in calibre_moves(forest, path, s, k, zone, somas[1], branch_r, p.side_calibre_ratio,
                                               p.side_growth_nm or np.inf, p.window_nm, p.side_min_nm):
            moved.append(dict(_move(forest, v, u, a_end if side == 0 else b_end, side, ratio), kind="calibre"))
    return moved


def _long_branch_side(forest: _Forest, v: int, u: int, side: int, default: int, somas: tuple, p: SplitParams) -> int:
    """``zone_long_nm``: a contact-zone branch voted across the cut (to ``side``; 0 = A, 1 = B) whose subtree
    reaches more than ``zone_long_nm`` from its root moves only when its whole-subtree growth vote
    (:func:`.growth.zone_growth_vote`) does not point back to its ``default`` side: the direction vote reads its
    first ``direction_nm``, which at a cell's own branch point (a cut placed where the true contact has no cue)
    is the angle of a sibling, not another cell's neurite; over a long subtree the growth of the whole is the
    larger measurement."""
    g = long_growth_vote(forest, v, u, somas[0], somas[1], p.zone_long_nm)
    if g is None:
        return side
    return default if (g if side == 0 else -g) < 0 else side


def _scale_checked(forest: _Forest, v: int, u: int, direction: float, somas: tuple, origin: np.ndarray,
                   dirs: tuple, p: SplitParams) -> float:
    """The contact-zone branch's direction vote checked against its whole subtree (``zone_scale_check``,
    ``zone_scale_guard_nm``): its first ``direction_nm`` run through the contact, where fused membrane bends the
    skeleton, so when the growth vote of the whole subtree (:func:`.growth.zone_growth_vote`, the same scale of
    vote, 0 for a subtree holding a soma) points to the other cell, the larger measurement stands in for the local
    one. Guarded (``zone_scale_guard_nm`` > 0, ``zone_scale_check`` off) only when the growth vote passes
    ``move_margin`` on its own, or the branch's direction read over ``zone_scale_guard_nm`` (nm, from ``origin``
    against ``dirs``) has the other sign than over ``direction_nm``: a direction that reads the same near and far is
    not bent by the contact, and a weak growth vote does not overrule it."""
    g = zone_growth_vote(forest, v, u, somas[0], somas[1])
    if g * direction >= 0:
        return direction
    if p.zone_scale_check or abs(g) > p.move_margin:
        return g
    far = _direction_vote(forest.x[forest.reach(u, v, p.zone_scale_guard_nm)[0]], origin, dirs)
    return g if far * direction < 0 else direction


def contact_zone_nm(calibre: tuple, p: SplitParams) -> float:
    """Radius (nm) of the contact zone around a cut: ``contact_nm``, or with ``contact_radius_mult`` > 0 at least
    that many times the thicker neurite's calibre at the cut (``calibre``: (A's, B's) median radius, nm; NaN
    ignored): two fused neurites blur the skeleton over a few of their radii, thick ones farther than thin ones."""
    r = np.array(calibre, float)
    r = r[np.isfinite(r)]
    if p.contact_radius_mult <= 0 or not len(r):
        return p.contact_nm
    return max(p.contact_nm, p.contact_radius_mult * float(r.max()))


def _move(forest: _Forest, v: int, u: int, end: int, side: int, vote: float) -> dict:
    """Re-hang the branch entered from ``v`` through ``u`` on ``end`` (side 0 = A, 1 = B); its record."""
    forest.cut(v, u)
    forest.join(end, u)
    return {"vertex": int(u), "attached_at": int(v), "to": "A" if side == 0 else "B", "vote": round(vote, 3)}


def _crossing_arm(forest: _Forest, path: list[int], s: np.ndarray, k: int, near_nm: float, limit_nm: float) -> set:
    """Path vertices from the cut (after position ``k``) to the nearest branch point on each side beyond
    ``near_nm`` (those closer are in the contact zone already) when it lies within ``limit_nm``: two neurites
    that cross are often traced as two branch points a few µm apart, and the arms leaving both belong to the
    contact."""
    out: set = set()
    if limit_nm <= 0:
        return out
    s_cut = 0.5 * (s[k] + s[k + 1])
    for rng in (range(k, -1, -1), range(k + 1, len(path))):
        arm = []
        for q in rng:
            if abs(s[q] - s_cut) > limit_nm:
                break
            arm.append(path[q])
            if len(forest.adj[path[q]]) > 2 and abs(s[q] - s_cut) > near_nm:
                out.update(arm)
                break
    return out


def find_cuts(n: Neuron, params: SplitParams | None = None) -> tuple[np.ndarray, list[dict]]:
    """Cut every soma-to-soma skeleton path of ``n`` once; returns (N,) soma index per skeleton vertex
    (``NEITHER`` for pieces without a soma) and one record per cut (position nm, branch, cue values, score)."""
    p = params or SplitParams()
    sk = n.skeleton
    sv = _soma_vertices(n)
    forest = _Forest.from_skeleton(sk)
    radius = np.asarray(sk.radius, float)
    labels = np.asarray(n.skeleton_labels if n.skeleton_labels is not None else [""] * sk.n_vertices).astype(str)
    is_axon = labels == "axon"
    junction = _junction_vertices(n)
    vb = _vertex_branch(n)
    branch_r = _branch_radius(n, vb)
    syn_pre, syn_post = _vertex_synapses(n)
    together: set = set()
    cuts: list[dict] = []
    while True:
        found = _closest_pair(forest, sv, together)
        if found is None:
            break
        i, j, path = found
        pa = np.asarray(path)
        sbs = _side_by_side(n, pa, branch_r[pa], (n.somas[i], n.somas[j]), p)
        sc = path_scores(sk.vertices[pa], radius[pa], is_axon[pa], junction[pa],
                         (n.somas[i].center_nm, n.somas[i].radius_nm), (n.somas[j].center_nm, n.somas[j].radius_nm), p,
                         branch_radius=branch_r[pa], synapses=(syn_pre[pa], syn_post[pa]), side_by_side=sbs)
        k, model_score = _choose_cut(n, pa, sc, forest, (radius, branch_r, is_axon, junction, syn_pre, syn_post),
                                     (n.somas[i], n.somas[j]), p)
        k, end_on = end_on_cut(sc["s_nm"], sc["prior"], sc["junction"], k, p.end_on_stretch_nm,
                                (forest.adj, forest.x, pa))
        own_j = None
        if p.own_junction_recut and end_on is None:
            k, own_j = own_junction_cut(forest, pa, sc["s_nm"], sc["prior"],
                                        sc["score"] if model_score is None else model_score, k, p.side_min_nm,
                                        p.contact_nm, ((n.somas[i].center_nm, n.somas[j].center_nm), set(sv)))
        k = min(max(k, 1), len(path) - 2) if len(path) > 2 else 0
        rec = _cut_record(n, pa, k, sc, i, j, vb)
        if end_on is not None:
            rec["end_on_stretch"] = end_on
        if own_j is not None:
            rec["own_junction"] = own_j
        if model_score is not None:
            rec["cut_model"] = {"model": str(p.cut_model), "score": round(float(model_score[k]), 4),
                                "hand_choice_vertex": int(pa[int(np.argmax(sc["score"]))])}
        if sc["score"][k] < p.min_score or len(path) < 2:
            together.add((i, j))
            rec["kind"] = "soma_path"
            rec["applied"] = False
            cuts.append(rec)
            continue
        rec["kind"] = "soma_path"
        rec["moved_sides"] = _assign_sides(forest, path, sc["s_nm"], k, radius, p,
                                           (syn_pre, syn_post, is_axon, ~np.isin(labels, ["", "soma", "unknown"])),
                                           ((n.somas[i].center_nm, n.somas[j].center_nm), set(sv)), branch_r)
        rec["applied"] = True
        cuts.append(rec)
    owner = _owners(forest, sv)
    if p.bridge_growth_margin > 0:
        from .bridges import bridge_moves, skeleton_pieces

        applied = [(c["somas"][0], c["somas"][1], c["skeleton_vertex"]) for c in cuts if c.get("applied")]
        cuts.extend(bridge_moves(forest, owner, sv, [np.asarray(s.center_nm, float) for s in n.somas], applied,
                                 skeleton_pieces(n), p.bridge_growth_margin, p.bridge_growth_nm,
                                 p.bridge_faced_pieces))
        owner = _owners(forest, sv)
    if p.bridge_calibre_ratio > 0 and any(c.get("applied") for c in cuts):
        from .bridge_calibre import HEAL_REACH_NM, calibre_bridge_moves
        from .bridges import skeleton_pieces

        cuts.extend(calibre_bridge_moves(forest, owner, sv, skeleton_pieces(n), branch_r, p.bridge_calibre_ratio,
                                         p.window_nm, p.side_min_nm, HEAL_REACH_NM,
                                         p.bridge_faced_pieces))
        owner = _owners(forest, sv)
    for on, axon in ((p.bridge_axon_polarity, True), (p.bridge_dendrite_polarity, False)):
        if on and any(c.get("applied") for c in cuts):
            from .bridge_calibre import HEAL_REACH_NM
            from .bridge_polarity import polarity_bridge_moves
            from .bridges import skeleton_pieces

            cuts.extend(polarity_bridge_moves(forest, owner, sv, skeleton_pieces(n), (syn_pre, syn_post),
                                              p.polarity_purity, p.synapse_window_nm, p.axon_origin_nm, 3,
                                              HEAL_REACH_NM, p.bridge_faced_pieces, axon=axon))
            owner = _owners(forest, sv)
    if p.repair_contacts and len(set(owner[sv].tolist())) > 1:
        cuts.extend(_repair_contacts(n, forest, owner, sv, radius, p))
        owner = _owners(forest, sv)
    return owner, cuts


def _faces_per_vertex(n: Neuron) -> np.ndarray:
    """(N,) input faces mapped to each skeleton vertex (0 for heal bridges and faceless vertices)."""
    nv = n.skeleton.n_vertices
    if n.face_to_skeleton is None:
        return np.zeros(nv)
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    return np.bincount(f2s[f2s >= 0], minlength=nv).astype(float)


def _choose_cut(n: Neuron, pa: np.ndarray, sc: dict, forest: _Forest, arrays: tuple, somas: tuple,
                p: SplitParams) -> tuple[int, np.ndarray | None]:
    """Where to cut path ``pa``: the best hand score, or the best candidate of ``p.cut_model`` (then also its
    score per path vertex). arrays: per skeleton vertex radius, branch radius, is_axon, junction, outputs, inputs."""
    if not p.cut_model:
        return int(np.argmax(sc["score"])), None
    from .cut_model import choose_cut

    return choose_cut(sc, path_candidate_rows(n, pa, sc, forest, arrays, somas, p), p.cut_model, p.cut_model_margin)


def path_candidate_rows(n: Neuron, pa: np.ndarray, sc: dict, forest: _Forest, arrays: tuple, somas: tuple,
                        p: SplitParams) -> np.ndarray:
    """The cut model's candidate rows (``proofread.cut_model.FEATURES``) for every vertex of path ``pa``."""
    from .cut_model import path_features

    radius, branch_r, is_axon, junction, syn_pre, syn_post = arrays
    if "faces_per_vertex" not in n.cache or len(n.cache["faces_per_vertex"]) != n.skeleton.n_vertices:
        n.cache["faces_per_vertex"] = _faces_per_vertex(n)
    deg = np.array([len(forest.adj[v]) for v in pa], dtype=float)
    a, b = somas
    return path_features(sc, n.skeleton.vertices[pa], radius[pa], branch_r[pa], is_axon[pa], junction[pa], deg,
                         n.cache["faces_per_vertex"][pa], (syn_pre[pa], syn_post[pa]), (a.center_nm, a.radius_nm),
                         (b.center_nm, b.radius_nm), p)


def _side_by_side(n: Neuron, pa: np.ndarray, branch_r: np.ndarray, somas: tuple, p: SplitParams) -> np.ndarray | None:
    """The ``side_by_side`` cue along path ``pa`` (``proofread.sections``); None when its weight is 0 or the
    neuron carries no mesh."""
    if p.weights.get("side_by_side", 0.0) <= 0 or n.mesh is None or n.face_to_skeleton is None \
            or len(n.face_to_skeleton) != len(n.mesh.faces):
        return None
    from .sections import side_by_side

    x = np.asarray(n.skeleton.vertices, float)[pa]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(x, axis=0), axis=1))])
    (a, b) = somas
    ok = (s > a.radius_nm + p.soma_margin_nm) & (s < s[-1] - b.radius_nm - p.soma_margin_nm)
    return side_by_side(n.mesh, n.face_to_skeleton, np.asarray(n.skeleton.vertices, float), pa, s, branch_r, ok,
                        min_run_nm=p.side_run_nm, max_slope=p.side_max_slope)


def _cut_record(n: Neuron, pa: np.ndarray, k: int, sc: dict, i: int, j: int, vb: np.ndarray) -> dict:
    s = sc["s_nm"]
    score = sc["score"]
    far = np.abs(s - s[k]) > 5000.0
    runner = float(score[far].max()) if far.any() else float("nan")
    b = int(vb[pa[k]]) if vb[pa[k]] >= 0 else int(vb[pa[min(k + 1, len(pa) - 1)]])
    limb = n.graph.nodes[b].get("limb") if b in n.graph else None
    return {"somas": (int(i), int(j)), "skeleton_vertex": int(pa[k]),
            "position_nm": np.round(n.skeleton.vertices[pa[k]], 1).tolist(),
            "path_length_nm": round(float(s[-1]), 1), "from_soma_nm": (round(float(s[k]), 1),
                                                                      round(float(s[-1] - s[k]), 1)),
            "branch": b, "limb": None if limb is None else int(limb), "score": round(float(score[k]), 4),
            "runner_up_score": round(runner, 4), "cues": {c: round(float(sc[c][k]), 4) for c in CUES},
            "polarity": sc.get("polarity", {"decisive": False})}


def face_owner(n: Neuron, vertex_owner: np.ndarray) -> np.ndarray:
    """(F,) soma index of each input face (``NEITHER`` when its skeleton vertex is in no soma's piece or the face
    was dropped); soma faces go to the owner of their soma's vertex."""
    f2s = np.asarray(n.face_to_skeleton, dtype=np.int64)
    out = np.where(f2s >= 0, vertex_owner[np.maximum(f2s, 0)], NEITHER)
    for s, v in zip(n.somas, _soma_vertices(n)):  # a soma kept with another goes where its vertex went
        out[np.asarray(s.faces, dtype=np.int64)] = vertex_owner[v]
    return out

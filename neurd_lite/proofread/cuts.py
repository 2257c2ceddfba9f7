"""Where to cut a path between two somata: per-vertex merge scores along the skeleton path (nm).

A skeleton path from one soma to another cannot belong to one cell, so somewhere along it one cell's neurite
meets the other's. Each vertex of the path gets a score from cues a proofreader uses:

- ``bottleneck``: how much thinner the path is here than around it, log(median radius within ``window_nm`` /
  median radius within ``local_nm``) (touching neurites meet through a narrow neck);
- ``width_jump``: |log(median radius before / median radius after)| over ``window_nm`` on each side (a thin axon
  meeting a thick dendrite; two dendrites of different calibre);
- ``turn``: (1 - cos of the angle between the direction in and the direction out over ``direction_nm``) / 2:
  1 when the path doubles back, 0 when it runs straight on;
- ``radial``: neurites leave their own soma and run toward it when followed back, so the cut that best
  explains the path is where "moving away from soma A" stops paying and "moving toward soma B" starts:
  the cumulative sum of (d|x - A|/ds - (-d|x - B|/ds)) up to the vertex, rescaled to [0, 1] over the path;
- ``taper``: neurites taper away from their soma, so the radius should fall from soma A to the cut and rise
  from the cut to soma B. The log radius (per vertex; ``taper_on_branches``: the branch radii instead, off by
  default) is fitted by a non-increasing run up to the vertex and a
  non-decreasing one after it (isotonic regression, pool-adjacent-violators); the cue is how much of the
  worst split's misfit this split removes, in [0, 1]. Session 10b: fitted to the running median radius over
  ± ``taper_smooth_nm`` (1.5 µm, = ``local_nm``): a skeleton junction vertex often carries a near-zero radius,
  and one such outlier is the perfect minimum of a "fall then rise" fit, so every own branch point near a soma
  scored ``taper`` 1 and beat a dendrite-dendrite contact that has no branch point;
- ``junction``: 1 at a branch point of the branch graph (a side branch of >= 3 µm leaves here), decaying over
  ``contact_nm``: contacts between cells show up as branch points of the merged skeleton;
- ``axon_change``: |axon fraction before - axon fraction after| of the compartment labels over ``window_nm``
  (an axon meeting a dendrite; not where a soma's own axon starts within ``axon_origin_nm`` of it), plus ``axons_meet`` when both sides are axon and the path turns (two axons);
- ``outward``: a neurite followed from its soma moves away from it, so the distance to soma A should not fall
  from A to the cut and the distance to soma B should not rise from the cut to B. Both distance profiles are
  fitted by monotone runs (isotonic regression) on their side of the vertex; the cue is how much of the worst
  split's misfit this split removes, in [0, 1] (the local counterpart of ``radial``, which only compares
  the two distances' sum);
- ``branch_jump``: |log(radius before / radius after)| over ``window_nm`` of the branch radii (each vertex
  carries the median radius of its branch of the branch graph, which spines and single-vertex outliers do not
  move), capped at 1: the calibre step where one cell's neurite meets another's. A dendritic step whose thick
  side faces the nearer soma (along the path) is how that cell's own tree branches (Rall: children thinner than
  their parent, calibre falling away from the soma) and says nothing about a contact: it is scaled by
  1 - ``rall_discount``; not when the thin side is an axon (labels or a majority of output synapses), which
  meets a thicker dendrite the same way (``rall_dendrites_only``; session 8).
- ``synapse_change``: |share of output synapses within ``synapse_window_nm`` before - after| (at least
  ``synapse_min`` synapses on each side): an axon (output synapses) meeting a dendrite (input synapses) seen
  from the synapses themselves, which the compartment labels of a merged object often get wrong (both sides
  labelled axon, or an axon labelled basal); silenced where a soma's own axon starts within ``axon_origin_nm``
  (session 7).
- ``axon_own_discount`` (session 9): where both sides of a vertex are axon (labels and output synapses), its
  ``junction`` and ``branch_jump`` are scaled by 1 - ``axon_own_discount``: a branch point inside one axon is how
  that axon branches (the counterpart of the Rall discount for dendrites); an axon meeting a dendrite has inputs on
  the dendrite's side and keeps its score.
- ``polarity_gate`` (session 10): not a cue but a gate: when the path's synapses fall into a pure input run and
  a pure output run (``proofread.polarity``), cuts outside the change point's confidence set are scaled down: each
  side of a true cut is one cell's neurite, which beyond its axon's start keeps its polarity.
- ``side_by_side`` (session 9, weight 0: opt-in): 1 inside runs of at least ``side_run_nm`` of path cross-sections
  that cut a second neurite beside the skeleton's own (``proofread.sections``; computed by ``find_cuts`` from the
  mesh only when weighted).

The weighted sum is multiplied by a soma prior: 0 within the soma radius + ``soma_margin_nm`` of either soma
centre (along the path), 1 beyond it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..checks import check_params

CUES = ("bottleneck", "width_jump", "turn", "radial", "taper", "junction", "axon_change", "axons_meet", "outward",
        "branch_jump", "synapse_change", "side_by_side")


@dataclass(frozen=True)
class SplitParams:
    """Parameters of the splitter (lengths in nm).

    weights: weight of each cue (see module doc); min_score: a soma pair whose best cut scores below this is not
    split (flagged instead). contact_nm: side branches leaving within this distance of the cut choose their cell
    by continuity (direction and calibre) rather than by which side of the cut they leave; a side moves to the
    other cell only when its continuity vote for that cell exceeds ``move_margin`` (a branch point of one cell at
    the contact keeps both children). repair_contacts: after the soma-to-soma cuts, give a cell the continuation
    of a neurite that ends against another cell (a second contact; see ``split._repair_contacts``).
    origin_quiet: where a soma's own axon starts (within ``axon_origin_nm``, where ``axon_change`` is silenced)
    the calibre step (``branch_jump``) and the branch point (``junction``) are silenced too: the hillock and the
    axon's own branch point belong to that cell, not to a contact (session 6). synapse_window_nm / synapse_min:
    window and minimum synapse count per side of ``synapse_change`` (session 7, chosen on tune merges).
    taper_on_branches: fit ``taper`` to the branch radii instead of the per-vertex skeleton radius (off).
    taper_smooth_nm: fit ``taper`` to the median radius within ± this of each vertex (0: the raw per-vertex
    radius, before session 10b; see docs/proofreading.md "Session 10, round 2").
    rall_discount: share of ``branch_jump`` removed where a dendritic calibre step's thick side faces the nearer
    soma (that cell's own branch point, not a contact); rall_dendrites_only: not where the thin side is an axon
    (axon labels or output synapses >= half over ``synapse_window_nm``). Session 8, chosen on tune merges (family
    seeds 0-48, 42 merges, 105 cells, >= 0.95: 85 -> 93; touching tune 16 / 20 unchanged; see
    docs/proofreading.md "Session 8"). axon_own_discount: share of ``junction`` and ``branch_jump`` removed where
    both sides of the vertex are axon (an axon's own branch point, not a contact); axon_own_by: what says "axon":
    ``"labels"`` (axon fraction >= 0.5 over ``window_nm`` each side), ``"synapses"`` (output share >= 0.5 over
    ``synapse_window_nm`` each side), ``"either"`` or ``"both"`` (session 9, chosen on tune merges; see
    docs/proofreading.md "Session 9"). side_run_nm: shortest run of two-tube sections that counts for
    ``side_by_side`` (a cell's own branch point shows the sister child for its first 1-3 µm); side_max_slope:
    the most the second neurite's distance may change per unit of path over a run (None: any).
    polarity_gate (session 10): where the path's synapses fall into two pure runs (inputs on one side, outputs on
    the other; ``proofread.polarity``), the score of every cut outside the change's confidence set (widened by
    ``polarity_slack_nm``) is scaled by 1 - ``polarity_gate``; polarity_min_gain / polarity_purity: how strong
    and how pure the two runs must be; polarity_own_labels: a change near a soma is that soma's own axon start
    (no gate) only where the labels call the far side axon. rall_synapses_first: the thin side of a calibre step
    is axon or dendrite by its synapses when it has ``synapse_min`` of them, by its labels only otherwise (an
    input-carrying dendrite labelled axon keeps its Rall discount). Session 10, chosen on tune merges; see
    docs/proofreading.md "Session 10".
    cut_model (session 11): a learned ranker of the candidate cuts (``proofread.cut_model``; a shipped model name
    such as ``"split_cut"`` or a path to its ``.txt``) chooses the cut on each path instead of the hand-weighted
    score; None: the hand score (every cue and the score are recorded either way). Default since session 15:
    ``"split_cut_dist"`` (session 11's distance-to-switch ranker retrained on tune seeds 48-121; fresh held-out
    1760-1819: 124 -> 136 of 148 cells >= 0.95, 13 gained / 1 lost; real cell's cut unchanged;
    docs/proofreading.md "Session 15"); ``cut_model=None`` gives the hand score's cut. ``"split_cut_faces"`` (session
    14, opt-in) is trained on the face accuracy the whole splitter reaches per candidate cut (held-out 1620-1699:
    171 -> 179 of 198 cells >= 0.95, but 7 cells lost; docs/proofreading.md "Session 14").
    cut_model_margin (session 14, opt-in; 0 = off): keep the hand score's cut unless the model scores its own best
    candidate more than this above the hand's (for ``split_cut_faces`` the score is minus the predicted accuracy
    loss, so 0.005 = half a point of face accuracy). Chosen on tune OOF (116 -> 117 of 120); held-out 1700-1759
    with split_cut_faces: 136 -> 132 of 152 cells >= 0.95 (7 lost), not adopted (docs/proofreading.md).
    side_evidence_weight (session 11, default since round 4; 0 = the old vote): a side branch leaving the
    contact zone also votes by its own evidence: how much better its output-synapse share and axon-label share
    (over ``side_evidence_nm`` of the branch) match each cell's neurite at the cut (``synapse_window_nm`` of the
    path), times this weight, added to the direction / calibre vote (docs/proofreading.md "Session 11, round 4":
    tune 282 -> 285, held-out seeds 1300-1363 132 -> 134 cells >= 0.95).
    side_growth_margin (session 12; default 0.5 since its round 2, 0 = off): a branch leaving the soma-to-soma path
    outside the contact zone, within ``side_growth_nm`` of the cut (0: anywhere on the path), moves to the other
    cell when it grows away from the other soma: (far-end distance gain from the other soma's centre - from its
    owner's) / its extent, and the same averaged along its cable to the far end, both exceed this margin
    (``proofread.growth``; docs/proofreading.md "Session 12", "Session 12, round 2": held-out 1500-1539 88 -> 89
    cells >= 0.95, 5 right / 0 wrong moves).
    side_calibre_ratio (session 13; 0 = off): a branch leaving the path outside the contact zone within
    ``side_growth_nm`` of the cut moves to the other cell when its branch radius (over ``window_nm``) is at least
    this many times its parent arm's (the path towards its owner's soma): a child is thinner than its parent
    (``proofread.calibre``; 2 is the ``merge_width_jump`` flag's threshold).
    contact_radius_mult (session 16; 0 = off): the contact zone where side branches vote reaches at least this
    many times the thicker neurite's median radius at the cut (``split.contact_zone_nm``), never less than
    ``contact_nm``; the cut itself (``junction`` cue, the ranker's inputs) still reads ``contact_nm``. Tune plateau
    3.75-4.5 (176 -> 178 of 184 cells >= 0.95); fresh held-out 1880-1939 with 4: 128 -> 132 of 148 but 3 cells lost,
    so opt-in (docs/proofreading.md "Session 16").
    path_vote_nm (session 18; 0 = off): a branch leaving the soma-to-soma path beyond the contact zone but within
    this distance of the cut votes for its cell like a contact-zone branch (direction, calibre, evidence), its
    direction judged at its own branch point against the path's two arms there, and changes side only when the
    vote passes ``path_vote_margin`` (stricter than ``move_margin``: the farther from the cut, the likelier a
    branch point is the cell's own). Tune 800-999 fragmented: 221 -> 222 of 250 cells >= 0.95 with 5000 / 1.0;
    fresh held-out 1940-1999: no cell changes (138 of 152 both), so opt-in (docs/proofreading.md "Session 18").
    zone_growth_weight (session 19; default 0 = off): a branch leaving the contact zone adds this times its whole
    subtree's growth vote (``growth.zone_growth_vote``: a neurite grows away from its own soma, the rule
    ``side_growth_margin`` applies beyond the zone) to its direction / calibre / evidence vote; both votes lie in
    [-2, 2], so 1 weighs them equally (fixed before any run). Fresh held-out 2000-2059: 124 -> 126 of 148 cells
    >= 0.95 with 1 (its rule passed), but over tune 800-999, tune 122-192 and spent 1940-1999 it gains 1 and loses
    3 (fam1989 .955 -> .447): kept opt-in by the coordinator (docs/proofreading.md "Session 19").
    bridge_growth_margin (session 20; default 0.5 since its held-out rule passed, 0 = off): after the cuts, a
    subtree entered through a skeleton edge that leaves its mesh piece (a heal bridge or chunk seam;
    ``proofread.bridges``) within ``bridge_growth_nm`` of a cut moves to the other cell of that cut when it grows
    away from that cell's soma by more than this margin (the ``side_growth_margin`` rule, at its far end and along
    its cable) and lies within ``bridge_growth_nm`` of its bridge. Fresh held-out 2060-2119: 143 -> 145 of 152
    cells >= 0.95, 0 lost, no cell down by > .05 (docs/proofreading.md "Session 20").
    bridge_faced_pieces (session 21; default False = off, opt-in): a faceless skeleton vertex at a possible bridge
    is read through to the first vertices with faces on each side (``bridges._crosses``), so an edge whose two
    sides lie on one mesh piece is no bridge (the membrane is one neurite); off: a faceless end always counts as a
    bridge. Tune 800-899 fragmented + 12 clean (144 cells): 123 -> 123 cells >= 0.95, no cell crosses .95, mean
    equal; it removes two wrong moves a 30 µm ``bridge_growth_nm`` would make. Not scored on held-out (its tune
    gate was not met; docs/proofreading.md "Session 21").
    zone_scale_check (session 22; default False = off): a contact-zone branch whose direction vote (its first
    ``direction_nm``, which runs through the fused contact) and whole-subtree growth vote (``growth.zone_growth_vote``)
    point to different cells votes by the growth vote instead: the larger measurement decides
    (``split._scale_checked``). Tune 62 merges: 132 -> 137 of 154 cells >= 0.95, 0 lost; fresh held-out 2140-2159:
    48 -> 50 of 52 but fam2141 falls .990 -> .921 (a weak growth vote overruled a scale-stable direction), so its
    rule failed and it stays opt-in (docs/proofreading.md "Session 22").
    zone_scale_guard_nm (session 22, round 2; default 0 = off, 25000 when on): the same check, guarded: the growth
    vote replaces a contradicting direction only when it passes ``move_margin`` on its own (the margin any vote
    needs to move a branch) or the branch's direction read over this reach has the other sign than over
    ``direction_nm`` (the start was bent by the contact; a direction that reads the same near and far is kept
    against a weak growth vote, held-out fam2141). 25 µm: the longest reach of the session-22 direction diagnosis
    (3, 6, 12, 25 µm, about 4 ``direction_nm``), where the 6 and 25 µm signs differed the longer one was right 6 of
    6 times on tune; a chosen scale, not fitted. ``zone_scale_check=True`` (unguarded) takes precedence. Tune 62
    merges: 132 -> 137 of 154 cells >= 0.95, 0 lost (922-958: 44 -> 44 of 47); fresh held-out 2160-2179: 42 -> 42
    of 48 (one merge up, none down), so its rule failed and it stays opt-in (docs/proofreading.md "Session 22,
    round 2").
    zone_long_nm (session 23; default 0 = off): a contact-zone branch voted across the cut whose subtree reaches
    farther than this (nm along the skeleton from its root) moves only when its whole-subtree growth vote
    (``growth.zone_growth_vote``) does not point back to the side it leaves from (``split._long_branch_side``): at
    a cell's own branch point, chosen as the cut when the true contact carries no cue, the sibling's first
    ``direction_nm`` reads the branching angle, not another cell's neurite (held-out fam2174: a 61k-face sibling
    voted across at -0.99, growth +0.26 right); docs/proofreading.md "Session 23".
    end_on_stretch_nm (session 23 round 2; default 72 µm, 0 = off): when the chosen cut lies at an end of the
    path's longest junction-free stretch, that stretch is at least this long (two cells' terminal stretches fused
    end on) and no branch there leaves backwards (``proofread.stretch``), cut at the stretch's middle. Tune: end-on
    merges 72 -> 74 of 78 cells >= .95, ordinary 156 = 156 of 182; fresh held-out 2200-2219: end-on 46 -> 48 of 48,
    ordinary 45 -> 46 of 48, no cell falls; real cell unchanged (docs/proofreading.md "Session 23, round 2").
    zone_undecided_nm (session 24; 0 = off): a contact-zone branch whose vote stays inside ``move_margin`` (undecided:
    it would stay on the side of the cut it leaves from) and whose subtree reaches farther than this (nm along the
    skeleton from its root) goes to the soma it grows away from when its whole-subtree growth vote
    (``growth.zone_growth_vote``) passes ``growth.UNDECIDED_GROWTH`` (``growth.undecided_side``): at a cut placed
    on one cell's own branch point the sibling's first ``direction_nm`` reads a branching angle (no vote), while a
    long subtree's growth says whose it is (held-out fam2218: a 122 µm sibling, vote -0.04, growth -0.29 right).
    Opt-in: at 40000 it failed fresh held-out 2220-2239 (ordinary 46 = 46 of 52 cells >= .95, end-on 43 -> 42;
    docs/proofreading.md "Session 24").
    own_junction_recut (session 25; False = off): when the chosen cut (not moved by ``end_on_stretch_nm``) sits at a
    branch point the soma path passes straight through and no side branch there continues a path arm (one cell's own
    branch point), the cut moves to the best-scoring vertex on the branch point's child side, up to the next such
    own branch point (``proofread.junctions``). Opt-in: forced own-branch cuts on tune 229 -> 261 of 420 cells >= .95,
    natural tune unchanged, but fresh held-out 2260-2279 fired once (ordinary 48 = 48 of 52, end-on 43 = 43 of 52);
    docs/proofreading.md "Session 25".
    bridge_calibre_ratio (session 26; 0 = off): after the cuts, a subtree entered through a skeleton edge that
    leaves its mesh piece (a heal bridge, anywhere, no distance limit) whose branch radius over ``window_nm`` is at
    least this many times its parent arm's (towards its owner's soma) moves to the nearest vertex owned by another
    soma: a child is thinner than its parent (``proofread.bridge_calibre``; 2 is the ``merge_width_jump`` flag's
    threshold, as ``side_calibre_ratio``), within healing's reach (15 µm), not touching it, and fitting it. For
    thick dendrites healed onto another cell's thin neurites far from the cut (tune fam602). Opt-in: it failed
    fresh held-out twice, 2300-2339 without the touching guard (180 -> 179 of 200 cells >= .95) and 2340-2379
    with it (ordinary 84 = 84 of 100; docs/proofreading.md "Session 26").
    bridge_axon_polarity (session 27; default True since its held-out rule passed, False = off): after the cuts, a
    subtree entered through a heal bridge farther than ``axon_origin_nm`` from its owner's soma whose first ``synapse_window_nm`` carries outputs (share >=
    ``polarity_purity`` of >= 3 synapses) while the arm it hangs on carries inputs (the same purity) moves to the
    nearest vertex of another soma within healing's reach (15 µm): an axon does not leave a dendrite far from its
    soma (``proofread.bridge_polarity``). Tune 400-447 113 -> 115 of 120 cells >= .95; fresh held-out 2380-2419
    94 -> 95 of 100, mean .9861 -> .9877, one move, no cell down (docs/proofreading.md "Session 27").
    bridge_dendrite_polarity (session 28; False = off): the mirror: a subtree entered through a heal bridge farther
    than ``axon_origin_nm`` from its owner's soma whose first ``synapse_window_nm`` carries inputs while its arm
    carries outputs moves to the nearest non-axonal vertex of another soma's cell within heal reach, unless its own
    cell has a non-axonal neurite nearer: a dendrite does not leave an axon. Opt-in: tune 400-447 115 -> 116 of 120,
    602-994 105 -> 104 of 116; fresh held-out 2420-2459 89 -> 90 of 100, mean .9770 -> .9778, but one cell fell
    .0205 (rule: <= .02), so its rule failed (docs/proofreading.md "Session 28").
    """

    window_nm: float = 5000.0
    local_nm: float = 1500.0
    direction_nm: float = 6000.0
    contact_nm: float = 1500.0
    crossing_nm: float = 3500.0
    axon_origin_nm: float = 30000.0
    origin_quiet: bool = True
    synapse_window_nm: float = 20000.0
    taper_on_branches: bool = False
    taper_smooth_nm: float = 1500.0
    synapse_min: int = 2
    rall_discount: float = 1.0
    rall_dendrites_only: bool = True
    axon_own_discount: float = 0.5
    axon_own_by: str = "both"
    outward_min_um2: float = 1.0
    soma_margin_nm: float = 1500.0
    side_min_nm: float = 3000.0
    move_margin: float = 0.5
    repair_contacts: bool = True
    weights: dict = field(default_factory=lambda: {"bottleneck": 0.0, "width_jump": 0.0, "turn": 2.0,
                                                   "radial": 0.0, "taper": 0.5, "junction": 1.0, "axon_change": 0.5,
                                                   "axons_meet": 0.5, "outward": 0.5, "branch_jump": 1.0,
                                                   "synapse_change": 1.0, "side_by_side": 0.0})
    side_run_nm: float = 3000.0
    side_max_slope: float | None = None
    min_score: float = 0.0
    polarity_gate: float = 1.0
    polarity_min_gain: float = 15.0
    polarity_purity: float = 0.8
    polarity_own_labels: bool = True
    polarity_slack_nm: float = 3500.0
    rall_synapses_first: bool = True
    cut_model: str | None = "split_cut_dist"
    cut_model_margin: float = 0.0
    side_evidence_weight: float = 1.0
    side_evidence_nm: float = 20000.0
    side_growth_margin: float = 0.5
    side_growth_nm: float = 20000.0
    side_calibre_ratio: float = 0.0
    contact_radius_mult: float = 0.0
    path_vote_nm: float = 0.0
    path_vote_margin: float = 1.0
    zone_growth_weight: float = 0.0
    bridge_growth_margin: float = 0.5
    bridge_growth_nm: float = 20000.0
    bridge_faced_pieces: bool = False
    zone_scale_check: bool = False
    zone_scale_guard_nm: float = 0.0
    zone_long_nm: float = 0.0
    end_on_stretch_nm: float = 72000.0
    zone_undecided_nm: float = 0.0
    own_junction_recut: bool = False
    bridge_calibre_ratio: float = 0.0
    bridge_axon_polarity: bool = True
    bridge_dendrite_polarity: bool = False

    def __post_init__(self) -> None:
        # lengths (``_nm``) >= 0, cosines in [-1, 1], ... by name (``checks.SUFFIX_RANGES``); NaN is refused: a NaN
        # ``end_on_stretch_nm`` passed ``<= 0`` (off) and every ``<`` against it, so the rule fired on any stretch
        check_params(self)

    def to_dict(self) -> dict:
        return asdict(self)


def _window_median(s: np.ndarray, r: np.ndarray, ok: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per vertex, the median of ``r`` over path positions in [lo, hi) that are ``ok`` (NaN when none)."""
    out = np.full(len(s), np.nan)
    a = np.searchsorted(s, lo, side="left")
    b = np.searchsorted(s, hi, side="left")
    for i in range(len(s)):
        v = r[a[i]:b[i]][ok[a[i]:b[i]]]
        v = v[np.isfinite(v)]
        if len(v):
            out[i] = np.median(v)
    return out


def _point_at(x: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points on the polyline ``x`` (arclength ``s``) at arclengths ``t`` (clipped to the ends)."""
    t = np.clip(t, s[0], s[-1])
    return np.stack([np.interp(t, s, x[:, k]) for k in range(3)], axis=1)


def path_scores(x: np.ndarray, radius: np.ndarray, is_axon: np.ndarray, is_junction: np.ndarray,
                soma_a: tuple[np.ndarray, float], soma_b: tuple[np.ndarray, float],
                p: SplitParams, branch_radius: np.ndarray | None = None,
                synapses: tuple[np.ndarray, np.ndarray] | None = None,
                side_by_side: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Cue values and the total score at each vertex of a soma-to-soma path.

    x: (m, 3) path positions from soma A's vertex to soma B's (nm); radius: (m,) nm; is_axon, is_junction: (m,)
    bool; soma_a / soma_b: (centre nm, radius nm); branch_radius: (m,) nm, the radius of each vertex's branch
    (defaults to ``radius``); synapses: (m,) output and (m,) input synapse counts anchored at each vertex (faces
    mapped to it), for ``synapse_change``; side_by_side: (m,) the ``side_by_side`` cue (``proofread.sections``;
    zeros when None). Returns arrays of length m: every cue, ``prior``, ``score``
    and ``s_nm`` (arclength from soma A's vertex).
    """
    m = len(x)
    seg = np.linalg.norm(np.diff(x, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    (ca, ra), (cb, rb) = soma_a, soma_b
    prior = ((s > ra + p.soma_margin_nm) & (s < total - rb - p.soma_margin_nm)).astype(float)
    prior[0] = prior[-1] = 0.0
    if not prior.any():  # somata closer than their radii: any interior vertex may be cut
        prior[1:-1] = 1.0
    ok = prior > 0  # radii inside a soma say nothing about the neurite
    r = np.where(np.isfinite(radius) & (radius > 0), radius, np.nan)
    w = p.window_nm
    bottleneck, jump, turn = _calibre_and_turn(x, s, r, ok, p)
    da = np.linalg.norm(x - ca, axis=1)
    db = np.linalg.norm(x - cb, axis=1)
    step = np.diff(da) + np.diff(db)  # away from A minus toward B, per edge (nm)
    cum = np.concatenate([[0.0], np.cumsum(step)])
    radial = (cum - cum.min()) / max(np.ptp(cum), 1.0)
    jdist = np.full(m, np.inf)
    if is_junction.any():
        js = s[is_junction]
        jdist = np.abs(s[:, None] - js[None, :]).min(axis=1)
    junction = np.exp(-0.5 * (jdist / max(p.contact_nm, 1.0)) ** 2)
    ax = is_axon.astype(float)
    axb = np.nan_to_num(_mean_in(s, ax, s - w, s))
    axa = np.nan_to_num(_mean_in(s, ax, s + 1e-6, s + w))
    fb, fa = _output_shares(s, ok, synapses, p)
    axon_change = np.abs(axb - axa)
    own = np.zeros(m, dtype=bool)
    if p.axon_origin_nm > 0:  # a cell's own axon leaves its soma or a proximal dendrite: not a contact
        own_a = (s < ra + p.axon_origin_nm) & (axa > axb)
        own_b = (s > total - rb - p.axon_origin_nm) & (axb > axa)
        own = (own_a | own_b) & (axon_change > 0)
        axon_change = np.where(own, 0.0, axon_change)
    axons_meet = np.minimum(axb, axa) * turn
    outward = _two_run_fit(-da, -db, ok, min_gain=p.outward_min_um2 * 1e6)  # dA rising to the vertex, dB falling after
    br = r if branch_radius is None else np.where(np.isfinite(branch_radius) & (branch_radius > 0), branch_radius,
                                                  np.nan)
    tr = br if p.taper_on_branches else r  # per branch: spines and one-vertex outliers do not move it
    if p.taper_smooth_nm > 0 and not p.taper_on_branches:  # a near-zero radius at a junction is no taper minimum
        tr = _window_median(s, r, np.ones(m, dtype=bool), s - p.taper_smooth_nm, s + p.taper_smooth_nm)
    taper = _taper(np.log(np.where(np.isfinite(tr), tr, np.nanmedian(tr) if np.isfinite(tr).any() else 1.0)), ok)
    branch_jump, junction = _own_branching_discounts(s, br, ok, own, junction, (axb, axa), (fb, fa), ra, rb, p)
    syn_change = _synapse_change(s, fb, fa, ra, rb, total, p) if synapses is not None else np.zeros(m)
    cues = {"bottleneck": bottleneck, "width_jump": jump, "turn": turn, "radial": radial, "taper": taper,
            "junction": junction, "axon_change": axon_change, "axons_meet": axons_meet, "outward": outward,
            "branch_jump": branch_jump, "synapse_change": syn_change,
            "side_by_side": np.zeros(m) if side_by_side is None else np.asarray(side_by_side, float)}
    score = sum(p.weights.get(k, 0.0) * v for k, v in cues.items()) * prior
    score, polarity, pol_rec = _polarity_gate(score, s, ok, synapses, axb, axa, ra, rb, p)
    return {**cues, "prior": prior, "score": score, "s_nm": s, "polarity_ok": polarity, "polarity": pol_rec}


def _calibre_and_turn(x: np.ndarray, s: np.ndarray, r: np.ndarray, ok: np.ndarray, p: SplitParams
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``bottleneck``, ``width_jump`` and ``turn`` cues at each vertex of a path: x (m, 3) nm, s (m,) arclength
    nm, r (m,) radius nm (NaN where unknown), ok (m,) the vertices outside both somata."""
    m = len(x)
    w = p.window_nm
    local = _window_median(s, r, np.ones(m, dtype=bool), s - p.local_nm, s + p.local_nm)
    around = _window_median(s, r, ok, s - w, s + w)
    before = _window_median(s, r, ok, s - w, s)
    after = _window_median(s, r, ok, s + 1e-6, s + w)
    with np.errstate(invalid="ignore", divide="ignore"):
        bottleneck = np.nan_to_num(np.clip(np.log(around / local), 0.0, None))
        jump = np.nan_to_num(np.abs(np.log(before / after)))
    d = p.direction_nm
    din = x - _point_at(x, s, s - d)
    dout = _point_at(x, s, s + d) - x
    nin, nout = np.linalg.norm(din, axis=1), np.linalg.norm(dout, axis=1)
    cos = np.einsum("ij,ij->i", din, dout) / np.maximum(nin * nout, 1e-9)
    turn = np.where((nin > 0) & (nout > 0), (1.0 - cos) / 2.0, 0.0)
    return bottleneck, jump, turn


def _own_branching_discounts(s: np.ndarray, br: np.ndarray, ok: np.ndarray, own: np.ndarray, junction: np.ndarray,
                             axon: tuple[np.ndarray, np.ndarray], shares: tuple[np.ndarray, np.ndarray],
                             ra: float, rb: float, p: SplitParams) -> tuple[np.ndarray, np.ndarray]:
    """The ``branch_jump`` cue and the ``junction`` cue after the discounts for a cell's own branching: the
    hillock (``origin_quiet``, where ``own`` marks an own axon start), Rall steps (``rall_discount``) and branch
    points inside one axon (``axon_own_discount``). s (m,) arclength nm; br (m,) branch radii nm; axon: axon
    label fraction before / after each vertex; shares: output-synapse share before / after (NaN: too few);
    ra, rb: soma radii nm."""
    (axb, axa), (fb, fa) = axon, shares
    w = p.window_nm
    total = s[-1]
    b_before = _window_median(s, br, ok, s - w, s + 1e-6)
    b_after = _window_median(s, br, ok, s + 1e-6, s + w)
    with np.errstate(invalid="ignore", divide="ignore"):
        branch_jump = np.minimum(np.nan_to_num(np.abs(np.log(b_before / b_after))), 1.0)
    if p.origin_quiet:  # the hillock's calibre step and the axon's own branch point are the cell's, not a contact
        branch_jump = np.where(own, 0.0, branch_jump)
        junction = np.where(own, 0.0, junction)
    if p.rall_discount > 0:  # a dendrite step thick toward the nearer soma is that cell's own branching (Rall)
        near_a = (s - ra) <= (total - s - rb)
        with np.errstate(invalid="ignore"):
            rall = (near_a & (b_before > b_after)) | (~near_a & (b_after > b_before))
            thin_before = b_before < b_after  # the thin side: an axon there (labels or outputs) is no own child
            axon_thin = np.where(thin_before, axb, axa) >= 0.5
            f_thin = np.where(thin_before, fb, fa)
            if p.rall_synapses_first:  # a thin side with synapses is axon or dendrite by them, not by its labels
                axon_thin = np.where(np.isfinite(f_thin), np.nan_to_num(f_thin) >= 0.5, axon_thin)
            elif p.rall_dendrites_only:
                axon_thin |= np.nan_to_num(f_thin) >= 0.5
        if p.rall_dendrites_only:
            rall &= ~axon_thin
        branch_jump = np.where(rall, 1.0 - p.rall_discount, 1.0) * branch_jump
    if p.axon_own_discount > 0:  # a branch point inside one axon (axon on both sides) is that axon's own
        lab_both = np.minimum(axb, axa) >= 0.5
        syn_both = np.nan_to_num(np.minimum(fb, fa)) >= 0.5
        both = {"labels": lab_both, "synapses": syn_both, "either": lab_both | syn_both,
                "both": lab_both & syn_both}[p.axon_own_by]
        keep = np.where(both, 1.0 - p.axon_own_discount, 1.0)
        junction = junction * keep
        branch_jump = branch_jump * keep
    return branch_jump, junction


def _polarity_gate(score: np.ndarray, s: np.ndarray, ok: np.ndarray, synapses: tuple[np.ndarray, np.ndarray] | None,
                   axb: np.ndarray, axa: np.ndarray, ra: float, rb: float, p: SplitParams
                   ) -> tuple[np.ndarray, np.ndarray, dict]:
    """``score`` scaled by 1 - ``polarity_gate`` at the cuts the path's synapse polarity rules out
    (``proofread.polarity``), with where cuts stay allowed and the polarity record; unchanged without synapses or
    with the gate off."""
    polarity = np.ones(len(s), dtype=bool)
    pol_rec: dict = {"decisive": False}
    if p.polarity_gate > 0 and synapses is not None:  # cuts the path's synapse polarity rules out
        from .polarity import polarity_change

        pre, post = (np.where(ok, np.asarray(c, float), 0.0) for c in synapses)
        polarity, pol_rec = polarity_change(s, pre, post, ra, rb, p.axon_origin_nm,
                                            axon_before=axb if p.polarity_own_labels else None,
                                            axon_after=axa if p.polarity_own_labels else None, min_gain=p.polarity_min_gain,
                                            slack_nm=p.polarity_slack_nm,
                                            min_side=max(p.synapse_min, 3), purity=p.polarity_purity)
        score = score * np.where(polarity, 1.0, 1.0 - p.polarity_gate)
        if pol_rec["decisive"]:  # a hair above 0 inside the consistent cuts: never a cut at a soma when all cues are 0
            score = score + 1e-9 * (polarity & ok)
    return score, polarity, pol_rec


def _output_shares(s: np.ndarray, ok: np.ndarray, synapses: tuple[np.ndarray, np.ndarray] | None,
                   p: SplitParams) -> tuple[np.ndarray, np.ndarray]:
    """Output share of the synapses within ``synapse_window_nm`` before and after each path vertex (NaN where a
    side has fewer than ``synapse_min``; all NaN without synapses). Synapses inside a soma (prior 0) do not count."""
    if synapses is None:
        return np.full(len(s), np.nan), np.full(len(s), np.nan)
    pre, post = (np.where(ok, np.asarray(c, float), 0.0) for c in synapses)
    w = p.synapse_window_nm

    def share(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        npre = _sum_in(s, pre, lo, hi)
        nall = npre + _sum_in(s, post, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(nall >= p.synapse_min, npre / nall, np.nan)

    return share(s - w, s + 1e-6), share(s + 1e-6, s + w)


def _synapse_change(s: np.ndarray, fb: np.ndarray, fa: np.ndarray, ra: float, rb: float, total: float,
                    p: SplitParams) -> np.ndarray:
    """|output share before - after| (``_output_shares``) at each path vertex: an axon (output synapses) meeting
    a dendrite (input synapses), whatever the compartment labels say. A side with too few synapses gives 0; a
    soma's own axon starting within ``axon_origin_nm`` of it (outputs on the side away from that soma) gives 0."""
    out = np.nan_to_num(np.abs(fb - fa))
    if p.axon_origin_nm > 0:
        own = ((s < ra + p.axon_origin_nm) & (np.nan_to_num(fa) > np.nan_to_num(fb))) | \
              ((s > total - rb - p.axon_origin_nm) & (np.nan_to_num(fb) > np.nan_to_num(fa)))
        out = np.where(own, 0.0, out)
    return out


def _sum_in(s: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum of ``v`` over the path vertices with lo <= s < hi, per query (s sorted, nm)."""
    c = np.concatenate([[0.0], np.cumsum(v)])
    return c[np.searchsorted(s, hi, side="left")] - c[np.searchsorted(s, lo, side="left")]


def _mean_in(s: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    n = np.searchsorted(s, hi, side="left") - np.searchsorted(s, lo, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, _sum_in(s, v, lo, hi) / np.maximum(n, 1), np.nan)


def _prefix_isotonic_cost(y: np.ndarray) -> np.ndarray:
    """cost[i]: residual sum of squares of the best non-increasing fit to y[:i + 1] (pool adjacent violators,
    run once left to right: after each step the block stack is the optimal fit of that prefix)."""
    blocks: list[list[float]] = []  # [sum, sum of squares, count]
    total = 0.0  # sum over blocks of (sum sq - sum^2 / n)
    cost = np.zeros(len(y))
    for i, v in enumerate(y):
        blk = [float(v), float(v) * v, 1.0]
        while blocks and blocks[-1][0] / blocks[-1][2] < blk[0] / blk[2]:  # a rise: pool it
            top = blocks.pop()
            total -= top[1] - top[0] ** 2 / top[2]
            blk = [blk[0] + top[0], blk[1] + top[1], blk[2] + top[2]]
        blocks.append(blk)
        total += blk[1] - blk[0] ** 2 / blk[2]
        cost[i] = total
    return cost


def _taper(logr: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The ``taper`` cue (module doc): log radius falling to the cut and rising after it."""
    return _two_run_fit(logr, logr, ok)


def _two_run_fit(left: np.ndarray, right: np.ndarray, ok: np.ndarray, min_gain: float = 0.0) -> np.ndarray:
    """Per vertex i: how well ``left`` is non-increasing up to i and ``right`` non-decreasing after it (isotonic
    fits over the vertices that are ``ok``), as 1 - misfit / worst misfit in [0, 1]; 0 where not ``ok``, and 0
    everywhere when the best split removes less than ``min_gain`` (squared units of the input) of the worst
    split's misfit: then every split fits about equally and the rescaling would only amplify round-off."""
    idx = np.flatnonzero(ok)
    out = np.zeros(len(left))
    if len(idx) < 3:
        return out
    head = _prefix_isotonic_cost(left[idx] - np.mean(left[idx]))
    tail = _prefix_isotonic_cost((right[idx] - np.mean(right[idx]))[::-1])[::-1]  # non-decreasing toward B
    cost = head + np.concatenate([tail[1:], [0.0]])
    worst = cost.max()
    out[idx] = 0.0 if worst - cost.min() <= min_gain else (worst - cost) / (worst - cost.min())
    return out

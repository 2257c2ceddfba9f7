"""The spine and synapse stages' parameters: ``SpineParams`` (the ``spines`` branch of ``nl.PipelineParams``,
with ``shaft``: ``ShaftParams`` and ``headneck``: ``HeadNeckParams``) and ``SynapseParams`` (``synapses``).

Kept apart from the stage code so that building the parameter tree imports neither the stages nor their
dependencies; ``shaft``, ``headneck``, ``refit`` and ``synapses`` re-export what moved here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import check_params
from ..model.limits import FAR_NM, SKELETON_FAR_NM

REFIT_SCALES = ("refit", "max", "base")
TARGET_MODELS = ("synapse_target_profile", "synapse_target_ring", "synapse_target",
                 "synapse_target_even")  # shipped in neurd_lite/models


@dataclass(frozen=True)
class HeadNeckParams:
    """Head/neck split parameters.

    min_head_to_neck: a spine whose widest distal shell is less than this multiple of its neck width is stubby
    (all head). neck_mix: the split happens where the width first exceeds neck + neck_mix x (head - neck).
    min_length_to_split_nm: shorter spines (base to farthest vertex) are all head. shell_nm: target length of a
    distance shell along the spine axis (3 to max_shells shells). head_from: the head is the widest shell whose
    centre lies beyond this fraction of the spine's axial extent (the base shells hold the flare into the shaft).
    min_head_area_fraction: a split leaving less of the spine's surface area in the head is rejected (stubby).
    min_neck_aspect: a split whose neck (base to split) is shorter than this multiple of its width is rejected
    (stubby): a neck is a stalk, longer than wide; the base of a dome sunk into its shaft is a short wide collar
    narrower than the dome's equator, not a neck (0: no test).
    elongated_aspect: a spine left unsplit whose axial extent is at least this multiple of its widest distal
    shell is a thin spine or filopodium whose small head is not 1.6 x its neck: its distal one head width is
    the head and the rest the neck, when that neck passes min_neck_aspect (0, the default: no such split; 3.0
    was chosen on tune cells but lowered the held-out per-member target macro and made the real cell's neck
    share grow with mesh resolution, docs/spines.md session 7).
    All sizes in nm and widths area-weighted, so the split does not depend on the tessellation.
    """

    min_head_to_neck: float = 1.6
    neck_mix: float = 0.15
    min_length_to_split_nm: float = 300.0
    shell_nm: float = 100.0
    max_shells: int = 12
    head_from: float = 0.5
    min_head_area_fraction: float = 0.2
    min_neck_aspect: float = 1.5
    elongated_aspect: float = 0.0

    def __post_init__(self) -> None:
        check_params(self, ranges={"min_head_to_neck": ">= 0", "neck_mix": "[0, 1]", "max_shells": ">= 1",
                                   "head_from": "[0, 1]", "min_head_area_fraction": "[0, 1]",
                                   "min_neck_aspect": ">= 0", "elongated_aspect": ">= 0"})


@dataclass(frozen=True)
class ShaftParams:
    """Shaft-model parameters (nm).

    prune_twig_nm: terminal skeleton twigs shorter than this are treated as protrusions, not shaft.
    sample_spacing_nm: resampling step along skeleton edges.
    chunk_nm: length of skeleton over which the shaft radius is pooled.
    thin_end_fraction: skeleton ends thinner than this fraction of the median radius are spines, not shaft.
    thin_end_local_fraction: also, a path end whose radius within ``prune_twig_nm`` of the end falls below this
    fraction of the median radius of the same path ``prune_twig_nm`` to 3 x ``prune_twig_nm`` in from the end is
    cut back to past its last such vertex: a skeletonizer that runs from a dendrite tip into a spine there leaves
    a path end far thinner than the dendrite it belongs to, whatever the cell's median radius (0: off).
    radius_quantile: the area-weighted quantile of face distances per chunk taken as the shaft radius.
    fit_axis: move the resampled axis onto the centre of circles fitted to the shaft cross-sections
    (:func:`fit_axis_offsets`; windows of ``fit_window_nm`` along each segment, ``fit_iterations`` rounds of
    spine trimming, at most ``fit_max_points`` mesh vertices sampled for the fit).
    fit_local_nm: then each axis sample gets its own circle fit from the surface within this distance along the
    axis (:func:`refine_axis_local`, ``fit_local_points`` of the cloud) and keeps whichever of the skeleton,
    window-fit and local-fit positions leaves the roundest cross-section (:func:`best_axis`); 0 disables.
    min_clearance (x the cross-section radius; 0.5): an axis candidate closer to the surface than this is refused
    unless every candidate is (:func:`best_axis`; 0: off): it sits in a spine neck or against the wall.
    extend_tips: where the surface runs on past a terminal end of the skeleton by more than a radius (a
    skeleton that stops short of a dendrite tip), the axis is extended along the end's tangent over it
    (:func:`neurd_lite.spines.axial.tip_extensions`), so spines there are searched instead of being taken for an end cap.
    max_off_surface / off_surface_floor_nm: axis samples farther from the surface than max_off_surface x the
    median for their unbranched segment + off_surface_floor_nm are dropped (:func:`on_surface_samples`; 0: off).
    far_factor / far_quantile / far_floor_nm: surface farther from the axis than far_factor x the chunk's
    far_quantile (area-weighted) of distances + far_floor_nm does not inform the chunk's radius (0: off).
    local_radius_nm: > 0 also measures the radius per axis sample from the surface within this distance along
    the axis (:func:`neurd_lite.spines.axial.local_radius`, same quantile); ``local_radius_mode`` "max" takes the larger of the chunk
    and local radius (a varicosity, a smooth swelling of the whole circumference, becomes part of the shaft
    model), "local" the local radius alone. Spines cover a small part of the circumference, so a low quantile
    of a short window still reads the shaft under them.
    facing_cos: > 0: only surface whose outward normal makes a cosine >= this with its radial direction from the
    axis informs a chunk's radius (the wall of a neighbouring branch turned towards this axis, spine necks and
    head undersides do not; :mod:`neurd_lite.spines.facing`); a chunk left without such surface keeps its
    plain radius. facing_reassign: also move vertices facing their nearest axis from outside (cosine < 0)
    to the nearest axis sample of another segment they face (cosine >= facing_cos, <= 2 x as far), for
    distance and radius (0 / False: off). cap_neighbour_ratio > 0: a chunk radius > this x its neighbours' median
    (chunks within 2 skeleton-chunk steps) takes that median (:mod:`neurd_lite.spines.radius_cap`; 0: off).
    stable_ties (bool; False, opt-in): lengths and distances equal within ``geometry.ties.TIE_REL`` count as equal
    in the spine stage's mesh refinement (``normalise.py``: long edges, the diagonal of a two-split face) and in the
    axis candidates' outside test (:func:`best_axis`: all equally near surface vertices vote), and the vertex
    model's umbrella convexity reads 0 where it is rounding of a flat vertex (``ring_features.py``). Why: meshes of
    regular rings (synthetic tubes, subdivided then decimated meshes) hold such ties by the thousand, and float
    rounding decided them: one-ulp input noise moved syn_pyr1's spine count by 3 % (docs/benchmarks.md,
    "Session 24"). Off by default: it failed its adoption rule (docs/benchmarks.md).
    """

    prune_twig_nm: float = 2500.0
    sample_spacing_nm: float = 80.0
    chunk_nm: float = 2000.0
    radius_quantile: float = 0.45
    thin_end_fraction: float = 0.4
    thin_end_local_fraction: float = 0.0
    fit_axis: bool = True
    fit_window_nm: float = 1500.0
    fit_iterations: int = 6
    fit_max_points: int = 60000
    fit_local_nm: float = 500.0
    fit_local_points: int = 60000
    min_clearance: float = 0.5
    local_radius_nm: float = 0.0
    local_radius_mode: str = "max"
    extend_tips: bool = False
    max_off_surface: float = 0.0
    far_factor: float = 0.0
    far_quantile: float = 0.1
    far_floor_nm: float = 1000.0
    off_surface_floor_nm: float = 250.0
    facing_cos: float = 0.0
    facing_reassign: bool = False
    cap_neighbour_ratio: float = 0.0
    stable_ties: bool = False

    @property
    def tie_rel(self) -> float:
        """Relative tolerance under which two lengths count as tied: ``TIE_REL`` with ``stable_ties``, else 0."""
        from ..geometry.ties import TIE_REL  # lazy: ties imports scipy, the parameter tree stays light

        return TIE_REL if self.stable_ties else 0.0

    def __post_init__(self) -> None:
        check_params(self, choices={"local_radius_mode": ("max", "local")},
                     ranges={"sample_spacing_nm": "> 0", "chunk_nm": "> 0", "fit_iterations": ">= 0",
                             "fit_max_points": ">= 1", "fit_local_points": ">= 1", "min_clearance": ">= 0",
                             "max_off_surface": ">= 0"})


@dataclass(frozen=True)
class SpineParams:
    """Spine detection (lengths nm, areas nm²; ``_rel`` values are fractions of the local shaft radius r). Each
    entry: what it does (unit; default); why. History of the defaults: docs/architecture.md "Parameter history".

    Seeds and growth (hysteresis on the protrusion beyond the shaft surface, ``grow.py``)
    seed_protrusion_nm / seed_protrusion_rel (nm / of r; 200 / 0.2): a seed vertex protrudes more than
        max(seed_protrusion_nm, seed_protrusion_rel x r). Why: well above the shaft's own relief, so every spine
        starts at a real protrusion.
    seed_floor_nm / seed_spread_factor (nm / x spread; 0 / 0): with seed_floor_nm > 0 the absolute seed level is
        seed_spread_factor x the scatter of the vertex's shaft chunk below its radius (``ShaftField.spread_nm``:
        noise, an elliptic section, an axis off centre) clipped to [seed_floor_nm, seed_protrusion_nm]; 0: off.
        Why: low domes (stubby spines) seed where the shaft is smooth and round enough to show them.
    grow_protrusion_nm / grow_protrusion_rel (nm / of r; 25 / 0.05): a spine grows through vertices protruding
        more than max(grow_protrusion_nm, grow_protrusion_rel x r). Why: a low second threshold follows a neck
        down to the shaft.
    split_by_seeds (bool; True): split a grown region between its seed cores (nearest core along mesh edges;
        ``seed_cores.py``). Why: neighbouring spines joined by a low saddle of shaft stay apart.
    core_persistence_nm (nm; 100): two touching cores stay one spine unless the lower peak rises more than this
        above the saddle between them. Why: a bump on one spine that a fine mesh resolves is not a second spine.

    Acceptance of a grown region
    min_area_nm2 (nm²; 2e5): least surface above the growth threshold (interpolated over faces). Why: an area,
        not a vertex count, so the test does not depend on the tessellation.
    max_length_nm / max_head_width_nm (nm; 4000 / 2000): longer spines (protrusion, then length from the base)
        and wider heads are dropped. Why: a branch stub or a swelling, not a spine.
    max_base_radius_rel (of r; 1.6): the base's rms radius is at most this x r. Why: a base wider than the shaft
        is a swelling of the process.
    min_shaft_radius_nm (nm; 60): thinner shafts are not searched. Why: NEURD searches mesh width > 115 nm.
    link_nm (nm; 300): open-edge vertices of different mesh pieces closer than this are connected. Why: chunked
        meshes cut spines off their shafts.
    min_shaft_piece_area_nm2 (nm²; 1e5): a spine must touch a mesh piece with at least this much shaft surface.
        Why: detached debris is never a spine.
    max_angular_coverage / angular_bins (fraction / sectors; 1.0 / 16): a candidate occupying more than this
        fraction of ``angular_bins`` equal sectors around the axis is dropped; 1.0: no test. Why: a varicosity or
        bouton swells the whole process; a spine stands on one side.
    min_height_to_extent (ratio; 0.3): a candidate protrudes at least this fraction of its extent along the axis;
        0: no test. Why: a spine stands out of its shaft, a flare is a long low swelling along it.
    sparse_min_height_to_extent (ratio; 0): the same test, stricter, only where the first passes found fewer
        spines per µm than the relief density gate (``relief.drop_low_on_sparse``); <= min_height_to_extent: off.
        Why: on sparsely spiny dendrite a low wide bump is more often a varicosity than a stubby spine.

    Further passes
    rejected_level_quantile (quantile or None; 0.25): a grown region that touches the shaft but gives no spine
        is searched again with its protrusion measured from this quantile of its own; None: no second pass. Why:
        spines standing on a patch of shaft that reads raised where the axis is off centre.
    relief_radius_nm / relief_quantile / relief_seed_nm / relief_grow_nm (nm / quantile / nm / nm; 1000 / 0.5 /
        200 / 60): relief_radius_nm > 0 adds a pass over the surface no spine took, with protrusion measured from
        the ``relief_quantile`` of the non-spine surface within ``relief_radius_nm`` (``relief.surface_level``),
        seeds above relief_seed_nm, growth above relief_grow_nm; 0: off. Why: shaft-model errors that vary over
        the scale of the shaft cancel in that relief, so low stubby spines where the shaft reads sunken stand out.
    relief_near_spine_nm (nm; 2000): the relief pass searches only this close to a spine found before; 0:
        everywhere. Why: relief spines are expected on spiny dendrite.
    relief_min_density_per_um / relief_density_radius_nm (spines per µm / nm; 0.6 / 5000): the relief pass runs
        only where the spines found before number at least this many per µm of dendrite within the radius; 0: no
        gate. Why: it keeps the relief pass off aspiny dendrite.
    extend_reach_nm / extend_ring_nm (nm / (nm, nm); 300 / (300, 700)): accepted spines take unlabelled vertices
        within extend_reach_nm (along mesh edges) that protrude more than the level of the ring between the two
        ring distances from the spine plus the growth threshold (``extend.py``); 0: no extension. Why: a neck
        extends down to where the surrounding surface is.
    extend_level (``"plane"`` / ``"median"``; ``"plane"``): that ring level is an affine fit over the ring or its
        median. Why: the median sits above the level at the spine base when the axis is off.
    extend_across_links (bool; True): the extension also crosses ``link_nm`` links. Why: necks cut by a chunk
        seam.
    dome_seed_nm / dome_min_area_nm2 / dome_max_cap_radius_nm / dome_max_cap_rel (nm / nm² / nm / of r; 0 / 1e5 /
        400 / 1.0): dome_seed_nm > 0 adds a dome pass (``dome.py``) over the surface left: seeds above dome_seed_nm
        (and dome_seed_nm / seed_protrusion_nm x seed_protrusion_rel x r), area floor dome_min_area_nm2, kept
        when the spherical-cap radius is at most dome_max_cap_radius_nm and dome_max_cap_rel x r; 0: off. Why:
        low stubby spines are small caps, shaft relief is broad.
    dome_dense_only (bool; False): the dome pass only where the relief pass's density gate opens. Why: as the
        relief gate.
    synapse_seed_nm / synapse_seed_rel / synapse_spread_factor / synapse_min_area_nm2 / synapse_max_distance_nm
        (nm / of r / x spread / nm² / nm; 0 / 0.1 / 2 / 1e5 / 600): synapse_seed_nm > 0 adds a synapse pass
        (``synapse_evidence.py``): a postsynapse within synapse_max_distance_nm of the mesh whose vertex stands
        above the shaft by max(synapse_seed_nm, synapse_seed_rel x r, synapse_spread_factor x spread) seeds a
        spine there (area floor synapse_min_area_nm2); 0: off. Why: a postsynapse marks where a spine may be.

    The shaft the protrusion is measured from
    centre_skeleton (``"auto"`` / True / False; ``"auto"``): move the skeleton to the centres of the
        cross-sections it owns first; "auto": only when the median move exceeds off_centre_fraction x the median
        skeleton radius. Why: surface-walking skeletonizers (TEASAR) run off the axis.
    off_centre_fraction (of the radius; 0.3): that "auto" threshold. Why: it tells a skeleton that walks the
        surface (TEASAR) from a centred one.
    past_new_end_fraction (0.5; only with ``SkeletonParams.untraced_reach_nm`` > 0): a spine whose vertices lie
        at least this fraction past the end of a branch that option added (``ShaftField.beyond_end`` there) is
        dropped; 0: off. Why: the new branch was traced to the surface's farthest point, so surface left past its
        end is the same thin process running on (a bend or a fork the path did not take), not a spine (tune: 3 of
        the option's 7 new false spines; held-out bipolar 2634's axon, docs/spines.md session 26).
    process_end_max_share / process_end_reach_nm (share / nm; 0.1, 0: off / 2000): after the vertex model a
        spine whose base ring is flat (``process_end.py``) is dropped when less than this area share of the eligible
        surface within max(process_end_reach_nm, 3 x base or shaft radius) of its base centre lies farther than
        1.5 x the base radius from the line through the base centre along the base -> spine direction. Why: a
        spine leaves its shaft sideways, so the shaft around its base runs on past the base's width; a base that is
        a whole cross-section of its process (all the surface behind it inside the base's cylinder) is the end of a
        thin process that the shaft model misread (tune neurogliaform: 29 of 64 false spines lie at dendrite tips,
        docs/spines.md session 27). The reach is half the longest spine (``max_length_nm``): a spine whose head alone
        was found is the end of its neck, and the shaft lies within a neck's length. Reads the mesh only, not the
        shaft axis that is off there. Default since session 27: held-out neurogliaform 2660-2669 (fragmented +
        15 nm) face F1 .8597 -> .8609, worst .8110 -> .8167, no member down; four other classes within .0002.
    process_end_rim_max_share (share; 0.3 since session 28, with ``min_standoff_rel``; 0: off): the same test once
        more after the junction rim (``rim_nm`` with the vertex model), on the rimmed labels and their attachment
        rings; a spine dropped there is dropped from the rimless labels (the synapse targets') too. Why: the rim
        completes ragged tip bases into whole cross-sections (tune: 11 of 29 tip false spines read as sections on the
        final labels, against 3 of 211 true spines; docs/spines.md session 27 round 2).
    process_end_rim_planar_max (x base radius; 0: not checked): the rim-stage test's flatness check (a base spread
        along the base -> spine direction by more than this x its radius is not judged; the vertex-model stage uses
        1.0). Why 0: the rim grows a base down the shaft's wall by up to ``rim_nm``, so a rimmed section is no
        longer flat (tune: with the check at 1.0 the rim-stage test dropped nothing on the 8 members).
    min_standoff_rel (x base radius; 0.2, 0: off): on the final labels (after the junction rim and its process-end
        test, both labellings; without the rim on the vertex labels) a spine whose area-weighted surface centroid
        stands off its base centre by less than this many base radii is dropped (``standoff.py``). Why: a spine
        rises out of its shaft, a patch of shaft wall (a relief bump of a noisy fragmented surface, a skirt spread
        along the wall) runs along it; the ratio is free of scale and resolution, reads only the mesh, and judges
        the labels after the vertex model and the rim reshaped them (``min_height_to_extent`` judged the grown
        candidates before). Default since session 28, with ``process_end_rim_max_share=0.3``: tune neurogliaform
        (20 fragmented members) face F1 .8598 -> .8643; held-out 2760-2769 .8649 -> .8658, worst .7693 -> .7721, no
        member down, other classes within .002; real cell 324k 643 -> 637 spines (docs/spines.md, session 28).
    inscribed_axis_fraction (of the inscribed radius; 0.3): the largest circles inscribed in the cross-sections
        decide whether the skeleton runs off its shaft and move it onto the shaft, and decide instead of "auto"
        whether to centre (``inscribed_axis.py``); 0: off. Why: a skeleton off its shaft reads shaft as spine
        (Harris stub: shaft called spine .542 -> .271).
    inscribed_section_every (path vertices, by hops; 3): when the skeleton is moved onto the inscribed centres, a
        cross-section is cut at every k-th path vertex; the others take the move interpolated along the path
        (``inscribed_axis.inscribed_skeleton``). Why: one shapely section costs ~1 ms and a 1.3M-face cell cuts ~1k
        (docs/benchmarks.md session 28).
    cut_end_radius (bool; False): on a fragment whose skeleton has cut ends, a shaft sample within one chunk
        (``shaft.chunk_nm``) along the skeleton of a cut takes at most the cut's own radius (``cut_radius.py``).
        Why: the cut is a cross-section of the shaft that spines cannot widen; the chunk quantile reads spine
        bases where spines are most of a short fragment's surface (Harris stub: 629 nm for a 390 nm tube; shaft
        called spine .127 -> .030). Opt-in: its session-21 rule failed one clause (fresh open stubs: face F1 +.005,
        shaft share +.002 from one stub); cells with a soma have no cut ends and never change.
    local_shaft_far_nm / local_shaft_min_area_nm2 / local_shaft_cell_nm (nm / nm² / nm; 0 / 4e6 / 2000):
        local_shaft_far_nm > 0: connected surface protruding more than local_shaft_far_nm over more than
        local_shaft_min_area_nm2 gets straight shafts fitted per local_shaft_cell_nm cube, and nearby surface
        nearer such a shaft than its axis is measured against it (``local_shaft.py``); 0: off. Why: dendrite no
        skeleton reached is not a spine.
    refit_shaft / refit_scale / refit_above_quantile (bool / ``"refit"``, ``"max"``, ``"base"`` / quantile;
        False / "refit" / 0): fit the shaft field again without the faces of the spines found, then search again
        (which gates read which radius and where it is replaced: ``refit.refit_args``); False: off. Why: on
        densely spiny dendrite spines make ~half a chunk's surface and lift the radius quantile into them.
    normalise_edge_nm (nm; 300): detect on the dendritic faces with every longer edge split at its midpoint
        (``normalise.py``), the result lifted back; 0: off. Why: one tessellation scale at any input resolution,
        the scale the vertex model was trained at.

    Learned steps
    candidate_filter (``"rules"`` / ``"model"`` / ``"pool"``; ``"rules"``): who keeps a candidate: the cuts
        above, the shipped spine-candidate model on a loosened pool (``candidates.py``), or every candidate of
        the pool (training capture). Why: the rules are the tested default; the model is opt-in.
    candidate_threshold (probability or None; None: the model's own) / candidate_model_dir (folder or None;
        None: ``neurd_lite/models``): the candidate model's cut and folder. Why: None reads the threshold chosen
        out of fold at training (its sidecar).
    vertex_model (bool; True): re-decide every dendritic vertex with the shipped spine-vertex model after the
        rules (``vertex_model.py``); False: the rules alone. Why: fresh held-out face F1 .870 -> .918 with
        normalise_edge_nm (docs/spines.md).
    vertex_threshold (probability or None; None: the sidecar's) / vertex_model_dir (as candidate_model_dir).
        Why: as candidate_threshold.
    vertex_feature_set (``"rings"`` / ``"balls"``; ``"rings"``): the vertex model's features. Why: rings are the
        features of the shipped model, for normalise_edge_nm=300.
    vertex_ties_by_coordinates (bool; True): a vertex two spines reach at once joins one by coordinates, in the
        vertex model's relabelling and in its nearest-rule-spine columns (``vertex_model._spine_distance``: two
        spines at exactly the same edge distance, session 27). Why: the result does not depend on the order the
        mesh lists its vertices.
    vertex_early_stop_margin (LightGBM margin; 0: off): when > 0, the vertex model stops adding trees for a vertex
        once its raw score is farther than half this from 0 (checked every 10 trees; LightGBM ``pred_early_stop``).
        Why: opt-in speed lever (real cell 1.3M: predict 0.77 -> 0.65 s CPU at 8, no decision changed;
        docs/benchmarks.md session 28).
    model_skirt (``"stalked"`` / ``"all"`` / ``"off"``; ``"stalked"``): shaft the model added beside a spine goes
        back to the shaft (``skirt.py``): beside stalked spines, beside all, or never. Why: around stalked
        spines the model takes a skirt of plain shaft; around low domes what it adds is mostly the true rim.
    rim_nm (nm; 150; 0 = off): after the vertex model, unlabelled vertices within this mesh-edge distance of a
        spine join the nearest spine (``rim.py``; spines never merge). Why: a spine's found edge lies above the
        crease where it meets the shaft. Alone (session 20, 80 nm) it helped sparsely spiny classes and cost
        pyramids; with the density gate below it is the default since session 22.
    rim_max_density_per_um (spines per µm; 0.6; 0 = no gate): the rim goes only to spines around whose anchor the
        spines found (after the vertex model) number fewer than this per µm within ``relief_density_radius_nm``
        (``relief.found_spine_density``). Why: the rim helps where spines are sparse and the model leaves their
        rims, and costs dense spiny dendrite where the model already takes them (session 20). 0.6 is the relief
        pass's gate, not tuned. On held-out 2504-2506 (session 21) rim 150 nm with gate 0.6 gave face F1 +.0045
        but synapse-target macro -.0108 (shaft synapses at the widened spine bases); since session 22 the
        synapse targets are decided on the spines without the rim (``rimless.py``), and on fresh 2507-2509 the
        pair gave face F1 .9248 -> .9290 (aspiny +.0082, pyramids equal), targets unchanged (docs/spines.md).
    rim_turned_max_cos (cosine or None; 0.5; None: off) / rim_turned_radius_nm (nm; 80): the spines the density gate
        leaves without a rim take the vertices of their rim (``rim_nm``) whose normal, area-weighted over a ball of
        ``rim_turned_radius_nm``, makes a cosine below this with the radial direction from the shaft axis
        (``turned_rim.py``). Why: a shaft wall's normal is radial; where a spine rises the surface turns towards the
        spine's axis. On finely meshed smoothed spines (>= 1M faces) the vertex model leaves the fillet and the
        neck base on the shaft (session 26: 79k of 128k partly-missed faces of a 2M-face tune l5_et in the lowest
        fifth of the spine's height), while beside dense spines of coarse meshes the rim it would add is plain,
        radial shaft. Default since session 26: held-out 2586-2588 (>= 1.2M faces, two fragmented + 20 nm noise)
        face F1 mean .9111 -> .9147, every member up, synapse targets unchanged; real cell 636 / 639 / 625 / 630.
    over_cap_level_quantile (quantile or None; 0.25; None: off): a spine over the length / head-width caps (which
        ``spine_rows`` would drop whole) is searched again inside its own region with protrusion measured from this
        area-weighted quantile of the region's protrusion: seeds, growth and the seed-core split as in the first
        pass; each part above ``min_area_nm2`` is a spine (``over_cap.py``). Why: on dense spiny dendrite a patch of
        shaft the shaft model reads raised grows into one region with the spines standing on it; with one seed core
        it is one label over the caps, dropped with every spine on it (session 27: 53 such labels held 241 true
        spines, 206 of them otherwise missed, 45k of 109k whole-missed faces, on a 2M-face fragmented tune l5_et).
        Default since session 27: held-out 2642-2646 (1.09-1.20M faces, 4 fragmented + 20 nm) face F1 .9176 ->
        .9189, no member down, macro / neck not down; real cell 642 / 643 / 635 spines at 81k / 324k / 1.3M).
    model_spine_needs_shaft (bool; False): a spine the model adds (touching no rule spine) must share a mesh edge
        with unlabelled surface of a piece that reaches the shaft's level or has an open edge (``pieces.py``).
        Why: a closed crumb off the shaft is not a spine; opt-in, since it drops spines of meshes whose heads are
        separate closed pieces (synthetic cells meshed with ``union=False``).

    shaft: the shaft field (:class:`ShaftParams`); headneck: the head / neck split (:class:`HeadNeckParams`).
    """

    seed_protrusion_nm: float = 200.0
    seed_protrusion_rel: float = 0.2
    seed_floor_nm: float = 0.0
    seed_spread_factor: float = 0.0
    grow_protrusion_nm: float = 25.0
    grow_protrusion_rel: float = 0.05
    max_length_nm: float = 4000.0
    max_head_width_nm: float = 2000.0
    min_area_nm2: float = 2.0e5
    max_base_radius_rel: float = 1.6
    min_shaft_radius_nm: float = 60.0
    link_nm: float = 300.0
    min_shaft_piece_area_nm2: float = 1.0e5
    split_by_seeds: bool = True
    core_persistence_nm: float = 100.0
    rejected_level_quantile: float | None = 0.25
    extend_reach_nm: float = 300.0
    extend_ring_nm: tuple[float, float] = (300.0, 700.0)
    extend_level: str = "plane"
    extend_across_links: bool = True
    centre_skeleton: bool | str = "auto"
    off_centre_fraction: float = 0.3
    past_new_end_fraction: float = 0.5
    process_end_max_share: float = 0.1
    process_end_reach_nm: float = 2000.0
    process_end_rim_max_share: float = 0.3
    process_end_rim_planar_max: float = 0.0
    min_standoff_rel: float = 0.2
    inscribed_axis_fraction: float = 0.3
    inscribed_section_every: int = 3
    cut_end_radius: bool = False
    max_angular_coverage: float = 1.0
    angular_bins: int = 16
    min_height_to_extent: float = 0.3
    sparse_min_height_to_extent: float = 0.0
    relief_radius_nm: float = 1000.0
    relief_quantile: float = 0.5
    relief_seed_nm: float = 200.0
    relief_grow_nm: float = 60.0
    relief_near_spine_nm: float = 2000.0
    relief_min_density_per_um: float = 0.6
    relief_density_radius_nm: float = 5000.0
    dome_seed_nm: float = 0.0
    dome_min_area_nm2: float = 1.0e5
    dome_max_cap_radius_nm: float = 400.0
    dome_max_cap_rel: float = 1.0
    dome_dense_only: bool = False
    local_shaft_far_nm: float = 0.0
    local_shaft_min_area_nm2: float = 4.0e6
    local_shaft_cell_nm: float = 2000.0
    refit_shaft: bool = False
    refit_scale: str = "refit"
    refit_above_quantile: float = 0.0
    candidate_filter: str = "rules"
    candidate_threshold: float | None = None
    candidate_model_dir: str | None = None
    vertex_model: bool = True
    vertex_threshold: float | None = None
    vertex_model_dir: str | None = None
    vertex_feature_set: str = "rings"
    vertex_ties_by_coordinates: bool = True
    vertex_early_stop_margin: float = 0.0
    model_skirt: str = "stalked"
    rim_nm: float = 150.0
    rim_max_density_per_um: float = 0.6
    rim_turned_max_cos: float | None = 0.5
    rim_turned_radius_nm: float = 80.0
    over_cap_level_quantile: float | None = 0.25
    model_spine_needs_shaft: bool = False
    synapse_seed_nm: float = 0.0
    synapse_seed_rel: float = 0.1
    synapse_spread_factor: float = 2.0
    synapse_min_area_nm2: float = 1.0e5
    synapse_max_distance_nm: float = 600.0
    normalise_edge_nm: float = 300.0
    shaft: ShaftParams = field(default_factory=ShaftParams)
    headneck: HeadNeckParams = field(default_factory=HeadNeckParams)

    def __post_init__(self) -> None:
        check_params(self, choices={"extend_level": ("plane", "median"), "centre_skeleton": ("auto", True, False),
                                    "refit_scale": REFIT_SCALES, "candidate_filter": ("rules", "model", "pool"),
                                    "vertex_feature_set": ("rings", "balls"), "model_skirt": ("stalked", "all", "off")},
                     ranges={"candidate_threshold": "[0, 1]", "vertex_threshold": "[0, 1]", "angular_bins": ">= 1",
                             "max_angular_coverage": "[0, 1]", "min_height_to_extent": ">= 0",
                             "sparse_min_height_to_extent": ">= 0", "rim_nm": ">= 0",
                             "rim_max_density_per_um": ">= 0", "rim_turned_max_cos": "[-1, 1]",
                             "rim_turned_radius_nm": "> 0", "process_end_max_share": "[0, 1]",
                             "process_end_rim_max_share": "[0, 1]", "process_end_rim_planar_max": ">= 0",
                             "min_standoff_rel": ">= 0",
                             "process_end_reach_nm": ">= 0", "inscribed_section_every": ">= 1",
                             "vertex_early_stop_margin": ">= 0"})

    def grow_threshold_nm(self, radius_nm: np.ndarray, nan_radius: float = np.inf) -> np.ndarray:
        """Protrusion (nm) a vertex must exceed for a spine to grow through it: max(grow_protrusion_nm,
        grow_protrusion_rel x shaft radius nm); a NaN radius reads as ``nan_radius`` (inf: nothing grows there)."""
        r = np.nan_to_num(np.asarray(radius_nm, dtype=float), nan=nan_radius)
        return np.maximum(self.grow_protrusion_nm, self.grow_protrusion_rel * r)


@dataclass(frozen=True)
class SynapseParams:
    """How synapses are anchored to the mesh and given a target (lengths in nm). Each entry: what it does (unit;
    default); why. History of the defaults: docs/architecture.md "Parameter history".

    max_distance_nm (nm; 1500, ``model.anchors.FAR_NM``): synapses farther than this from the mesh are
        ``is_far`` (target unknown). Why: MICrONS synapse centroids sit within a few hundred nm of the
        postsynaptic surface (the shared cell: median 115 nm, max 572 nm). The one far-synapse limit of every stage.
    k_candidates (faces; 16): faces, nearest by centroid, checked exactly per synapse (a ball query then covers
        the synapses a face outside them could still be nearer). Why: exact distances to a few faces, no loop.
    method (``"rules"`` / ``"model"`` / ``"hybrid"``; ``"hybrid"``): who picks the target: the face labels, the
        shipped LightGBM model on local geometry (every target), or the model except for the rules' axon calls
        (and soma calls with ``soma_by="rules"``). Why: per-member macro F1 rules .869 -> hybrid .913 on the
        family (docs/spines.md "Session 8").
    soma_by (``"model"`` / ``"rules"``; ``"model"``): under ``"model"`` / ``"hybrid"``, whether the model decides
        soma vs not on every postsynapse or the soma face mask's call is final. Why: the mask reaches up to
        ~1.5 µm past the soma.
    target_model (a shipped model name, :data:`TARGET_MODELS`; ``"synapse_target_profile"``): the model file
        under ``"model"`` / ``"hybrid"``; ``"synapse_target_profile"`` also reads where the site sits on its
        spine's axis profile (``spines/axis_profile.py``), ``"synapse_target_ring"`` has the same inputs captured
        on the ring detector, ``"synapse_target"`` is the first model (classifiers/synapse_target/MODEL_CARD.md);
        ``"synapse_target_even"`` (opt-in, session 26) reads its neighbourhood inputs on evenly spaced surface
        samples instead of the working mesh's vertices (``spines/even_neighbourhood.py``).
        Why: the best held-out macro F1 of the three (.949; MODEL_CARD).
    profile_sample_nm (nm; 80): surface sample spacing of the spine axis profiles the profile model reads
        (``AxisProfileParams.sample_nm``). Why: 16x fewer samples than the 20 nm it was captured at, held-out F1
        not lower (sessions 16 and 28: 40 then 80; the synapse stage of a spine-dense 1.3M-face member 12.8 ->
        5.9 s CPU); 40 / 20 restore the earlier spacings.
    spine_tolerance_nm (nm; 20): a synapse whose closest face is plain shaft moves to a spine face at most this
        much farther (the rules only). Why: the membrane is known only to a few tens of nm, so a spine that close is
        as likely the contact, and a spine detected only in part keeps its synapses.
    max_skeleton_distance_nm (nm; 5000, ``model.anchors.SKELETON_FAR_NM``): skeleton-only neurons anchor
        synapses to the nearest skeleton vertex within this. Why: a skeleton vertex sits inside its process,
        up to a radius from the surface the synapse lies on.
    """

    max_distance_nm: float = FAR_NM
    k_candidates: int = 16
    method: str = "hybrid"
    soma_by: str = "model"
    target_model: str = "synapse_target_profile"
    profile_sample_nm: float = 80.0
    spine_tolerance_nm: float = 20.0
    max_skeleton_distance_nm: float = SKELETON_FAR_NM

    def __post_init__(self) -> None:
        check_params(self, choices={"method": ("rules", "model", "hybrid"), "soma_by": ("rules", "model"),
                                    "target_model": TARGET_MODELS},
                     ranges={"k_candidates": ">= 1", "profile_sample_nm": "> 0"})

"""The mesh stages' parameters: ``DecimateParams`` (``decimate.py``), ``HealParams`` (``heal.py``) and
``SomaParams`` (``soma/``), the ``decimate``, ``heal`` and ``soma`` branches of ``nl.PipelineParams``.

Kept apart from the stage code so that building the parameter tree imports neither the stages nor their
dependencies; each stage module re-exports its class.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..checks import check_params

AUTO = "auto"  # DecimateParams.target_faces: working size from the surface area
AUTO_EDGE_NM = 320.0  # the "auto" size's nominal mean edge (nm) when target_edge_nm is None


@dataclass(frozen=True)
class DecimateParams:
    """How the working mesh is made: sizes in faces, lengths in nm. Each entry: what it does (unit; default); why.
    How the defaults were measured and chosen: docs/architecture.md "Parameter history".

    target_faces (faces, ``"auto"`` or None; ``"auto"``): the working size. An int: about that many faces (an
        explicit size always wins); ``"auto"`` (:data:`AUTO`): the faces an equilateral mesh of the input's area
        needs for a mean edge of ``target_edge_nm``, clipped to [``min_target_faces``, ``max_target_faces``]
        (:func:`edge_target_faces`); None: no decimation. Why: a large spine-dense cell keeps its spine necks a
        few faces across, while a cell under ~11k µm² (the real cell: 3.1k µm²) stays at 250k.
    min_faces_to_decimate (faces; 400_000): only inputs with more faces (and more than the target) are
        decimated. Why: the heavy stages then cost the same for every larger input; below it decimation saves
        little.
    target_edge_nm (nm; None = :data:`AUTO_EDGE_NM`, 320): the nominal mean edge of the ``"auto"`` size; with an
        int ``target_faces``, the area rule with that int as its floor instead of ``min_target_faces`` (opt-in).
        Why 320 nm: spine face F1 rose .900 -> .937 on a tune l5_et cell worked at 405 nm before.
    min_target_faces / max_target_faces (faces; 250_000 / 1_000_000): the clip of the ``"auto"`` size. Why: small
        cells keep the long-tested 250k working size; the cap bounds the cost of the largest cells.
    aggressiveness (fast-simplification ``agg``, 0-10; 7): how aggressively each pass collapses edges (0 keeps
        the shape best, 10 is fastest). Why: the library's own default balance of speed and shape.
    simplify_unit_nm (nm; 10.0): coordinates are handed to fast-simplification in this unit (:func:`_decimate_to`).
        Why: in nm it loops through many empty passes (16.8 -> 7.6 s CPU at 1M faces in 10 nm units); coarser
        units lose thin parts of small meshes.
    prereduce_above_faces (faces or None; 2_000_000): larger inputs are first reduced (``prereduce_method``) to
        ``prereduce_to_faces``; None: never. Why: fast-simplification's memory (~560 bytes
        per face it is given) then stops growing with the input.
    prereduce_to_faces (faces; 400_000): the size of that pre-reduction (at least ``target_faces``). Why: 1.6x the
        250k target keeps fast-simplification's pass cheap (400k -> 250k ~0.6 s CPU) and its quality.
    prereduce_error_nm (nm or None; None, opt-in): the pre-reduction above ``prereduce_above_faces`` goes toward
        the working target but stops before the first collapse that moves the surface by more than this (an
        absolute meshoptimizer error), and on to ``prereduce_above_faces`` faces when it stops above that;
        fast-simplification then does the rest (:func:`~neurd_lite.mesh.decimate._prereduce_large`); None: to
        ``prereduce_to_faces``. The stall rescue keeps ``prereduce_to_faces``. Why: a fixed 400k hands
        fast-simplification a mesh meshoptimizer already reduced by collapses onto kept vertices (docs/spines.md,
        session 22).
    prereduce_refit (None, "prereduced" or "working"; None, opt-in): when that pre-reduction ran, move each vertex
        of the pre-reduced mesh ("prereduced", before fast-simplification) or of the final working mesh ("working")
        along its normal by the signed gap between its faces and the input surface they stand for
        (:func:`neurd_lite.mesh.refit.refit_to_input`). Why: meshoptimizer's faces are chords between kept input
        vertices and sit inside convex parts (7.8 nm mean near the real cell's spines at 5.2M faces).
    prereduce_method ("cluster" or "meshoptimizer"; "cluster" since session 23): how that pre-reduction is made:
        vertex clustering on a grid with quadric-optimal representatives (:func:`neurd_lite.mesh.cluster.
        cluster_reduce`; numpy only), or meshoptimizer's edge collapse onto kept input vertices (``prereduce_error_nm``
        and ``prereduce_refit`` act on that one only; a fragmented input keeps the border-locked meshoptimizer path
        whatever this says). Why: kept-vertex collapses cut convex parts inward (real cell at 5.2M faces: working
        surface 4.5 nm mean / 24 nm p90 inside the input; clustered: 0.0 / 7), so the 5.2M mesh lost spines (real
        cell 636 / 640 / 634 / 604 at 81k / 324k / 1.3M / 5.2M; clustered with ratio 2 and the box clip: 630).
        Held-out 2580-2585 (six members of 2.3-5.2M faces, rule committed first): spine face F1 +.0171 mean, no
        member down by more than .0014; synapse macro +.0267 (but -.0087 without one Martinotti synapse; pyramids
        -.003 / -.011); docs/spines.md "Session 23".
    prereduce_cluster_ratio (clustered faces per working face, or None; 2.0 since session 23): with
        ``prereduce_method="cluster"``, ask the clustering for at least this many times ``target_faces`` (at most
        ``prereduce_above_faces``), so its grid side stays a fixed fraction of the working mesh's nominal edge
        (about 0.8x at 2) whatever the working size; None: ``prereduce_to_faces`` only. Why: at a 668k working
        size the 400k floor is no margin and the grid is as coarse as the working mesh (docs/spines.md).
    prereduce_cluster_keep_border (bool; False, opt-in, session 24): with ``prereduce_method="cluster"``, the
        vertices of open borders stay where they are, one cluster each (:func:`neurd_lite.mesh.cluster.
        cluster_reduce`). Why: clustered, the outline of a cut opening breaks into holes up to ~3 µm wide off the
        cut plane; the real cell's second soma (cut by the volume's edge) then leaks and is lost at 5.2M faces
        (2 -> 1 somas, 12 -> 8 limbs, soma synapse targets 74 -> 52); docs/benchmarks.md "Session 24".
    prereduce_cluster_clip_box (bool; True since session 24): with ``prereduce_method="cluster"``, clip the
        clustered points to the input's bounding box (``prereduce_cluster_keep_border`` clips too); False: the
        session-23 clustering. Why: the quadric points stood up to 100 nm beyond the real cell's cut plane, so the
        soma stage's ``cut_sides`` missed the cut and the cut soma leaked (5.2M: 1 soma); clipped, 5.2M keeps 2
        somas (630 spines) at no measurable cost. Held-out 2600-2602 (l23_pyramidal, basket, martinotti at
        2.2-2.7M faces): spine face F1 / synapse macro F1 within .0013 of off (docs/benchmarks.md "Session 24").
    fragmented_target_faces (faces; 400_000): the working size of a fragmented input (:func:`is_fragmented`; the
        larger of this and ``target_faces``). Why: its open borders are kept, so its interior gets fewer faces
        than a closed mesh's (tune l5_et: 2319 spines at 250k vs 2688 at 400k, truth 2712).
    fragmented_border_um_per_um2 (µm of open border per µm² of surface, or None; None = off): also call the
        input fragmented above this border density (:func:`neurd_lite.mesh.border.open_border_um_per_um2`).
        Why a value of 0.5: unlike vertices per face it does not change when a mesh is refined; 0.5 means open
        seams every ~9 µm (the real cell reads .044 at 81k-5.2M faces, so it is never affected). It was the
        default in sessions 20-21 (two fresh >= 1M-face fragmented pyramidal members: spine face F1 .907 -> .934
        and .919 -> .935); opt-in again since session 22, when it failed its rule on four fresh aspiny
        fragmented members (2542, 2543, 2545, 2546): face F1 .877 -> .884 but synapse macro .947 -> .936 and
        false spines 1.83 -> 2.52 / 100 µm, up on 3 of 4 (docs/spines.md).
    prereduce_cluster_map (bool; True since session 26): after the cluster pre-reduction, read the face
        maps off the clustering (each input vertex's cluster, then fast-simplification's collapses of the
        clustered mesh: :func:`neurd_lite.mesh.collapse_map.vertex_face_map`) instead of a nearest-centroid search
        over all input faces; not with ``prereduce_refit``. Why: the search is the cluster path's largest cost
        (~1.7 s CPU at 1.3M faces, more at 5.2M) and, like the collapse map, a face read off the clustering can
        only land on the surface it was clustered into. Held-out 2603-2606 at 2.4-2.9M faces: spine face F1
        +.0002 to +.0004, synapse macro and compartment agreement unchanged (docs/benchmarks.md, "Session 26");
        False: the search (what sessions 23-25 shipped).
    map_from_collapses (bool; True): when fast-simplification decimates the input itself, build the face maps
        from its collapse list (:mod:`neurd_lite.mesh.collapse_map`); False: a nearest-centroid search over all
        input faces. Why: cheaper (decimation 4.15 -> 3.54 s CPU at 1.3M faces) at the same accuracy.
    weld_nm (nm; 1.0): before decimating (an input that is not decimated is untouched), merge vertices closer than
        this and drop the faces that become degenerate (:func:`neurd_lite.mesh.weld.weld`); 0: off. Why:
        fast-simplification stalls on the zero-length edges of chunk seams and refined meshes; 1 nm is far below
        any EM voxel, so only vertices at one position merge.
    weld_edges_only (bool; True): with ``weld_nm``, join only close vertices that share a face (zero-length
        edges). Why: two close vertices of distinct surfaces are not one vertex.
    stall_rescue_ratio (ratio or None; 1.05): when fast-simplification, given the input itself, stops above this
        many times its target, decimate again with the meshoptimizer pre-reduction first (face maps then from
        the nearest-centroid search); None: off. Why: it refuses collapses that leave needle faces, and
        spine-dense refined meshes are full of them (tune l5_et: stalled at 337k for a 250k target).
    stall_check_from_pass (pass or None; 30): with the rescue on, when fast-simplification runs in a forked child
        (inputs above 1M faces), its face-count reports (every 5 passes) are read from this pass on, and the run
        is stopped and the rescue started at once when they foresee an end above the rescue ratio
        (:func:`neurd_lite.mesh.simplify_fork.stall_foreseen`: the current slope of log faces against log
        threshold held to the last pass, once that slope flattens); None: always the full run. Why: the
        discarded stalled run was most of a stalled input's decimation CPU; a run that is not stopped is the same
        run, so outputs change only where a run is stopped that would have ended below the rescue ratio
        (none seen: docs/benchmarks.md, "Session 25, round 2").
    """

    target_faces: int | str | None = AUTO
    min_faces_to_decimate: int = 400_000
    aggressiveness: int = 7
    simplify_unit_nm: float = 10.0
    prereduce_above_faces: int | None = 2_000_000
    prereduce_to_faces: int = 400_000
    fragmented_target_faces: int = 400_000
    map_from_collapses: bool = True
    target_edge_nm: float | None = None
    min_target_faces: int = 250_000
    max_target_faces: int = 1_000_000
    weld_nm: float = 1.0
    stall_rescue_ratio: float | None = 1.05
    stall_check_from_pass: int | None = 30
    weld_edges_only: bool = True
    fragmented_border_um_per_um2: float | None = None
    prereduce_error_nm: float | None = None
    prereduce_refit: str | None = None
    prereduce_method: str = "cluster"
    prereduce_cluster_ratio: float | None = 2.0
    prereduce_cluster_keep_border: bool = False
    prereduce_cluster_clip_box: bool = True
    prereduce_cluster_map: bool = True

    def __post_init__(self) -> None:
        check_params(self, choices={"target_faces": (AUTO,), "prereduce_refit": (None, "prereduced", "working"),
                                      "prereduce_method": ("meshoptimizer", "cluster")},
                     ranges={"target_faces": ">= 1", "min_faces_to_decimate": ">= 0", "aggressiveness": ">= 0",
                             "simplify_unit_nm": "> 0", "target_edge_nm": "> 0", "min_target_faces": ">= 1",
                             "max_target_faces": ">= 1", "prereduce_error_nm": "> 0",
                             "prereduce_cluster_ratio": "> 0", "stall_check_from_pass": ">= 0"})


@dataclass(frozen=True)
class HealParams:
    """Healing: which mesh pieces are linked to the main body (lengths nm). Each entry: what it does (unit;
    default); why.

    max_gap_nm (nm; 1500) / max_slack_nm (nm; 2000): link any piece whose gap to the main body is below
        max_gap_nm. The gap is the nearest vertex distance minus each vertex's slack (half its longest edge, at
        most max_slack_nm). Why: on coarse meshes two touching surfaces can have their nearest vertices far apart.
    far_keep_min_faces (faces; 300) / far_max_gap_nm (nm; 15000): pieces at least that large are kept even
        beyond max_gap_nm when their gap is below far_max_gap_nm; everything else out of reach is dropped as
        debris. Why: a large piece is a real part of the cell that a wide mesh gap cut off.
    max_rounds (rounds; 200): cap on growth rounds (each links every piece within reach of the body so far).
        Why: bounds the run on a mesh of thousands of pieces.
    seam_gap_nm (nm; 300): boundary vertices of two kept pieces this close are also linked ("seam" links), so a
        surface cut into chunks stays a surface graph instead of patches joined at single vertices.
    gap_stages_nm (nm each; (), off; opt-in): before the growth above, pieces are joined in rounds of rising gap
        (each value a max gap, nm; single linkage over *all* pieces, not only the body grown first), so a piece
        is bridged to whatever lies nearest before any longer bridge is considered. Without it a piece joins the
        first body whose frontier comes within ``max_gap_nm``, which on a fragmented merge can be the other
        cell's neurite passing 1 µm away while its own next piece lies 60 nm off (docs/proofreading.md).
    stage_slack (bool; True): the rising-gap rounds subtract the vertex slack like the growth does (True) or
        measure raw vertex distances (False: on coarse meshes the slack lets a 1.5 µm raw gap pass a 400 nm
        stage).
    stage_open_ends (bool; False): rising-gap links only between open-boundary vertices (chunk cuts) on both
        sides. Why: tried for chunked merges, whose pieces meet at the cuts (tune: it dropped cells, so off;
        docs/proofreading.md).
    canonical_order (bool; False, opt-in): heal a copy of the mesh listed in coordinate order
        (``geometry.meshes.coordinate_order``) and map the links back. Why: piece ids, seed order and equal gaps
        (the slack clamps many to 0) are decided by vertex index, so the links followed the input's listing order:
        on the real 80k cell 52 of 103 links differ in a permuted copy, and the skeleton and spines follow
        (session 27, ``tests/test_order_invariance.py``); with it they agree, and equal effective gaps go to the
        shortest raw gap (then coordinates), not the lowest vertex index. Not adopted: its session-28 rule
        failed (held-out fragmented members move by -.028 .. +.052 face F1 either way; docs/spines.md).
    """

    max_gap_nm: float = 1500.0
    max_slack_nm: float = 2000.0
    far_keep_min_faces: int = 300
    far_max_gap_nm: float = 15000.0
    max_rounds: int = 200
    seam_gap_nm: float = 300.0
    gap_stages_nm: tuple[float, ...] = ()
    stage_slack: bool = True
    stage_open_ends: bool = False
    canonical_order: bool = False

    def __post_init__(self) -> None:
        check_params(self, ranges={"max_rounds": ">= 0"})


@dataclass(frozen=True)
class SomaParams:
    """Soma detection parameters (lengths nm, areas µm², volumes µm³).

    voxel_nm: grid spacing (coarsened automatically so the grid has at most ``max_voxels`` voxels).
    coarse_voxels: when the fine grid would exceed ``max_voxels``, a first pass on a grid this large finds
        the regions deep enough for a soma, and the fine grid only covers boxes around them.
    coarse_floor_voxels: a coarse region must be at least this many coarse voxels deep whatever
        ``min_inscribed_radius_nm`` (so one-voxel-thick neurites open no window). 1.5 needs a depth of sqrt(3)
        voxels; 1.4 also takes sqrt(2) voxels, the most a soma of inscribed radius ~3 µm reads on the 2.5-2.8 µm
        coarse grid of a big three-cell merge (opt-in; see docs/proofreading.md, session 19).
    probe_floor_voxels: when > 0 (default 1.4 since session 25) and the coarse threshold above exceeds
        ``min_inscribed_radius_nm`` (coarse voxels > 1.67 µm: big merges; a soma of the smallest size can then
        read below it), a coarse region at least this many coarse voxels deep that opens no window, lies in no
        soma found and not deep inside a searched box is probed: the fine grid in a small box around it (reach:
        its depth + one coarse voxel + 3 µm) must read ``min_inscribed_radius_nm`` within one coarse voxel of
        its peak (a soma's inscribed ball; thick dendrites read sqrt(2) coarse voxels too, but not that); only
        then is it searched in a window of its own, after the others (docs/proofreading.md, session 25 round 2:
        held-out stress merges 58 -> 60 of 60 somata, 0 false). 0 = off (the behaviour before).
    close_radius_nm: closing radius that seals gaps between mesh chunks before the volume is filled.
    core_depth_nm: voxels at least this far inside the volume form soma cores.
    min_inscribed_radius_nm: a core's deepest voxel must be at least this deep (radius of the largest
        inscribed ball).
    max_inscribed_radius_nm: deeper cores are kept but flagged (``properties["too_large"] = 1``): glia or debris.
    body_margin_nm: the body reaches this far beyond the balls of its core voxels (at least one voxel).
    min_volume_um3: bodies with less volume are dropped.
    min_faces: bodies covering fewer input faces are dropped (volume enclosed by nothing but the closing).
    min_roundness_ratio: bodies whose inscribed radius is below this fraction of their equivalent-sphere
        radius are dropped (a long thick trunk is deep enough but not round; a ball scores ~1).
    min_membrane_coverage_ratio: bodies whose exposed boundary voxels hold mesh surface less often than this
        are dropped: a dense tangle of thin neurites filled in by the closing is deep but mostly not membrane.
    split_neck_ratio: two peaks of one core are separate somata when the depth along the segment joining
        them falls below this fraction of the shallower peak's depth.
    cut_tol_nm, cut_min_fraction: a bounding-box side is a flat cut (treated as a wall) when at least this
        fraction of the vertices lie within ``cut_tol_nm`` of it.
    min_outside_area_um2: on the plane of a crop (see :func:`soma_from_point`), empty regions at least this
        large are outside; smaller enclosed ones are the lumens of cut neurites (a 4 µm-radius trunk: 50 µm²).
    outer_reach_nm: a body face is membrane when a ray from it reaches the outside within this distance
        before hitting another face; the others are inner surfaces (nucleus).
    max_ray_faces: at most this many faces per soma are ray-tested; the rest follow their nearest tested face.
    ray_sample_by_coordinates (bool; False, opt-in): draw that sample in the faces' centroid coordinate order
        instead of face-index order. Why: the real 80k cell's soma 0 (35,918 faces) kept 2216 vs 2209 membrane faces
        (95 differ) in two listing orders, and the soma volume / area / centre features followed (430.8 vs 431.3
        µm³); with it none differ (session 28). Not adopted: it changes which faces are tested, hence the membrane
        of every soma over ``max_ray_faces``; it rode on ``HealParams.canonical_order``'s rule, which failed.
    core_fraction: a soma's core is the voxels around its peak at least this fraction of the peak depth deep;
        its body is the union of the core voxels' inscribed balls (see :mod:`.extent`). Processes thinner than
        this fraction of the soma's inscribed radius stay out of the core.
    max_exit_ratio: a peak is a soma only when every process leaving it is thinner than this fraction of its
        inscribed radius (a soma is a local thickening; a piece of a thick trunk is as thick as what leaves it).
    cap_reach_nm: a piece of volume beside the body that ends within this distance of it is part of the soma
        (the tip of an elongated soma); one that reaches farther is a process.
    seal_radii_nm, seal_depth_ratio: closing radii tried in turn, at ``voxel_nm``, in the window of a coarse
        region deep enough for a soma that the fine pass found none in (membrane holes one or two faces wide at
        chunk seams); a soma found with radius r must be at least r / ``seal_depth_ratio`` deep (a closing must
        stay smaller than the body it seals), and lie at such a region.
    taper_slope_ratio, taper_window_nm: the soma goes on along a process while the process's radius falls faster than
        ``taper_slope_ratio`` per unit length (read over ``taper_window_nm``): the base of a teardrop soma's trunk.
    """

    voxel_nm: float = 500.0
    max_voxels: int = 4_000_000
    coarse_voxels: int = 1_500_000
    coarse_floor_voxels: float = 1.5
    probe_floor_voxels: float = 1.4
    close_radius_nm: float = 1000.0
    core_depth_nm: float = 2000.0
    min_inscribed_radius_nm: float = 2500.0
    max_inscribed_radius_nm: float = 15000.0
    body_margin_nm: float = 500.0
    min_volume_um3: float = 150.0
    min_faces: int = 50
    min_roundness_ratio: float = 0.5
    min_membrane_coverage_ratio: float = 0.75
    split_neck_ratio: float = 0.75
    cut_tol_nm: float = 60.0
    cut_min_fraction: float = 0.003
    min_outside_area_um2: float = 100.0
    outer_reach_nm: float = 3000.0
    max_ray_faces: int = 30_000
    ray_sample_by_coordinates: bool = False
    core_fraction: float = 0.6
    max_exit_ratio: float = 0.5
    cap_reach_nm: float = 2000.0
    taper_slope_ratio: float = 0.25
    taper_window_nm: float = 2000.0
    seal_radii_nm: tuple[float, ...] = (1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0)
    seal_depth_ratio: float = 1.0

    def __post_init__(self) -> None:
        check_params(self, ranges={"voxel_nm": "> 0", "max_voxels": ">= 1", "coarse_voxels": ">= 1"})

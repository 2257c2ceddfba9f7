"""The skeleton stages' parameters: ``SkeletonParams`` (``skeletonizer.py``) and ``GraphParams`` (``graph.py``),
the ``skeleton`` and ``graph`` branches of ``nl.PipelineParams``.

Kept apart from the stage code so that building the parameter tree imports neither the stages nor their
dependencies; each stage module re-exports its class.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..checks import check_params

BACKEND_NAMES = ("teasar", "meshparty", "skeletor")  # the keys of backends.BACKENDS (tests/test_params_light.py)


@dataclass(frozen=True)
class SkeletonParams:
    """Skeletonization (lengths nm). Each entry: what it does (unit; default); why. The soma collapse and reach
    are the soma extent's (``neurd_lite.model.soma_extent.SomaExtentParams``, passed to :func:`skeletonize`).

    backend (``"teasar"`` / ``"meshparty"`` / ``"skeletor"``; ``"teasar"``): who traces the mesh graph: this
        package's TEASAR, MeshParty's (optional extra) or skeletor's wavefront (optional). Why: no optional
        dependency, and it reproduces MeshParty's TEASAR on the shared cell.
    invalidation_d_nm (nm; 12000): TEASAR invalidation distance along the mesh (surface within it of a traced
        path is covered). Why: MeshParty's value for MICrONS meshes.
    cc_vertex_thresh (vertices; 100): mesh pieces with fewer vertices are not traced. Why: MeshParty's value;
        smaller pieces are debris.
    max_orphan_distance_nm (nm; 2000): untraced mesh vertices map to the nearest skeleton vertex when this close
        (else unmapped). Why: a vertex farther away belongs to no traced process.
    smooth_iterations (rounds; 10): Laplacian smoothing of the re-centred path vertices. Why: removes the
        zig-zag the per-vertex re-centring leaves.
    cut_ends (bool; True) / cut_end_min_perimeter_nm (nm; 1000) / fragment_max_trunk_nm (nm; 10000) /
        fragment_branch_min_nm (nm; 4000): without a soma, open planar cross-sections with at least that
        perimeter are a fragment's cut ends; when all lie within fragment_max_trunk_nm (along the mesh) of the
        largest, the skeleton is the trunk between them plus traced branches reaching fragment_branch_min_nm from
        it (module doc). Why: a short piece cut out of a volume has no soma to root it, and its ends are cuts,
        not tips.
    stable_ties (bool; False, opt-in): a skeleton vertex where several mesh vertices coincide seeds the surface map
        from the one the trace ran through (else the lowest index). Why: the KD-tree's pick among them followed the
        last bits of other vertices (docs/benchmarks.md, "Session 24"); off by default (adoption rule failed).
    untraced_reach_nm (nm; 0 = off, opt-in; 5000 tried): after the trace, surface reaching farther than this
        along the surface beyond its skeleton vertex's ring (twice the median surface distance of that vertex's own
        surface) is traced as a new branch (``untraced.py``; not on a fragment's cut-end trunk; never a path entering a
        soma's reach, which would become a stem). Why: TEASAR's 12 µm invalidation leaves terminal branches
        shorter than that untraced, so the skeleton stops up to ~10 µm short of thin tips (docs/spines.md,
        "Session 25"). The traced cable keeps the positions, radii and root distances it has without the option
        (session 26: only new vertices are centred with the new map; ``Skeleton.traced``). 5000 with
        ``SpineParams.past_new_end_fraction`` passed its rule on held-out 2637-2641 (aspiny false spines / 100 µm
        .483 -> .463, face F1 .9159 -> .9199, cable missed 2.82 -> 1.50 %; real-cell clause held); its listing-order
        difference (a tie in the vertex model's nearest-spine distance) is fixed (session 27), but on fresh
        2655-2659 it failed the same rule (neurogliaform 2656 face F1 -.0187, most changed faces far from the new
        cable): opt-in (docs/spines.md, "Session 27").
    """

    backend: str = "teasar"
    invalidation_d_nm: float = 12000.0
    cc_vertex_thresh: int = 100
    max_orphan_distance_nm: float = 2000.0
    smooth_iterations: int = 10
    cut_ends: bool = True
    cut_end_min_perimeter_nm: float = 1000.0
    fragment_branch_min_nm: float = 4000.0
    fragment_max_trunk_nm: float = 10000.0
    stable_ties: bool = False
    untraced_reach_nm: float = 0.0

    def __post_init__(self) -> None:
        check_params(self, choices={"backend": BACKEND_NAMES},
                     ranges={"cc_vertex_thresh": ">= 0", "smooth_iterations": ">= 0", "untraced_reach_nm": ">= 0"})


@dataclass(frozen=True)
class GraphParams:
    """prune_terminal_nm: terminal subtrees shorter than this (longest path, nm) are bristles, not branches.
    3 µm is about twice the typical dendrite radius-plus-spine length on MICrONS cells, so spines and
    surface bumps traced by the skeletonizer do not become branches."""

    prune_terminal_nm: float = 3000.0

    def __post_init__(self) -> None:
        check_params(self)

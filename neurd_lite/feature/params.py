"""Parameters of the feature families (one frozen dataclass each, units in the field names), gathered in
:class:`FeatureParams` (``PipelineParams.features``). No imports from the feature modules: they import this. ``LinearDepthParams`` lives in ``geometry/depth.py``."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import InputError, check_params
from ..geometry.depth import LinearDepthParams  # the depth transform lives with the other geometry


@dataclass(frozen=True)
class MorphometryParams:
    """Morphometry features. Each entry: what it does (unit; default); why.

    sholl_radii_um (µm; (25, 50, 100, 200)): radii of the Sholl spheres around the soma centre whose crossings
        are counted. Why: the ``sholl_*um_crossings`` columns are registered at import for these radii, so other
        radii are refused by ``features`` (the column set is fixed).
    bifurcation_probe_um (µm; 5): how far along each child branch the bifurcation angle is measured. Why: past
        the branch point's own bulge, near enough to read the children's initial directions.
    """

    sholl_radii_um: tuple[float, ...] = (25.0, 50.0, 100.0, 200.0)
    bifurcation_probe_um: float = 5.0

    def __post_init__(self) -> None:
        check_params(self)


@dataclass(frozen=True)
class PerisomaticParams:
    """Perisomatic (soma and nucleus body) features. Each entry: what it does (unit; default); why. The
    plausible depth range is the frame's (``neurd_lite.model.frame.FrameParams.depth_range_um``).

    voxel_pitch_nm (nm; 250): voxel size of the closed-volume estimate (``perisomatic.filled_volume_nm3``). Why:
        fine against a soma's ~10 µm, coarse enough to fill a badly wound surface quickly.
    voxel_shell_factor (x area x pitch; 0.68): the surface shell subtracted from the filled voxels. Why: the
        voxels the surface itself occupies overcount the volume in proportion to its area.
    fold_depth_nm (nm; 150): a face whose centre lies more than this inside the convex hull is an infolding
        (``fold_area_nm2``). Why: below it, ordinary membrane curvature.
    min_process_perimeter_nm (nm; 1000): an opening with at least this perimeter counts as a process when there
        is no branch graph. Why: smaller openings are holes in the mesh, not neurites.
    max_sphericity_index (area / volume index; 4.0): the largest index of a mesh accepted as a closed body. Why:
        a sheet or a fragment has a huge index (v83 table maxima: soma 3.87, nucleus 2.48).
    """

    voxel_pitch_nm: float = 250.0
    voxel_shell_factor: float = 0.68
    fold_depth_nm: float = 150.0
    min_process_perimeter_nm: float = 1000.0
    max_sphericity_index: float = 4.0  # v83 table maxima: soma 3.87, nucleus 2.48

    def __post_init__(self) -> None:
        check_params(self, ranges={"voxel_pitch_nm": "> 0", "max_sphericity_index": ">= 0"})


@dataclass(frozen=True)
class NeurdEIParams:
    """NEURD's E/I branch filter: which dendritic branches the synapse- and spine-density E/I features read.
    Strict inequalities, as in NEURD (cell_type_utils.postsyn_branches_near_soma; ``feature/synapses.py``).
    Each entry: what it does (unit; default).

    max_soma_distance_um (µm; 110): a branch starts within this path distance of the soma.
    min_neurd_width_nm / max_neurd_width_nm (nm, NEURD's width = cross-section radius; 140 / 520): its width (spines
        excluded) lies between these.
    min_post_synapses (count; 2) / min_post_fraction (share; 0.8): more postsynapses than this, and more than
        this share of its synapses postsynaptic.
    min_spines_syn (count; -1: no test) / min_length_syn_um (µm; 5): the synapse-density filter also asks for
        more spines and more length than these (NEURD's own values are not public: its commented "special"
        branch).
    min_spines_spine (count; 2) / min_length_spine_um (µm; 15): the spine-density filter asks for more spines
        and more length than these.
    Why: the ``neurd_*`` features reproduce NEURD's E/I inputs, so its filter and values are kept.
    """

    max_soma_distance_um: float = 110.0
    min_neurd_width_nm: float = 140.0  # NEURD width = cross-section radius
    max_neurd_width_nm: float = 520.0
    min_post_synapses: int = 2
    min_post_fraction: float = 0.8
    min_spines_syn: int = -1
    min_length_syn_um: float = 5.0
    min_spines_spine: int = 2
    min_length_spine_um: float = 15.0

    def __post_init__(self) -> None:
        check_params(self, ranges={"min_post_synapses": ">= 0", "min_post_fraction": "[0, 1]"})


@dataclass(frozen=True)
class WidthParams:
    """Where the per-vertex width (``vertex_width_nm``: ``width_*_um``, branch ``width_um``, NEURD's E/I radius
    window) is measured from. ``centre_window_nm`` None (default): about the skeleton vertex itself, which sits
    off the cable axis (coarse meshes 1.5-1.7 radii, spiny dendrites 0.9-1.5 radii; ``docs/width_diagnosis.md``).
    A value (nm): about a cable centre fitted (least-squares circle) on the non-spine face corners of the
    skeleton within that path distance of the vertex, at most 2 of its radii (``geometry/width_centre.py``);
    500 is the tuned value (tune members: median |log(width / true diameter)| .27 -> .07 on l23 basal).
    ``sample``: ``"corners"`` (default) takes the median over the faces' corners; ``"surface"`` the
    area-weighted median over points spread evenly on the faces (``geometry/width_surface.py``), which does not
    move when a mesh is subdivided (real cell 81k -> 1.3M faces: corners x 0.85 from the mesh alone); ``"area"``
    the non-spine surface area (shaft under spines restored) per cable length / pi over a window of skeleton
    twice the vertex's width, 500 nm to ``area_window_nm`` (nm) (``geometry/width_area.py``): no cross-section,
    so neither the skeleton's offset from the axis nor the tessellation moves it (real cell 81k / 40k / 1.3M
    whole-cell median spread 1.03x, corners 1.44x); ``centre_window_nm`` must then be None."""

    centre_window_nm: float | None = None
    sample: str = "corners"
    area_window_nm: float = 2000.0

    def __post_init__(self) -> None:
        check_params(self, choices={"sample": ("corners", "centres", "surface", "area")},
                     ranges={"centre_window_nm": "> 0", "area_window_nm": "> 0"})
        if self.sample == "area" and self.centre_window_nm is not None:
            raise InputError("WidthParams.sample = 'area' measures no cross-section: centre_window_nm must be None, "
                             f"got {self.centre_window_nm!r}")


@dataclass(frozen=True)
class FeatureParams:
    """Every feature family's parameters (``nl.features(n, params=...)``): ``morphometry`` (Sholl radii,
    bifurcation probe), ``perisomatic`` (soma and nucleus body measures), ``depth`` (linear minnie65 depth),
    ``neurd_ei`` (NEURD's E/I branch filter) and ``width`` (where per-vertex widths are measured); each class
    documents its own units and defaults."""

    morphometry: MorphometryParams = field(default_factory=MorphometryParams)
    perisomatic: PerisomaticParams = field(default_factory=PerisomaticParams)
    depth: LinearDepthParams = field(default_factory=LinearDepthParams)
    neurd_ei: NeurdEIParams = field(default_factory=NeurdEIParams)
    width: WidthParams = field(default_factory=WidthParams)

"""Parameters of the feature families (one frozen dataclass each, units in the field names), gathered in
:class:`FeatureParams` (``PipelineParams.features``). No imports from the feature modules: they import this. ``LinearDepthParams`` lives in ``geometry/depth.py``."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..geometry.depth import LinearDepthParams  # the depth transform lives with the other geometry


@dataclass(frozen=True)
class MorphometryParams:
    """Sholl radii (µm, around the soma centre) and the distance along each child branch used to measure a
    bifurcation angle (µm). The Sholl columns are registered at import for these default radii: other radii
    are refused by ``features`` (the column set is fixed)."""

    sholl_radii_um: tuple[float, ...] = (25.0, 50.0, 100.0, 200.0)
    bifurcation_probe_um: float = 5.0


@dataclass(frozen=True)
class PerisomaticParams:
    """Voxel size of the closed-volume estimate (nm), depth of an infolding (nm), minimum opening perimeter
    counted as a process when there is no branch graph (nm), and the largest area/volume index of a mesh
    accepted as a closed body (a sheet or a fragment has a huge index). The plausible depth range is the
    frame's (``neurd_lite.model.frame.FrameParams.depth_range_um``)."""

    voxel_pitch_nm: float = 250.0
    voxel_shell_factor: float = 0.68
    fold_depth_nm: float = 150.0
    min_process_perimeter_nm: float = 1000.0
    max_sphericity_index: float = 4.0  # v83 table maxima: soma 3.87, nucleus 2.48


@dataclass(frozen=True)
class NeurdEIParams:
    """NEURD's E/I branch filter (strict inequalities, as in NEURD). ``*_syn`` apply to synapse densities,
    ``*_spine`` to spine density."""

    max_soma_distance_um: float = 110.0
    min_neurd_width_nm: float = 140.0  # NEURD width = cross-section radius
    max_neurd_width_nm: float = 520.0
    min_post_synapses: int = 2
    min_post_fraction: float = 0.8
    min_spines_syn: int = -1
    min_length_syn_um: float = 5.0
    min_spines_spine: int = 2
    min_length_spine_um: float = 15.0


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
        if self.sample not in ("corners", "surface", "area"):
            raise ValueError(f"width.sample must be 'corners', 'surface' or 'area', got {self.sample!r}")
        if self.sample == "area" and self.centre_window_nm is not None:
            raise ValueError("width.sample='area' measures no cross-section: centre_window_nm must be None")


@dataclass(frozen=True)
class FeatureParams:
    """Every feature family's parameters (``nl.features(n, params=...)``)."""

    morphometry: MorphometryParams = field(default_factory=MorphometryParams)
    perisomatic: PerisomaticParams = field(default_factory=PerisomaticParams)
    depth: LinearDepthParams = field(default_factory=LinearDepthParams)
    neurd_ei: NeurdEIParams = field(default_factory=NeurdEIParams)
    width: WidthParams = field(default_factory=WidthParams)

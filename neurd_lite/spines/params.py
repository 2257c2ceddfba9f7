"""Spine-detection parameters (``SpineParams``, the ``spines`` branch of ``nl.PipelineParams``)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import check_params
from .headneck import HeadNeckParams
from .refit import REFIT_SCALES
from .shaft import ShaftParams


@dataclass(frozen=True)
class SpineParams:
    """Spine-detection parameters (nm; ``_rel`` values are fractions of the local shaft radius).

    A seed vertex protrudes more than max(seed_protrusion_nm, seed_protrusion_rel * r); with seed_floor_nm > 0 the
    first term becomes seed_spread_factor x the scatter of the vertex's shaft chunk below its radius
    (``ShaftField.spread_nm``: noise, an elliptic section, an axis off centre) clipped to [seed_floor_nm,
    seed_protrusion_nm], so low domes (stubby spines) seed where the shaft is smooth and round enough to show
    them; a spine grows through vertices protruding more than max(grow_protrusion_nm, grow_protrusion_rel * r).
    Spines protrude at most max_length_nm, cover at least min_area_nm2 of surface above the growth threshold
    (protrusion interpolated linearly over faces: an area, not a vertex count, so the test does not depend on the
    tessellation) and have a base radius at most max_base_radius_rel * r. Spines longer than max_length_nm from
    their base or with heads wider than max_head_width_nm are dropped. Shafts thinner than min_shaft_radius_nm are
    not searched (NEURD uses mesh width > 115 nm).
    link_nm: open-edge vertices of different mesh pieces closer than this are connected (chunked meshes).
    min_shaft_piece_area_nm2: a spine must touch a mesh piece with at least this much shaft surface (no debris).
    centre_skeleton: move the skeleton to the centres of the cross-sections it owns first (True / False, or
    "auto": only when the median move exceeds off_centre_fraction x the median skeleton radius, as happens
    with surface-walking skeletonizers such as TEASAR). inscribed_axis_fraction (default 0.3 since session 18; 0:
    off): the largest circles inscribed in the cross-sections decide whether the skeleton runs off its shaft and
    move it there onto the shaft; they also decide instead of "auto" whether to centre (``inscribed_axis``).
    max_angular_coverage: a candidate whose vertices occupy more than this fraction of ``angular_bins`` equal sectors
    around the axis is a swelling of the whole process (a varicosity, a bouton), not a spine (1.0: no test).
    min_height_to_extent: a candidate must protrude at least this fraction of its extent along the shaft axis
    (its highest protrusion over the spread of its vertices along the axis): a spine stands out of its shaft, a
    flare or a partly grown varicosity is a long low swelling along it (0: no test).
    sparse_min_height_to_extent: the same test, stricter, only where the first two passes found fewer than the
    relief density gate's spines per µm (``relief.drop_low_on_sparse``; <= min_height_to_extent: off).
    split_by_seeds: split a grown region between its seed cores (nearest core along mesh edges); two touching
    cores stay one spine unless the lower peak rises more than core_persistence_nm above the saddle between them.
    rejected_level_quantile: a grown region that touches the shaft but yields no spine is searched again with
    its protrusion measured from this quantile of its own protrusion (None: no second pass).
    relief_radius_nm / relief_quantile / relief_seed_nm: > 0 adds a last pass over the surface no spine took,
    with protrusion measured from the local shaft level (the ``relief_quantile`` of the protrusion of the
    non-spine surface within ``relief_radius_nm``, ``relief.surface_level``), seeds above relief_seed_nm and
    growth above relief_grow_nm (half the shaft lies above a median level), only within relief_near_spine_nm of
    a spine found before (spiny dendrite; 0: everywhere), and only where the spines found before number at least
    relief_min_density_per_um per µm of dendrite within relief_density_radius_nm (0: no density gate).
    Shaft-model errors that vary over the scale of the shaft (an axis off centre, a taper, an elliptic section)
    cancel in that relief, so low stubby spines where the shaft reads sunken stand out of their surroundings.
    extend_reach_nm / extend_ring_nm: accepted spines take unlabelled vertices within extend_reach_nm (along
    mesh edges) that protrude more than the median protrusion of the ring extend_ring_nm from the spine plus the
    growth threshold (0: no extension).
    dome_seed_nm > 0 adds a dome pass (``dome.py``) over the surface left: seeds above dome_seed_nm (and
    dome_seed_nm / seed_protrusion_nm x seed_protrusion_rel x r), area floor dome_min_area_nm2, kept only when
    the candidate's spherical-cap radius is at most dome_max_cap_radius_nm and dome_max_cap_rel x its shaft radius
    (low stubby spines, not shaft relief); dome_dense_only: only where the relief pass's density gate opens.
    local_shaft_far_nm > 0: connected surface protruding more than local_shaft_far_nm over more than
    local_shaft_min_area_nm2 (dendrite no skeleton reached, not a spine) gets straight shafts fitted per
    local_shaft_cell_nm cube, and nearby surface nearer such a shaft than its axis is measured against it
    (``local_shaft.py``; 0: off).
    candidate_filter: "rules" (the cuts above decide), "model" (the cuts loosened to the shipped spine-candidate
    model's pool and the model keeps a candidate when its probability reaches candidate_threshold, None: the
    model's own; ``candidates.py``), or "pool" (the loosened pool, every candidate kept: training capture).
    candidate_model_dir: folder of the model (None: ``neurd_lite/models``).
    refit_shaft: fit the shaft field again without the faces of the spines found (densely spiny dendrite gives
    spines ~half of a chunk's surface, which lifts the radius quantile into the spines), then search again;
    the first axis and, where no surface is left, the first radius stay (False: off; refit_scale, refit_above_quantile:
    which gates read which radius and where the radius is replaced, ``refit.refit_args``).
    vertex_model: re-decide every dendritic vertex with the shipped spine-vertex model after the rules
    (``vertex_model.py``; default on since session 14; False: the rules alone); vertex_threshold (None: the sidecar's),
    vertex_model_dir as above; vertex_feature_set: "rings" (default, for normalise_edge_nm=300) or "balls".
    vertex_ties_by_coordinates: a vertex two spines reach at once joins one by coordinates, not listing order (on).
    model_skirt: "stalked" (default since session 19) / "all" / "off": model-added shaft beside a spine (skirt.py).
    model_spine_needs_shaft: a spine the vertex model adds (touching no rule spine) must share a mesh edge with
    unlabelled surface of a piece that reaches the shaft's level (protrusion <= the growth threshold somewhere) or
    has an open edge (cut off its shaft by a chunk boundary; ``pieces.py``): a closed crumb off the shaft that
    the model scores high is not a spine (opt-in, session 15; it still drops spines of meshes whose spine heads
    are separate closed pieces, e.g. synthetic cells meshed with ``union=False``).
    synapse_seed_nm > 0 adds a synapse pass (``synapse_evidence.py``): a postsynapse within
    synapse_max_distance_nm of the mesh whose vertex stands above the shaft by max(synapse_seed_nm,
    synapse_seed_rel x r, synapse_spread_factor x spread) seeds a spine there (area floor synapse_min_area_nm2).
    normalise_edge_nm > 0: detect on the mesh with every longer edge split at its midpoint (``normalise.py``, one
    tessellation scale at any input resolution; only the dendritic faces), the result lifted back (0: off).
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
    inscribed_axis_fraction: float = 0.3
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
    model_skirt: str = "stalked"
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
                             "sparse_min_height_to_extent": ">= 0"})

    def grow_threshold_nm(self, radius_nm: np.ndarray, nan_radius: float = np.inf) -> np.ndarray:
        """Protrusion (nm) a vertex must exceed for a spine to grow through it: max(grow_protrusion_nm,
        grow_protrusion_rel x shaft radius nm); a NaN radius reads as ``nan_radius`` (inf: nothing grows there)."""
        r = np.nan_to_num(np.asarray(radius_nm, dtype=float), nan=nan_radius)
        return np.maximum(self.grow_protrusion_nm, self.grow_protrusion_rel * r)

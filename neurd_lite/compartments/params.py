"""The compartment stage's parameters: ``CompartmentParams`` (with ``axon``: ``AxonParams`` and ``apical``:
``ApicalParams``) and ``RefineParams`` (the spine-density second look of ``refine.py``).

Kept apart from the stage code so that building the parameter tree (``nl.PipelineParams``) imports neither the
compartment code nor its dependencies; ``axon``, ``apical``, ``label`` and ``refine`` re-export their class.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import check_params


@dataclass(frozen=True)
class AxonParams:
    """Axon split settings (lengths in µm, radius in nm)."""

    method: str = "flow"                # "flow" (max synapse flow centrality) or "segregation" (max index)
    min_presynapses: int = 3            # fewer presynapses on the cell -> geometry only
    min_segregation: float = 0.05       # best segregation below this -> flag the split as uncertain
    origin_max_um: float = 60.0         # geometric axon must leave within this path distance of the soma
    min_length_um: float = 30.0         # geometric candidate needs at least this much cable
    max_radius_ratio: float = 0.75      # candidate subtree median radius / median radius of the rest
    max_radius_nm: float = 500.0        # and at most this radius

    def __post_init__(self) -> None:
        check_params(self, choices={"method": ("flow", "segregation")},
                     ranges={"min_presynapses": ">= 0", "min_segregation": "[0, 1]"})


@dataclass(frozen=True)
class ApicalParams:
    """Apical detection and sub-labelling settings (lengths in µm, angles in degrees)."""

    min_height_um: float = 60.0        # apical must rise this far above the soma along ``up``
    min_initial_cos: float = 0.3       # cos(angle to up) of the point ``initial_length_um`` along its trunk
    initial_length_um: float = 20.0    # ... that point's path distance along the trunk (µm)
    twin_pole_cos: float = 0.6         # another upward limb leaving from the soma's pia-facing pole ...
    twin_height_frac: float = 0.6      # ... and reaching this fraction of the apical's height is apical too
    tuft_height_frac: float = 0.6      # tuft starts at the first trunk branch above this fraction of the height
    oblique_angle_deg: tuple[float, float] = (80.0, 140.0)  # angle to the shaft (toward soma) of obliques
    angle_length_um: float = 5.0       # length over which branch directions are measured
    basal_branch_max_um: float = 0.0   # side branches of the stem leaving closer than this may be basal (0: off)
    basal_rise_max_um: float = 5.0     # ... when they never rise more than this above their branch point
    interneuron_input_per_um: float = 2.5  # proximal dendritic input density (postsynapses/µm) above which the
    proximal_window_um: float = 50.0       # cell is taken as an aspiny interneuron (no apical), see docs

    def __post_init__(self) -> None:
        check_params(self, ranges={"oblique_angle_deg": "[0, 180]"})


@dataclass(frozen=True)
class CompartmentParams:
    """Settings of the compartment stage (lengths in nm unless the name says µm)."""

    axon: AxonParams = field(default_factory=AxonParams)
    apical: ApicalParams = field(default_factory=ApicalParams)
    has_apical: bool | None = None          # force apical search on/off (None: decide from the shape)
    soma_radius_nm: float | None = None     # soma extent around the root (None: from n.somas, else 0)
    outside_cortex: str = "dendrite"        # soma outside minnie65 cortex (not soma-centred) with minnie65's up:
    #                                         "dendrite" (no apical/basal, flagged) or "flag" (labels kept, flagged)
    method: str = "learned"                 # "learned" (LightGBM vertex models, rules as features) or "rules"
    excitatory: bool = False                # known excitatory (e.g. spiny): no has-apical model, the apical rule
    #                                         decides whether there is one (set by refine_by_spines)
    axon_threshold: float | None = None     # p_axon level for the axon subtree when none passes 0.5 (a source the
    #                                         model never saw: under-confident); None: sidecar ``decision.axon_threshold``
    fallback_keeps_apical: bool = True      # the axon found at that lower level never holds the distal end of the
    #                                         limb the apical-limb model ranks first (session 8)
    polarity_bayes_factor: float = 1e4      # > 0: after the axon decision, whole subtrees whose synapse polarity
    #                                         favours the other side by this Bayes factor move there (polarity.py,
    #                                         session 15: self-contacts that fuse axon and dendrite; default since
    #                                         session 15, needs synapses); 0: off (the session 14 decision)
    polarity_far_to_dendrite: bool = False  # True: a piece of the axon whose synapses favour the dendrite joins it
    #                                         however far it lies from the dendrite (default: within 12 µm; opt-in)
    axon_thin_route: bool = False           # when the axon's cut lands where it meets a neurite over twice its
    #                                         calibre, the thin route up to the soma / its host is axon too (contacts.py,
    #                                         session 16: a self-contact near the soma; needs radius; opt-in)
    apical_off_axon_limb: bool = True       # no apical on a limb that carries the decided axon (a basal sharing the
    #                                         axon's stem; learned.off_axon_limbs, session 16; default session 17)
    apical_off_axon_limb_spare_above: float | None = 0.5  # with apical_off_axon_limb: a limb keeps its apical
    #                                         when this share of its apical cable lies above the soma (session 17)
    axon_shape_model: bool = False          # the axon model that also reads synapse-free branch shape (right-angle
    #                                         collaterals, straight segments; axon_shape.py, session 18; opt-in)
    axon_l2_model: bool = False             # the axon model that also reads the level-2 graph's side nodes (spines
    #                                         hang off a dendrite's L2 chain; axon_l2.py, session 19; opt-in; NaN
    #                                         inputs without an L2 graph; wins over axon_shape_model)

    def __post_init__(self) -> None:
        check_params(self, choices={"outside_cortex": ("dendrite", "flag"), "method": ("learned", "rules")},
                     ranges={"axon_threshold": "[0, 1]", "apical_off_axon_limb_spare_above": "[0, 1]"})


@dataclass(frozen=True)
class RefineParams:
    """max_spine_density_per_um: below this a cell counts as aspiny (no apical); min_dendrite_um: the
    dendritic cable needed before the density is trusted; second_look_min_density_per_um: the density (spines
    per µm) a cell needs before its spines may overturn the has-apical model (:func:`_spiny_second_look`; None:
    ``max_spine_density_per_um``). On NEURD's 210 proofread cells the E/I likelihood ratio of a density in
    0.2-0.3 / 0.3-0.4 / 0.4-0.5 per µm is 0.08 / 0.93 / 8: a cell just above the aspiny line is more likely
    inhibitory (sparsely spiny SST cells), so 0.4 lets only clearly spiny cells use the ratio (opt-in)."""

    max_spine_density_per_um: float = 0.2
    min_dendrite_um: float = 100.0
    spiny_excitatory_fraction: float = 125 / 126  # NEURD's 210 proofread cells: share above the line, E cells
    spiny_inhibitory_fraction: float = 24 / 84    # ... and I cells (the spines' likelihood ratio is E / I)
    second_look_min_density_per_um: float | None = None  # None: max_spine_density_per_um (session 16 opt-in: 0.4)

    def __post_init__(self) -> None:
        check_params(self, ranges={"spiny_excitatory_fraction": "[0, 1]", "spiny_inhibitory_fraction": "[0, 1]"})

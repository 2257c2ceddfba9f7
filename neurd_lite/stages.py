"""The pipeline's stages and the working state of one run (:class:`Run`, ``n.cache["run"]``).

Every stage is a function ``(n, params)`` that reads and adds to the Neuron; ``MESH_STAGES`` is what
``pipeline.decompose`` runs, ``SKELETON_STAGES`` what ``pipeline.label_skeleton`` runs (``pipeline.run_stages``
times them). A stage raises :class:`_Skip` to be skipped with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError, StageError
from .geometry.meshes import cached_face_areas_nm2, cached_min_edge_nm, face_centroids_nm
from .mesh.decimate import DecimationResult, decimate
from .mesh.heal import HealResult, heal_mesh
from .mesh.soma import DetailMesh, find_somas, soma_from_point
from .model.anchors import Anchors, anchor_to_mesh, anchor_to_skeleton, write_anchor_columns
from .model.facemap import FaceMap
from .neuron import FACE_DEFAULTS, SPINE_LABELS, UNLABELLED, Neuron, Soma, is_label, label_array
from .params import PipelineParams
from .compartments import label_compartments, refine_by_spines
from .feature.spines import dendritic_spine_density_per_um
from .skeleton.graph import build_branch_graph, face_branch
from .skeleton.skeletonizer import skeletonize
from .spines.detect import detect_spines
from .spines.captures import TRAINING_CAPTURES
from .spines.rimless import RIMLESS_KEY
from .spines.synapses import attach_synapses

Stage = tuple[str, Callable[[Neuron, PipelineParams], None]]
RUN_KEY = "run"


class _Skip(Exception):
    """Raised inside a stage to skip it with a reason."""


@dataclass(eq=False)
class Run:
    """Working state of one pipeline run (dropped at its end): the working mesh and its face map, healing,
    soma working faces, the working-face skeleton map, the working mesh's spine labels and shaft field, the
    synapse anchors. Without decimation the working mesh is the input mesh and the face map the identity."""

    soma_centers_nm: np.ndarray | None = None
    work: DecimationResult | None = None
    face_map: FaceMap | None = None
    mesh: Any = None
    heal: HealResult | None = None
    soma_working_faces: list[np.ndarray] | None = None
    working_face_to_skeleton: np.ndarray | None = None
    soma_regions: list[Any] | None = None
    working_spine_labels: np.ndarray | None = None
    shaft_field: Any = None
    anchors: Anchors | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def decimated(self) -> bool:
        return self.face_map is not None and not self.face_map.is_identity


def run_state(n: Neuron) -> Run:
    """The Run of ``n`` (created when absent)."""
    run = n.cache.get(RUN_KEY)
    if run is None:
        run = n.cache[RUN_KEY] = Run()
    return run


# ---- stages -----------------------------------------------------------------------------------------------
def stage_decimate(n: Neuron, p: PipelineParams) -> None:
    """Working mesh: the input mesh, or its decimation when ``p.decimate.target_faces`` is set (a number of faces
    or ``"auto"``, :class:`DecimateParams`); the face map."""
    dec = decimate(n.mesh.vertices, n.mesh.faces, p.decimate, cached_face_areas_nm2(n.mesh), cached_min_edge_nm(n.mesh))
    run = run_state(n)
    run.work = dec
    run.face_map = FaceMap(dec.input_to_working, dec.working_to_input)
    if dec.input_centroids is not None:  # the face map's input centroids: the anchors and synapses reuse them
        run.extra["input_centroids"] = dec.input_centroids
    if dec.centroid_tree is not None:  # k-d tree over the working centroids: the anchors reuse it
        run.extra["working_centroid_tree"] = dec.centroid_tree
    if run.decimated:
        import trimesh

        run.mesh = trimesh.Trimesh(dec.vertices, dec.faces, process=False)
    else:
        run.mesh = n.mesh
    n.provenance["decimate"] = {"input_faces": n.n_faces, "working_faces": len(dec.faces), "seconds": dec.seconds,
                                "prereduced_faces": dec.prereduced_faces}


def stage_heal(n: Neuron, p: PipelineParams) -> None:
    """Link edges between mesh pieces; far debris dropped (``n.provenance["heal"]``)."""
    run = run_state(n)
    res = heal_mesh(run.work.vertices, run.work.faces, p.heal)
    run.heal = res
    n.provenance["heal"] = res.report.to_dict()
    if res.report.n_components_after > 1:
        n.flag(f"mesh_not_connected: {res.report.n_components_after} pieces after healing")


def stage_soma(n: Neuron, p: PipelineParams) -> None:
    """Somas from the given centres (``decompose(soma=...)``) or detected on the working mesh (a soma the
    decimation lost is looked for on the input mesh); labels soma faces
    (input faces whose working face is a soma face)."""
    run = run_state(n)
    given, mesh, fm = run.soma_centers_nm, run.mesh, run.face_map
    if given is not None and len(given):
        somas = [soma_from_point(mesh, c, None, p.soma) for c in given]
    else:
        detail = DetailMesh(n.mesh.vertices, n.mesh.faces, fm.input_to_working) if run.decimated else None
        somas = list(find_somas(mesh, p.soma, detail=detail))
    run.soma_working_faces = [s.faces for s in somas]
    if run.decimated:  # Soma.faces / membrane_faces become input faces (the perisomatic features read them)
        for s in somas:
            s.faces = fm.lift_faces(s.faces)
            if s.membrane_faces is not None:
                s.membrane_faces = fm.lift_faces(s.membrane_faces)
            for e in s.exits:
                e.faces = fm.lift_faces(e.faces)
    n.somas = somas
    labels = label_array(n.n_faces, UNLABELLED)
    for s in n.somas:
        labels[s.faces] = "soma"
    n.face_labels = labels
    n.face_compartment = labels.copy()
    if not n.somas:
        n.flag("no_soma: no soma found; skeleton rooted at its thickest point")
    elif len(n.somas) > 1:
        n.flag(f"multi_soma: {len(n.somas)} somas (probably a merge of several cells)")


def stage_skeleton(n: Neuron, p: PipelineParams) -> None:
    """Skeleton of the healed working mesh; per-input-face skeleton vertex (soma faces -> soma vertex)."""
    run = run_state(n)
    work, heal, fm = run.work, run.heal, run.face_map
    kept = np.flatnonzero(heal.face_keep)
    soma_work = run.soma_working_faces or [fm.lower_faces(s.faces) for s in n.somas]
    masks = []
    for wf in soma_work:
        m = np.zeros(len(work.vertices), dtype=bool)
        m[work.faces[wf].reshape(-1)] = True
        masks.append(m)
    res = skeletonize((work.vertices, work.faces[kept]), [s.center_nm for s in n.somas] or None, heal.link_edges,
                      p.skeleton, [s.radius_nm for s in n.somas] or None, masks or None, p.soma_extent)
    work_f2s = np.full(len(work.faces), -1, dtype=np.int64)
    work_f2s[kept] = res.face_to_skeleton
    f2s = fm.lift(work_f2s)
    for s, wf, sv in zip(n.somas, soma_work, res.soma_vertices):
        f2s[s.faces] = sv
        work_f2s[wf] = sv
    run.working_face_to_skeleton = work_f2s
    n.skeleton = res.skeleton
    n.skeleton_labels = np.full(res.skeleton.n_vertices, UNLABELLED, dtype=object)
    n.face_to_skeleton = f2s
    run.soma_regions = [[v] for v in res.soma_vertices]
    n.provenance["skeleton"] = {**res.stats, "n_unmapped_input_faces": int((f2s < 0).sum())}


def stage_graph(n: Neuron, p: PipelineParams) -> None:
    """Branch graph and per-face branch id (soma regions from the skeleton stage or ``label_skeleton``)."""
    if n.skeleton is None:
        raise _Skip("no skeleton")
    g, vb = build_branch_graph(n.skeleton, n.somas, run_state(n).soma_regions,
                               n.face_to_skeleton if n.n_faces else None, p.graph)
    n.graph = g
    n.skeleton.vertex_properties["branch"] = vb
    if n.n_faces:
        fb = face_branch(n.face_to_skeleton, vb)
        for s in n.somas:
            fb[s.faces] = -1
        n.face_branch = fb
        counts = np.bincount(fb[fb >= 0], minlength=len(n.branch_nodes))
        for b in n.branch_nodes:
            g.nodes[b]["n_faces"] = int(counts[b])
    n.provenance["graph"] = {"n_limbs": n.n_limbs, "n_branches": len(n.branch_nodes),
                             "prune_terminal_nm": p.graph.prune_terminal_nm}


def _input_centroids(n: Neuron, run: Run) -> np.ndarray:
    """(F, 3) input-face centroids (nm), computed once per run in blocks (``geometry.meshes``)."""
    c = run.extra.get("input_centroids")
    if c is None or len(c) != n.n_faces:
        c = run.extra["input_centroids"] = face_centroids_nm(n.mesh.vertices, n.mesh.faces)
    return c


def _anchors(n: Neuron, p: PipelineParams) -> Anchors:
    """The synapses' anchors of this run (computed on first use; see ``neurd_lite.model.anchors``)."""
    run = run_state(n)
    syn = n.synapses
    if run.anchors is not None and len(run.anchors) == len(syn):
        return run.anchors
    pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    if n.n_faces:
        fm = run.face_map or FaceMap.identity(n.n_faces)
        mesh = run.mesh if run.mesh is not None else n.mesh
        run.anchors = anchor_to_mesh(pts, np.asarray(mesh.triangles), fm, _input_centroids(n, run),
                                     n.face_to_skeleton, n.face_branch, p.synapses.max_distance_nm,
                                     p.synapses.k_candidates, centroid_tree=run.extra.get("working_centroid_tree"))
    else:
        run.anchors = anchor_to_skeleton(pts, n.skeleton.vertices, n.skeleton.vertex_properties.get("branch"),
                                         p.synapses.max_skeleton_distance_nm)
    return run.anchors


def stage_anchors(n: Neuron, p: PipelineParams) -> None:
    """Every synapse's face, skeleton vertex, branch, distance and ``is_far``, once (``model.anchors``); the
    ``is_far``, ``skeleton_vertex`` (and, on a mesh, ``distance_to_mesh_nm``) columns go into ``n.synapses``."""
    if n.synapses is None or len(n.synapses) == 0:
        raise _Skip("no synapses")
    if not {"x_nm", "y_nm", "z_nm"} <= set(n.synapses.columns):
        cols = ", ".join(map(str, list(n.synapses.columns)[:12]))
        raise InputError(f"the synapse table of neuron {n.name!r} lacks x_nm, y_nm, z_nm (its columns: {cols})",
                         hint="pass the table to decompose(synapses=...) or nl.load_synapses, which read the "
                              "MICrONS layouts, or name the positions x_nm, y_nm, z_nm (nm)")
    n.synapses = write_anchor_columns(n.synapses, _anchors(n, p), mesh=bool(n.n_faces))


def _label_kwargs(p: PipelineParams) -> dict[str, Any]:
    return {"up": p.frame.up, "depth_range_um": p.frame.depth_range_um,
            "soma_reach_factor": p.soma_extent.reach_factor}


def stage_compartments(n: Neuron, p: PipelineParams) -> None:
    """Axon / dendrite / apical labels (neurd_lite.compartments)."""
    if not p.runs("compartments"):
        raise _Skip("disabled by parameters")
    label_compartments(n, p.compartments, **_label_kwargs(p),
                       face_centroids=run_state(n).extra.get("input_centroids"))  # the face map's, when decimated


def _working_view(n: Neuron, run: Run) -> Neuron:
    """A Neuron on the working mesh sharing skeleton, graph, synapses, flags and provenance with ``n``: somas
    on working faces, per-face arrays lowered through the face map, except the working-face skeleton map and the
    spine detector's own working-face spine ids and head/neck labels (once detection ran)."""
    fm = run.face_map
    soma_work = run.soma_working_faces or [fm.lower_faces(s.faces) for s in n.somas]
    somas = [Soma(s.center_nm, s.radius_nm, wf, s.method, s.properties) for s, wf in zip(n.somas, soma_work)]
    labels = fm.lower(n.face_labels).copy()
    face_spine = (np.full(fm.n_working, FACE_DEFAULTS["face_spine"], dtype=np.int64)  # the lowered default, without
                  if n.face_array_is_default("face_spine") else fm.lower(n.face_spine).copy())  # an (F,) one first
    if run.working_spine_labels is not None:
        spine = is_label(run.working_spine_labels, SPINE_LABELS)
        labels = np.where(spine, run.working_spine_labels, labels).astype(object)
        face_spine = run.extra["working_face_spine"]
    f2s = run.working_face_to_skeleton
    return Neuron(name=n.name, mesh=run.mesh, skeleton=n.skeleton, somas=somas, graph=n.graph, face_labels=labels,
                  face_compartment=fm.lower(n.face_compartment).copy(), face_branch=fm.lower(n.face_branch).copy(),
                  face_to_skeleton=f2s if f2s is not None else fm.lower(n.face_to_skeleton).copy(),
                  face_spine=face_spine, skeleton_labels=n.skeleton_labels, synapses=n.synapses, spines=n.spines,
                  flags=n.flags, provenance=n.provenance)


def stage_spines(n: Neuron, p: PipelineParams) -> None:
    """Spine instances and head/neck faces (neurd_lite.spines), on the working mesh when decimated: every input
    face takes the spine id and head/neck label of its working face (``FaceMap.lift``); ``n_faces`` counts input
    faces."""
    if not p.runs("spines"):
        raise _Skip("disabled by parameters")
    if n.skeleton is None or n.skeleton.n_vertices < 2:
        raise StageError("spines", f"the skeleton stage left {0 if n.skeleton is None else n.skeleton.n_vertices} "
                         f"skeleton vertices for neuron {n.name!r}: too small or compact a mesh to measure spines "
                         "on (check --units; or run without spines: a --params file with 'skip: [spines]')")
    run = run_state(n)
    if not run.decimated:
        run.shaft_field = detect_spines(n, p.spines, p.soma_extent)
        run.extra[RIMLESS_KEY] = n.cache.pop(RIMLESS_KEY, None)  # run state: it must not outlive the run
        return
    w = _working_view(n, run)
    for key in TRAINING_CAPTURES:  # classifiers/spine_*: the working mesh is the one labelled
        if key in n.cache:
            w.cache[key] = n.cache[key]
    run.shaft_field = detect_spines(w, p.spines, p.soma_extent)
    run.working_spine_labels, run.extra["working_face_spine"] = w.face_labels, w.face_spine
    run.extra[RIMLESS_KEY] = w.cache.get(RIMLESS_KEY)  # the spines without the rim, for the synapse targets
    fm = run.face_map
    n.face_spine = fm.lift(w.face_spine)
    is_spine = n.face_spine >= 0
    labels = n.face_labels.copy()
    old = is_label(labels, SPINE_LABELS)  # an earlier run's spine labels
    labels[old] = n.face_compartment[old]
    labels[is_spine] = fm.lift_rows(w.face_labels, is_spine)
    n.face_labels = labels
    spines = w.spines.copy()
    if len(spines):
        spines["n_faces"] = np.bincount(n.face_spine[is_spine], minlength=len(spines))[spines["spine_id"]]
    n.spines = spines
    n.provenance.setdefault("spines_notes", {})["working_mesh_faces"] = fm.n_working


def stage_refine(n: Neuron, p: PipelineParams) -> None:
    """Aspiny cells lose their apical label (neurd_lite.compartments.refine_by_spines)."""
    if not (p.runs("compartments") and p.runs("spines") and p.runs("refine")):
        raise _Skip("needs compartments and spines")
    refine_by_spines(n, p.refine, compartment_params=p.compartments,
                     spine_density=dendritic_spine_density_per_um(n), **_label_kwargs(p))


def stage_synapses(n: Neuron, p: PipelineParams) -> None:
    """Synapse -> face / branch / target (neurd_lite.spines.attach_synapses) from the anchors; on the working
    mesh when the spines were found there, the ``face`` column then holds the nearest input face of the working
    face (``FaceMap.nearest_input_faces``).

    Synapses of unknown polarity (``is_pre`` <NA>) are placed like postsynapses (their target is what a
    postsynapse there would be) and keep ``is_pre`` <NA>; the features count them neither pre nor post."""
    if n.synapses is None or len(n.synapses) == 0:
        raise _Skip("no synapses")
    if not p.runs("synapses"):
        raise _Skip("disabled by parameters")
    if n.mesh is None or n.n_faces == 0:
        raise _Skip("no mesh")
    anchors = _anchors(n, p)
    run = run_state(n)
    w = _working_view(n, run) if run.decimated else n
    if run.extra.get(RIMLESS_KEY) is not None:  # the spines without the rim decide the targets (spines/rimless.py)
        w.cache[RIMLESS_KEY] = run.extra[RIMLESS_KEY]
    try:
        attach_synapses(w, p.synapses, p.soma_extent, anchors, run.shaft_field)
    finally:
        w.cache.pop(RIMLESS_KEY, None)
    if run.decimated:
        syn = w.synapses.copy()
        pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
        syn["face"] = run.face_map.nearest_input_faces(syn["face"].to_numpy(dtype=np.int64), pts,
                                                       _input_centroids(n, run))
        n.synapses = syn
    _flag_far_synapses(n, anchors, p.synapses.max_distance_nm)


FAR_SYNAPSE_FLAG_FRACTION = 0.1  # flag the neuron when more than this fraction of its synapses is is_far


def _flag_far_synapses(n: Neuron, anchors: Anchors, limit_nm: float) -> None:
    """Flag ``synapses_far`` when more than ``FAR_SYNAPSE_FLAG_FRACTION`` of the synapses are ``is_far`` (the
    anchors: farther from the mesh than ``limit_nm``; target unknown, not counted by the features); a whole table
    far away is nearly always a table in other units than ``synapse_units`` says."""
    n_far = int(anchors.is_far.sum())
    if n_far <= FAR_SYNAPSE_FLAG_FRACTION * len(anchors):
        return
    finite = anchors.distance_nm[np.isfinite(anchors.distance_nm)]
    median = f", median distance {np.median(finite) / 1000.0:.4g} µm" if finite.size else ""
    n.flag(f"synapses_far: {n_far} of {len(anchors)} synapses > {limit_nm / 1000.0:g} µm from the mesh{median} "
           "(check synapse_units)")


MESH_STAGES: list[Stage] = [("decimate", stage_decimate), ("heal", stage_heal), ("soma", stage_soma),
                            ("skeleton", stage_skeleton), ("graph", stage_graph), ("anchors", stage_anchors),
                            ("compartments", stage_compartments), ("spines", stage_spines),
                            ("refine", stage_refine), ("synapses", stage_synapses)]
SKELETON_STAGES: list[Stage] = [("graph", stage_graph), ("anchors", stage_anchors),
                                ("compartments", stage_compartments)]

"""The decomposition pipeline: the stage list, the runner and provenance.

``decompose``: ingest -> decimate -> heal -> soma -> skeleton -> graph -> anchors -> compartments -> spines ->
refine -> synapses. Every stage is a function ``(n, params)`` that reads and adds to the Neuron; it is timed
into ``n.provenance["timings_s"]``. ``n.provenance["params"]`` is exactly ``params.to_dict()`` (so
``PipelineParams.from_dict(n.provenance["params"]) == params``) and package versions go to
``n.provenance["versions"]``. A stage skipped by ``params.skip`` or for want of input (no synapses) is noted
in ``n.provenance["skipped"]``; a stage that fails raises ``StageError(stage, message)`` (bad input raises
``InputError``); an ImportError is a failure like any other. Working-mesh state (decimated mesh, face map, heal
links, working-face results) lives in one :class:`Run` object in ``n.cache["run"]`` for the length of the run
and is dropped with it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .compartments import label_compartments, refine_by_spines
from .errors import InputError, NeurdLiteError, StageError
from .feature.spines import dendritic_spine_density_per_um
from .geometry.meshes import cached_face_areas_nm2, cached_max_edge_nm, cached_min_edge_nm, face_centroids_nm
from .io.meshes import load_mesh
from .io.skeletons import check_skeleton_values, load_skeleton
from .io.synapse_units import fit_synapse_units
from .io.synapses import load_synapses
from .memory import frozen_gc, release_memory
from .mesh.decimate import DecimationResult, decimate
from .mesh.heal import HealResult, heal_mesh
from .mesh.soma import DetailMesh, find_somas, soma_from_point
from .model.anchors import Anchors, anchor_to_mesh, anchor_to_skeleton, write_anchor_columns
from .model.facemap import FaceMap
from .neuron import FACE_DEFAULTS, SPINE_LABELS, UNLABELLED, Neuron, Soma, is_label, label_array
from . import proofread
from .params import PipelineParams
from .proofread import SplitNeurons, SplitParams
from .skeleton.graph import build_branch_graph, face_branch
from .skeleton.model import Skeleton
from .skeleton.skeletonizer import skeletonize
from .spines.detect import detect_spines
from .spines.synapses import attach_synapses
from .units import UnitsLike, as_points_nm

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


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("neurd-lite", "numpy", "scipy", "trimesh", "meshparty", "networkx", "fast-simplification"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


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
        raise InputError("synapse table lacks x_nm, y_nm, z_nm", hint="positions must be x_nm, y_nm, z_nm (nm)")
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
        return
    w = _working_view(n, run)
    for key in ("spine_candidate_table", "spine_vertex_sink"):  # training captures (classifiers/spine_*)
        if key in n.cache:
            w.cache[key] = n.cache[key]
    run.shaft_field = detect_spines(w, p.spines, p.soma_extent)
    run.working_spine_labels, run.extra["working_face_spine"] = w.face_labels, w.face_spine
    fm = run.face_map
    n.face_spine = fm.lift(w.face_spine)
    is_spine = n.face_spine >= 0
    labels = n.face_labels.copy()
    old = is_label(labels, SPINE_LABELS)  # an earlier run's spine labels
    labels[old] = n.face_compartment[old]
    labels[is_spine] = fm.lift(w.face_labels)[is_spine]
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
    if not run.decimated:
        attach_synapses(n, p.synapses, p.soma_extent, anchors, run.shaft_field)
    else:
        w = _working_view(n, run)
        attach_synapses(w, p.synapses, p.soma_extent, anchors, run.shaft_field)
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


Progress = Callable[[str, float], None]


def run_stages(n: Neuron, stages: Sequence[Stage], params: PipelineParams, progress: Progress | None = None
               ) -> Neuron:
    """Run stages in order, timing each into ``n.provenance["timings_s"]``; the run's working state
    (``n.cache["run"]``) is dropped at the end, whatever happened. ``progress(stage, seconds)`` is called after
    each stage that finished (skipped ones too)."""
    timings = n.provenance.setdefault("timings_s", {})
    skipped = n.provenance.setdefault("skipped", {})
    try:
        for name, fn in stages:
            t0 = time.perf_counter()
            try:
                fn(n, params)
            except _Skip as e:
                skipped[name] = str(e)
            except NeurdLiteError as e:
                if getattr(e, "stage", None) is None:
                    e.stage = name  # type: ignore[attr-defined]  # batch and CLI report the stage that failed
                raise
            except Exception as e:  # noqa: BLE001 - re-raised with the stage name
                raise StageError(name, f"{type(e).__name__}: {e} (neuron {n.name!r})") from e
            finally:
                timings[name] = round(time.perf_counter() - t0, 4)
            if progress is not None:
                progress(name, timings[name])
            release_memory()
    finally:
        n.cache.pop(RUN_KEY, None)
        release_memory()
    return n


def _record(n: Neuron, params: PipelineParams, **inputs: Any) -> None:
    n.provenance["params"] = params.to_dict()
    n.provenance["versions"] = _versions()
    n.provenance["inputs"] = {k: (str(v) if isinstance(v, (Path, tuple, list)) else v) for k, v in inputs.items()}


def _soma_centers(soma: Any) -> np.ndarray | None:
    return None if soma is None else as_points_nm(soma, "soma centre(s)")


def _ingest_synapses(n: Neuron, synapses: Any, mesh_units: UnitsLike, synapse_units: UnitsLike | None,
                     segment_id: int | None = None) -> None:
    """Load the table and check its units against the mesh (``io.synapse_units.fit_synapse_units``): inferred
    when not given, recorded in ``n.provenance["synapse_units"]``, flagged when off the mesh or not the layout's
    default; an ``InputError`` naming the units tried when none puts the synapses on the mesh."""
    where = synapses if isinstance(synapses, (str, Path)) else n.name
    syn = load_synapses(synapses, units=synapse_units, segment_id=segment_id)
    if len(syn) == 0 or n.mesh is None or len(n.mesh.faces) == 0:
        n.synapses = syn
        return
    v, f = np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)  # no (F, 3, 3) triangle array (1.1 GB at 5M)
    n.synapses, record = fit_synapse_units(syn, (v, f), mesh_units, synapse_units, where,
                                           max_edge_nm=cached_max_edge_nm(n.mesh))
    n.provenance["synapse_units"] = record
    if record["problem"]:
        n.flag(record["problem"])


def decompose(mesh_or_path: Any, synapses: Any = None, units: UnitsLike = "nm",
              soma: Sequence[float] | np.ndarray | None = None, name: str | None = None,
              params: PipelineParams | None = None, synapse_units: UnitsLike | None = None,
              segment_id: int | None = None, split: bool = False, progress: Progress | None = None,
              up: Sequence[float] | None = None, has_apical: bool | None = None) -> Any:
    """Decompose a neuron mesh into somas, skeleton, branch graph and labels.

    up: pia direction in the mesh frame (overrides ``params.frame.up``; None there too: inferred and recorded in
    ``n.provenance["compartments"]["frame"]``). has_apical: force the apical search on/off (None: decide).

    mesh_or_path: mesh file, trimesh or (vertices, faces); units: the mesh's units ("nm", "um", nm per voxel).
    synapses: table file or DataFrame; synapse_units: its position units. None (default): the units that put the
    synapses on the mesh, tried among the mesh's units, nm, 4x4x40, 8 and µm (``io.synapse_units``) and recorded
    in ``n.provenance["synapse_units"]``; given units are honoured and flagged when they leave the synapses
    more than 1 µm off the mesh.
    soma: a known soma centre (3,) or centres (S, 3) in **nm** (skips detection). segment_id: this neuron's
    root id: synapse rows of other neurons (a CAVE table of several) are left out. progress: called as
    ``progress(stage, seconds)`` after ingest and each stage. Returns the Neuron (nm); with ``split``, the list
    of :func:`split` instead: one Neuron per soma (``.report`` holds the cuts; a one-soma neuron gives ``[n]``).
    """
    p = _with_frame(params or PipelineParams(), up, has_apical)
    t0 = time.perf_counter()
    mesh = load_mesh(mesh_or_path, units=units)
    if name is None:
        name = Path(mesh_or_path).stem if isinstance(mesh_or_path, (str, Path)) else \
            str(getattr(mesh, "metadata", {}).get("name", "neuron"))
    n = Neuron(name=name, mesh=mesh)
    if getattr(mesh, "metadata", {}).get("units_suspect"):  # implausible extent: see io.meshes.extent_problem
        n.flag(f"units_suspect: {mesh.metadata['units_suspect']}")
    if getattr(mesh, "metadata", {}).get("surface_suspect"):  # repeated / zero-area faces: io.meshes.surface_problem
        n.flag(f"surface_suspect: {mesh.metadata['surface_suspect']}")
    if synapses is not None:
        _ingest_synapses(n, synapses, units, synapse_units, segment_id)
    run_state(n).soma_centers_nm = _soma_centers(soma)
    n.provenance["timings_s"] = {"ingest": round(time.perf_counter() - t0, 4)}
    _record(n, p, mesh=mesh_or_path if isinstance(mesh_or_path, (str, Path)) else type(mesh_or_path).__name__,
            units=units, synapses=synapses if isinstance(synapses, (str, Path)) else
            (None if synapses is None else type(synapses).__name__), soma=None if soma is None else
            np.asarray(soma, float).tolist())
    release_memory()  # the mesh reader's temporaries
    if progress is not None:
        progress("ingest", n.provenance["timings_s"]["ingest"])
    with frozen_gc():  # the run's collections skip the objects that existed before it (memory.frozen_gc)
        run_stages(n, MESH_STAGES, p, progress)
    return proofread.split(n, pipeline_params=p, decompose_fn=decompose) if split else n


def split(n: Neuron, params: SplitParams | None = None, pipeline_params: PipelineParams | None = None,
          rebuild: bool = True) -> SplitNeurons:
    """One Neuron per soma of a decomposed (possibly merged) neuron: ``neurd_lite.proofread.split`` with each
    cell re-run through :func:`decompose` (``pipeline_params``, default the defaults). Lengths in nm."""
    return proofread.split(n, params, pipeline_params, rebuild, decompose_fn=decompose)


def _with_frame(p: PipelineParams, up: Sequence[float] | None, has_apical: bool | None) -> PipelineParams:
    """``p`` with the frame's ``up`` and the compartments' ``has_apical`` set when given."""
    if up is not None:
        p = replace(p, frame=replace(p.frame, up=tuple(float(x) for x in np.asarray(up, dtype=float).reshape(-1))))
    if has_apical is not None:
        p = replace(p, compartments=replace(p.compartments, has_apical=has_apical))
    return p


def _skeleton_soma(sk: Skeleton) -> tuple[Soma, np.ndarray]:
    """The soma of a skeleton-only neuron: the root plus connected SWC soma-type vertices (type 1)."""
    root = int(sk.root or 0)
    region = np.array([root])
    types = sk.vertex_properties.get("swc_type")
    if types is not None:
        is_soma = np.asarray(types) == 1
        if is_soma[root]:
            sub = np.flatnonzero(is_soma)
            from scipy.sparse import csgraph

            _, lab = csgraph.connected_components(sk.csgraph[sub][:, sub], directed=False)
            region = sub[lab == lab[np.flatnonzero(sub == root)[0]]]
    r = sk.radius[region]
    extent = np.linalg.norm(sk.vertices[region] - sk.vertices[root], axis=1).max()
    radius = float(np.nanmax(r)) if np.isfinite(r).any() and np.nanmax(r) > 0 else 0.0
    return Soma(sk.vertices[root], max(radius, extent), method="skeleton_root"), region


def label_skeleton(path_or_skeleton: str | Path | Skeleton | Any, synapses: Any = None, units: UnitsLike | None = None,
                   name: str | None = None, params: PipelineParams | None = None,
                   synapse_units: UnitsLike | None = None, up: Sequence[float] | None = None,
                   has_apical: bool | None = None) -> Neuron:
    """Skeleton-only Neuron (nm): branch graph from the root soma and compartment labels.

    up: pia direction in the skeleton's frame (None: ``params.frame.up``, else inferred: minnie65 for nm coordinates
    inside its volume, otherwise from the apical-like primary dendrite; see ``n.provenance["compartments"]
    ["frame"]`` and the ``up_inferred`` flag). has_apical: force the apical search on/off (None: decide).

    path_or_skeleton: a skeleton file/folder (see ``neurd_lite.io.skeletons.load_skeleton``; ``units`` None =
    the format's default), a Skeleton in nm, or a MeshParty Meshwork/Skeleton or navis TreeNeuron. synapses: table or DataFrame; when None, the synapses stored
    in the skeleton file are used. ``n.skeleton_labels`` holds one compartment name per skeleton vertex.
    """
    p = _with_frame(params or PipelineParams(), up, has_apical)
    t0 = time.perf_counter()
    file_syn = None
    if isinstance(path_or_skeleton, Skeleton):
        sk = path_or_skeleton.copy()
        name = name or "skeleton"
        check_skeleton_values(sk, f"<Skeleton {name!r}>")  # the same value checks as a file gets
    else:
        sk, file_syn = load_skeleton(path_or_skeleton, units=units)
        name = name or getattr(sk, "source_name", None) or Path(path_or_skeleton).stem
    if sk.n_vertices == 0:
        raise InputError("skeleton has no vertices", None if isinstance(path_or_skeleton, Skeleton)
                         else path_or_skeleton)
    soma, region = _skeleton_soma(sk)
    n = Neuron(name=name, skeleton=sk, somas=[soma])
    if synapses is not None:
        n.synapses = load_synapses(synapses, units=synapse_units)
    elif file_syn is not None:
        n.synapses = file_syn
    run_state(n).soma_regions = [region]
    for problem in getattr(sk, "load_problems", []):  # e.g. negative radii (io.skeletons.check_skeleton_values)
        n.flag(f"skeleton_input: {problem} ({path_or_skeleton})")
    n.provenance["timings_s"] = {"ingest": round(time.perf_counter() - t0, 4)}
    _record(n, p, skeleton=str(path_or_skeleton) if isinstance(path_or_skeleton, (str, Path))
            else type(path_or_skeleton).__name__,
            units=getattr(sk, "units_in", units if units is not None else "nm"),  # the units used (io.skeletons)
            units_source=getattr(sk, "units_source", "given" if units is not None else "Skeleton (nm)"))
    return run_stages(n, SKELETON_STAGES, p)


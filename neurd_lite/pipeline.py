"""The decomposition pipeline: the entry points, the runner and provenance.

``decompose``: ingest -> decimate -> heal -> soma -> skeleton -> graph -> anchors -> compartments -> spines ->
refine -> synapses. Every stage is a function ``(n, params)`` in :mod:`neurd_lite.stages` (re-exported here)
that reads and adds to the Neuron; :func:`run_stages` times it
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
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .errors import InputError, NeurdLiteError, StageError
from .lazy import lazy_getattr as _lazy_getattr
from .memory import frozen_gc, release_memory
from .params import PipelineParams
from .units import UnitsLike, as_points_nm

if TYPE_CHECKING:
    from .neuron import Neuron, Soma
    from .proofread import SplitNeurons, SplitParams
    from .skeleton.model import Skeleton
    from .stages import Stage

# the stage functions and the run state live in neurd_lite.stages; re-exported here, loaded on first use (the
# entry points import the stage code when called, so reaching ``nl.decompose`` stays as light as the parameters)
__getattr__ = _lazy_getattr(globals(), {".stages": (
    "MESH_STAGES", "SKELETON_STAGES", "RUN_KEY", "Run", "Stage", "_Skip", "_working_view", "run_state", "stage_anchors",
    "stage_compartments", "stage_decimate", "stage_graph", "stage_heal", "stage_refine", "stage_skeleton",
    "stage_soma", "stage_spines", "stage_synapses")})


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("neurd-lite", "numpy", "scipy", "trimesh", "meshparty", "networkx", "fast-simplification"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


Progress = Callable[[str, float], None]


def run_stages(n: Neuron, stages: Sequence[Stage], params: PipelineParams, progress: Progress | None = None
               ) -> Neuron:
    """Run stages in order, timing each into ``n.provenance["timings_s"]``; the run's working state
    (``n.cache["run"]``) is dropped at the end, whatever happened. ``progress(stage, seconds)`` is called after
    each stage that finished (skipped ones too)."""
    from .stages import RUN_KEY, _Skip

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
    from .geometry.meshes import cached_max_edge_nm
    from .io.synapse_units import fit_synapse_units
    from .io.synapses import load_synapses

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
    from . import proofread
    from .io.meshes import load_mesh
    from .neuron import Neuron
    from .stages import MESH_STAGES, run_state

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
    from . import proofread

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
    from .neuron import Soma

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
    from .io.skeletons import check_skeleton_values, load_skeleton
    from .io.synapses import load_synapses
    from .neuron import Neuron
    from .skeleton.model import Skeleton
    from .stages import SKELETON_STAGES, run_state

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
        given = isinstance(path_or_skeleton, Skeleton)
        raise InputError("skeleton has no vertices", None if given else path_or_skeleton,
                         hint="an empty Skeleton was given" if given else "check that the file holds this neuron's "
                         "skeleton: SWC node rows, or a MeshParty / NEURD skeleton with vertices")
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


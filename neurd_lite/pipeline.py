"""The decomposition pipeline: an ordered list of named stages that each read and add to a Neuron.

``decompose``: ingest -> decimate -> heal -> soma -> skeleton -> graph -> compartments -> spines -> synapses.
Every stage is timed into ``n.provenance["timings_s"]``; parameters go to ``n.provenance["params"]`` and
package versions to ``n.provenance["versions"]``. A stage whose module is not importable is skipped with a
note in ``n.provenance["skipped"]``; a stage that fails raises ``StageError(stage, message)`` (bad input
raises ``InputError``). Working-mesh state (decimated / healed mesh) lives in ``n.cache`` and is not saved.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .errors import InputError, NeurdLiteError, StageError
from .mesh.decimate import DecimateParams, decimate, identity
from .mesh.heal import HealParams, heal_mesh
from .neuron import UNLABELLED, Neuron, Soma
from .skeleton.graph import GraphParams, build_branch_graph, face_branch
from .skeleton.model import Skeleton
from .skeleton.skeletonizer import SkeletonParams, skeletonize
from .units import UnitsLike, as_points_nm

Stage = tuple[str, Callable[[Neuron, "PipelineParams"], None]]


@dataclass(frozen=True)
class PipelineParams:
    """Parameters of every stage (each sub-dataclass documents its units).

    soma: a ``neurd_lite.mesh.soma.SomaParams`` or None for its defaults. compartments / spines: run those
    stages (when their modules are present). up: pia direction in the mesh frame (minnie65: -y), or None to
    infer it (``neurd_lite.compartments.frame``). compartment: a ``CompartmentParams`` or None for its defaults.
    """

    decimate: DecimateParams = field(default_factory=DecimateParams)
    heal: HealParams = field(default_factory=HealParams)
    skeleton: SkeletonParams = field(default_factory=SkeletonParams)
    graph: GraphParams = field(default_factory=GraphParams)
    soma: Any = None
    compartments: bool = True
    spines: bool = True
    up: tuple[float, float, float] | None = None
    compartment: Any = None


class _Skip(Exception):
    """Raised inside a stage to skip it with a reason."""


def _optional(module: str, attr: str) -> Callable[..., Any]:
    """A function from another neurd_lite module, or _Skip when that module is not available yet."""
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as e:
        raise _Skip(f"{module}.{attr} not importable ({e})") from e
    except AttributeError as e:
        raise _Skip(f"{module} has no {attr}") from e


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
    """Working mesh: the input mesh, or its decimation when ``p.decimate.target_faces`` is set."""
    dec = decimate(n.mesh.vertices, n.mesh.faces, p.decimate)
    n.cache["work"] = dec
    n.provenance["decimate"] = {"input_faces": n.n_faces, "working_faces": len(dec.faces), "seconds": dec.seconds}


def stage_heal(n: Neuron, p: PipelineParams) -> None:
    """Link edges between mesh pieces; far debris dropped (``n.provenance["heal"]``)."""
    work = n.cache["work"]
    res = heal_mesh(work.vertices, work.faces, p.heal)
    n.cache["heal"] = res
    n.provenance["heal"] = res.report.to_dict()
    if res.report.n_components_after > 1:
        n.flag(f"mesh_not_connected: {res.report.n_components_after} pieces after healing")


def _working_trimesh(n: Neuron) -> Any:
    """The working mesh as a trimesh (the input mesh itself when there was no decimation)."""
    work = n.cache.get("work")
    if work is None or work.is_identity:
        return n.mesh
    if "work_mesh" not in n.cache:
        import trimesh

        n.cache["work_mesh"] = trimesh.Trimesh(work.vertices, work.faces, process=False)
    return n.cache["work_mesh"]


def _to_input_faces(n: Neuron, working_faces: np.ndarray) -> np.ndarray:
    """Input faces whose working face is one of ``working_faces`` (identity without decimation)."""
    work = n.cache.get("work")
    if work is None or work.is_identity:
        return np.asarray(working_faces, dtype=np.int64)
    mask = np.zeros(len(work.faces), dtype=bool)
    mask[np.asarray(working_faces, dtype=np.int64)] = True
    return np.flatnonzero(mask[work.input_to_working])


def stage_soma(n: Neuron, p: PipelineParams) -> None:
    """Somas from the given centres (``n.cache["soma_centers_nm"]``) or detected on the working mesh; labels
    soma faces (input faces whose working face is a soma face)."""
    given = n.cache.get("soma_centers_nm")
    mesh = _working_trimesh(n)
    if given is not None and len(given):
        from_point = _optional("neurd_lite.mesh.soma", "soma_from_point")
        somas = [from_point(mesh, c, None, p.soma) if p.soma is not None else from_point(mesh, c)
                 for c in given]
    else:
        find = _optional("neurd_lite.mesh.soma", "find_somas")
        somas = list(find(mesh, p.soma) if p.soma is not None else find(mesh))
    n.cache["soma_working_faces"] = [s.faces for s in somas]
    if mesh is not n.mesh:  # Soma.faces / membrane_faces become input faces (the perisomatic features read them)
        for s in somas:
            s.faces = _to_input_faces(n, s.faces)
            if s.membrane_faces is not None:
                s.membrane_faces = _to_input_faces(n, s.membrane_faces)
    n.somas = somas
    labels = np.full(n.n_faces, UNLABELLED, dtype=object)
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
    work, heal = n.cache["work"], n.cache["heal"]
    kept = np.flatnonzero(heal.face_keep)
    masks = []
    soma_work = n.cache.get("soma_working_faces") or [np.unique(work.input_to_working[s.faces]) for s in n.somas]
    for wf in soma_work:
        m = np.zeros(len(work.vertices), dtype=bool)
        m[work.faces[wf].reshape(-1)] = True
        masks.append(m)
    res = skeletonize((work.vertices, work.faces[kept]), [s.center_nm for s in n.somas] or None, heal.link_edges,
                      p.skeleton, [s.radius_nm for s in n.somas] or None, masks or None)
    work_f2s = np.full(len(work.faces), -1, dtype=np.int64)
    work_f2s[kept] = res.face_to_skeleton
    f2s = work_f2s[work.input_to_working]
    for s, wf, sv in zip(n.somas, soma_work, res.soma_vertices):
        f2s[s.faces] = sv
        work_f2s[wf] = sv
    n.cache["work_face_to_skeleton"] = work_f2s
    n.skeleton = res.skeleton
    n.skeleton_labels = np.full(res.skeleton.n_vertices, UNLABELLED, dtype=object)
    n.face_to_skeleton = f2s
    n.cache["soma_regions"] = [[v] for v in res.soma_vertices]
    n.provenance["skeleton"] = {**res.stats, "n_unmapped_input_faces": int((f2s < 0).sum())}


def stage_graph(n: Neuron, p: PipelineParams) -> None:
    """Branch graph and per-face branch id (soma regions from ``n.cache["soma_regions"]`` when set)."""
    if n.skeleton is None:
        raise _Skip("no skeleton")
    g, vb = build_branch_graph(n.skeleton, n.somas, n.cache.get("soma_regions"),
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


def stage_compartments(n: Neuron, p: PipelineParams) -> None:
    """Axon / dendrite / apical labels (neurd_lite.compartments)."""
    if not p.compartments:
        raise _Skip("disabled by parameters")
    _optional("neurd_lite.compartments", "label_compartments")(n, p.compartment, up=p.up)


def _working_neuron(n: Neuron) -> Neuron | None:
    """A Neuron on the working mesh sharing skeleton, graph and somas (working faces), with per-face arrays of
    working faces taken from a representative input face; None when there was no decimation."""
    work = n.cache.get("work")
    if work is None or work.is_identity:
        return None
    w2in = work.working_to_input
    somas = [Soma(s.center_nm, s.radius_nm, wf, s.method, s.properties)
             for s, wf in zip(n.somas, n.cache.get("soma_working_faces") or [s.faces for s in n.somas])]
    f2s = n.cache.get("work_face_to_skeleton")
    wn = Neuron(name=n.name, mesh=_working_trimesh(n), skeleton=n.skeleton, somas=somas, graph=n.graph,
                face_labels=n.face_labels[w2in].copy(), face_compartment=n.face_compartment[w2in].copy(),
                face_branch=n.face_branch[w2in].copy(),
                face_to_skeleton=f2s if f2s is not None else n.face_to_skeleton[w2in].copy(),
                face_spine=n.face_spine[w2in].copy(), skeleton_labels=n.skeleton_labels,
                provenance=n.provenance)
    return wn


def stage_spines(n: Neuron, p: PipelineParams) -> None:
    """Spine instances and head/neck faces (neurd_lite.spines), on the working mesh when decimated: every input
    face takes the spine id and head/neck label of its working face; ``n_faces`` counts input faces."""
    if not p.spines:
        raise _Skip("disabled by parameters")
    detect = _optional("neurd_lite.spines", "detect_spines")
    wn = _working_neuron(n)
    if wn is None:
        detect(n)
        return
    detect(wn)
    in2w = n.cache["work"].input_to_working
    n.face_spine = wn.face_spine[in2w]
    is_spine = n.face_spine >= 0
    labels = n.face_labels.copy()
    old = np.isin(labels.astype(str), ("spine_head", "spine_neck"))  # an earlier run's spine labels
    labels[old] = n.face_compartment[old]
    labels[is_spine] = wn.face_labels[in2w][is_spine]
    n.face_labels = labels
    spines = wn.spines.copy()
    if len(spines):
        spines["n_faces"] = np.bincount(n.face_spine[is_spine], minlength=len(spines))[spines["spine_id"]]
    n.spines = spines
    n.provenance.setdefault("spines_notes", {})["working_mesh_faces"] = len(wn.mesh.faces)
    n.cache["work_neuron"] = wn


def stage_refine(n: Neuron, p: PipelineParams) -> None:
    """Aspiny cells lose their apical label (neurd_lite.compartments.refine_by_spines)."""
    if not (p.compartments and p.spines):
        raise _Skip("needs compartments and spines")
    _optional("neurd_lite.compartments", "refine_by_spines")(n, up=p.up, compartment_params=p.compartment)


def _nearest_input_faces(n: Neuron, working_faces: np.ndarray, points_nm: np.ndarray) -> np.ndarray:
    """For each point, the input face nearest to it (by centroid) among those mapped to its working face."""
    work = n.cache["work"]
    order = np.argsort(work.input_to_working, kind="stable")
    starts = np.searchsorted(work.input_to_working[order], np.arange(len(work.faces) + 1))
    verts, faces = np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)
    out = np.full(len(working_faces), -1, dtype=np.int64)
    for i, (wf, pt) in enumerate(zip(working_faces, points_nm)):
        if wf < 0 or not np.all(np.isfinite(pt)):
            continue
        cand = order[starts[wf]:starts[wf + 1]]
        if len(cand) == 0:
            cand = np.array([work.working_to_input[wf]])
        out[i] = cand[np.argmin(np.linalg.norm(verts[faces[cand]].mean(axis=1) - pt, axis=1))]
    return out


def stage_synapses(n: Neuron, p: PipelineParams) -> None:
    """Synapse -> face / branch / target (neurd_lite.spines.attach_synapses); on the working mesh when the
    spines were found there, the ``face`` column then holds the nearest input face of the working face.

    Synapses of unknown polarity (``is_pre`` <NA>) are placed like postsynapses (their target is what a
    postsynapse there would be) and keep ``is_pre`` <NA>; the features count them neither pre nor post."""
    if n.synapses is None or len(n.synapses) == 0:
        raise _Skip("no synapses")
    _attach_synapses(n, _optional("neurd_lite.spines", "attach_synapses"))
    _flag_far_synapses(n)


def _attach_synapses(n: Neuron, attach: Callable[[Neuron], None]) -> None:
    wn = n.cache.get("work_neuron")
    if wn is None:
        attach(n)
        return
    # the refine stage may have relabelled n since the spine stage built wn: take its current compartments
    # (spine head/neck labels of the working faces stay the detector's own)
    w2in = n.cache["work"].working_to_input
    wn.face_compartment = n.face_compartment[w2in].copy()
    spine = np.isin(wn.face_labels.astype(str), ("spine_head", "spine_neck"))
    wn.face_labels = np.where(spine, wn.face_labels, n.face_labels[w2in]).astype(object)
    wn.skeleton_labels = n.skeleton_labels
    wn.synapses = n.synapses
    wn.flags = n.flags
    attach(wn)
    syn = wn.synapses.copy()
    pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    syn["face"] = _nearest_input_faces(n, syn["face"].to_numpy(dtype=np.int64), pts)
    n.synapses = syn


FAR_SYNAPSE_FLAG_FRACTION = 0.1  # flag the neuron when more than this fraction of its synapses is is_far


def _flag_far_synapses(n: Neuron) -> None:
    """Flag ``synapses_far`` when more than ``FAR_SYNAPSE_FLAG_FRACTION`` of the synapses lie farther from the
    mesh than the synapse stage's limit (``is_far``: target unknown, not counted by the features); a whole
    table far away is nearly always a table in other units than ``synapse_units`` says."""
    syn = n.synapses
    if syn is None or len(syn) == 0 or "is_far" not in syn:
        return
    n_far = int(np.asarray(syn["is_far"], dtype=bool).sum())
    if n_far <= FAR_SYNAPSE_FLAG_FRACTION * len(syn):
        return
    limit_um = float(n.provenance.get("synapses", {}).get("max_distance_nm", 1500.0)) / 1000.0
    dist = np.asarray(syn["distance_to_mesh_nm"], dtype=float) if "distance_to_mesh_nm" in syn else np.array([])
    finite = dist[np.isfinite(dist)]
    median = f", median distance {np.median(finite) / 1000.0:.4g} µm" if finite.size else ""
    n.flag(f"synapses_far: {n_far} of {len(syn)} synapses > {limit_um:g} µm from the mesh{median} "
           "(check synapse_units)")


MESH_STAGES: list[Stage] = [("decimate", stage_decimate), ("heal", stage_heal), ("soma", stage_soma),
                            ("skeleton", stage_skeleton), ("graph", stage_graph),
                            ("compartments", stage_compartments), ("spines", stage_spines),
                            ("refine", stage_refine), ("synapses", stage_synapses)]
SKELETON_STAGES: list[Stage] = [("graph", stage_graph), ("compartments", stage_compartments)]


def run_stages(n: Neuron, stages: Sequence[Stage], params: PipelineParams) -> Neuron:
    """Run stages in order, timing each into ``n.provenance["timings_s"]``."""
    timings = n.provenance.setdefault("timings_s", {})
    skipped = n.provenance.setdefault("skipped", {})
    for name, fn in stages:
        t0 = time.perf_counter()
        try:
            fn(n, params)
        except _Skip as e:
            skipped[name] = str(e)
        except NeurdLiteError:
            raise
        except Exception as e:  # noqa: BLE001 - re-raised with the stage name
            raise StageError(name, f"{type(e).__name__}: {e} (neuron {n.name!r})") from e
        finally:
            timings[name] = round(time.perf_counter() - t0, 4)
    for key in ("work", "work_mesh", "heal", "soma_regions", "soma_centers_nm", "soma_working_faces",
                "work_face_to_skeleton", "work_neuron"):
        n.cache.pop(key, None)
    return n


def _record(n: Neuron, params: PipelineParams, **inputs: Any) -> None:
    n.provenance["params"] = asdict(params)
    n.provenance["versions"] = _versions()
    n.provenance["inputs"] = {k: (str(v) if isinstance(v, (Path, tuple, list)) else v) for k, v in inputs.items()}


def _soma_centers(soma: Any) -> np.ndarray | None:
    return None if soma is None else as_points_nm(soma, "soma centre(s)")


def decompose(mesh_or_path: Any, synapses: Any = None, units: UnitsLike = "nm",
              soma: Sequence[float] | np.ndarray | None = None, name: str | None = None,
              params: PipelineParams | None = None, synapse_units: UnitsLike | None = None,
              up: Sequence[float] | None = None, has_apical: bool | None = None) -> Neuron:
    """Decompose a neuron mesh into somas, skeleton, branch graph and labels.

    up: pia direction in the mesh frame (overrides ``params.up``; None there too: inferred and recorded in
    ``n.provenance["compartments"]["frame"]``). has_apical: force the apical search on/off (None: decide).

    mesh_or_path: mesh file, trimesh or (vertices, faces); units: the mesh's units ("nm", "um", nm per voxel).
    synapses: table file or DataFrame (positions in ``synapse_units``, default per table layout).
    soma: a known soma centre (3,) or centres (S, 3) in **nm** (skips detection). Returns the Neuron (nm).
    """
    p = _with_frame(params or PipelineParams(), up, has_apical)
    t0 = time.perf_counter()
    load_mesh = _optional_required("neurd_lite.io.meshes", "load_mesh")
    mesh = load_mesh(mesh_or_path, units=units)
    if name is None:
        name = Path(mesh_or_path).stem if isinstance(mesh_or_path, (str, Path)) else \
            str(getattr(mesh, "metadata", {}).get("name", "neuron"))
    n = Neuron(name=name, mesh=mesh)
    if getattr(mesh, "metadata", {}).get("units_suspect"):  # implausible extent: see io.meshes.extent_problem
        n.flag(f"units_suspect: {mesh.metadata['units_suspect']}")
    if synapses is not None:
        load_synapses = _optional_required("neurd_lite.io.synapses", "load_synapses")
        n.synapses = load_synapses(synapses, units=synapse_units)
    n.cache["soma_centers_nm"] = _soma_centers(soma)
    n.provenance["timings_s"] = {"ingest": round(time.perf_counter() - t0, 4)}
    _record(n, p, mesh=mesh_or_path if isinstance(mesh_or_path, (str, Path)) else type(mesh_or_path).__name__,
            units=units, synapses=synapses if isinstance(synapses, (str, Path)) else
            (None if synapses is None else type(synapses).__name__), soma=None if soma is None else
            np.asarray(soma, float).tolist())
    return run_stages(n, MESH_STAGES, p)


def _with_frame(p: PipelineParams, up: Sequence[float] | None, has_apical: bool | None) -> PipelineParams:
    """``p`` with ``up`` and ``has_apical`` (compartment parameters) set when given."""
    from dataclasses import replace

    if up is not None:
        p = replace(p, up=tuple(float(x) for x in np.asarray(up, dtype=float).reshape(-1)))
    if has_apical is not None:
        comp = _optional_required("neurd_lite.compartments", "CompartmentParams")
        p = replace(p, compartment=replace(p.compartment or comp(), has_apical=has_apical))
    return p


def _optional_required(module: str, attr: str) -> Callable[..., Any]:
    try:
        return _optional(module, attr)
    except _Skip as e:
        raise StageError("ingest", str(e)) from e


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


def label_skeleton(path_or_skeleton: str | Path | Skeleton, synapses: Any = None, units: UnitsLike | None = None,
                   name: str | None = None, params: PipelineParams | None = None,
                   synapse_units: UnitsLike | None = None, up: Sequence[float] | None = None,
                   has_apical: bool | None = None) -> Neuron:
    """Skeleton-only Neuron (nm): branch graph from the root soma and compartment labels.

    up: pia direction in the skeleton's frame (None: ``params.up``, else inferred: minnie65 for nm coordinates
    inside its volume, otherwise from the apical-like primary dendrite; see ``n.provenance["compartments"]
    ["frame"]`` and the ``up_inferred`` flag). has_apical: force the apical search on/off (None: decide).

    path_or_skeleton: a skeleton file/folder (see ``neurd_lite.io.skeletons.load_skeleton``; ``units`` None =
    the format's default) or a Skeleton in nm. synapses: table or DataFrame; when None, the synapses stored
    in the skeleton file are used. ``n.skeleton_labels`` holds one compartment name per skeleton vertex.
    """
    p = _with_frame(params or PipelineParams(), up, has_apical)
    t0 = time.perf_counter()
    file_syn = None
    if isinstance(path_or_skeleton, Skeleton):
        sk = path_or_skeleton.copy()
        name = name or "skeleton"
    else:
        load_skeleton = _optional_required("neurd_lite.io.skeletons", "load_skeleton")
        sk, file_syn = load_skeleton(path_or_skeleton, units=units)
        name = name or Path(path_or_skeleton).stem
    if sk.n_vertices == 0:
        raise InputError("skeleton has no vertices", None if isinstance(path_or_skeleton, Skeleton)
                         else path_or_skeleton)
    soma, region = _skeleton_soma(sk)
    n = Neuron(name=name, skeleton=sk, somas=[soma])
    if synapses is not None:
        n.synapses = _optional_required("neurd_lite.io.synapses", "load_synapses")(synapses, units=synapse_units)
    elif file_syn is not None:
        n.synapses = file_syn
    n.cache["soma_regions"] = [region]
    for problem in getattr(sk, "load_problems", []):  # e.g. negative radii (io.skeletons._check_values)
        n.flag(f"skeleton_input: {problem} ({path_or_skeleton})")
    n.provenance["timings_s"] = {"ingest": round(time.perf_counter() - t0, 4)}
    _record(n, p, skeleton=path_or_skeleton if not isinstance(path_or_skeleton, Skeleton) else "Skeleton",
            units=getattr(sk, "units_in", units if units is not None else "nm"),  # the units used (io.skeletons)
            units_source=getattr(sk, "units_source", "given" if units is not None else "Skeleton (nm)"))
    return run_stages(n, SKELETON_STAGES, p)


"""Synthetic neurons with known ground truth: mesh, per-face labels, spines, skeleton, synapses (nm).

``make_neuron`` grows a random centreline tree (:mod:`.morphology`), wraps it in tubes, an ellipsoidal soma
and spines, unions them into one surface with manifold3d (:mod:`.assemble`, :mod:`.meshing`), optionally cuts
it like a chunked MICrONS mesh (:mod:`.fragment`), and places synapses on the result (:mod:`.synapses`). Every
per-face truth array follows the returned mesh's face order. Everything is deterministic by ``seed``.
:func:`assemble_cells` does the meshing for one or several grown cells; the randomised family of cortical
classes and merges (:mod:`.family`) uses it too.

Speed, measured on the shared 2-core development machine while ~8 other jobs ran (load average 8-10), so
expect less on an idle machine: a default pyramidal (~1,000-1,100 spines, 118-123k faces, one closed surface)
takes 1.8-4.4 s, of which the manifold3d union is 1.4-3.4 s; ``union=False`` (overlapping closed parts,
~98k faces) 0.35-1.2 s; ``fragment=True`` adds 0.1-0.3 s (~1,700-1,800 components); ``target_faces=1_000_000`` gives
1.03-1.10M faces in 18 s (union at a quarter, then smooth + refine), 25 s with ``fragment=True`` (~5,600
components). A direct boolean at 1M faces took 28 s.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..skeleton.model import Skeleton
from .assemble import PartSet, build_surface, cell_parts
from .headneck import refined_truth
from .fragment import DebrisParams, FragmentParams, debris, fragment, n_components
from .meshing import Tessellation
from .morphology import MorphologyParams, Tree, grow_interneuron, grow_pyramidal, tree_to_skeleton
from .spines import SpineParams, mesh_volumes, sample_spines, spine_sides
from .truth import face_skeleton_vertex, spine_skeleton_vertex, tree_truth
from .synapses import SynapseParams, place_synapses

KINDS = ("pyramidal", "interneuron")


@dataclass(eq=False)
class SyntheticNeuron:
    """A synthetic neuron (or a merge of several) and its ground truth (nm throughout).

    mesh: trimesh.Trimesh. face_compartment / face_labels / face_spine: one entry per mesh face (labels are
    the compartment, or ``spine_head`` / ``spine_neck`` on spine faces; ``unknown`` on debris).
    spines: one row per spine (see :func:`neurd_lite.testing.spines.sample_spines`; ``cell`` in merges).
    skeleton: the true centreline of cell 0, root at the soma centre, ``compartment`` per vertex.
    synapses: ``synapse_id, x_nm, y_nm, z_nm, is_pre, target, compartment, spine_id, face`` (+ ``cell``).
    truth: totals (cable lengths, spine counts and densities, tree counts, soma centre and radius) and a
    ``sections`` table (see :func:`neurd_lite.testing.truth.tree_truth`); family members add more (see
    :mod:`neurd_lite.testing.family`).
    info: generation settings and timings (seconds).
    face_skeleton: (F,) true skeleton vertex of each face in its own cell's skeleton (root for soma faces, -1
    for debris).
    face_cell: (F,) cell index of each face (-1 debris); face_bouton: (F,) bouton id (-1 none; boutons are axon).
    boutons: one row per axon bouton (``bouton_id, cell, section, x_nm, y_nm, z_nm, radius_nm``).
    soma_boundary: one row per primary process: where it leaves the soma (see :func:`soma_boundary_table`).
    boundary_faces: {(cell, primary section): face indices of the process touching the soma}.
    up: unit vector toward pia in the mesh frame (minnie65 convention: (0, -1, 0)).
    skeletons: one true skeleton per cell (merges have several).
    """

    kind: str
    seed: int
    mesh: Any
    face_compartment: np.ndarray
    face_labels: np.ndarray
    face_spine: np.ndarray
    spines: pd.DataFrame
    skeleton: Skeleton
    synapses: pd.DataFrame
    truth: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    face_skeleton: np.ndarray | None = None
    face_cell: np.ndarray | None = None
    face_bouton: np.ndarray | None = None
    boutons: pd.DataFrame | None = None
    soma_boundary: pd.DataFrame | None = None
    boundary_faces: dict | None = None
    up: np.ndarray = field(default_factory=lambda: np.array([0.0, -1.0, 0.0]))
    skeletons: list[Skeleton] = field(default_factory=list)

    def neuron(self, name: str | None = None):
        """An unlabelled :class:`~neurd_lite.neuron.Neuron` holding only the mesh and the synapse positions (nm)."""
        from ..neuron import Neuron

        syn = self.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy()
        return Neuron(name=name or f"synthetic_{self.kind}_{self.seed}", mesh=self.mesh.copy(), synapses=syn)

    @property
    def soma_faces(self) -> np.ndarray:
        """Indices of the true soma faces (all cells)."""
        return np.flatnonzero(self.face_labels.astype(str) == "soma")


@dataclass
class CellGrowth:
    """One grown cell before meshing: tree, its skeleton, spines (with ``skeleton_vertex``), boutons (nm)."""

    tree: Tree
    skeleton: Skeleton
    spines: pd.DataFrame
    inhibitory: bool = False
    boutons: pd.DataFrame | None = None
    soma_synapses: float | None = None  # expected soma postsynapses (None: SynapseParams' default)


def _soma_center(rng: np.random.Generator, kind: str) -> np.ndarray:
    """A soma position inside a MICrONS-like volume, nm (pia near y = 420 µm; pyramidal somata 180-530 µm deep)."""
    y = rng.uniform(600e3, 950e3) if kind == "pyramidal" else rng.uniform(500e3, 950e3)
    return np.array([rng.uniform(400e3, 900e3), y, rng.uniform(700e3, 1000e3)])


REFINE_ABOVE_FACES = 400_000  # larger targets: union at most this many faces, then smooth and refine


def _spine_offsets(cells: list[CellGrowth]) -> list[int]:
    """Per cell, the number added to its spine ids to make them global across cells (merges)."""
    return np.cumsum([0] + [len(cg.spines) for cg in cells[:-1]]).tolist()


def _all_parts(cells: list[CellGrowth], tess: Tessellation) -> PartSet:
    """Parts of every cell, spine and bouton ids made global across cells (:func:`_spine_offsets`)."""
    ps = PartSet()
    n_bt = 0
    for c, (cg, n_sp) in enumerate(zip(cells, _spine_offsets(cells))):
        offs = np.full(len(cg.tree.sections), n_bt, np.int64)
        if cg.boutons is not None and len(cg.boutons):
            first = cg.boutons.groupby("section")["bouton_id"].min()
            offs[first.index.to_numpy()] = first.to_numpy()
        ps.extend(cell_parts(cg.tree, cg.spines, tess, cell=c, spine_offset=n_sp, bouton_offsets=offs))
        n_bt += 0 if cg.boutons is None else len(cg.boutons)
    return ps


def _tessellation(cells: list[CellGrowth], target_faces: int | None, scale: float | None = None,
                  refine: int = 1) -> tuple[Tessellation, int]:
    """Default tessellation, or one scaled so the union has about ``target_faces`` faces; and the refine factor.

    The union's face count was fitted on a default pyramidal as ``pre * (0.94 s² + 0.27 s)``, where ``pre`` is the
    number of part faces at scale 1 (new faces appear along the seams, whose resolution grows like ``s``).
    Above ``REFINE_ABOVE_FACES`` the boolean runs at target / refine² faces and each face is then split in refine².
    ``scale`` (instead of ``target_faces``) sets the tessellation scale directly (with ``refine``).
    """
    if scale is not None:
        return Tessellation(scale=float(scale)), int(refine)
    if not target_faces:
        return Tessellation(), 1
    refine = 1 if target_faces <= REFINE_ABOVE_FACES else int(np.ceil(np.sqrt(target_faces / REFINE_ABOVE_FACES)))
    pre = _all_parts(cells, Tessellation()).n_faces()
    a, b = 0.94, 0.27
    scale = (-b + np.sqrt(b * b + 4 * a * target_faces / refine**2 / pre)) / (2 * a)
    return Tessellation(scale=float(scale)), refine


def make_neuron(kind: str = "pyramidal", seed: int = 0, spine_density_per_um: float = 1.0, fragment: bool = False,
                noise_nm: float = 0.0, debris: bool = False, target_faces: int | None = None,
                with_axon: bool = True, n_synapses: int | None = None, union: bool = True) -> SyntheticNeuron:
    """Generate a synthetic neuron with ground truth, nm.

    kind: ``"pyramidal"`` (basal, apical_shaft, oblique, apical_tuft, axon) or ``"interneuron"`` (dendrite,
    axon; spine density times ``SpineParams.interneuron_density_factor``). spine_density_per_um: spines per µm of
    spiny dendrite. fragment: cut the surface like a chunked EM mesh (hundreds+ components). noise_nm: Gaussian
    vertex jitter (nm, applied after synapses are placed). debris: add small far-away pieces (label
    ``unknown``) and a few far synapses (target ``unknown``). target_faces: tessellate so the mesh has about this
    many faces. n_synapses: total synapse count (default: from per-spine / per-µm rates). union: False skips the
    boolean union and returns overlapping closed parts (faster, not one surface).
    For the randomised family of cell classes see :mod:`neurd_lite.testing.family`.
    """
    _check_args(kind, spine_density_per_um, noise_nm, target_faces, n_synapses)
    t0 = time.perf_counter()
    rngs = [np.random.default_rng([int(seed), k]) for k in range(6)]
    grow = grow_pyramidal if kind == "pyramidal" else grow_interneuron
    tree = grow(rngs[0], _soma_center(rngs[0], kind), MorphologyParams(), with_axon=with_axon)
    sp = SpineParams()
    density = spine_density_per_um * (1.0 if kind == "pyramidal" else sp.interneuron_density_factor)
    cell = grow_cell(tree, sample_spines(rngs[1], tree, density, sp), inhibitory=kind == "interneuron")
    return assemble_cells(kind, seed, [cell], rngs[2:], fragment=fragment, noise_nm=noise_nm, debris=debris,
                          target_faces=target_faces, n_synapses=n_synapses, union=union, t0=t0)


def grow_cell(tree: Tree, spines: pd.DataFrame, inhibitory: bool, boutons: pd.DataFrame | None = None,
              soma_synapses: float | None = None) -> CellGrowth:
    """A :class:`CellGrowth` from a tree and its sampled spines (adds each spine's skeleton vertex)."""
    sk = tree_to_skeleton(tree)
    spines = spines.copy()
    spines["skeleton_vertex"] = spine_skeleton_vertex(sk, spines)
    return CellGrowth(tree, sk, spines, inhibitory, boutons, soma_synapses)


def assemble_cells(kind: str, seed: int, cells: list[CellGrowth], rngs: list[np.random.Generator], *,
                   fragment: bool = False, noise_nm: float = 0.0, debris: bool = False,
                   target_faces: int | None = None, n_synapses: int | None = None, union: bool = True,
                   scale: float | None = None, refine: int = 1, cavities: bool = True,
                   t0: float | None = None) -> SyntheticNeuron:
    """Mesh one or more grown cells into one surface with per-face truth, then fragment, add debris, synapses
    and noise. rngs: four generators (fragment, debris, synapses, noise). scale / refine: a fixed tessellation
    (instead of ``target_faces``). cavities=False drops closed inner shells of the union. Lengths nm.

    Steps: the parts and their union (:func:`~.assemble.build_surface`), fragmenting (:func:`_fragment_surface`),
    debris (:func:`_add_debris`), per-cell truth and synapses (:func:`_cells_truth`), vertex noise, totals
    (:func:`_merged_truth`)."""
    t0 = time.perf_counter() if t0 is None else t0
    tess, refine = _tessellation(cells, target_faces, scale, refine)
    ps = _all_parts(cells, tess)
    _spine_mesh_volumes(cells, ps, tess)
    t1 = time.perf_counter()
    verts, faces, ft = build_surface(ps, cells[0].tree.soma_center, union=union, refine=refine if union else 1,
                                     cavities=cavities)
    if union and refine > 1:  # smoothing + refine drags head faces below the junction and shaft faces up necks
        tables = list(zip([cg.spines for cg in cells], _spine_offsets(cells)))
        ft["labels"], ft["spine"] = refined_truth(verts, faces, ft["labels"], ft["spine"], ft["cell"], tables)
    t2 = time.perf_counter()
    from .boundary import boundary_faces, soma_boundary_table

    bfaces = boundary_faces(faces, ft, cells) if union else {}
    if fragment:
        verts, faces, ft, bfaces = _fragment_surface(rngs[0], verts, faces, ft, bfaces)
    t3 = time.perf_counter()
    if debris:
        verts, faces, ft = _add_debris(rngs[1], verts, faces, ft, cells)
    face_skeleton, syn, spines, truths = _cells_truth(cells, rngs[2], verts, faces, ft, n_synapses, debris)
    if noise_nm > 0:
        verts = verts + rngs[3].normal(0.0, noise_nm, verts.shape)
    import trimesh

    mesh = trimesh.Trimesh(verts, faces, process=False)
    truth = _merged_truth(truths, syn)
    info = {"target_faces": target_faces, "tessellation_scale": tess.scale, "refine": refine if union else 1,
            "n_parts": len(ps.parts) + 1, "n_faces": len(faces), "union": union, "seconds_build": t1 - t0,
            "seconds_union": t2 - t1, "seconds_fragment": t3 - t2, "seconds_total": time.perf_counter() - t0}
    boutons = [cg.boutons.assign(cell=c) for c, cg in enumerate(cells) if cg.boutons is not None]
    return SyntheticNeuron(kind, int(seed), mesh, ft["compartment"], ft["labels"], ft["spine"],
                           spines, cells[0].skeleton, syn, truth, info,
                           face_skeleton, face_cell=ft["cell"], face_bouton=ft["bouton"],
                           boutons=pd.concat(boutons, ignore_index=True) if boutons else None,
                           soma_boundary=soma_boundary_table(cells, bfaces), boundary_faces=bfaces,
                           skeletons=[c.skeleton for c in cells])


def _fragment_surface(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray, ft: dict[str, np.ndarray],
                      bfaces: dict) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict]:
    """The surface (vertices nm, faces) cut like a chunked EM mesh (:func:`_fragment`), with the per-face truth
    ``ft`` and the soma-boundary face indices ``bfaces`` following the faces kept."""
    new_index = np.full(len(faces), -1, np.int64)
    verts, faces, keep = _fragment(rng, verts, faces)
    ft = {k: v[keep] for k, v in ft.items()}
    new_index[keep] = np.arange(len(keep))
    bfaces = {k: new_index[v][new_index[v] >= 0] for k, v in bfaces.items()}
    return verts, faces, ft, bfaces


def _add_debris(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray, ft: dict[str, np.ndarray],
                cells: list[CellGrowth]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The surface (vertices nm, faces) with small far-away pieces appended (:func:`_debris`), labelled
    ``unknown`` (no spine, section -2, no bouton, cell -1) in the per-face truth ``ft``."""
    dv, dfaces = _debris(rng, np.vstack([c.skeleton.vertices for c in cells]))
    faces = np.vstack([faces, dfaces + len(verts)])
    verts = np.vstack([verts, dv])
    fill = {"compartment": "unknown", "labels": "unknown", "spine": -1, "section": -2, "bouton": -1, "cell": -1}
    ft = {k: np.concatenate([v, np.full(len(dfaces), fill[k], dtype=v.dtype)]) for k, v in ft.items()}
    return verts, faces, ft


def _cells_truth(cells: list[CellGrowth], rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray,
                 ft: dict[str, np.ndarray], n_synapses: int | None, debris: bool
                 ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, list[dict]]:
    """Per cell of the surface (vertices nm, faces, per-face truth ``ft``): each face's true skeleton vertex in its
    own cell's skeleton, its synapses (``rng``; ``n_synapses`` for a single cell; far synapses on debris for cell 0
    when ``debris``) and its tree truth. Returns (F,) face skeleton vertex, the synapses and spines of all cells
    (spine ids renumbered across cells, a ``cell`` column in merges) and the list of per-cell truths."""
    centers = verts[faces].mean(axis=1)
    face_skeleton = np.full(len(faces), -1, np.int64)
    syn_frames, spine_frames, truths = [], [], []
    n_sp = 0
    for c, cg in enumerate(cells):
        mine = ft["cell"] == c
        sec = np.where(mine, ft["section"], -2)
        spine_local = np.where(mine & (ft["spine"] >= 0), ft["spine"] - n_sp, -1)
        fs = face_skeleton_vertex(cg.skeleton, centers, sec, spine_local, cg.spines["skeleton_vertex"].to_numpy())
        face_skeleton[mine] = fs[mine]
        truth = tree_truth(cg.tree, cg.skeleton, cg.spines)
        cable_um = {k: v / 1000.0 for k, v in truth["cable_length_nm"].items()}
        labels = np.where(mine, ft["labels"], "other")
        syn = place_synapses(rng, verts, faces, labels, ft["compartment"], ft["spine"],
                             cg.spines["spine_id"].to_numpy() + n_sp, cable_um, cg.inhibitory,
                             n_synapses if len(cells) == 1 else None, debris and c == 0, _synapse_params(cg))
        if len(cells) > 1:
            syn["cell"] = np.where(syn["target"] == "unknown", -1, c)
        syn_frames.append(syn)
        sp = cg.spines.copy()
        if len(cells) > 1:
            sp["spine_id"] = sp["spine_id"] + n_sp
            sp.insert(1, "cell", c)
        spine_frames.append(sp)
        truths.append(truth)
        n_sp += len(cg.spines)
    syn = pd.concat(syn_frames, ignore_index=True)
    syn["synapse_id"] = np.arange(len(syn), dtype=np.int64)
    return face_skeleton, syn, pd.concat(spine_frames, ignore_index=True), truths


def _merged_truth(truths: list[dict], syn: pd.DataFrame) -> dict:
    """The truth dict: cell 0's, with synapse counts per target; in merges (several ``truths``) a copy of cell 0's
    totals at the top level (no reference cycle) and every cell's, with its own counts, under ``"cells"``."""
    truth = dict(truths[0]) if len(truths) > 1 else truths[0]
    truth["n_synapses_by_target"] = {str(k): int(v) for k, v in syn["target"].value_counts().items()}
    if len(truths) > 1:
        for c, t in enumerate(truths):
            t["n_synapses_by_target"] = {str(k): int(v) for k, v in
                                         syn.loc[syn["cell"] == c, "target"].value_counts().items()}
        truth["cells"] = truths
    return truth


def _synapse_params(cg: CellGrowth) -> SynapseParams:
    if cg.soma_synapses is None:
        return SynapseParams()
    return replace(SynapseParams(), soma_excitatory=cg.soma_synapses, soma_inhibitory=cg.soma_synapses)


def _spine_mesh_volumes(cells: list[CellGrowth], ps: PartSet, tess: Tessellation) -> None:
    """Set each cell's ``spines["mesh_volume_nm3"]`` from its closed spine surfaces (in ``ps.extra_*``)."""
    k = 0
    n_sp = 0
    for cg in cells:
        if len(cg.spines) and k < len(ps.extra_v):
            sid = ps.extra_truth[k]["spine"] - n_sp
            cg.spines["mesh_volume_nm3"] = mesh_volumes(cg.spines, ps.extra_v[k], ps.extra_f[k], sid,
                                                        spine_sides(tess), SpineParams())
            k += 1
        elif "mesh_volume_nm3" not in cg.spines:
            cg.spines["mesh_volume_nm3"] = np.zeros(len(cg.spines))
        n_sp += len(cg.spines)


def _check_args(kind: str, density: float, noise_nm: float, target_faces: int | None, n_synapses: int | None) -> None:
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}", hint=f"use one of {KINDS}")
    if not np.isfinite(density) or density < 0:
        raise InputError(f"spine_density_per_um must be >= 0, got {density}")
    if not np.isfinite(noise_nm) or noise_nm < 0:
        raise InputError(f"noise_nm must be >= 0, got {noise_nm}")
    if target_faces is not None and target_faces < 5000:
        raise InputError(f"target_faces={target_faces} is too small", hint="ask for 5,000 faces or more")
    if n_synapses is not None and n_synapses < 0:
        raise InputError(f"n_synapses must be >= 0, got {n_synapses}")


def _fragment(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray):
    return fragment(rng, verts, faces, FragmentParams())


def _debris(rng: np.random.Generator, points: np.ndarray):
    return debris(rng, points, DebrisParams())


def count_components(sn: SyntheticNeuron) -> int:
    """Number of connected components of the synthetic mesh (scipy csgraph)."""
    return n_components(np.asarray(sn.mesh.faces), len(sn.mesh.vertices))


def to_files(sn: SyntheticNeuron, folder: str | Path) -> tuple[Path, Path]:
    """Write ``<name>.ply`` (nm) and ``<name>_synapses.csv`` (``x_nm, y_nm, z_nm, is_pre``); return both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"synthetic_{sn.kind}_{sn.seed}"
    mesh_path = folder / f"{name}.ply"
    syn_path = folder / f"{name}_synapses.csv"
    sn.mesh.export(mesh_path)
    sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].to_csv(syn_path, index=False)
    return mesh_path, syn_path

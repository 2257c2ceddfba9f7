"""Synthetic neurons with known ground truth: mesh, per-face labels, spines, skeleton, synapses (nm).

``make_neuron`` grows a random centreline tree (:mod:`.morphology`), wraps it in tubes, an ellipsoidal soma
and spines, unions them into one surface with manifold3d (:mod:`.meshing`), optionally cuts it like a
chunked MICrONS mesh (:mod:`.fragment`), and places synapses on the result (:mod:`.synapses`). Every
per-face truth array follows the returned mesh's face order. Everything is deterministic by ``seed``.

Speed, measured on the shared 2-core development machine while ~8 other jobs ran (load average 8-10), so
expect less on an idle machine: a default pyramidal (~1,000-1,100 spines, 118-123k faces, one closed surface)
takes 1.8-4.4 s, of which the manifold3d union is 1.4-3.4 s; ``union=False`` (overlapping closed parts,
~98k faces) 0.35-1.2 s; ``fragment=True`` adds 0.1-0.3 s (~1,700-1,800 components); ``target_faces=1_000_000`` gives
1.03-1.10M faces in 18 s (union at a quarter, then smooth + refine), 25 s with ``fragment=True`` (~5,600
components). A direct boolean at 1M faces took 28 s.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..skeleton.model import Skeleton
from .fragment import DebrisParams, FragmentParams, debris, fragment, n_components
from .meshing import Tessellation, concatenate_parts, resample, tube, union_parts, uv_sphere
from .morphology import MorphologyParams, Tree, grow_interneuron, grow_pyramidal, tree_to_skeleton
from .spines import SpineParams, mesh_volumes, sample_spines, spine_mesh, spine_sides
from .truth import face_skeleton_vertex, spine_skeleton_vertex, tree_truth
from .synapses import SynapseParams, place_synapses

KINDS = ("pyramidal", "interneuron")
DEFAULT_FACES_ESTIMATE = 100_000  # used only to pick a tessellation scale for ``target_faces``


@dataclass(eq=False)
class SyntheticNeuron:
    """A synthetic neuron and its ground truth (nm throughout).

    mesh: trimesh.Trimesh. face_compartment / face_labels / face_spine: one entry per mesh face (labels are
    the compartment, or ``spine_head`` / ``spine_neck`` on spine faces; ``unknown`` on debris).
    spines: one row per spine (see :func:`neurd_lite.testing.spines.sample_spines`).
    skeleton: the true centreline, root at the soma centre, ``compartment`` per vertex.
    synapses: ``x_nm, y_nm, z_nm, is_pre, target, compartment, spine_id, face``.
    truth: totals (cable lengths, spine counts and densities, tree counts, soma centre and radius) and a
    ``sections`` table (see :func:`neurd_lite.testing.truth.tree_truth`).
    info: generation settings and timings (seconds).
    face_skeleton: (F,) true skeleton vertex of each face (root for soma faces, -1 for debris).
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

    def neuron(self, name: str | None = None):
        """An unlabelled :class:`~neurd_lite.neuron.Neuron` holding only the mesh and the synapse positions."""
        from ..neuron import Neuron

        syn = self.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy()
        return Neuron(name=name or f"synthetic_{self.kind}_{self.seed}", mesh=self.mesh.copy(), synapses=syn)


def _soma_center(rng: np.random.Generator, kind: str) -> np.ndarray:
    """A soma position inside a MICrONS-like volume, nm (pia near y = 420 µm; pyramidal somata 180-530 µm deep)."""
    y = rng.uniform(600e3, 950e3) if kind == "pyramidal" else rng.uniform(500e3, 950e3)
    return np.array([rng.uniform(400e3, 900e3), y, rng.uniform(700e3, 1000e3)])


def _section_polyline(tree: Tree, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A section's points prefixed with its attachment (inside the soma for primary sections), and radii."""
    s = tree.sections[i]
    if s.parent < 0:
        attach = tree.soma_center + (s.points[0] - tree.soma_center) * 0.6
        r0 = s.radii[0]
    else:
        attach = tree.sections[s.parent].points[s.parent_point]
        r0 = min(s.radii[0], tree.sections[s.parent].radii[s.parent_point])
    return np.vstack([attach, s.points]), np.concatenate([[r0], s.radii])


def _build_parts(tree: Tree, spines: pd.DataFrame, tess: Tessellation):
    """Closed soma and section parts with (compartment, label) each, and the spine mesh with its face labels."""
    sv, sf = uv_sphere(tess.n(tess.soma_lon, 8), tess.n(tess.soma_lat, 6))
    parts = [(tree.soma_center + sv * tree.soma_axes_nm, sf)]
    meta = [("soma", "soma")]
    spacing = tess.tube_ring_spacing_nm / tess.scale
    for i, s in enumerate(tree.sections):
        pts, rad = resample(*_section_polyline(tree, i), spacing)
        sides = tess.n(tess.tube_sides if s.compartment != "axon" else 6, 5)
        parts.append(tube(pts, rad, sides))
        meta.append((s.compartment, s.compartment))
    return parts, meta, spine_mesh(spines, tess)


REFINE_ABOVE_FACES = 400_000  # larger targets: union at a quarter of the faces, then smooth and refine x4


def _tessellation(tree: Tree, spines: pd.DataFrame, target_faces: int | None) -> tuple[Tessellation, int]:
    """Default tessellation, or one scaled so the union has about ``target_faces`` faces; and the refine factor.

    The union's face count was fitted on a default pyramidal as ``pre * (0.94 s² + 0.27 s)``, where ``pre`` is the
    number of part faces at scale 1 (new faces appear along the seams, whose resolution grows like ``s``).
    Above ``REFINE_ABOVE_FACES`` the boolean runs at a quarter of the target and each face is then split in 4.
    """
    if not target_faces:
        return Tessellation(), 1
    refine = 2 if target_faces > REFINE_ABOVE_FACES else 1
    parts, _, spine_parts = _build_parts(tree, spines, Tessellation())
    pre = sum(len(f) for _, f in parts) + len(spine_parts[1])
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
    """
    _check_args(kind, spine_density_per_um, noise_nm, target_faces, n_synapses)
    t0 = time.perf_counter()
    rngs = [np.random.default_rng([int(seed), k]) for k in range(6)]
    grow = grow_pyramidal if kind == "pyramidal" else grow_interneuron
    tree = grow(rngs[0], _soma_center(rngs[0], kind), MorphologyParams(), with_axon=with_axon)
    sk = tree_to_skeleton(tree)
    sp = SpineParams()
    density = spine_density_per_um * (1.0 if kind == "pyramidal" else sp.interneuron_density_factor)
    spines = sample_spines(rngs[1], tree, density, sp)
    spines["skeleton_vertex"] = spine_skeleton_vertex(sk, spines)
    tess, refine = _tessellation(tree, spines, target_faces)
    parts, meta, (spv, spf, sp_spine, sp_head) = _build_parts(tree, spines, tess)
    spines["mesh_volume_nm3"] = mesh_volumes(spines, spv, spf, sp_spine, spine_sides(tess), sp)
    t1 = time.perf_counter()
    if union:
        verts, faces, part, spine_face = union_parts(parts, tree.soma_center, extra=(spv, spf),
                                                     refine=refine)
    else:
        verts, faces, part, spine_face = concatenate_parts(parts, extra=(spv, spf))
    t2 = time.perf_counter()
    ft = _face_truth(part, spine_face, meta, sp_spine, sp_head, spines)
    if fragment:
        verts, faces, keep = _fragment(rngs[2], verts, faces)
        ft = {k: v[keep] for k, v in ft.items()}
    t3 = time.perf_counter()
    if debris:
        dv, dfaces = _debris(rngs[3], sk)
        faces = np.vstack([faces, dfaces + len(verts)])
        verts = np.vstack([verts, dv])
        fill = {"compartment": "unknown", "labels": "unknown", "spine": -1, "section": -2}
        ft = {k: np.concatenate([v, np.full(len(dfaces), fill[k], dtype=v.dtype)]) for k, v in ft.items()}
    face_skeleton = face_skeleton_vertex(sk, verts[faces].mean(axis=1), ft["section"], ft["spine"],
                                         spines["skeleton_vertex"].to_numpy())
    truth = tree_truth(tree, sk, spines)
    cable_um = {k: v / 1000.0 for k, v in truth["cable_length_nm"].items()}
    syn = place_synapses(rngs[4], verts, faces, ft["labels"], ft["compartment"], ft["spine"],
                         spines["spine_id"].to_numpy(), cable_um, kind == "interneuron", n_synapses, debris,
                         SynapseParams())
    if noise_nm > 0:
        verts = verts + rngs[5].normal(0.0, noise_nm, verts.shape)
    import trimesh

    mesh = trimesh.Trimesh(verts, faces, process=False)
    truth["n_synapses_by_target"] = {str(k): int(v) for k, v in syn["target"].value_counts().items()}
    info = {"target_faces": target_faces, "tessellation_scale": tess.scale, "refine": refine if union else 1, "n_parts": len(parts) + 1,
            "n_faces": len(faces), "union": union, "seconds_build": t1 - t0, "seconds_union": t2 - t1,
            "seconds_fragment": t3 - t2, "seconds_total": time.perf_counter() - t0}
    return SyntheticNeuron(kind, int(seed), mesh, ft["compartment"], ft["labels"], ft["spine"], spines, sk, syn,
                           truth, info, face_skeleton)


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


def _face_truth(part: np.ndarray, spine_face: np.ndarray, meta: list[tuple[str, str]], sp_spine: np.ndarray,
                sp_head: np.ndarray, spines: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per output face: compartment, label, spine id and section (-1 soma), from its source part or spine triangle.

    Part 0 is the soma and part i + 1 is section i (see :func:`_build_parts`).
    """
    meta_arr = np.array(meta, dtype=object).reshape(-1, 2)
    n = len(part)
    out = {"compartment": np.empty(n, dtype=object), "labels": np.empty(n, dtype=object),
           "spine": np.full(n, -1, dtype=np.int64), "section": np.full(n, -1, dtype=np.int64)}
    is_part = part >= 0
    out["compartment"][is_part] = meta_arr[part[is_part], 0]
    out["labels"][is_part] = meta_arr[part[is_part], 1]
    out["section"][is_part] = part[is_part] - 1
    sid = sp_spine[spine_face[~is_part]]
    out["spine"][~is_part] = sid
    out["compartment"][~is_part] = spines["compartment"].to_numpy()[sid]
    out["labels"][~is_part] = np.where(sp_head[spine_face[~is_part]], "spine_head", "spine_neck")
    out["section"][~is_part] = spines["section"].to_numpy()[sid]
    return out


def _fragment(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray):
    return fragment(rng, verts, faces, FragmentParams())


def _debris(rng: np.random.Generator, sk: Skeleton):
    return debris(rng, sk.vertices, DebrisParams())


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

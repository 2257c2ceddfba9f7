"""The Neuron: the one object every stage reads and adds to.

Coordinates are nm. Per-face arrays have one entry per face of the INPUT mesh (``n.mesh``), whatever
healing or decimation a stage used internally. Branch graph conventions (``n.graph``, a networkx DiGraph):

- soma nodes are ``"soma_0"``, ``"soma_1"``, ... with ``kind="soma"``;
- branch nodes are ints with ``kind="branch"``, ``limb`` (int), ``skeleton_vertices`` (int array, proximal
  to distal), ``length_nm``, ``radius_nm`` (median skeleton radius), ``n_faces`` and, once labelled,
  ``compartment``;
- edges point from parent to child; each limb's first branch has a soma node as parent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from .names import COMPARTMENTS, FACE_ARRAYS, SPINE_LABELS, SYNAPSE_TARGETS, UNLABELLED, synapse_polarity  # noqa: F401
from .skeleton.model import Skeleton


@dataclass
class SomaExit:
    """Where one process leaves a soma (nm): the centre of its cross-section on the soma boundary, its radius
    there (the largest inscribed radius of the process just outside the soma), the unit direction from the soma
    centre, and the input-mesh faces of the process's first ~1 µm beyond the boundary (its root ring)."""

    point_nm: np.ndarray
    radius_nm: float
    direction: np.ndarray
    faces: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.point_nm = np.asarray(self.point_nm, dtype=np.float64).reshape(3)
        self.radius_nm = float(self.radius_nm)
        self.direction = np.asarray(self.direction, dtype=np.float64).reshape(3)
        self.faces = np.asarray(self.faces, dtype=np.int64).reshape(-1)


@dataclass
class Soma:
    """One soma: centre and equivalent radius in nm, the input-mesh faces it covers, how it was found.

    faces: every face of the soma body (membrane plus inner surfaces such as the nucleus).
    membrane_faces: the subset of ``faces`` on the soma membrane (sorted face ids of the same mesh as
    ``faces``), as found by detection (``neurd_lite.mesh.soma``); None when not known (a soma given by hand
    or read from a file written before it was saved), then ``mesh.soma.soma_surface_faces`` recomputes it.
    exits: the soma boundary, one :class:`SomaExit` per process leaving the soma (empty when not known). The
    soma's faces stop where the processes leave: ``faces`` and the exits' faces do not overlap.
    """

    center_nm: np.ndarray
    radius_nm: float
    faces: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    method: str = "detected"
    properties: dict[str, float] = field(default_factory=dict)
    membrane_faces: np.ndarray | None = None
    exits: list[SomaExit] = field(default_factory=list)

    @property
    def n_processes(self) -> int:
        """Number of processes leaving the soma (its exits)."""
        return len(self.exits)

    def __repr__(self) -> str:  # counts, not the face arrays (a REPL printed hundreds of lines per soma)
        c = ", ".join(f"{v:.1f}" for v in self.center_nm)
        return (f"Soma(center_nm=[{c}], radius_nm={self.radius_nm:.1f}, faces={len(self.faces)}, "
                f"method={self.method!r}, exits={len(self.exits)})")

    def __post_init__(self) -> None:
        self.center_nm = np.asarray(self.center_nm, dtype=np.float64).reshape(3)
        self.radius_nm = float(self.radius_nm)
        self.faces = np.asarray(self.faces, dtype=np.int64).reshape(-1)
        if self.membrane_faces is not None:
            self.membrane_faces = np.asarray(self.membrane_faces, dtype=np.int64).reshape(-1)
        self.exits = [e if isinstance(e, SomaExit) else SomaExit(**e) for e in self.exits]


def label_array(n: int, label: str) -> np.ndarray:
    """(n,) object array holding the one string ``label`` n times. ``np.full(n, label, dtype=object)`` makes n
    separate string objects (~70 bytes each: 345 MB for a 5M-face mesh); this stores n references (8 bytes)."""
    out = np.empty(int(n), dtype=object)
    out.fill(label)
    return out


def is_label(labels: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(F,) bool: ``labels`` equal to one of ``names``, compared element-wise: no (F,) string copy of an object
    label array (``astype(str)`` of 5M labels takes 0.3 s and ~250 MB)."""
    out = np.zeros(len(labels), dtype=bool)
    for name in names:
        out |= np.asarray(labels == name, dtype=bool)
    return out


FACE_DEFAULTS: dict[str, str | int] = {"face_labels": UNLABELLED, "face_compartment": UNLABELLED, "face_branch": -1,
                                       "face_to_skeleton": -1, "face_spine": -1}
_UNSET_KEY = "_unset_face_arrays"  # instance dict entry: (n faces, names of per-face arrays still at their default)


def _face_array(name: str) -> property:
    """The attribute ``name`` of :data:`FACE_DEFAULTS`: stored in the instance dict under its own name; a Neuron
    built with a mesh but without this array gets the default (``FACE_DEFAULTS[name]`` on every face) at the first
    read, so an array a stage assigns before anyone reads it is never allocated (5 x 8 bytes per face: 340 MB at
    8.9M faces during the decimation). Reads return what eager allocation returned."""
    def get(self: "Neuron") -> np.ndarray | None:
        d = self.__dict__
        unset = d.get(_UNSET_KEY)
        if unset is not None and name in unset[1]:
            fill = FACE_DEFAULTS[name]
            d[name] = label_array(unset[0], fill) if isinstance(fill, str) else np.full(unset[0], fill, dtype=np.int64)
            d[_UNSET_KEY] = (unset[0], unset[1] - {name})  # a new tuple: a shallow copy keeps its own
        return d.get(name)

    def put(self: "Neuron", value: np.ndarray | None) -> None:
        d = self.__dict__
        unset = d.get(_UNSET_KEY)
        if unset is not None and name in unset[1]:
            d[_UNSET_KEY] = (unset[0], unset[1] - {name})
        d[name] = value

    return property(get, put, doc=f"(F,) per-face array ``{name}`` (see :class:`Neuron`).")


@dataclass(eq=False)
class Neuron:
    """Mesh, skeleton, branch graph, labels, synapses and provenance of one neuron (nm inside).

    mesh: the input mesh as a trimesh.Trimesh in nm (None for skeleton-only neurons).
    face_labels: (F,) str, compartment or spine part of each input face (``"unlabelled"`` before labelling).
    face_compartment: (F,) str, compartment of each face's parent branch (spine faces keep their branch's).
    face_branch: (F,) int, branch node id of each face (-1 soma/unassigned).
    face_to_skeleton: (F,) int, nearest skeleton vertex of each face (-1 when the face was dropped as debris).
    face_spine: (F,) int, spine instance id (-1 not a spine).
    skeleton_labels: (N,) str, compartment of each skeleton vertex.
    synapses: one row per synapse, positions ``x_nm, y_nm, z_nm`` and ``is_pre``; stages add columns.
    spines: one row per spine instance (``spine_id``, measurements).
    flags: warnings about this neuron (e.g. ``"no_soma"``); a flagged neuron is still a result.
    input_faces: (F,) int, for a cell split out of a merged neuron (``nl.split``): the face of the merged input
    mesh each of this neuron's faces was; None otherwise.
    """

    name: str = "neuron"
    mesh: Any = None
    skeleton: Skeleton | None = None
    somas: list[Soma] = field(default_factory=list)
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    face_labels: np.ndarray | None = None
    face_compartment: np.ndarray | None = None
    face_branch: np.ndarray | None = None
    face_to_skeleton: np.ndarray | None = None
    face_spine: np.ndarray | None = None
    skeleton_labels: np.ndarray | None = None
    synapses: pd.DataFrame = field(default_factory=pd.DataFrame)
    spines: pd.DataFrame = field(default_factory=pd.DataFrame)
    nucleus: Any = None
    flags: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    input_faces: np.ndarray | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    FACE_ARRAYS = FACE_ARRAYS

    def __post_init__(self) -> None:
        nf = self.n_faces
        if nf:  # per-face arrays not given: made at their first read (a stage that assigns one never pays for it)
            unset = frozenset(k for k in FACE_DEFAULTS if self.__dict__.get(k) is None)
            if unset:
                self.__dict__[_UNSET_KEY] = (nf, unset)
        if self.skeleton is not None and self.skeleton_labels is None:
            self.skeleton_labels = np.full(self.skeleton.n_vertices, UNLABELLED, dtype=object)

    # ---- convenience -------------------------------------------------------------------------------
    def face_array_is_default(self, name: str) -> bool:
        """True while the per-face array ``name`` (one of ``FACE_ARRAYS``) was neither given nor assigned nor
        read: it then holds ``FACE_DEFAULTS[name]`` on every face, made only when read."""
        unset = self.__dict__.get(_UNSET_KEY)
        return unset is not None and name in unset[1]

    @property
    def n_faces(self) -> int:
        return 0 if self.mesh is None else len(self.mesh.faces)

    @property
    def soma_nodes(self) -> list[str]:
        return [v for v, d in self.graph.nodes(data=True) if d.get("kind") == "soma"]

    @property
    def branch_nodes(self) -> list[int]:
        return [v for v, d in self.graph.nodes(data=True) if d.get("kind") == "branch"]

    @property
    def n_limbs(self) -> int:
        return len({d["limb"] for _, d in self.graph.nodes(data=True) if d.get("kind") == "branch"})

    def flag(self, message: str) -> None:
        """Record a warning about this neuron (kept in saved files and batch outputs)."""
        if message not in self.flags:
            self.flags.append(message)

    def summary(self) -> dict[str, Any]:
        """Counts a person checks first."""
        labels, counts = (np.unique(self.face_labels.astype(str), return_counts=True)
                          if self.face_labels is not None else ([], []))
        return {
            "name": self.name,
            "n_faces": self.n_faces,
            "n_somas": len(self.somas),
            "soma_centers_um": [np.round(s.center_nm / 1000, 2).tolist() for s in self.somas],
            "n_limbs": self.n_limbs,
            "n_branches": len(self.branch_nodes),
            "skeleton_vertices": 0 if self.skeleton is None else self.skeleton.n_vertices,
            # every skeleton edge (soma edges included); the cable_length_um feature counts compartment edges only
            "skeleton_edge_length_um": 0.0 if self.skeleton is None else round(self.skeleton.cable_length_nm / 1000, 1),
            "n_synapses": len(self.synapses),
            "n_spines": len(self.spines),
            "face_labels": dict(zip(map(str, labels), map(int, counts))),
            "flags": list(self.flags),
        }

    def __repr__(self) -> str:  # a one-line summary; the arrays are attributes (the full repr ran to ~16k chars)
        sk = "none" if self.skeleton is None else f"{self.skeleton.n_vertices} vertices"
        return (f"Neuron(name={self.name!r}, faces={self.n_faces}, somas={len(self.somas)}, "
                f"branches={len(self.branch_nodes)}, skeleton={sk}, synapses={len(self.synapses)}, "
                f"spines={len(self.spines)}, flags={self.flags!r})")

    # ---- persistence ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the neuron to an HDF5 file (lossless; see ``neurd_lite.io.neuron_h5``)."""
        from .io.neuron_h5 import save_neuron

        return save_neuron(self, path)

    def to_swc(self, path: str | Path) -> Path:
        """Write the skeleton as SWC in µm (types 1 soma, 2 axon, 3 basal/dendrite, 4 apical, 0 unknown)."""
        from .io.skeletons import write_swc

        return write_swc(self, path)

    def to_meshwork(self) -> Any:
        """A ``meshparty.meshwork.Meshwork`` (nm): mesh, skeleton, synapse tables, one mask per compartment and
        spine part (see ``neurd_lite.io.interop.to_meshwork``)."""
        from .io.interop import to_meshwork

        return to_meshwork(self)

    def to_navis(self, kind: str = "skeleton") -> Any:
        """A navis ``TreeNeuron`` (kind="skeleton", node column ``compartment``, synapses as connectors) or
        ``MeshNeuron`` (kind="mesh", per-face ``face_compartment``), in nm."""
        from .io.interop import to_navis

        return to_navis(self, kind)


for _name in FACE_DEFAULTS:  # after @dataclass: its __init__ keeps the None defaults and assigns through these
    setattr(Neuron, _name, _face_array(_name))
del _name


def load(path: str | Path) -> Neuron:
    """Read a Neuron written by :meth:`Neuron.save` (the file format: ``neurd_lite.io.neuron_h5``, which does
    not import this module)."""
    from .io.neuron_h5 import read_neuron_fields

    fields = read_neuron_fields(path)
    fields["somas"] = [Soma(**s) for s in fields["somas"]]
    return Neuron(**fields)

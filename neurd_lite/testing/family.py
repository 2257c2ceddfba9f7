"""The randomised synthetic family: cortical cell classes, one deterministic member per (class, seed), a seed
split for tuning versus reporting, and recorded ground truth (nm throughout).

Use::

    from neurd_lite.testing import family
    sn = family.make_member("l5_et", 3)                          # clean, minnie65 frame, ~120k+ faces
    sn = family.make_member("basket", 1004, conditions="random")  # drawn noise / fragments / faces / orientation
    tune, held = family.split(n_seeds=4, holdout_classes=("martinotti",))

A member is drawn from ``np.random.default_rng([class code, seed, stream])``: the same (class, seed) always gives
the same cell, and the legacy :func:`~neurd_lite.testing.synthetic.make_neuron` cells are not members.
Tune on :data:`TUNE_SEEDS`, report on :data:`HELDOUT_SEEDS` or :data:`HELDOUT2_SEEDS` (all three disjoint),
optionally with whole classes held out.
See docs/synthetic.md.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import exactvec as ev
from .classes import CLASS_RANGES, CLASSES, EXTRA_CLASSES, MemberSpec, draw_spec, grow_member
from .merge import CONTACTS, SPINE_DIRS, SPINE_POINTS, MergeParams, move_table, place, spines_clear_of
from .spines import sample_spines
from .synthetic import CellGrowth, SyntheticNeuron, _tessellation, assemble_cells, grow_cell

FAMILY_VERSION = 9
"""Bumped whenever the same (class, seed) gives a different cell (1: first commit; 2: flared roots, soma
synapse counts per class, branched spines; 3: lumpy ellipsoidal somata; 4: realised spine density matches the
requested one; 5: stubby spines reach coarse polygonal trunks;
6: closed inner shells (voids) of the union removed; 7: members refined above 400k faces (refine > 1) get their
spine head / neck face labels from the junction plane (:func:`~.headneck.junction_labels`), hence also their
synapse positions and targets; members with refine 1, i.e. every default-size member, are bit-identical to 6);
8: in refined members, dendrite faces the smoothing stretched up a spine (centroid > 50 nm above the shaft surface
at the spine's base, a corner on it) belong to that spine (:func:`~.headneck.shaft_spine_faces`); refine-1
members bit-identical to 7); 9: refined members are repeatable: the smoothed + refined union runs on one CPU
(:mod:`~.smooth_refine`; manifold3d's parallel refine gave a different vertex / face order and float-level
positions, hence labels and synapses, on every build); refine-1 members bit-identical to 8).
Recorded in ``info["family_version"]``."""
TUNE_SEEDS: tuple[int, ...] = tuple(range(0, 1000))
"""Seeds to tune on (0-999)."""
HELDOUT_SEEDS: tuple[int, ...] = tuple(range(1000, 2000))
"""Seeds to report on (1000-1999); never tune on them."""
HELDOUT2_SEEDS: tuple[int, ...] = tuple(range(2000, 3000))
"""Second held-out range (2000-2999, declared in session 19 when the merge seeds of 1000-1999 were spent); never
tune on them. :func:`is_heldout` covers both held-out ranges."""
SEED_RANGES: dict[str, tuple[int, ...]] = {"tune": TUNE_SEEDS, "heldout": HELDOUT_SEEDS, "heldout2": HELDOUT2_SEEDS}
"""Every declared seed range by name (disjoint); seeds outside all of them are undeclared."""
EXCITATORY = tuple(c for c in CLASSES if not CLASS_RANGES[c].inhibitory)
INHIBITORY = tuple(c for c in CLASSES if CLASS_RANGES[c].inhibitory)
DEFAULT_FACES = 120_000  # default target; densely spiny large cells end higher (each spine needs ~60 faces)
MINNIE_UP = np.array([0.0, -1.0, 0.0])  # minnie65: +y points from pia toward white matter
_CODE = {c: 7001 + i for i, c in enumerate(CLASSES + EXTRA_CLASSES)}  # extra classes: 7009-7011


def _rngs(cls: str, seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng([_CODE[cls], int(seed), k]) for k in range(8)]


def member_spec(cls: str, seed: int) -> MemberSpec:
    """The drawn morphology of member (cls, seed); pass a modified copy to :func:`make_member` as ``spec``."""
    _check_class(cls)
    return draw_spec(_rngs(cls, seed)[0], cls)


def member_conditions(cls: str, seed: int) -> dict[str, Any]:
    """Randomised acquisition conditions of member (cls, seed): ``target_faces`` (log-uniform 50k-400k),
    ``noise_nm`` (0-30), ``fragment`` (p 0.35, with debris), ``up`` (random orientation with p 0.5)."""
    _check_class(cls)
    return _conditions("random", _rngs(cls, seed)[7], None, None, None, None, None, None)


def make_member(cls: str, seed: int, *, conditions: str = "default", spec: MemberSpec | None = None,
                target_faces: int | None = None, scale: float | None = None, fragment: bool | None = None,
                noise_nm: float | None = None, debris: bool | None = None, up: Any = None,
                n_synapses: int | None = None, union: bool = True, **spec_overrides: Any) -> SyntheticNeuron:
    """Generate member ``(cls, seed)`` of the family with full ground truth (nm).

    conditions: ``"default"`` (clean, one surface, minnie65 frame, about ``DEFAULT_FACES`` faces) or
    ``"random"`` (draws :func:`member_conditions`); explicit keyword arguments override either. target_faces:
    about this many faces (>= 5,000; above 400k the union is refined; 8M took 2 min); scale: tessellation scale instead
    (faces grow ~ scale²). up: ``"minnie"`` (pia toward -y), ``"random"`` or a unit 3-vector (the pia direction
    in the output frame). spec_overrides: :class:`~neurd_lite.testing.classes.MemberSpec` fields, e.g.
    ``spine_density_per_um=2.0`` or ``soma_shape="teardrop"``.
    """
    t0 = time.perf_counter()
    _check_class(cls)
    rngs = _rngs(cls, seed)
    cond = _conditions(conditions, rngs[7], target_faces, scale, fragment, noise_nm, debris, up)
    m = spec or member_spec(cls, seed)
    if spec_overrides:
        m = dataclasses.replace(m, **spec_overrides)
    cell = grow_spec(m, rngs[1], rngs[2])
    sn = assemble_cells(cls, seed, [cell], rngs[3:7], fragment=cond["fragment"], noise_nm=cond["noise_nm"],
                        debris=cond["debris"], target_faces=cond["target_faces"], n_synapses=n_synapses,
                        union=union, scale=scale, cavities=False, t0=t0)
    annotate(sn, [m], [cell])
    rot = orientation(cond["up"], rngs[7])
    if rot is not None:
        reorient(sn, rot, m.soma_center_nm)
    sn.info.update({"class": cls, "conditions": _plain(cond), "family_version": FAMILY_VERSION,
                    "heldout": is_heldout(cls, seed), "seconds_total": time.perf_counter() - t0})
    return sn


def _conditions(conditions: str, rng: np.random.Generator, target_faces: int | None, scale: float | None,
                fragment: bool | None, noise_nm: float | None, debris: bool | None, up: Any) -> dict[str, Any]:
    """Acquisition conditions: the default or drawn ones (see :func:`member_conditions`), explicit ones win."""
    if conditions == "random":
        frag = bool(rng.random() < 0.35)
        cond = {"target_faces": int(np.exp(rng.uniform(np.log(50_000), np.log(400_000)))),
                "noise_nm": float(rng.uniform(0.0, 30.0)), "fragment": frag, "debris": frag,
                "up": "random" if rng.random() < 0.5 else "minnie"}
    elif conditions == "default":
        cond = {"target_faces": DEFAULT_FACES, "noise_nm": 0.0, "fragment": False, "debris": False, "up": "minnie"}
    else:
        raise ValueError(f"conditions must be 'default' or 'random', got {conditions!r}")
    given = {"target_faces": target_faces, "noise_nm": noise_nm, "fragment": fragment, "debris": debris, "up": up}
    cond.update({k: v for k, v in given.items() if v is not None})
    if scale is not None:
        cond["target_faces"] = None
    return cond


def make_merge(members: list[tuple[str, int]], contact: str | list[str] = "dendrite", seed: int = 0, *,
               conditions: str = "default", target_faces: int | None = None, scale: float | None = None,
               fragment: bool | None = None, noise_nm: float | None = None, debris: bool | None = None,
               up: Any = None, union: bool = True, cell: int | None = None,
               contact_params: MergeParams | None = None) -> SyntheticNeuron:
    """Two or three family members fused where they touch once each (a merge error), with truth (nm).

    members: (class, seed) of each cell; cell 0 stays where it was drawn, each next cell turns about the pia
    axis and moves until a process of it touches a placed cell (see :mod:`neurd_lite.testing.merge`).
    contact: ``"dendrite"`` (dendrite on dendrite), ``"axon"`` (the new cell's axon on a dendrite) or
    ``"axon_axon"`` (its axon on a placed axon), or one per added cell. seed: the merge's own seed (placement, conditions). Other keywords as in
    :func:`make_member` (default target: ``DEFAULT_FACES`` per cell).
    Truth: ``face_cell`` per face, ``truth["contacts"]`` (``cells``, ``kind``, ``point_nm``), per-cell truth
    in ``truth["cells"]``, spines renumbered across cells (``spines["cell"]``), ``synapses["cell"]``.
    Spines within 6 µm of a contact are left out (two cells' spine pieces must not collide).
    cell: return only that cell of the merge, meshed alone (same placement, spines, tessellation, conditions):
    the reference for "the split cell equals the cell decomposed alone".
    contact_params: contact search settings (:class:`~neurd_lite.testing.merge.MergeParams`; None: its defaults,
    e.g. ``MergeParams(tip_contact_nm=10_000)`` fuses two neurites end-on, with no branch point at the contact).
    """

    t0 = time.perf_counter()
    if not 2 <= len(members) <= 3:
        raise ValueError(f"a merge has 2 or 3 cells, got {len(members)}")
    kinds = [contact] * (len(members) - 1) if isinstance(contact, str) else list(contact)
    if len(kinds) != len(members) - 1 or not set(kinds) <= set(CONTACTS):
        raise ValueError(f"contact must be one of {CONTACTS} or one per added cell, got {contact!r}")
    rng = [np.random.default_rng([9001, int(seed), k]) for k in range(8)]
    cond = _conditions(conditions, rng[7], target_faces, scale, fragment, noise_nm, debris, up)
    if cond["target_faces"] and target_faces is None and conditions == "default":
        cond["target_faces"] = int(cond["target_faces"] * len(members))  # the default is per cell
    specs, trees, boutons, spines = [], [], [], []
    for cls, s in members:
        m = member_spec(cls, s)
        r = _rngs(cls, s)
        tree, bt = grow_member(r[1], m)
        specs.append(m)
        trees.append(tree)
        boutons.append(bt)
        spines.append(sample_spines(r[2], tree, m.spine_density_per_um, shapes=m.spine_shapes))
    contacts = []
    for k in range(1, len(members)):
        c_old = np.asarray(trees[k].soma_center, float).copy()
        hit = place(rng[0], trees[:k], trees[k], kinds[k - 1], contact_params or MergeParams())
        move_table(spines[k], SPINE_POINTS, SPINE_DIRS, hit["rotation"], c_old, hit["shift_nm"])
        move_table(boutons[k], [["x_nm", "y_nm", "z_nm"]], [], hit["rotation"], c_old, hit["shift_nm"])
        contacts.append({"cells": (hit["with_cell"], k), "kind": kinds[k - 1], "point_nm": hit["point_nm"],
                         "radii_nm": hit["radii_nm"]})
    cells = []
    for k, (m, tree) in enumerate(zip(specs, trees)):
        keep = spines_clear_of(spines[k], k, trees, [c["point_nm"] for c in contacts])
        sp = spines[k][keep].reset_index(drop=True)
        sp["spine_id"] = np.arange(len(sp), dtype=np.int64)
        cells.append(grow_cell(tree, sp, m.inhibitory, boutons[k], m.soma_synapses))
    tess, refine = _tessellation(cells, cond["target_faces"], scale)
    if cell is not None:
        specs, cells = [specs[cell]], [cells[cell]]
    sn = assemble_cells("merge" if cell is None else specs[0].cls, seed, cells, rng[3:7],
                        fragment=cond["fragment"], noise_nm=cond["noise_nm"], debris=cond["debris"], union=union,
                        scale=tess.scale, refine=refine, cavities=False, t0=t0)
    annotate(sn, specs, cells)
    sn.truth["contacts"] = contacts
    sn.truth["members"] = [(c, int(s)) for c, s in members]
    rot = orientation(cond["up"], rng[6])
    if rot is not None:
        reorient(sn, rot, trees[0].soma_center)
    sn.info.update({"class": "merge", "members": sn.truth["members"], "conditions": _plain(cond), "cell": cell,
                    "family_version": FAMILY_VERSION,
                    "seconds_total": time.perf_counter() - t0})
    return sn


def make_cropped(cls: str, seed: int, radius_um: float = 40.0, min_path_um: float = 80.0,
                 compartments: tuple[str, ...] = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite"),
                 **kwargs: Any) -> SyntheticNeuron:
    """A somaless piece of member (cls, seed): the faces within ``radius_um`` of a point of the given
    compartments at least ``min_path_um`` (along the tree) from the soma and clear of the soma body.
    kwargs go to :func:`make_member`. ``truth["has_soma"]`` is False; see :func:`neurd_lite.testing.crop.crop`."""
    from .crop import crop

    sn = make_member(cls, seed, **kwargs)
    sk = sn.skeleton
    comp = sk.vertex_properties["compartment"].astype(str)
    t = sn.truth
    clear = np.linalg.norm(sk.vertices - t["soma_center_nm"], axis=1) > radius_um * 1000.0 + t["soma_extent_nm"]
    ok = np.flatnonzero(np.isin(comp, compartments) & (sk.distance_to_root_nm >= min_path_um * 1000.0) & clear)
    if not len(ok):
        raise ValueError(f"{cls} {seed} has no {compartments} point {min_path_um} µm from the soma")
    v = int(np.random.default_rng([_CODE[cls], int(seed), 99]).choice(ok))
    return crop(sn, sk.vertices[v], radius_um * 1000.0)


def grow_spec(m: MemberSpec, rng_tree: np.random.Generator, rng_spines: np.random.Generator) -> CellGrowth:
    """Grow a member's tree, boutons and spines (the spine shapes drawn from ``m.spine_shapes``)."""
    tree, boutons = grow_member(rng_tree, m)
    spines = sample_spines(rng_spines, tree, m.spine_density_per_um, shapes=m.spine_shapes)
    return grow_cell(tree, spines, m.inhibitory, boutons, m.soma_synapses)


def annotate(sn: SyntheticNeuron, specs: list[MemberSpec], cells: list[CellGrowth]) -> None:
    """Add the family truth to ``sn.truth``: class, spec, soma body (shape, radii, centroid, volume, area),
    requested and realised spine density, bouton count, up vector."""
    from .boundary import soma_body
    from .scores import face_areas

    for c, (m, cg) in enumerate(zip(specs, cells)):
        body = soma_body(cg.tree)
        targets = ([sn.truth] if c == 0 else []) + ([sn.truth["cells"][c]] if "cells" in sn.truth else [])
        soma_f = np.flatnonzero((sn.face_labels == "soma") & (sn.face_cell == c))
        info = {"class": m.cls, "spec": _plain(dataclasses.asdict(m)), "soma_shape": body.kind,
                "soma_radius_nm": body.radius_nm, "soma_extent_nm": body.extent_nm,
                "soma_centroid_nm": body.centroid_nm, "soma_volume_um3": body.volume_nm3 / 1e9,
                "soma_area_um2": float(face_areas(sn, soma_f).sum() / 1e6),
                "requested_spine_density_per_um": m.spine_density_per_um,
                "n_boutons": 0 if cg.boutons is None else int(len(cg.boutons)),
                "n_primary": int(sum(s.parent < 0 for s in cg.tree.sections))}
        for t in targets:
            t.update(info)
    sn.truth["up"] = sn.up.copy()


def _plain(d: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def orientation(up: Any, rng: np.random.Generator) -> np.ndarray | None:
    """Rotation taking the minnie65 frame to one whose pia direction is ``up`` (None: keep minnie65)."""
    if up is None or (isinstance(up, str) and up == "minnie"):
        return None
    if isinstance(up, str):
        if up != "random":
            raise ValueError(f"up must be 'minnie', 'random' or a 3-vector, got {up!r}")
        from .soma_shapes import random_rotation

        return random_rotation(rng)
    target = np.asarray(up, float)
    target = target / ev.norm(target)
    v = np.cross(MINNIE_UP, target)
    c = float(ev.dot(MINNIE_UP, target))
    if ev.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def reorient(sn: SyntheticNeuron, rot: np.ndarray, origin: np.ndarray) -> None:
    """Rotate every coordinate of ``sn`` (mesh, skeletons, spines, synapses, boutons, soma truth) about
    ``origin`` (nm) by ``rot`` (points map to ``origin + rot @ (p - origin)``); sets ``sn.up``."""
    o = np.asarray(origin, float)

    def pts(a: np.ndarray) -> np.ndarray:
        return (np.asarray(a, float) - o) @ rot.T + o

    sn.mesh.vertices = pts(sn.mesh.vertices)
    for sk in sn.skeletons:
        sk.vertices = pts(sk.vertices)
        sk.__dict__.pop("edge_lengths_nm", None)
    move_table(sn.spines, SPINE_POINTS, SPINE_DIRS, rot, o, np.zeros(3))
    sn.synapses[["x_nm", "y_nm", "z_nm"]] = pts(sn.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy())
    move_table(sn.boutons, [["x_nm", "y_nm", "z_nm"]], [], rot, o, np.zeros(3))
    move_table(sn.soma_boundary, [["exit_x_nm", "exit_y_nm", "exit_z_nm"]], [], rot, o, np.zeros(3))
    for t in [sn.truth] + list(sn.truth.get("cells", [])):
        for k in ("soma_center_nm", "soma_centroid_nm"):
            if k in t:
                t[k] = pts(t[k])
    for c in sn.truth.get("contacts", []):
        c["point_nm"] = pts(c["point_nm"])
    sn.up = rot @ MINNIE_UP
    sn.truth["up"] = sn.up.copy()
    sn.info["rotation"] = rot.tolist()


def is_heldout(cls: str, seed: int, holdout_classes: Iterable[str] = ()) -> bool:
    """True when member (cls, seed) is for reporting: a held-out seed, or a class in ``holdout_classes``."""
    return int(seed) in _HELDOUT_SET or cls in set(holdout_classes)


def seed_range(seed: int) -> str | None:
    """Name of the declared range (``SEED_RANGES`` key) holding ``seed``, or None when it is in none."""
    return next((name for name, r in SEED_RANGES.items() if r[0] <= int(seed) <= r[-1]), None)


_HELDOUT_SET = frozenset(HELDOUT_SEEDS) | frozenset(HELDOUT2_SEEDS)


def split(n_seeds: int = 3, classes: Iterable[str] = CLASSES, holdout_classes: Iterable[str] = ()
          ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(tune, heldout) lists of (class, seed): the first ``n_seeds`` tune / held-out seeds of each class.

    Classes in ``holdout_classes`` appear only in the held-out list (with both seed ranges), so a stage tuned
    on ``tune`` has never seen them.
    """
    classes, hold = list(classes), set(holdout_classes)
    for c in list(classes) + list(hold):
        _check_class(c)
    tune = [(c, s) for c in classes if c not in hold for s in TUNE_SEEDS[:n_seeds]]
    held = [(c, s) for c in classes for s in HELDOUT_SEEDS[:n_seeds]]
    held += [(c, s) for c in classes if c in hold for s in TUNE_SEEDS[:n_seeds]]
    return tune, held


def write_truth_swc(sn: SyntheticNeuron, path: str | Path, cell: int = 0) -> Path:
    """Write the true skeleton of ``cell`` as SWC (µm, compartment types; see ``io.skeletons.write_swc``)."""
    from types import SimpleNamespace

    from ..io.skeletons import write_swc

    sk = sn.skeletons[cell] if sn.skeletons else sn.skeleton
    n = SimpleNamespace(skeleton=sk, skeleton_labels=sk.vertex_properties["compartment"],
                        name=f"synthetic_{sn.kind}_{sn.seed}_cell{cell}_truth")
    return write_swc(n, path)


def _check_class(cls: str) -> None:
    if cls not in CLASS_RANGES:
        from ..errors import InputError

        raise InputError(f"unknown cell class {cls!r}", hint=f"use one of {CLASSES}")

"""Labelled skeletons for the compartment models, prepared once and cached under a scratch folder.

Sources (``source`` column of every row; the ``group`` is the cell):
- ``microns``: the 53 ``microns_apical_labelled`` meshwork skeletons (nm, synapses). Source-label defects as
  the data README says: where ``is_axon == is_apical`` the axon mask is unusable (no axon truth; apical =
  ``is_apical``), elsewhere apical = ``is_apical and not is_axon``. Each case records ``axon_audit``
  (``label_audit.py``: why the cell's own synapses contradict its axon mask, if they do). Frame: minnie65, up = (0, -1, 0) (a fact
  about the dataset, not read from the labels). Prepared with and without synapses.
- the external_labelled repositories (``cajal``, ``cvapp``, ``moose``, ``osballen`` ... from ``cells.csv``):
  SWC in µm, axon = type 2, apical = type 4. Prepared with the *inferred* up (never ``apical_dir_inferred``,
  which is derived from the type-4 labels); evaluation also prepares them with ``apical_dir_inferred`` as the
  given up ("up given" scores only).
- ``synthetic``: skeletons of the synthetic family (``neurd_lite.testing.family``: 8 classes plus, since session 11,
  the 3 interneuron classes with real-sized local axons of ``testing/arbor.py``; tuning seeds 0-5;
  the held-out evaluation uses seeds from ``HELDOUT_SEEDS``), two thirds rotated at random so no frame is
  privileged; prepared with the true up and with the inferred up, and half of them also without radius (as the
  MICrONS level-2 skeletons, which carry none). The "kind" is pyramidal when the class has
  an apical (L4 pyramids in the family have none).
"""
from __future__ import annotations

import pickle
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from label_audit import audit_axon_mask
from neurd_lite.testing.soma_shapes import random_rotation
from neurd_lite.compartments.axon_l2 import L2_PROPS
from neurd_lite.compartments.label import CompartmentParams, Prepared, prepare
from neurd_lite.data import data_path, manifest
from neurd_lite.io.skeletons import load_skeleton
from neurd_lite.neuron import Neuron
from neurd_lite.pipeline import _skeleton_soma
from neurd_lite.skeleton.model import Skeleton

MINNIE_UP = np.array([0.0, -1.0, 0.0])
APICAL_NAMES = ("apical_shaft", "apical_tuft", "oblique")
SYNTHETIC_SEEDS = range(0, 6)  # family tuning seeds per class (8 classes)


@dataclass
class Case:
    """One prepared (cell, mode): the neuron, the prepared tree/features and per-vertex truth (None: unknown)."""

    cell: str
    source: str
    mode: str            # e.g. "given+syn", "given", "inferred", "given_eval"
    kind: str            # pyramidal / interneuron
    n: Neuron
    prep: Prepared
    axon: np.ndarray | None
    apical: np.ndarray | None
    scored: np.ndarray   # vertices that count in the scores (soma and unlabelled vertices excluded)
    true_up: np.ndarray | None = None
    axon_audit: dict | None = None  # MICrONS: label_audit.audit_axon_mask of the labelled axon (reasons, trusted)


def _neuron(name: str, sk: Skeleton, syn: pd.DataFrame | None, units: Any) -> Neuron:
    soma, region = _skeleton_soma(sk)
    n = Neuron(name=name, skeleton=sk, somas=[soma], synapses=syn if syn is not None else pd.DataFrame())
    n.provenance["inputs"] = {"units": units}
    return n


def _case(cell: str, source: str, mode: str, kind: str, sk: Skeleton, syn: pd.DataFrame | None, up: Any,
          units: Any, axon: np.ndarray | None, apical: np.ndarray | None, scored: np.ndarray,
          true_up: np.ndarray | None) -> Case:
    n = _neuron(cell, sk, syn, units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = prepare(n, CompartmentParams(), up, units, with_features=True)
    return Case(cell, source, mode, kind, n, prep, axon, apical, scored & prep.tree.in_root_tree & ~prep.tree.soma,
                true_up)


def microns_cases() -> list[Case]:
    out = []
    for rel in manifest()["datasets"]["microns_apical_labelled"]["files"]:
        sk, syn = load_skeleton(data_path(rel))
        ap, ax = sk.vertex_properties["is_apical"].astype(bool), sk.vertex_properties["is_axon"].astype(bool)
        same = bool(np.array_equal(ap, ax))
        truth_ap = ap if same else ap & ~ax
        cell = Path(rel).name.split("_")[0]
        audit = audit_axon_mask(sk, syn, ax, ap)  # recorded only: training still uses the masks as above
        sk.vertex_properties = {k: v for k, v in sk.vertex_properties.items() if k in L2_PROPS}  # session 19
        scored = np.ones(sk.n_vertices, dtype=bool)
        for mode, s in (("given+syn", syn), ("given", None)):
            out.append(_case(cell, "microns", mode, "pyramidal", sk.copy(), s, MINNIE_UP, "nm",
                             None if same else ax, truth_ap, scored, MINNIE_UP))
            out[-1].axon_audit = audit
        print(f"  microns {cell}", file=sys.stderr)
    return out


def external_cases(with_given: bool = True) -> list[Case]:
    root = data_path("skeletons/external_labelled/cells.csv").parent
    cells = pd.read_csv(root / "cells.csv")
    out = []
    for _, r in cells.iterrows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk, _ = load_skeleton(data_path(f"skeletons/external_labelled/{r.file}"), units="um")
        t = np.asarray(sk.vertex_properties.pop("swc_type"))
        sk.vertex_properties = {"swc_type": np.where(t == 1, 1, 0)}  # keep only the soma type for the soma
        kind = "pyramidal" if r.cell_class == "pyramidal" else "interneuron"
        cell = Path(r.file).stem
        true_up = None
        if isinstance(r.apical_dir_inferred, str):
            true_up = np.array([float(x) for x in r.apical_dir_inferred.split()])
        scored = t != 1
        modes = [("inferred", None)] + ([("given_eval", true_up)] if with_given and true_up is not None else [])
        for mode, up in modes:
            out.append(_case(cell, r.source, mode, kind, sk.copy(), None, up, "um", t == 2, t == 4, scored,
                             true_up))
        print(f"  external {cell}", file=sys.stderr)
    return out


def synthetic_cases(seeds: range = SYNTHETIC_SEEDS, classes: tuple[str, ...] | None = None) -> list[Case]:
    """Skeletons of the synthetic family (``neurd_lite.testing.family``, every class or ``classes``, tuning seeds
    only), two thirds of them rotated at random; truth from the grown tree."""
    from neurd_lite.testing import family
    from neurd_lite.testing.classes import CLASSES, EXTRA_CLASSES, grow_member
    from neurd_lite.testing.morphology import tree_to_skeleton

    out = []
    order = CLASSES + EXTRA_CLASSES
    for cls in classes or CLASSES:
        for seed in seeds:
            assert seed in family.TUNE_SEEDS
            spec = family.member_spec(cls, seed)
            tree, _ = grow_member(family._rngs(cls, seed)[1], spec)
            sk0 = tree_to_skeleton(tree)
            comp = np.asarray(sk0.vertex_properties["compartment"]).astype(str)
            rng = np.random.default_rng([7, seed, order.index(cls)])
            centre = sk0.vertices[sk0.root]
            rot = random_rotation(rng) if seed % 3 else np.eye(3)  # a third keep the minnie65-like frame
            sk = Skeleton((sk0.vertices - centre) @ rot.T + centre, sk0.edges, sk0.radius, sk0.root)
            up = rot @ MINNIE_UP
            kind = "pyramidal" if spec.apical else "interneuron"
            scored = comp != "soma"
            bare = Skeleton(sk.vertices, sk.edges, None, sk.root)  # no radius, as MICrONS level-2 skeletons
            modes = [("given", up, sk), ("inferred", None, sk)] + ([("given_norad", up, bare)] if seed % 2 else [])
            for mode, u, s in modes:
                out.append(_case(f"family_{cls}_{seed}", "synthetic", mode, kind, s.copy(), None, u, "um",
                                 comp == "axon", np.isin(comp, APICAL_NAMES), scored, up))
    print(f"  synthetic family {len({c.cell for c in out})} cells", file=sys.stderr)
    return out


def arbor_cases(classes: tuple[str, ...], seeds: range = SYNTHETIC_SEEDS) -> list[Case]:
    """Cells of the arbor classes (``testing/arbor.py``: interneurons with real-sized local axons, ``pyr_arbor`` /
    ``pyr_local_axon`` pyramids with a local axon), prepared as the other synthetic cells; source ``synthetic``.
    A class given as ``name:n`` takes tuning seeds 0 to n-1 instead of ``seeds``."""
    out = []
    for spec in classes:
        name, _, n = spec.partition(":")
        out += synthetic_cases(range(int(n)) if n else seeds, (name,))
    return out


def load_cases(cache: Path, rebuild: bool = False, arbor: tuple[str, ...] = ()) -> list[Case]:
    """All prepared cases, from ``cache`` (a scratch pickle, never shipped) or built and written there; ``arbor``:
    arbor classes to add when building (``train.py --arbor-classes``; a cache keeps what it was built with)."""
    if cache.is_file() and not rebuild:
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    cases = microns_cases() + external_cases() + synthetic_cases() + (arbor_cases(arbor) if arbor else [])
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache, "wb") as fh:
        pickle.dump(cases, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return cases

"""Minimal synthetic merges for testing the splitter: two or three synthetic cells placed so that neurites touch.

Each cell comes from :func:`neurd_lite.testing.synthetic.make_neuron`. Cell 0 stays where it was generated; every
further cell is turned about the pia axis (y) and moved so that one of its dendrites overlaps a chosen neurite of
an earlier cell (a dendrite for ``contact="dendrite"``, the axon for ``contact="axon"``). The meshes are
concatenated without a boolean union (overlapping closed surfaces, as two touching EM segments fused by an
agglomeration error), so every face keeps the id of the cell it came from (``face_cell``). Nanometres throughout.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from . import exactvec as ev

DENDRITES = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")


@dataclass(eq=False)
class SyntheticMerge:
    """A merged mesh with per-face truth. mesh: trimesh (nm); face_cell: (F,) cell index of each face;
    synapses: ``x_nm, y_nm, z_nm, is_pre, cell``; cells: the placed SyntheticNeurons (their meshes moved);
    contacts: one dict per contact (cells, position_nm, compartments)."""

    mesh: Any
    face_cell: np.ndarray
    synapses: pd.DataFrame
    cells: list
    soma_centers_nm: np.ndarray
    contacts: list[dict] = field(default_factory=list)


def _rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _geodesic_from_root(sk: Any) -> np.ndarray:
    return csgraph.dijkstra(sk.csgraph, directed=False, indices=int(sk.root))


def _candidates(sk: Any, comps: tuple[str, ...], lo_nm: float, hi_nm: float) -> np.ndarray:
    d = _geodesic_from_root(sk)
    lab = np.asarray(sk.vertex_properties["compartment"]).astype(str)
    return np.flatnonzero(np.isin(lab, comps) & (d >= lo_nm) & (d <= hi_nm))


def _moved(sn: Any, rot: np.ndarray, shift: np.ndarray) -> Any:
    """A copy of a SyntheticNeuron turned by ``rot`` about the origin and moved by ``shift`` (nm)."""
    import copy

    out = copy.copy(sn)
    out.mesh = sn.mesh.copy()
    out.mesh.vertices = sn.mesh.vertices @ rot.T + shift
    out.skeleton = sn.skeleton.copy()
    out.skeleton.vertices = sn.skeleton.vertices @ rot.T + shift
    syn = sn.synapses.copy()
    syn[["x_nm", "y_nm", "z_nm"]] = syn[["x_nm", "y_nm", "z_nm"]].to_numpy() @ rot.T + shift
    out.synapses = syn
    return out


def _other_contacts(placed: list, new_sk: Any, contact_nm: np.ndarray, clear_nm: float) -> int:
    """Skeleton vertex pairs of the new cell and the placed cells that nearly touch away from the contact."""
    pts, rad = new_sk.vertices, np.nan_to_num(new_sk.radius, nan=300.0)
    far = np.linalg.norm(pts - contact_nm, axis=1) > 8000.0
    hits = 0
    for sn in placed:
        tree = cKDTree(sn.skeleton.vertices)
        d, _ = tree.query(pts[far])
        hits += int(np.count_nonzero(d < rad[far] + clear_nm))
        soma_d = np.linalg.norm(pts - sn.skeleton.vertices[int(sn.skeleton.root)], axis=1)
        hits += 1000 * int(np.count_nonzero(soma_d < 30000.0))
    return hits


def _place(rng: np.random.Generator, placed: list, sn: Any, contact: str, tries: int = 40) -> tuple[Any, dict]:
    """Turn and move ``sn`` so one of its dendrites overlaps a neurite of a placed cell; the try with the fewest
    other near-contacts wins."""
    host_comps = ("axon",) if contact == "axon" else DENDRITES
    best = None
    for _ in range(tries):
        h = int(rng.integers(len(placed)))
        host = placed[h]
        hc = _candidates(host.skeleton, host_comps, 25000.0, 90000.0)
        gc = _candidates(sn.skeleton, DENDRITES, 20000.0, 70000.0)
        if not len(hc) or not len(gc):
            continue
        p, q = int(rng.choice(hc)), int(rng.choice(gc))
        rot = _rotation_y(rng.uniform(0, 2 * np.pi))
        hp = host.skeleton.vertices[p]
        qp = sn.skeleton.vertices[q] @ rot.T
        # overlap the two tubes by about half their summed radius, sideways to the host neurite
        nb = host.skeleton.vertices[host.skeleton.parent[p]] if host.skeleton.parent[p] >= 0 else hp + 1.0
        axis = (hp - nb) / max(ev.norm(hp - nb), 1e-9)
        side = np.cross(axis, rng.normal(size=3))
        side /= max(ev.norm(side), 1e-9)
        r = np.nan_to_num(host.skeleton.radius[p], nan=400.0) + np.nan_to_num(sn.skeleton.radius[q], nan=400.0)
        shift = hp + 0.5 * r * side - qp
        moved_sk = sn.skeleton.copy()
        moved_sk.vertices = sn.skeleton.vertices @ rot.T + shift
        score = _other_contacts(placed, moved_sk, hp, 300.0)
        if best is None or score < best[0]:
            best = (score, rot, shift, h, p, q, hp)
    if best is None:
        raise ValueError("no contact site found (no neurite of the requested kind at 20-90 µm from a soma)")
    score, rot, shift, h, p, q, hp = best
    comp_h = str(placed[h].skeleton.vertex_properties["compartment"][p])
    comp_g = str(sn.skeleton.vertex_properties["compartment"][q])
    info = {"cells": (h, len(placed)), "position_nm": hp.tolist(), "compartments": (comp_h, comp_g),
            "other_near_contacts": score}
    return _moved(sn, rot, shift), info


def merge_cells(cells: list, contact: str = "dendrite", seed: int = 0) -> SyntheticMerge:
    """Place synthetic cells (``make_neuron`` results) so each touches an earlier one, and concatenate them.

    contact: ``"dendrite"`` (dendrite on dendrite) or ``"axon"`` (a dendrite of the new cell on an axon of a
    placed one). Returns a :class:`SyntheticMerge` with per-face cell ids.
    """
    import trimesh

    if contact not in ("dendrite", "axon"):
        raise ValueError(f"contact must be 'dendrite' or 'axon', got {contact!r}")
    rng = np.random.default_rng(seed)
    placed, contacts = [cells[0]], []
    for sn in cells[1:]:
        moved, info = _place(rng, placed, sn, contact)
        placed.append(moved)
        contacts.append(info)
    verts, faces, face_cell, syns, off = [], [], [], [], 0
    for k, sn in enumerate(placed):
        verts.append(np.asarray(sn.mesh.vertices))
        faces.append(np.asarray(sn.mesh.faces) + off)
        off += len(sn.mesh.vertices)
        face_cell.append(np.full(len(sn.mesh.faces), k))
        s = sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy()
        s["cell"] = k
        syns.append(s)
    mesh = trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)
    centers = np.array([sn.skeleton.vertices[int(sn.skeleton.root)] for sn in placed])
    return SyntheticMerge(mesh, np.concatenate(face_cell), pd.concat(syns, ignore_index=True), placed, centers,
                          contacts)

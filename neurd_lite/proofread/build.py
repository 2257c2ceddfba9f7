"""Rebuild each cell of a split as a Neuron of its own (``split``, ``split_for_batch``); nm throughout."""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..geometry.meshes import submesh
from ..neuron import Neuron
from .cuts import SplitParams
from .flags import flag_merge_errors, merge_flags
from .split import NEITHER, SplitNeurons, face_owner, find_cuts

# columns the pipeline adds to a synapse table; a sub-cell gets the input columns only and maps them again
_ENGINE_COLUMNS = ("face", "distance_to_mesh_nm", "is_far", "compartment", "spine_id", "branch", "target")


def _cell_synapses(n: Neuron, owner: np.ndarray, k: int) -> pd.DataFrame | None:
    """The rows of ``n.synapses`` anchored to a face of soma ``k``'s cell, input columns only."""
    syn = n.synapses
    if syn is None or len(syn) == 0:
        return None
    if "face" not in syn.columns:
        raise ValueError("split needs synapses mapped to faces (run the synapses stage of decompose first)")
    face = pd.to_numeric(syn["face"], errors="coerce").to_numpy()
    ok = np.isfinite(face)
    mine = np.zeros(len(syn), dtype=bool)
    mine[ok] = owner[face[ok].astype(np.int64)] == k
    keep = [c for c in syn.columns if c not in _ENGINE_COLUMNS]
    return syn.loc[mine, keep].reset_index(drop=True)


def _rebuild(n: Neuron, faces: np.ndarray, synapses: pd.DataFrame | None, k: int, pipeline_params: Any,
             decompose: Callable[..., Neuron]) -> Neuron:
    """Decompose one cell's faces on their own (``decompose``: the pipeline's, passed in by the runner so that
    this stage never imports it): detected soma when detection finds this soma alone, else the known centre."""
    soma = n.somas[k]
    sub = submesh(n.mesh, faces)
    name = f"{n.name}_soma{k}"
    cell = decompose(sub, synapses=synapses, units="nm", name=name, params=pipeline_params)
    near = [s for s in cell.somas if np.linalg.norm(s.center_nm - soma.center_nm) < soma.radius_nm]
    how = "detected"
    if len(cell.somas) != 1 or len(near) != 1:
        cell = decompose(sub, synapses=synapses, units="nm", name=name, params=pipeline_params,
                         soma=soma.center_nm)
        how = f"given centre (detection found {len(cell.somas)} somata, {len(near)} at this one)"
    cell.input_faces = np.asarray(faces, dtype=np.int64)
    cell.provenance["soma_from"] = how
    return cell


def split(n: Neuron, params: SplitParams | None = None, pipeline_params: Any = None,
          rebuild: bool = True, decompose_fn: Callable[..., Neuron] | None = None) -> SplitNeurons:
    """One Neuron per soma of a decomposed (possibly merged) neuron; see :mod:`neurd_lite.proofread.split`.

    params: the splitter's :class:`SplitParams`; pipeline_params: ``PipelineParams`` for rebuilding each cell
    (default: the defaults). rebuild=False only finds the cuts and face owners (``report``) and returns ``[n]``;
    rebuild=True needs ``decompose_fn`` (``nl.split`` / ``decompose(..., split=True)`` pass the pipeline's).
    A neuron with fewer than two somata comes back unchanged as ``[n]`` (merge-error flags added).
    Each cell has ``input_faces`` (indices into ``n.mesh.faces``), ``provenance["split"]`` (cuts and scores) and
    ``provenance["soma_index"]``. ``.report`` holds the cuts, faces and synapses per cell and the unassigned
    pieces. Lengths in nm.
    """
    p = params or SplitParams()
    t0 = time.perf_counter()
    if len(n.somas) < 2 or n.skeleton is None or n.mesh is None:
        report = {"n_somas": len(n.somas), "cuts": [], "reason": "fewer than two somata" if len(n.somas) < 2
                  else "no mesh or skeleton", "faces_per_cell": {0: n.n_faces},
                  "synapses_per_cell": {0: len(n.synapses)}, "neither": {"faces": 0, "synapses": 0, "pieces": []},
                  "kept_together": []}
        n.provenance["split"] = report
        flag_merge_errors(n)
        return SplitNeurons([n], report, n)
    vertex_owner, cuts = find_cuts(n, p)
    owner = face_owner(n, vertex_owner)
    syn_face = _synapse_faces(n)
    syn_owner = np.where(syn_face >= 0, owner[np.maximum(syn_face, 0)], NEITHER)
    cells_faces = {k: np.flatnonzero(owner == k) for k in range(len(n.somas))}
    neither = np.flatnonzero(owner == NEITHER)
    report = {
        "n_somas": len(n.somas), "params": p.to_dict(), "cuts": cuts,
        "faces_per_cell": {k: int(len(v)) for k, v in cells_faces.items()},
        "face_share": {k: round(len(v) / max(n.n_faces, 1), 4) for k, v in cells_faces.items()},
        "synapses_per_cell": {k: int(np.count_nonzero(syn_owner == k)) for k in range(len(n.somas))},
        "neither": {"faces": int(len(neither)), "synapses": int(np.count_nonzero(syn_owner == NEITHER)),
                    "pieces": _pieces(n, neither)},
        "kept_together": [c["somas"] for c in cuts if not c["applied"]],
    }
    n.provenance["split"] = {k: v for k, v in report.items() if k != "params"}
    if rebuild and decompose_fn is None:
        raise ValueError("rebuilding the cells needs decompose_fn; call nl.split(n) instead")
    if not rebuild:
        report["seconds"] = round(time.perf_counter() - t0, 3)
        return SplitNeurons([n], report, n)
    cells = []
    for k, faces in cells_faces.items():
        if not len(faces):
            continue  # a soma kept with a lower-index soma (no credible cut) is part of that cell
        cell = _rebuild(n, faces, _cell_synapses(n, owner, k), k, pipeline_params, decompose_fn)
        cell.provenance["soma_index"] = k
        cell.provenance["split"] = {"parent": n.name, "soma_index": k, "n_input_faces": int(n.n_faces),
                                    "cuts": [c for c in cuts if k in c.get("somas", ())]}
        flag_merge_errors(cell)
        cells.append(cell)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return SplitNeurons(cells, report, n)


def _synapse_faces(n: Neuron) -> np.ndarray:
    syn = n.synapses
    if syn is None or len(syn) == 0 or "face" not in syn.columns:
        return np.zeros(0 if syn is None else len(syn), dtype=np.int64) - 1
    f = pd.to_numeric(syn["face"], errors="coerce").to_numpy()
    return np.where(np.isfinite(f), f, -1).astype(np.int64)


def _pieces(n: Neuron, faces: np.ndarray, top: int = 5) -> list[dict]:
    """Connected pieces (shared vertices) of the unassigned faces: the largest ``top`` with size and centre (nm)."""
    if not len(faces):
        return []
    from scipy.sparse import coo_matrix, csgraph

    f = np.asarray(n.mesh.faces)[faces]
    nv = len(n.mesh.vertices)
    rows = np.repeat(np.arange(len(faces)), 3)
    inc = coo_matrix((np.ones(len(rows)), (rows, f.reshape(-1))), shape=(len(faces), nv)).tocsr()
    ncomp, lab = csgraph.connected_components(inc @ inc.T, directed=False)
    sizes = np.bincount(lab)
    centres = np.asarray(n.mesh.vertices)[f].mean(axis=1)
    out = []
    for c in np.argsort(-sizes)[:top]:
        out.append({"faces": int(sizes[c]), "center_nm": np.round(centres[lab == c].mean(axis=0), 0).tolist()})
    return out + ([{"more_pieces": int(ncomp - top)}] if ncomp > top else [])


CUTTABLE = ("merge_axon_on_dendrite", "merge_dendrite_on_axon", "merge_width_jump", "merge_direction_jump")


def cut_flagged(n: Neuron, decompose_fn: Callable[..., Neuron],
                kinds: tuple[str, ...] = ("merge_axon_on_dendrite", "merge_dendrite_on_axon"),
                pipeline_params: Any = None) -> Neuron:
    """Remove the subtrees that merge-error flags point at and rebuild the rest (flags only flag; this cuts).

    kinds: which flags to act on (each names a branch; that branch and everything distal to it is removed; see
    ``CUTTABLE``); decompose_fn: the pipeline's ``nl.decompose``, which rebuilds the rest. Returns a new Neuron of the remaining faces (``input_faces`` into ``n``'s mesh,
    ``provenance["cut_flagged"]`` lists the removed branches and face counts), or ``n`` itself when nothing is cut.
    """
    import networkx as nx

    bad = [k for k in kinds if k not in CUTTABLE]
    if bad:
        raise ValueError(f"cannot cut {bad}: choose from {CUTTABLE}")
    if n.mesh is None or n.skeleton is None or not n.somas:
        raise ValueError("cut_flagged needs a decomposed neuron with a mesh, skeleton and soma")
    found = [f for f in merge_flags(n) if f["flag"] in kinds]
    roots = sorted({int(f["branch"]) for f in found})
    if not roots:
        return n
    branches = set(roots)
    for b in roots:
        branches |= {d for d in nx.descendants(n.graph, b) if n.graph.nodes[d].get("kind") == "branch"}
    vb = np.asarray(n.face_branch, dtype=np.int64)
    removed = np.isin(vb, sorted(branches))
    keep = np.flatnonzero(~removed)
    owner = np.where(removed, NEITHER, 0)
    cell = _rebuild(n, keep, _cell_synapses(n, owner, 0), 0, pipeline_params, decompose_fn)
    cell.name = n.name
    cell.provenance["cut_flagged"] = {"flags": found, "branches_removed": sorted(branches),
                                      "faces_removed": int(removed.sum()), "faces_kept": int(len(keep))}
    flag_merge_errors(cell)
    return cell


def split_for_batch(n: Neuron, decompose_fn: Callable[..., Neuron], pipeline_params: Any = None,
                    params: SplitParams | None = None) -> list[Neuron]:
    """What ``featurize`` calls on each decomposed neuron (``decompose_fn``: ``nl.decompose``): the cells of a
    split, each with ``name``
    ``<name>_soma<k>`` and ``provenance["soma_index"] = k`` (a single-soma neuron comes back as ``[n]`` with
    ``soma_index`` 0). A split that fails raises; the caller records it like any stage error."""
    cells = split(n, params=params, pipeline_params=pipeline_params, decompose_fn=decompose_fn)
    for c in cells:
        c.provenance.setdefault("soma_index", 0)
    return list(cells)

"""Re-score cached refined family members on the ``FAMILY_VERSION`` 8 truth without rebuilding their meshes.

A member above 400k faces is smoothed and refined by the generator, which is not deterministic: a rebuild is a
different mesh. This script keeps the cached mesh, the cached pre-spine neuron and the cached synapses of an
``eval_spines_family`` member made on version 7, applies the version-8 relabel
(:func:`neurd_lite.testing.headneck.refined_truth`, the generator's own function) to the member's vertices before
the generator's vertex noise and chunk shifts (redrawn from the member's streams and undone), gives each true
shaft synapse whose face the relabel hands to a spine that face's new label, runs the spine, refine and synapse
stages once and scores that one prediction against both truths. Lengths nm, areas µm².

Approximations (stated in docs/spines.md): the generator relabels before fragmenting, this after (a dendrite face
whose nearest spine face was cut away may differ; undone shrinks of tiny crumbs are inexact); the synapses are the
version-7 draw (a version-8 build would draw its shaft / head / neck synapses over the new areas).

Usage::

  python benchmarks/rescore_refined_truth.py --member l5_et:2615:1200000:frag --cache /tmp/sc/cache --out rows.jsonl
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import neurd_lite as nl  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from neurd_lite.testing import exactvec as ev  # noqa: E402
from neurd_lite.testing import family  # noqa: E402
from neurd_lite.testing.fragment import FragmentParams  # noqa: E402
from neurd_lite.testing.headneck import HEAD_NECK, junction_labels, refined_truth  # noqa: E402
from eval_spines_family import _key, run_post, score_prediction  # noqa: E402
from scorecard_spines import parse_members  # noqa: E402

NOISE_STREAM = 6  # family._rngs index of the generator's vertex-noise stream (assemble_cells' rngs[3])
FRAGMENT_STREAM = 3  # ... and of its fragment stream (assemble_cells' rngs[0])


def clean_vertices(sn, cls: str, seed: int) -> tuple[np.ndarray, dict]:
    """The member's vertices (nm) as the generator's relabel saw them: its vertex noise (redrawn from the member's
    noise stream) subtracted, and for fragmented members each chunk's shift and shrink undone
    (:func:`unfragment_vertices`). Members in the minnie frame only."""
    cond = sn.info["conditions"]
    if cond.get("up", "minnie") != "minnie":
        raise ValueError("rotated members are not handled (un-rotate first)")
    v = np.asarray(sn.mesh.vertices, float)
    if cond.get("noise_nm", 0.0) > 0:
        rng = np.random.default_rng([family._CODE[cls], int(seed), NOISE_STREAM])
        v = v - rng.normal(0.0, cond["noise_nm"], v.shape)
    if not cond.get("fragment"):
        return v, {}
    return unfragment_vertices(v, np.asarray(sn.mesh.faces), np.asarray(sn.face_cell), sn.face_labels, cls, seed)


def unfragment_vertices(v: np.ndarray, faces: np.ndarray, face_cell: np.ndarray, labels: np.ndarray, cls: str,
                        seed: int, p: FragmentParams = FragmentParams(), iters: int = 12) -> tuple[np.ndarray, dict]:
    """Vertices (nm) of a fragmented member with each chunk's shift and shrink (``testing.fragment.fragment``)
    undone: the grid offset, crumb seeds and shifts are redrawn from the member's fragment stream; a face's chunk
    is the majority grid cell of its connected piece (a piece holding a crumb seed is that crumb); the shrink
    toward the chunk centre is inverted by fixed-point iteration on the centre. Debris (trailing) is left."""
    rng = np.random.default_rng([family._CODE[cls], int(seed), FRAGMENT_STREAM])
    deb = (face_cell == -1) & (np.asarray(labels).astype(str) == "unknown")
    n_kept = int(np.argmax(deb)) if deb.any() else len(faces)
    kf = faces[:n_kept]
    nv = int(kf.max()) + 1
    offset = rng.uniform(0, p.chunk_nm, 3)
    cell = np.floor((v[kf].mean(axis=1) - offset) / p.chunk_nm).astype(np.int64)
    n_crumb = int(p.crumb_fraction * n_kept)
    seeds = rng.choice(n_kept, n_crumb, replace=False)
    e = np.concatenate([kf[:, [0, 1]], kf[:, [1, 2]], kf[:, [2, 0]]])
    n_comp, vcomp = connected_components(sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(nv, nv)),
                                         directed=False)
    fcomp = vcomp[kf[:, 0]]
    u, cnt = np.unique(np.column_stack([fcomp, cell]), axis=0, return_counts=True)
    u = u[np.lexsort((-cnt, u[:, 0]))]
    comp_cell = np.zeros((n_comp, 3), np.int64)
    first = np.r_[True, u[1:, 0] != u[:-1, 0]]
    comp_cell[u[first, 0]] = u[first, 1:]
    crumb = np.full(n_comp, -1)
    np.maximum.at(crumb, fcomp[seeds], np.arange(n_crumb))
    grid = crumb[fcomp] < 0
    c0 = comp_cell[fcomp[grid]] - comp_cell[fcomp[grid]].min(axis=0)
    span = c0.max(axis=0) + 1
    _, gchunk = np.unique((c0[:, 0] * span[1] + c0[:, 1]) * span[2] + c0[:, 2], return_inverse=True)
    n_cells = int(gchunk.max()) + 1
    chunk = np.where(grid, 0, n_cells + crumb[fcomp])
    chunk[grid] = gchunk.reshape(-1)
    shift = np.clip(rng.normal(0, p.shift_nm, (n_cells + n_crumb, 3)), -p.max_shift_nm, p.max_shift_nm)
    vchunk = np.zeros(nv, np.int64)
    vchunk[kf.reshape(-1)] = np.repeat(chunk, 3)
    w = v[:nv] - shift[vchunk]
    size = np.maximum(np.bincount(vchunk, minlength=len(shift)), 1)[:, None]
    rec = w.copy()
    for _ in range(iters):
        c = np.zeros(shift.shape)
        np.add.at(c, vchunk, rec)
        c = (c / size)[vchunk]
        dn = ev.norm(w - c)[:, None]
        rec = c + (w - c) / np.maximum(dn, 1e-9) * (dn + p.shrink_nm)
    out = v.copy()
    out[:nv] = rec
    return out, {"n_chunks": n_cells, "n_crumbs": n_crumb,
                 "faces_cell_by_piece": int((comp_cell[fcomp] != cell).any(axis=1).sum())}


def v8_truth(sn, verts: np.ndarray) -> tuple[object, dict]:
    """(a shallow copy of ``sn`` with the version-8 face labels, face spines and synapse targets, a summary)."""
    faces = np.asarray(sn.mesh.faces)
    lab7, fs7 = np.asarray(sn.face_labels).astype(object), np.asarray(sn.face_spine)
    tables = [(sn.spines, 0)]
    lab8, fs8 = refined_truth(verts, faces, lab7, fs7, sn.face_cell, tables)
    # check of the noise removal: the junction rule on the clean vertices gives back version 7's head / neck
    hn = np.isin(lab7, HEAD_NECK) & (fs7 >= 0)
    redo = junction_labels(verts, faces, lab7, fs7, tables)
    moved = (fs7 < 0) & (fs8 >= 0)
    area = np.asarray(sn.mesh.area_faces)
    syn = sn.synapses.copy()
    f = syn["face"].to_numpy()
    hit = (f >= 0) & (syn["target"].to_numpy() == "shaft")
    hit[hit] = moved[f[hit]]
    syn.loc[hit, "target"] = lab8[f[hit]].astype(str)
    syn.loc[hit, "spine_id"] = fs8[f[hit]]
    sn8 = copy.copy(sn)
    sn8.face_labels, sn8.face_spine, sn8.synapses = lab8.astype(sn.face_labels.dtype), fs8, syn
    info = {"faces_given": int(moved.sum()), "area_given_um2": float(area[moved].sum() / 1e6),
            "true_spine_area_v7_um2": float(area[fs7 >= 0].sum() / 1e6),
            "junction_mismatch_v7": int(np.count_nonzero(redo[hn] != lab7[hn])), "head_neck_faces_v7": int(hn.sum()),
            "shaft_synapses_retargeted": {str(k): int(v) for k, v in
                                          zip(*np.unique(syn.loc[hit, "target"], return_counts=True))}}
    return sn8, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--member", action="append", default=[], help="CLASS:SEED[:FACES[:frag]]")
    ap.add_argument("--cache", default="/tmp/spines/cache")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    p = nl.PipelineParams()
    for m in parse_members("", "", args.member):
        key = _key(*m)
        with open(Path(args.cache) / (key + ".pkl"), "rb") as fh:
            n0, sn = pickle.load(fh)
        t = time.perf_counter()
        verts, undo = clean_vertices(sn, m[0], m[1])
        sn8, info = v8_truth(sn, verts)
        info.update(undo)
        print(key, json.dumps(info), f"{time.perf_counter() - t:.0f} s", flush=True)
        n, timing = run_post(n0, sn, p)
        for name, truth in (("v7", sn), ("v8", sn8)):
            row = {**timing, **score_prediction(n, truth), "member": key, "truth": name, **({"v8": info} if
                                                                                            name == "v8" else {})}
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(name, {k: row[k] for k in ("spine_face_f1", "macro_f1", "spine_head", "spine_neck", "shaft")},
                  flush=True)
        del n0, sn, sn8, n
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

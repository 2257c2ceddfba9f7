"""Candidate cut rows of synthetic family merges, labelled by the true contact (training data of ``split_cut``).

    python classifiers/split_cut/capture.py make /tmp/merge11/tune 0 239          # decompose merges (cached, slim)
    python classifiers/split_cut/capture.py rows /tmp/merge11/tune /tmp/merge11/rows.npz

``make`` builds family merges (``testing.family.make_merge`` with ``benchmarks/eval_split.family_spec``: 2 and 3
cells, dendrite-dendrite and axon-dendrite contacts, clean and fragmented), decomposes each with the default
pipeline without the spine stage (spines feed nothing the splitter reads) and caches a slim Neuron (no mesh) with
the true cell of every input face. Tune seeds are 0-999; held-out seeds (1000-2999) must not be captured for
training. ``rows`` runs the splitter with the hand score on every cached merge and records, for each soma-to-soma
path it cuts, every vertex's candidate row (``proofread.cut_model.FEATURES``) with its distance (µm, along the
path) from the true switch: the split point that agrees with the most path vertices' true cell (the cell of most
faces mapped to the vertex).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def make(out_dir: str, lo: int, hi: int, step: int = 1, offset: int = 0) -> None:
    """Decompose family merges ``lo..hi`` (every ``step``-th from ``lo + offset``) into ``out_dir/famSEED.pkl``."""
    import neurd_lite as nl
    from eval_split import family_spec
    from neurd_lite.params import PipelineParams
    from neurd_lite.testing import family

    os.makedirs(out_dir, exist_ok=True)
    for seed in range(lo + offset, hi + 1, step):
        out = f"{out_dir}/fam{seed}.pkl"
        if os.path.exists(out):
            continue
        members, contact, frag = family_spec(seed)
        t0 = time.process_time()
        sn = family.make_merge(members, contact=contact, seed=seed, target_faces=40000 * len(members), fragment=frag)
        centres = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])
        n = nl.decompose((sn.mesh.vertices, sn.mesh.faces), synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]],
                         name=f"fam{seed}", params=PipelineParams(skip=("spines",)))
        syn = n.synapses[[c for c in ("x_nm", "y_nm", "z_nm", "is_pre", "face") if c in n.synapses.columns]].copy()
        slim = dataclasses.replace(n, mesh=None, face_labels=None, face_compartment=None, face_branch=None,
                                   face_spine=None, spines=None, synapses=syn, cache={})
        pickle.dump({"n": slim, "fc": np.asarray(sn.face_cell), "C": centres, "frag": frag, "contact": contact,
                     "members": members}, open(out + ".tmp", "wb"))
        os.replace(out + ".tmp", out)
        print(seed, f"{time.process_time() - t0:.0f}s cpu, somata {len(n.somas)}/{len(centres)}", flush=True)


def hanging_faces(n, forest, pa: np.ndarray, face_cell: np.ndarray) -> np.ndarray:
    """(m, cells) true faces of each cell on the skeleton hanging off each vertex of path ``pa`` (the forest with
    the path's own edges removed; a tree, so every piece touching the path touches it at one vertex)."""
    from scipy.sparse import coo_matrix, csgraph

    on = {(int(a), int(b)) for a, b in zip(pa[:-1], pa[1:])}
    on |= {(b, a) for a, b in on}
    rows = [(a, b) for a, nb in enumerate(forest.adj) for b in nb if (a, b) not in on]
    nv = len(forest.adj)
    r = np.array([a for a, _ in rows], dtype=np.int64)
    c = np.array([b for _, b in rows], dtype=np.int64)
    _, comp = csgraph.connected_components(coo_matrix((np.ones(len(r)), (r, c)), shape=(nv, nv)), directed=False)
    where = {int(comp[v]): i for i, v in enumerate(pa)}
    f2s = np.asarray(n.face_to_skeleton, np.int64)
    ok = (f2s >= 0) & (face_cell >= 0)
    idx = np.array([where.get(int(x), -1) for x in comp[f2s[ok]]]) if ok.any() else np.zeros(0, int)
    out = np.zeros((len(pa), int(face_cell.max()) + 1))
    keep = idx >= 0
    np.add.at(out, (idx[keep], face_cell[ok][keep]), 1)
    return out


def true_switch(t: np.ndarray, cell_a: int, cell_b: int) -> int:
    """Index k maximising (path vertices <= k of cell A) + (vertices > k of cell B)."""
    agree = np.cumsum(t == cell_a) + np.concatenate([np.cumsum((t == cell_b)[::-1])[::-1][1:], [0]])
    return int(np.argmax(agree))


def paths_of(case: dict, params=None, reverse: bool = False) -> list[dict]:
    """Every soma-to-soma path the splitter scores on one cached merge (hand score), with its candidate rows
    (``reverse``: each path also read from its other end)."""
    import importlib

    from neurd_lite.proofread.cuts import SplitParams, path_scores
    from neurd_lite.testing.merge import skeleton_vertex_cell

    S = importlib.import_module("neurd_lite.proofread.split")  # the module (the package exports a function split)

    n, fc, centres = case["n"], np.asarray(case["fc"]), np.asarray(case["C"])
    if len(n.somas) < 2:
        return []
    p = params or SplitParams(cut_model=None)
    got: list[dict] = []
    orig = S._choose_cut

    def spy(n_, pa, sc, forest, arrays, somas, p_):
        rows = S.path_candidate_rows(n_, pa, sc, forest, arrays, somas, p_)
        hang = hanging_faces(n_, forest, np.asarray(pa), fc)
        got.append({"pa": np.asarray(pa), "sc": sc, "X": rows, "somas": [somas[0].center_nm, somas[1].center_nm],
                    "hang": hang})
        if reverse:  # the same path read from the other soma: a second query (the path order is arbitrary)
            rv = np.asarray(pa)[::-1]
            radius, branch_r, is_axon, junction, pre, post = arrays
            sc_r = path_scores(n_.skeleton.vertices[rv], radius[rv], is_axon[rv], junction[rv],
                               (somas[1].center_nm, somas[1].radius_nm), (somas[0].center_nm, somas[0].radius_nm),
                               p_, branch_radius=branch_r[rv], synapses=(pre[rv], post[rv]))
            got.append({"pa": rv, "sc": sc_r, "X": S.path_candidate_rows(n_, rv, sc_r, forest, arrays,
                                                                          somas[::-1], p_),
                        "somas": [somas[1].center_nm, somas[0].center_nm], "hang": hang[::-1]})
        return orig(n_, pa, sc, forest, arrays, somas, p_)

    S._choose_cut = spy
    try:
        S.find_cuts(n, p)
    finally:
        S._choose_cut = orig
    vt = skeleton_vertex_cell(n, fc)
    out = []
    for g in got:
        ca, cb = (int(np.argmin(np.linalg.norm(centres - c, axis=1))) for c in g["somas"])
        t = vt[g["pa"]]
        k = true_switch(t, ca, cb)
        s = np.asarray(g["sc"]["s_nm"])
        h = g["hang"]  # (m, cells) true faces hanging off each path vertex
        ca_, cb_ = (h[:, c] if c < h.shape[1] else np.zeros(len(h)) for c in (ca, cb))
        with np.errstate(invalid="ignore", divide="ignore"):
            bal = 0.5 * (np.cumsum(ca_) / max(ca_.sum(), 1) + (cb_.sum() - np.cumsum(cb_)) / max(cb_.sum(), 1))
        out.append({"face_loss": bal.max() - bal, "X": g["X"], "dist_um": np.abs(s - 0.5 * (s[k] + s[min(k + 1, len(s) - 1)])) / 1e3,
                    "cand": np.asarray(g["sc"]["prior"]) > 0, "hand": np.asarray(g["sc"]["score"]),
                    "polarity_ok": np.asarray(g["sc"]["polarity_ok"], bool),
                    "decisive": bool(g["sc"]["polarity"].get("decisive", False)), "cells": (ca, cb),
                    "reversed": len(out) % 2 == 1 if reverse else False})
    return out


def rows(case_dir: str, out: str) -> None:
    """Candidate rows of every cached merge in ``case_dir`` into one ``.npz`` (X, dist_um, path id, merge seed)."""
    X, dist, pid, seed, cand, hand, pol, dec, rev, loss = [], [], [], [], [], [], [], [], [], []
    k = 0
    for f in sorted(glob.glob(f"{case_dir}/fam*.pkl"), key=lambda f: int(Path(f).stem[3:])):
        sd = int(Path(f).stem[3:])
        assert sd < 1000, f"held-out seed {sd} must not be captured for training"
        for g in paths_of(pickle.load(open(f, "rb")), reverse=True):
            m = len(g["X"])
            X.append(g["X"])
            dist.append(g["dist_um"])
            cand.append(g["cand"])
            hand.append(g["hand"])
            pol.append(g["polarity_ok"])
            dec.append(np.full(m, g["decisive"]))
            rev.append(np.full(m, g["reversed"]))
            loss.append(g["face_loss"])
            pid.append(np.full(m, k))
            seed.append(np.full(m, sd))
            k += 1
    np.savez_compressed(out, X=np.concatenate(X), dist_um=np.concatenate(dist), path=np.concatenate(pid),
                        seed=np.concatenate(seed), cand=np.concatenate(cand), hand=np.concatenate(hand),
                        polarity_ok=np.concatenate(pol), decisive=np.concatenate(dec), reversed=np.concatenate(rev),
                        face_loss=np.concatenate(loss))
    print(out, k, "paths", sum(len(x) for x in X), "rows")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *(int(a) for a in sys.argv[5:7]))
    else:
        rows(sys.argv[2], sys.argv[3])

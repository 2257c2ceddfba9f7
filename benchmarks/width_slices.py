"""Widths against plane sections of the mesh itself (docs/width_diagnosis.md, session 20 round 2).

For a decomposed neuron (an ``.h5`` written by ``neurd_lite.neuron.save``) and a vertex group (``axon``,
``dendrite_all``, ...): at up to 600 plain cable vertices of the group (two neighbours, seed 0), the mesh is cut
by the plane across the skeleton tangent; the cut segments within 1.5 µm of the vertex give the section
perimeter (its perimeter / pi, a diameter), its centroid (the skeleton vertex's offset from it) and the
polygon's 2 x median radius about that centroid. Printed beside the engine's corner width at the same vertices
and the group's area / (pi x cable). Faces: those of the vertex and its neighbours two steps along the tree.

Usage: ``python benchmarks/width_slices.py NEURON.h5 [GROUP]``
"""
from __future__ import annotations

import sys

import numpy as np

from neurd_lite.feature.context import FeatureContext
from neurd_lite.geometry.width import skeleton_tangents
from neurd_lite.geometry.width_slice import slice_segments_nm
from neurd_lite.neuron import load


def main(path: str, group: str = "axon", reach: float = 1500.0) -> None:
    n = load(path)
    ctx, sk = FeatureContext(n), n.skeleton
    v, f = np.asarray(n.mesh.vertices, dtype=np.float64), np.asarray(n.mesh.faces)
    f2s = np.asarray(n.face_to_skeleton)
    mask = ctx.vertex_mask(group)
    cable = np.asarray(sk.csgraph.sum(axis=1)).ravel() / 2.0
    tang, par = skeleton_tangents(sk), sk.parent
    degree = np.bincount(np.r_[par[par >= 0], np.flatnonzero(par >= 0)], minlength=sk.n_vertices)
    cand = np.flatnonzero(mask & (cable > 0) & (degree == 2))
    cand = np.random.default_rng(0).choice(cand, min(600, len(cand)), replace=False)
    order = np.argsort(f2s, kind="stable")
    start = np.searchsorted(f2s[order], np.arange(sk.n_vertices + 1))
    adj = sk.csgraph.astype(bool)
    near2 = (adj + adj @ adj).tocsr()
    width = np.asarray(ctx.vertex_width_nm)
    rows = []
    for i in cand:
        vs = np.r_[i, near2.indices[near2.indptr[i]:near2.indptr[i + 1]]]
        fi = np.concatenate([order[start[u]:start[u + 1]] for u in np.unique(vs)])
        seg = slice_segments_nm(v, f[fi], sk.vertices[i], tang[i], reach)
        if not len(seg):
            continue
        per, pts = np.linalg.norm(seg[:, 0] - seg[:, 1], axis=1).sum(), seg.reshape(-1, 3)
        c = pts.mean(axis=0)
        rows.append((per / np.pi, np.linalg.norm(c - sk.vertices[i]), 2 * np.median(np.linalg.norm(pts - c, axis=1)),
                     width[i]))
    r = np.array(rows)
    tri = v[f]
    fa = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    area = np.bincount(f2s[f2s >= 0], weights=fa[f2s >= 0], minlength=sk.n_vertices)
    print(f"{path} {group}: {len(r)} sections (µm; median / mean)")
    print(f"  section perimeter / pi      {np.median(r[:, 0]) / 1e3:.3f} / {r[:, 0].mean() / 1e3:.3f}")
    print(f"  section 2 x median radius   {np.median(r[:, 2]) / 1e3:.3f}  (about the section centroid)")
    print(f"  skeleton vertex offset      {np.median(r[:, 1]) / 1e3:.3f}  (from the section centroid)")
    print(f"  corner width (engine)       {np.median(r[:, 3]) / 1e3:.3f} / {r[:, 3].mean() / 1e3:.3f}")
    print(f"  group area / (pi x cable)   {area[mask].sum() / np.pi / cable[mask].sum() / 1e3:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])

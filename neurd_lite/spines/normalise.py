"""Resolution normalisation of the spine stage's mesh (``SpineParams.normalise_edge_nm``; nm inside).

The spine detector's per-vertex inputs (protrusion at vertices, growth over mesh edges, the shaft radius's
vertex-area weights) and the vertex model's features read the tessellation: on the real cell the 81k input has
most edges longer than 350 nm, the 324k one (the same surface subdivided) half that, and a 1.3M input is decimated
to a ~250k working mesh with its own edge lengths. Before detection this module splits every edge longer than
``max_edge_nm`` at its midpoint, recursively, with a conforming (red-green) refinement: a face with one split edge
becomes two triangles, with two three, with three the four of midpoint subdivision, so no T-junction (and no
false open edge) appears. The original vertices keep their indices (new midpoints are appended) and every new
face knows its parent face, so the spine result lifts back to the working faces:

- :func:`refine_to_edge`: (vertices, faces, parent) of the refined mesh;
- :func:`normalised_view`: a Neuron on the refined mesh carrying the per-face arrays and soma faces of ``n``;
- :func:`lift_face_spine`: refined faces' spine ids voted back onto their parent faces;
- :func:`lift_spines`: the view's face spine ids and head / neck labels back on ``n``'s faces (each working face
  takes the spine that covers the largest part of its area among its children, when that part is at least half
  of the face; a spine that wins no face takes the free face it covers most, else it is dropped), ``n.spines`` renumbered, and the shaft field cut to
  ``n``'s vertices (they are the view's first vertices).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import trimesh

from ..geometry.meshes import row_norms
from ..geometry.stats import stable_int_order
from ..neuron import SPINE_LABELS, Neuron, is_label

MAX_ROUNDS = 12  # each round halves the longest edges; 12 rounds reach 1/4096 of them
# Lengths within geometry.ties.TIE_REL count as equal: midpoint splitting makes lengths equal in exact
# arithmetic (the halves of an edge of exactly 2 x max_edge_nm; the two diagonals of a symmetric quadrilateral,
# which meshes of regular rings hold by the thousand), and a '>' or '<=' between them was decided by float rounding:
# a last-bit change of the input re-triangulated thousands of faces (docs/benchmarks.md, "Session 24").


def _split_round(v: np.ndarray, f: np.ndarray, max_edge_nm: float, may_split: np.ndarray | None = None,
                 tie_rel: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """One round of conforming midpoint splits of the edges longer than ``max_edge_nm`` (with ``may_split``
    (F,) bool: only the long edges of those faces; a face sharing such an edge is split too): (vertices, faces,
    index of each new face's face in ``f``, number of leading faces kept whole); None when no edge is split."""
    e = np.stack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=1).reshape(-1, 2)  # edge j of face i: (j, j+1)
    vf = v[f]  # corners gathered once: v[e[:, 0]] - v[e[:, 1]] is corner j minus corner j + 1
    # np.linalg.norm(axis=1)'s values; an edge within TIE_REL of the limit is not long
    long_ = row_norms((vf - vf[:, [1, 2, 0]]).reshape(-1, 3)) > max_edge_nm * (1.0 + tie_rel)
    del vf
    at = np.flatnonzero(long_)
    if not len(at):
        return None
    key = np.minimum(e[at, 0], e[at, 1]) * len(v) + np.maximum(e[at, 0], e[at, 1])
    uniq, inv = np.unique(key, return_inverse=True)  # each long edge once (shared by two faces)
    inv = inv.reshape(-1)
    if may_split is not None:  # only a long edge of a splittable face, from either side
        ok = np.zeros(len(uniq), dtype=bool)
        ok[inv[may_split[at // 3]]] = True
        sel = ok[inv]
        if not sel.any():
            return None
        long_[at[~sel]] = False
        uniq, inv = uniq[ok], (np.cumsum(ok) - 1)[inv[sel]]
    mid = np.full(len(e), -1, dtype=np.int64)
    mid[long_] = len(v) + inv.reshape(-1)
    ua, ub = uniq // len(v), uniq % len(v)
    v2 = np.vstack([v, 0.5 * (v[ua] + v[ub])])
    mid = mid.reshape(-1, 3)  # (F, 3) midpoint of edge j of each face, -1 when kept
    s = mid >= 0
    ns = s.sum(1)
    keep = ns == 0
    split = np.flatnonzero(~keep)  # the faces that split; a..m20 and i1..i3 below index into them
    s, ns = s[split], ns[split]
    # rotate each face so that the split edges start at edge 0: one split -> edge 0; two -> edges 0 and 1
    rot = np.zeros(len(split), dtype=np.int64)
    one, two = ns == 1, ns == 2
    rot[one] = np.argmax(s[one], axis=1)
    rot[two] = (np.argmin(s[two], axis=1) + 1) % 3  # the kept edge becomes edge 2
    cols = (rot[:, None] + np.arange(3)) % 3
    rows = split[:, None]
    a, b, c = (f[rows, cols][:, k] for k in range(3))
    m01, m12, m20 = (mid[rows, cols][:, k] for k in range(3))
    out = [f[keep]]
    parent = [np.flatnonzero(keep)]
    i1 = np.flatnonzero(one)
    out += [np.column_stack([a[i1], m01[i1], c[i1]]), np.column_stack([m01[i1], b[i1], c[i1]])]
    parent += [split[i1], split[i1]]
    i2 = np.flatnonzero(two)
    out.append(np.column_stack([m01[i2], b[i2], m12[i2]]))
    parent.append(split[i2])
    # the shorter diagonal; equal ones (within TIE_REL) take the one from corner a, decided by topology alone
    diag_a = row_norms(v2[a[i2]] - v2[m12[i2]]) <= row_norms(v2[m01[i2]] - v2[c[i2]]) * (1.0 + tie_rel)
    q1 = np.where(diag_a[:, None], np.column_stack([a[i2], m01[i2], m12[i2]]),
                  np.column_stack([a[i2], m01[i2], c[i2]]))
    q2 = np.where(diag_a[:, None], np.column_stack([a[i2], m12[i2], c[i2]]),
                  np.column_stack([m01[i2], m12[i2], c[i2]]))
    out += [q1, q2]
    parent += [split[i2], split[i2]]
    i3 = np.flatnonzero(ns == 3)
    out += [np.column_stack([a[i3], m01[i3], m20[i3]]), np.column_stack([m01[i3], b[i3], m12[i3]]),
            np.column_stack([m20[i3], m12[i3], c[i3]]), np.column_stack([m01[i3], m12[i3], m20[i3]])]
    parent += [split[i3]] * 4
    return v2, np.vstack(out).astype(np.int64), np.concatenate(parent).astype(np.int64), int(keep.sum())


def refine_to_edge(vertices_nm: np.ndarray, faces: np.ndarray, max_edge_nm: float,
                   split_faces: np.ndarray | None = None, tie_rel: float = 0.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices, faces, parent): every edge longer than ``max_edge_nm`` (nm) split at its midpoint, recursively
    (at most :data:`MAX_ROUNDS` rounds), conforming. The first ``len(vertices_nm)`` vertices are the input's;
    ``parent[i]`` is the input face that new face ``i`` lies in (children keep their parent's orientation).
    ``split_faces`` ((F,) bool, optional): refine only these faces' long edges (the faces across them are split
    only as far as conformity needs; their other edges stay). ``tie_rel``: lengths this close (relative) are
    equal (0: decided by float rounding, the behaviour before session 24)."""
    v = np.asarray(vertices_nm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    parent = np.arange(len(f), dtype=np.int64)
    done_f, done_p = [], []  # faces with no long edge: never split again (vertices do not move), set aside
    for _ in range(MAX_ROUNDS):
        step = _split_round(v, f, float(max_edge_nm), None if split_faces is None else split_faces[parent], tie_rel)
        if step is None:
            break
        v, f, par, n_keep = step
        parent = parent[par]
        done_f.append(f[:n_keep])  # a round puts its whole faces first, in order: the same sequence as
        done_p.append(parent[:n_keep])  # carrying them through the later rounds
        f, parent = f[n_keep:], parent[n_keep:]
    f, parent = np.concatenate(done_f + [f]), np.concatenate(done_p + [parent])
    order = stable_int_order(parent)  # children grouped by parent, in parent order
    return v, f[order], parent[order]


def view_faces(faces: np.ndarray, parent: np.ndarray, searched: np.ndarray, n_vertices: int) -> np.ndarray:
    """(F'',) bool: the refined faces a normalised view keeps, those whose parent is ``searched`` ((F,) bool) and
    the faces touching them (a ring that keeps the searched region's border vertices ineligible); all faces when
    none is searched (an axon- or soma-only mesh: the detector then finds nothing on the whole mesh)."""
    child_ok = np.asarray(searched, dtype=bool)[parent]
    if not child_ok.any():
        return np.ones(len(faces), dtype=bool)
    touch = np.zeros(n_vertices, dtype=bool)
    touch[faces[child_ok]] = True
    return child_ok | touch[faces].any(1)


def normalised_view(n: Neuron, max_edge_nm: float, split_faces: np.ndarray | None = None, tie_rel: float = 0.0
                    ) -> tuple[Neuron, np.ndarray]:
    """A Neuron on ``n.mesh`` refined to ``max_edge_nm`` (:func:`refine_to_edge`) with ``n``'s per-face arrays,
    soma faces, skeleton, synapses and cache, and the (F'',) parent face of each of its faces. With
    ``split_faces`` ((F,) bool: the faces the detector searches) only those are refined, and the view holds only
    them and the faces touching them (that ring keeps the searched region's border vertices ineligible); every
    vertex of ``n`` stays, at its index, so the shaft field still covers all of them."""
    v, f, parent = refine_to_edge(np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces), max_edge_nm, split_faces,
                                  tie_rel)
    if split_faces is not None:
        keep = view_faces(f, parent, split_faces, len(v))
        f, parent = f[keep], parent[keep]

    def children(ids: np.ndarray | None) -> np.ndarray | None:
        if ids is None:
            return None
        ids = np.asarray(ids, dtype=np.int64)
        mask = np.zeros(n.n_faces, dtype=bool)
        mask[ids[(ids >= 0) & (ids < n.n_faces)]] = True
        return np.flatnonzero(mask[parent])

    somas = [dataclasses.replace(s, faces=children(s.faces), membrane_faces=children(s.membrane_faces), exits=[])
             for s in n.somas]
    mesh = trimesh.Trimesh(v, f, process=False)
    w = Neuron(name=n.name, mesh=mesh, skeleton=n.skeleton, somas=somas, graph=n.graph,
               face_labels=np.asarray(n.face_labels)[parent], face_compartment=np.asarray(n.face_compartment)[parent],
               face_branch=np.asarray(n.face_branch)[parent], face_to_skeleton=np.asarray(n.face_to_skeleton)[parent],
               face_spine=np.asarray(n.face_spine)[parent], skeleton_labels=n.skeleton_labels, synapses=n.synapses,
               spines=n.spines, flags=n.flags, provenance=n.provenance)
    w.cache.update(n.cache)
    return w, parent


def _area_vote(parent: np.ndarray, value: np.ndarray, area: np.ndarray, n_parent: int) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Per parent face: the value (int >= -1) covering the largest area of its children, and that area's share."""
    df = pd.DataFrame({"p": parent, "v": value, "a": area}).groupby(["p", "v"], sort=False)["a"].sum().reset_index()
    df = df.sort_values(["p", "a"], ascending=[True, False], kind="stable").drop_duplicates("p")
    tot = np.bincount(parent, area, n_parent)
    best = np.full(n_parent, -1, dtype=np.int64)
    share = np.zeros(n_parent)
    best[df.p.to_numpy()] = df.v.to_numpy()
    share[df.p.to_numpy()] = df.a.to_numpy() / np.maximum(tot[df.p.to_numpy()], 1e-12)
    return best, share


def _keep_small(parent: np.ndarray, child_spine: np.ndarray, area: np.ndarray, face_spine: np.ndarray
                ) -> np.ndarray:
    """A spine that wins no parent face by the area vote (smaller than half of every face it touches) takes the
    free parent face it covers the largest share of, so a spine found on the refined mesh is not lost."""
    on = child_spine >= 0
    lost = np.setdiff1d(np.unique(child_spine[on]), face_spine[face_spine >= 0])
    if not len(lost):
        return face_spine
    tot = np.bincount(parent, area, len(face_spine))
    sel = on & np.isin(child_spine, lost)
    df = pd.DataFrame({"p": parent[sel], "s": child_spine[sel], "a": area[sel]}).groupby(["s", "p"])["a"].sum()
    df = df.reset_index()
    df["share"] = df.a / np.maximum(tot[df.p.to_numpy()], 1e-12)
    df = df[face_spine[df.p.to_numpy()] < 0].sort_values(["share", "s"], ascending=[False, True], kind="stable")
    df = df.drop_duplicates("s").drop_duplicates("p")  # one face per spine, one spine per face
    out = face_spine.copy()
    out[df.p.to_numpy()] = df.s.to_numpy()
    return out


def lift_face_spine(parent: np.ndarray, child_spine: np.ndarray, area: np.ndarray, n_parent: int) -> np.ndarray:
    """(n_parent,) spine id per parent face from the refined faces' ids ``child_spine`` (-1 none) and areas
    (nm²): the area vote (at least half of the face) and :func:`_keep_small`; ids are not renumbered."""
    spine, share = _area_vote(parent, child_spine, area, n_parent)
    return _keep_small(parent, child_spine, area, np.where(share >= 0.5, spine, -1))


def lift_spines(n: Neuron, w: Neuron, parent: np.ndarray, fld):
    """Put the spine result of the refined view ``w`` on ``n`` (see the module doc) and return the shaft field
    cut to ``n``'s vertices."""
    nf, nv = n.n_faces, len(n.mesh.vertices)
    area = np.asarray(w.mesh.area_faces)
    face_spine = lift_face_spine(parent, np.asarray(w.face_spine, dtype=np.int64), area, nf)
    on_w = np.asarray(w.face_spine) >= 0
    head_w = is_label(w.face_labels, ("spine_head",))
    head_area = np.bincount(parent[on_w], area[on_w] * head_w[on_w], nf)
    spine_area = np.bincount(parent[on_w], area[on_w], nf)
    kept = np.unique(face_spine[face_spine >= 0])
    new_id = np.full(len(w.spines) if len(w.spines) else 1, -1, dtype=np.int64)
    new_id[kept] = np.arange(len(kept))
    face_spine = np.where(face_spine >= 0, new_id[np.maximum(face_spine, 0)], -1)
    labels = np.asarray(n.face_labels).copy()
    old = is_label(labels, SPINE_LABELS)
    labels[old] = np.asarray(n.face_compartment)[old]
    sp_f = face_spine >= 0
    labels[sp_f] = np.where(head_area[sp_f] >= 0.5 * spine_area[sp_f], "spine_head", "spine_neck")
    n.face_labels, n.face_spine = labels, face_spine
    spines = w.spines.iloc[kept].copy() if len(w.spines) else w.spines.copy()
    if len(spines):
        spines["spine_id"] = np.arange(len(spines))
        spines["n_faces"] = np.bincount(face_spine[sp_f], minlength=len(spines))
    n.spines = spines.reset_index(drop=True)
    n.provenance = w.provenance
    n.provenance["spines"] = {**n.provenance.get("spines", {}), "n_spines": len(spines)}
    n.provenance.setdefault("spines_notes", {}).update({"normalised_faces": len(parent),
                                                         "spines_lost_in_lift": int(len(w.spines) - len(kept))})
    per_v = {k: (getattr(fld, k)[:nv] if getattr(fld, k) is not None else None)
             for k in ("distance_nm", "radius_nm", "sample_vertex", "sample_index", "beyond_end", "spread_nm")}
    return dataclasses.replace(fld, **per_v, vertex_normals=None)  # the refined mesh's normals: not n's

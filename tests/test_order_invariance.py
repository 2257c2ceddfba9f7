"""Decomposition does not depend on the order the input lists its vertices and faces in."""
from __future__ import annotations

import numpy as np
import pytest

import neurd_lite as nl
from neurd_lite.geometry.meshes import canonical_order
from neurd_lite.mesh.params import HealParams
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.spines.shaft import canonical_skeleton
from neurd_lite.testing import family


def _permuted(v: np.ndarray, f: np.ndarray, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices and faces of the same surface listed in another order, and each input face's new position."""
    rng = np.random.default_rng(seed)
    pf, pv = rng.permutation(len(f)), rng.permutation(len(v))
    inv = np.empty_like(pv)
    inv[pv] = np.arange(len(pv))
    pos = np.empty_like(pf)
    pos[pf] = np.arange(len(pf))
    return v[pv], inv[f][pf], pos


def test_canonical_order_and_skeleton_forget_listing_order():
    rng = np.random.default_rng(0)
    v = rng.random((50, 3)) * 1000.0
    f = np.argsort(rng.random((80, 50)), axis=1)[:, :3]  # three distinct corners per face
    pv, pf, _ = _permuted(v, f)
    pf = np.roll(pf, 1, axis=1)  # corners rotated too: same winding
    (a_v, a_f), (b_v, b_f) = canonical_order(v, f), canonical_order(pv, pf)
    assert np.array_equal(a_v, b_v) and np.array_equal(a_f, b_f)
    edges = np.column_stack([np.arange(1, 50), rng.integers(0, np.arange(1, 50))])
    order = rng.permutation(50)
    rank = np.empty(50, dtype=np.int64)
    rank[order] = np.arange(50)
    a, ia = canonical_skeleton(Skeleton(v, edges, root=0))
    b, ib = canonical_skeleton(Skeleton(v[order], rank[edges][:, ::-1], root=int(rank[0])))
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.edges, b.edges) and a.root == b.root
    assert np.array_equal(v[ia], a.vertices) and np.array_equal(v[order][ib], b.vertices)


def _decomposes_the_same(params=None) -> tuple:
    """Decompose a spiny basket member (~30k faces) as given and with vertices and faces permuted; assert the same
    spine count, compartment per face, spine faces, and every feature column equal to 1e-4 relative (NaN where
    the other is NaN; summation order leaves ~4e-6 in spine volume sums). Returns both neurons."""
    sn = family.make_member("basket", 11, target_faces=30_000)
    v, f = np.asarray(sn.mesh.vertices), np.asarray(sn.mesh.faces)
    syn = sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]]
    pv, pf, pos = _permuted(v, f)
    a = nl.decompose((v, f), synapses=syn, name="given", params=params)
    b = nl.decompose((pv, pf), synapses=syn, name="permuted", params=params)
    assert len(a.spines) == len(b.spines) > 0
    assert np.array_equal(np.asarray(a.face_compartment), np.asarray(b.face_compartment)[pos])
    assert np.array_equal(np.asarray(a.face_spine) >= 0, (np.asarray(b.face_spine) >= 0)[pos])
    fa, fb = nl.features(a).iloc[0], nl.features(b).iloc[0]
    cols = [k for k in fa.index if np.issubdtype(type(fa[k]), np.number)]
    assert len(cols) > 150
    x, y = fa[cols].to_numpy(float), fb[cols].to_numpy(float)
    same = np.isclose(x, y, rtol=1e-4, atol=1e-12) | (np.isnan(x) & np.isnan(y))
    off = [k for k, s in zip(cols, same) if not s]
    assert not off, off
    return a, b


def test_family_member_decomposes_the_same_in_any_order():
    _decomposes_the_same()


@pytest.mark.slow
def test_inscribed_axis_does_not_depend_on_listing_order():
    """With the inscribed axis on (it moves 2951 of this member's 3010 skeleton vertices), its samples and sections
    are chosen along the tree, not by array position: the same moved skeleton (bit for bit, session 17 round 2)
    and decomposition in any order (session 17 round 1: 87 vs 86 spines). Without ``vertex_ties_by_coordinates``
    one spine face of 4813, between two touching spines, still flips (``vertex_model.relabel``'s tie, which the
    default skeleton does not meet here)."""
    params = nl.PipelineParams.from_dict({"spines": {"inscribed_axis_fraction": 0.3,
                                                     "vertex_ties_by_coordinates": True}})
    a, b = _decomposes_the_same(params)
    notes = a.provenance["spines_notes"], b.provenance["spines_notes"]
    assert notes[0]["inscribed_axis_moved"] == notes[1]["inscribed_axis_moved"] > 0
    assert notes[0]["off_shaft_share"] == notes[1]["off_shaft_share"]


@pytest.mark.slow
def test_untraced_branches_do_not_depend_on_listing_order():
    """With untraced terminal branches (``SkeletonParams.untraced_reach_nm=5000``) one vertex of the normalised
    view lay at exactly the same edge distance from two rule spines; the vertex model's nearest-spine columns took
    the one Dijkstra visited first (listing order) and the rim spread the difference to 6 faces (session 26).
    ``_spine_distance`` breaks that tie by coordinates (session 27)."""
    _decomposes_the_same(nl.PipelineParams.from_dict({"skeleton": {"untraced_reach_nm": 5000.0}}))


@pytest.mark.realdata
@pytest.mark.xfail(strict=True, reason="session 27: the real cell's default decomposition depends on listing order "
                   "(heal link edges: 52 of 103 differ; skeleton 75 of 2707 vertices move; 636 vs 637 spines); "
                   "session 28: canonical_order failed its held-out rule, still opt-in")
def test_real_cell_heals_the_same_in_any_order(microns_cell_paths):
    """The heal stage's link edges of the real 80k cell, as given and permuted, at the default. Seen in session
    27: half of them differ (piece ids, seed order and equal gaps are decided by vertex index), and the skeleton
    and spines follow. ``HealParams.canonical_order`` mends it (next test) but failed its session-28 rule."""
    links = _real_cell_links(microns_cell_paths, None)
    assert links[0] == links[1]


@pytest.mark.realdata
def test_canonical_heal_does_not_depend_on_listing_order(microns_cell_paths):
    links = _real_cell_links(microns_cell_paths, HealParams(canonical_order=True))
    assert links[0] == links[1] and len(links[0]) > 50


def _real_cell_links(paths: dict, params) -> list[set]:
    """Heal link edges of the real 80k cell as given and permuted, each as a pair of coordinate triples."""
    import trimesh

    from neurd_lite.mesh.heal import heal_mesh

    m = trimesh.load(paths["mesh"], process=False)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    pv, pf, _ = _permuted(v, f)
    return [{tuple(sorted(map(tuple, x[e]))) for e in heal_mesh(x, y, params).link_edges}
            for x, y in ((v, f), (pv, pf))]


def test_canonical_heal_bridges_the_shortest_of_equal_gaps():
    """Under ``canonical_order`` every pair of a cylinder's end ring and a sphere's pole reads effective gap 0 (the
    slack); the link is the shortest raw one (400 nm), as in the input's own order, and the same in any order."""
    from test_heal import _pieces

    from neurd_lite.mesh.heal import heal_mesh

    v, f, _ = _pieces(gap_nm=400.0, far_nm=40000.0)
    pv, pf, _ = _permuted(v, f)
    out = []
    for x, y in ((v, f), (pv, pf)):
        r = heal_mesh(x, y, HealParams(canonical_order=True))
        assert 390.0 <= r.report.max_bridge_nm <= 450.0 and r.report.n_bridged == 1
        out.append({tuple(sorted(map(tuple, x[e]))) for e in r.link_edges})
    assert out[0] == out[1]


@pytest.mark.slow
@pytest.mark.realdata
def test_soma_membrane_sample_by_coordinates_does_not_depend_on_listing_order(microns_cell_paths):
    """Soma 0 of the real 80k cell (35,918 faces) is over ``max_ray_faces``: with the sample drawn by coordinates
    its membrane faces are the same in both listing orders (95 of 2216 differed by index, session 28)."""
    import trimesh

    from neurd_lite import pipeline as pl
    from neurd_lite.io.meshes import load_mesh

    m = trimesh.load(microns_cell_paths["mesh"], process=False)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    pv, pf, pos = _permuted(v, f)
    p = nl.PipelineParams.from_dict({"heal": {"canonical_order": True}, "soma": {"ray_sample_by_coordinates": True}})
    got = []
    for x, y in ((v, f), (pv, pf)):
        n = nl.Neuron(name="x", mesh=load_mesh(trimesh.Trimesh(x, y, process=False)))
        pl.run_state(n)
        for s in ("decimate", "heal", "soma"):
            try:
                dict(pl.MESH_STAGES)[s](n, p)
            except pl._Skip:
                pass
        got.append(n)
    ipos = np.argsort(pos)
    assert len(got[0].somas) == len(got[1].somas) == 2 and len(got[0].somas[0].faces) > 30_000
    for a, b in zip(got[0].somas, got[1].somas):
        assert np.array_equal(np.sort(a.membrane_faces), np.sort(ipos[np.asarray(b.membrane_faces)]))

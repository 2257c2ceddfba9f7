"""Branch graph from skeletons: segments, limbs, bristle pruning, two-soma merges."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.neuron import Soma
from neurd_lite.skeleton.graph import GraphParams, build_branch_graph, face_branch
from neurd_lite.skeleton.model import Skeleton


def _polyline(start: np.ndarray, stop: np.ndarray, n: int) -> np.ndarray:
    return np.linspace(start, stop, n + 1)[1:]


def _tree(paths: list[tuple[int, np.ndarray]], root: np.ndarray) -> Skeleton:
    """Skeleton from (attach vertex, points) paths; vertex 0 is ``root``."""
    verts = [np.asarray(root, float).reshape(1, 3)]
    edges = []
    count = 1
    for attach, pts in paths:
        idx = np.arange(count, count + len(pts))
        edges += [(attach, idx[0])] + list(zip(idx[:-1], idx[1:]))
        verts.append(pts)
        count += len(pts)
    return Skeleton(np.vstack(verts), np.asarray(edges), radius=np.full(count, 200.0), root=0)


def _y_skeleton(twig: bool = False) -> Skeleton:
    o = np.zeros(3)
    trunk = _polyline(o, np.array([0, 20000.0, 0]), 20)            # vertices 1..20, branch point = 20
    left = _polyline(trunk[-1], np.array([-10000.0, 30000.0, 0]), 10)
    right = _polyline(trunk[-1], np.array([10000.0, 30000.0, 0]), 10)
    paths = [(0, trunk), (20, left), (20, right)]
    if twig:  # a 600 nm bristle off the middle of the trunk
        paths.append((10, _polyline(trunk[9], trunk[9] + [600.0, 0, 0], 3)))
    return _tree(paths, o)


def _branches(g):
    return {v: d for v, d in g.nodes(data=True) if d["kind"] == "branch"}


def test_y_gives_three_branches_one_limb():
    sk = _y_skeleton()
    g, vb = build_branch_graph(sk, [Soma([0, 0, 0], 1000.0)], [[0]])
    br = _branches(g)
    assert len(br) == 3 and {d["limb"] for d in br.values()} == {0}
    assert list(g.successors("soma_0")) == [0]
    assert sorted(g.successors(0)) == [1, 2]
    assert br[0]["length_nm"] == pytest.approx(20000.0)
    assert sum(d["length_nm"] for d in br.values()) == pytest.approx(sk.cable_length_nm)
    assert br[0]["skeleton_vertices"][0] == 0 and br[0]["skeleton_vertices"][-1] == 20  # proximal -> distal
    assert vb[0] == -1 and (vb[1:] >= 0).all()
    assert br[1]["radius_nm"] == pytest.approx(200.0)


def test_short_bristle_is_pruned_and_absorbed():
    sk = _y_skeleton(twig=True)
    g, vb = build_branch_graph(sk, [Soma([0, 0, 0], 1000.0)], [[0]], params=GraphParams(prune_terminal_nm=3000.0))
    assert len(_branches(g)) == 3
    assert (vb[-3:] == vb[10]).all()  # twig vertices belong to the trunk branch
    g2, _ = build_branch_graph(sk, [Soma([0, 0, 0], 1000.0)], [[0]], params=GraphParams(prune_terminal_nm=100.0))
    assert len(_branches(g2)) == 5  # trunk split in two by the twig, plus the twig


def test_short_tip_fork_keeps_longest_child():
    o = np.zeros(3)
    trunk = _polyline(o, np.array([0, 20000.0, 0]), 20)
    sk = _tree([(0, trunk), (20, _polyline(trunk[-1], trunk[-1] + [1000.0, 0, 0], 2)),
                (20, _polyline(trunk[-1], trunk[-1] + [0, 1500.0, 0], 3))], o)
    g, vb = build_branch_graph(sk, [Soma(o, 1000.0)], [[0]])
    br = _branches(g)
    assert len(br) == 1
    assert br[0]["length_nm"] == pytest.approx(21500.0)
    assert (vb[1:] == 0).all()


def test_two_somas_merge_edge_and_limbs():
    o = np.zeros(3)
    s1 = np.array([40000.0, 0, 0])
    bridge = _polyline(o, s1, 40)                                  # vertices 1..40, 40 = second soma
    limb_a = _polyline(o, np.array([0, -15000.0, 0]), 15)
    limb_b = _polyline(s1, s1 + [0, 15000.0, 0], 15)
    limb_c = _polyline(s1, s1 + [15000.0, 0, 0], 15)
    sk = _tree([(0, bridge), (0, limb_a), (40, limb_b), (40, limb_c)], o)
    somas = [Soma(o, 1000.0), Soma(s1, 1000.0)]
    g, vb = build_branch_graph(sk, somas, [[0], [40]])
    br = _branches(g)
    assert len(br) == 4
    merges = [(u, v) for u, v, d in g.edges(data=True) if d.get("kind") == "soma_merge"]
    assert len(merges) == 1 and merges[0][1] == "soma_1"
    assert len(list(g.successors("soma_0"))) == 2 and len(list(g.successors("soma_1"))) == 2
    assert len({d["limb"] for d in br.values()}) == 4
    assert vb[40] == -1 and vb[0] == -1


def test_no_soma_limbs_leave_root():
    sk = _y_skeleton()
    sk2 = Skeleton(sk.vertices, sk.edges, sk.radius, root=20)  # root at the branch point
    g, vb = build_branch_graph(sk2, [])
    br = _branches(g)
    assert len(br) == 3 and len({d["limb"] for d in br.values()}) == 3
    assert all(g.in_degree(b) == 0 for b in br)
    assert (vb >= 0).all()


def test_soma_region_of_several_vertices_and_face_counts():
    o = np.zeros(3)
    ring = _polyline(o, np.array([2000.0, 0, 0]), 2)               # 1, 2: soma body vertices
    limb = _polyline(ring[-1], ring[-1] + [20000.0, 0, 0], 20)     # 3..22
    sk = _tree([(0, ring), (2, limb)], o)
    f2s = np.array([0, 1, 2, 3, 3, 10, 22, -1])
    g, vb = build_branch_graph(sk, [Soma(o, 2500.0)], [[0, 1, 2]], face_to_skeleton=f2s)
    br = _branches(g)
    assert len(br) == 1 and br[0]["n_faces"] == 4
    assert br[0]["skeleton_vertices"][0] == 2
    assert face_branch(f2s, vb).tolist() == [-1, -1, -1, 0, 0, 0, 0, -1]


def test_empty_skeleton():
    g, vb = build_branch_graph(Skeleton(np.zeros((0, 3)), np.zeros((0, 2))), [])
    assert len(g) == 0 and len(vb) == 0

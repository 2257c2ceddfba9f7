"""Skeletonization on small synthetic meshes: root, soma collapse, radius, maps, backends."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import trimesh

from neurd_lite.errors import InputError
from neurd_lite.mesh.heal import heal_mesh
from neurd_lite.skeleton import SkeletonParams, build_branch_graph, skeletonize
from neurd_lite.skeleton.skeletonizer import as_tree

SOMA_R = 5000.0
CYL_R = 500.0


def _tube(p0: np.ndarray, p1: np.ndarray, r: float, sections: int = 12, step_nm: float = 400.0) -> trimesh.Trimesh:
    """An open tube of rings every ``step_nm`` along p0 -> p1 (nm)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    axis = (p1 - p0) / np.linalg.norm(p1 - p0)
    u = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    n_rings = int(np.ceil(np.linalg.norm(p1 - p0) / step_nm)) + 1
    t = np.linspace(0, 1, n_rings)
    a = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    ring = r * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * w)
    verts = (p0 + t[:, None] * (p1 - p0))[:, None, :] + ring[None]
    i = np.arange(n_rings - 1)[:, None] * sections
    j = np.arange(sections)[None, :]
    a0, a1 = i + j, i + (j + 1) % sections
    b0, b1 = a0 + sections, a1 + sections
    faces = np.concatenate([np.stack([a0, a1, b1], -1).reshape(-1, 3), np.stack([a0, b1, b0], -1).reshape(-1, 3)])
    return trimesh.Trimesh(verts.reshape(-1, 3), faces, process=False)


def _cell(n_limbs: int = 3, offset: np.ndarray | None = None) -> trimesh.Trimesh:
    """A 5 µm soma sphere with ``n_limbs`` 20 µm cylinders (r 500 nm) pushed into it (separate pieces)."""
    parts = [trimesh.creation.icosphere(subdivisions=3, radius=SOMA_R)]
    dirs = np.array([[1, 0, 0], [-1, 0.2, 0], [0, 0, 1], [0, -1, 0]], float)[:n_limbs]
    for d in dirs:
        d = d / np.linalg.norm(d)
        parts.append(_tube(d * (SOMA_R - 300), d * (SOMA_R + 20000), CYL_R))
    m = trimesh.util.concatenate(parts)
    if offset is not None:
        m.apply_translation(offset)
    return m


def _run(m: trimesh.Trimesh, centers=None, radii=None, params=None, extent=None):
    h = heal_mesh(m.vertices, m.faces)
    return skeletonize(m, centers, h.link_edges, params, radii, soma_extent=extent)


def test_soma_rooted_three_limbs_with_radius_and_full_maps():
    m = _cell(3)
    res = _run(m, [np.zeros(3)], [SOMA_R])
    sk = res.skeleton
    assert res.soma_vertices and sk.root == res.soma_vertices[0]
    assert np.allclose(sk.vertices[sk.root], 0.0)
    assert res.face_to_skeleton.shape == (len(m.faces),) and (res.face_to_skeleton >= 0).all()
    assert (res.vertex_to_skeleton >= 0).all()
    far = np.linalg.norm(sk.vertices, axis=1) > SOMA_R + 3000
    assert np.median(sk.radius[far]) == pytest.approx(CYL_R, rel=0.25)
    assert sk.radius[sk.root] == pytest.approx(SOMA_R)
    g, _ = build_branch_graph(sk, [], [res.soma_vertices])
    assert g.out_degree("soma_0") == 3
    # each limb's tip reaches the cylinder end (~25 µm from the centre)
    tips = np.linalg.norm(sk.vertices[sk.end_points], axis=1)
    assert (tips > SOMA_R + 17000).sum() == 3


def test_faces_map_to_their_own_limb():
    m = _cell(3)
    res = _run(m, [np.zeros(3)], [SOMA_R])
    c = m.triangles_center
    on_x = (c[:, 0] > SOMA_R + 2000)
    sv = res.skeleton.vertices[res.face_to_skeleton[on_x]]
    assert (sv[:, 0] > SOMA_R - 1000).mean() > 0.98


def test_no_soma_roots_at_thickest_point():
    m = _cell(3, offset=np.array([1e6, 2e6, 3e5]))
    res = _run(m)
    sk = res.skeleton
    assert res.soma_vertices == [] and res.stats["root"] == "thickest_point"
    assert np.linalg.norm(sk.vertices[sk.root] - [1e6, 2e6, 3e5]) < SOMA_R


def test_two_somas_each_collapse_to_a_node():
    a = _cell(2)
    b = _cell(2, offset=np.array([0, 0, 60000.0]))
    bridge = _tube([0, 0, SOMA_R - 300], [0, 0, 60000 - SOMA_R + 300], CYL_R)
    m = trimesh.util.concatenate([a, b, bridge])
    centers = [np.zeros(3), np.array([0, 0, 60000.0])]
    res = _run(m, centers, [SOMA_R, SOMA_R])
    sk = res.skeleton
    assert len(res.soma_vertices) == 2
    assert np.allclose(sk.vertices[res.soma_vertices[1]], centers[1])
    assert len(sk.edges) == sk.n_vertices - 1  # still a tree
    g, _ = build_branch_graph(sk, [], [[v] for v in res.soma_vertices])
    assert any(d.get("kind") == "soma_merge" for _, _, d in g.edges(data=True))
    assert g.out_degree("soma_1") == 2


def test_as_tree_breaks_cycles_and_bridges_pieces():
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [10, 0, 0], [11, 0, 0]], float)
    e = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5]])
    tree, n_bridges = as_tree(v, e, 0)
    assert len(tree) == 5 and n_bridges == 1


def test_unknown_backend_and_empty_mesh_raise():
    m = _cell(1)
    with pytest.raises(InputError, match="backend"):
        skeletonize(m, params=SkeletonParams(backend="nope"))
    with pytest.raises(InputError):
        skeletonize((np.zeros((3, 3)), np.zeros((0, 3), int)))


@pytest.mark.skipif(importlib.util.find_spec("skeletor") is None, reason="skeletor not installed (optional)")
def test_skeletor_backend_gives_a_rooted_tree():
    m = _cell(3)
    res = _run(m, [np.zeros(3)], [SOMA_R], SkeletonParams(backend="skeletor"))
    sk = res.skeleton
    assert len(sk.edges) == sk.n_vertices - 1
    assert (res.face_to_skeleton >= 0).all()
    g, _ = build_branch_graph(sk, [], [res.soma_vertices])
    assert g.out_degree("soma_0") == 3


def test_chunked_cell_heals_into_one_skeleton_with_the_same_limbs():
    from neurd_lite.testing.fragment import FragmentParams, fragment

    m = _cell(3)
    v, f, _ = fragment(np.random.default_rng(0), np.asarray(m.vertices), np.asarray(m.faces),
                       FragmentParams(chunk_nm=3000.0))
    h = heal_mesh(v, f)
    assert h.report.n_components_before > 20 and h.report.n_components_after == 1
    assert h.report.n_seam_links > h.report.n_bridged  # cuts are stitched along their length
    res = skeletonize((v, f), [np.zeros(3)], h.link_edges, None, [SOMA_R])
    g, _ = build_branch_graph(res.skeleton, [], [res.soma_vertices])
    assert g.out_degree("soma_0") == 3
    n_branches = sum(1 for _, d in g.nodes(data=True) if d["kind"] == "branch")
    assert n_branches == 3
    # three limbs from the soma centre to the tube ends (25 µm each), as on the intact mesh
    assert res.skeleton.cable_length_nm == pytest.approx(3 * (SOMA_R + 20000), rel=0.1)


def _open_spiny_stub(seed: int, length_nm: float = 4000.0):
    """A 4 µm dendrite stub (r 450 nm) cut open at both ends, with 4 spines of 0.8-1.4 µm: its spines are
    about as long as its shaft, like a piece cropped out of an EM volume."""
    from neurd_lite.spines.adapters import spiny_cylinder

    mesh, truth, _ = spiny_cylinder(n_spines=4, seed=seed, length_nm=length_nm, radius_nm=450.0, noise_nm=5)
    keep = np.abs(mesh.triangles_center[:, 2]) < length_nm / 2 - 50  # drops the caps (5 nm noise)
    stub = trimesh.Trimesh(mesh.vertices, mesh.faces[keep], process=False)
    stub.remove_unreferenced_vertices()
    return stub, truth


def test_cut_ends_of_a_cropped_stub_become_the_skeleton_trunk():
    from neurd_lite.skeleton.cut_ends import find_cut_ends

    stub, _ = _open_spiny_stub(1)
    ends = find_cut_ends(stub.vertices, stub.faces)
    assert len(ends) == 2
    for e in ends:
        assert abs(abs(e.centre_nm[2]) - 2000.0) < 30 and np.linalg.norm(e.centre_nm[:2]) < 60
        assert e.radius_nm == pytest.approx(450.0, rel=0.05) and abs(e.normal[2]) > 0.99
    res = skeletonize(stub)
    sk = res.skeleton
    assert res.stats["cut_end_trunk"] and res.stats["n_cut_ends"] == 2
    cut = sk.vertex_properties["cut_end"]
    assert sorted(np.round(sk.vertices[cut][:, 2], -1)) == [-2000.0, 2000.0]
    # the trunk runs along the shaft, not out along the spines (TEASAR alone: median 410 nm off the axis)
    assert np.median(np.linalg.norm(sk.vertices[:, :2], axis=1)) < 0.5 * 450.0
    plain = skeletonize(stub, params=SkeletonParams(cut_ends=False))
    assert "cut_end" not in plain.skeleton.vertex_properties and not plain.stats["cut_end_trunk"]


def test_flat_caps_are_cut_ends_rounded_or_long_meshes_have_no_trunk():
    from neurd_lite.skeleton.cut_ends import find_cut_ends

    def fine(m):
        return trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(m.vertices, m.faces, 150.0))

    capped = fine(trimesh.creation.cylinder(radius=450.0, height=4000.0, sections=24))  # a watertight crop
    ends = find_cut_ends(capped.vertices, capped.faces)
    assert len(ends) == 2 and sorted(round(e.centre_nm[2]) for e in ends) == [-2000, 2000]
    assert all(e.radius_nm == pytest.approx(450.0, rel=0.05) for e in ends)
    assert skeletonize(capped).stats["cut_end_trunk"]
    rounded = fine(trimesh.creation.capsule(radius=450.0, height=4000.0))  # the flat strips of its tube are no caps
    assert find_cut_ends(rounded.vertices, rounded.faces) == []
    long_tube = _tube(np.zeros(3), np.array([0.0, 0.0, 30000.0]), CYL_R)
    assert len(find_cut_ends(long_tube.vertices, long_tube.faces)) == 2
    res = _run(long_tube)
    assert res.stats["n_cut_ends"] == 2 and not res.stats["cut_end_trunk"]  # 30 µm > fragment_max_trunk_nm


@pytest.mark.parametrize("seed", [1, 6])
def test_spines_of_a_cropped_stub_are_found_on_the_cut_end_trunk(seed):
    from neurd_lite.neuron import Neuron
    from neurd_lite.spines import detect_spines

    stub, truth = _open_spiny_stub(seed)
    res = skeletonize(stub)
    n = Neuron(mesh=stub, skeleton=res.skeleton)
    n.face_to_skeleton = res.face_to_skeleton
    detect_spines(n)
    centres = stub.triangles_center
    for _, row in truth.iterrows():
        head = np.linalg.norm(centres - row[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy(float), axis=1)
        assert (n.face_spine[head < row.head_radius_nm] >= 0).mean() > 0.5
    shaft = np.linalg.norm(centres[:, :2], axis=1) < 470.0
    assert (n.face_spine[shaft] >= 0).mean() < 0.1


def test_stems_beyond_the_soma_reach_do_not_map_to_the_soma_vertex():
    """A wide soma collapse swallows the first µm of each limb; their surface must still map to the limbs."""
    m = _cell(3)
    from neurd_lite.model.soma_extent import SomaExtentParams

    res = _run(m, [np.zeros(3)], [SOMA_R], extent=SomaExtentParams(core_factor=2.0))
    far = np.linalg.norm(m.vertices, axis=1) > 1.5 * SOMA_R
    assert res.stats["n_released_soma_vertices"] > 0
    assert not (res.vertex_to_skeleton[far] == res.soma_vertices[0]).any()
    old = _run(m, [np.zeros(3)], [SOMA_R], extent=SomaExtentParams(core_factor=2.0, reach_factor=0.0))
    assert (old.vertex_to_skeleton[far] == old.soma_vertices[0]).any()  # what the release mends

"""Healing (link edges between mesh pieces) and decimation face maps."""
from __future__ import annotations

import time

import numpy as np
import pytest
import trimesh

from conftest import chunk_mesh
from neurd_lite.errors import InputError
from neurd_lite.mesh.decimate import DecimateParams, decimate, map_faces
from neurd_lite.geometry.meshgraph import vertex_components
from neurd_lite.mesh.heal import HealParams, heal_mesh


def _pieces(gap_nm: float, far_nm: float, far_big: bool = False) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A sphere (r 5 µm), a cylinder starting ``gap_nm`` beyond its surface, and a debris speck ``far_nm`` away."""
    parts = [trimesh.creation.icosphere(subdivisions=3, radius=5000.0)]
    cyl = trimesh.creation.cylinder(radius=500.0, height=10000.0, sections=12)
    cyl.apply_translation([0, 0, 5000.0 + gap_nm + 5000.0])
    parts.append(cyl)
    speck = trimesh.creation.icosphere(subdivisions=3 if far_big else 0, radius=100.0)
    speck.apply_translation([far_nm + 5000.0, 0, 0])
    parts.append(speck)
    sizes = [len(p.faces) for p in parts]
    m = trimesh.util.concatenate(parts)
    return np.asarray(m.vertices), np.asarray(m.faces), sizes


def test_gapped_piece_is_bridged_and_far_debris_dropped():
    v, f, sizes = _pieces(gap_nm=400.0, far_nm=40000.0)
    r = heal_mesh(v, f)
    rep = r.report
    assert rep.n_components_before == 3
    assert rep.n_bridged == 1 and rep.n_components_after == 1
    assert 390.0 <= rep.max_bridge_nm <= 450.0  # the cylinder end is 400 nm from the sphere's pole
    assert rep.n_dropped == 1 and rep.dropped_faces == sizes[2]
    assert r.face_keep.sum() == sizes[0] + sizes[1]
    ncomp, lab = vertex_components(len(v), f[r.face_keep], r.link_edges)
    used = np.unique(f[r.face_keep])
    assert len(np.unique(lab[used])) == 1


def test_gap_beyond_threshold_is_not_bridged_unless_piece_is_large():
    v, f, sizes = _pieces(gap_nm=3000.0, far_nm=40000.0)
    small = heal_mesh(v, f, HealParams(max_gap_nm=1500.0, far_keep_min_faces=10_000, max_slack_nm=0.0))
    assert small.report.n_bridged == 0 and small.report.n_dropped == 2
    big = heal_mesh(v, f, HealParams(max_gap_nm=1500.0, far_keep_min_faces=20, far_max_gap_nm=10_000,
                                     max_slack_nm=0.0))
    assert big.report.n_far_bridged == 1 and big.report.n_bridged == 1
    assert big.face_keep[sizes[0]:sizes[0] + sizes[1]].all()


def test_coarse_touching_piece_is_linked_through_edge_slack():
    # a 6 µm tube with one long edge per side grazes the sphere 100 nm off its surface; its nearest
    # vertices are ~1 µm away, so only the edge-length slack sees that the surfaces nearly touch
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=5000.0)
    tube = trimesh.creation.cylinder(radius=500.0, segment=[[-3000.0, 5600.0, 0], [3000.0, 5600.0, 0]], sections=8)
    m = trimesh.util.concatenate([sphere, tube])
    strict = heal_mesh(m.vertices, m.faces, HealParams(max_gap_nm=300.0, max_slack_nm=0.0, far_keep_min_faces=10**6))
    assert strict.report.n_bridged == 0
    slack = heal_mesh(m.vertices, m.faces, HealParams(max_gap_nm=300.0, far_keep_min_faces=10**6))
    assert slack.report.n_bridged == 1 and slack.report.max_bridge_nm > 300.0


def test_chain_of_pieces_grows_from_main_body():
    # pieces 1 µm apart in a row: each is only reachable through the previous one
    parts = []
    for i in range(6):
        s = trimesh.creation.icosphere(subdivisions=2, radius=2000.0 if i == 0 else 300.0)
        s.apply_translation([0 if i == 0 else 2000.0 + 1000.0 * i + 600.0 * (i - 1), 0, 0])
        parts.append(s)
    m = trimesh.util.concatenate(parts)
    r = heal_mesh(m.vertices, m.faces, HealParams(max_gap_nm=1100.0))
    assert r.report.n_bridged == 5 and r.report.n_dropped == 0


@pytest.mark.parametrize("faces", [np.zeros((0, 3), int), np.array([[0, 1, 7]])])
def test_bad_mesh_raises_input_error(faces):
    with pytest.raises(InputError):
        heal_mesh(np.zeros((3, 3)), faces)


def test_nan_vertices_raise_input_error():
    v = np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]], float)
    with pytest.raises(InputError, match="NaN"):
        heal_mesh(v, np.array([[0, 1, 2]]))


def test_decimation_maps_every_input_face_nearby_and_back():
    m = trimesh.creation.icosphere(subdivisions=4, radius=5000.0)
    cyl = trimesh.creation.cylinder(radius=300.0, height=8000.0, sections=16)
    cyl.apply_translation([0, 0, 9000.0])
    cyl = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(cyl.vertices, cyl.faces, 400.0))
    m = trimesh.util.concatenate([m, cyl])
    res = decimate(m.vertices, m.faces, DecimateParams(target_faces=len(m.faces) // 4, min_faces_to_decimate=0))
    assert len(res.faces) < 0.6 * len(m.faces)
    assert res.input_to_working.shape == (len(m.faces),)
    assert res.working_to_input.shape == (len(res.faces),) and (res.working_to_input >= 0).all()
    d = np.linalg.norm(m.triangles_center - res.vertices[res.faces[res.input_to_working]].mean(axis=1), axis=1)
    assert np.percentile(d, 99) < 1500.0
    # cylinder faces must land on cylinder faces, not on the sphere
    n_sphere = 20 * 4 ** 4
    cyl_work = res.input_to_working[n_sphere:]
    assert (res.vertices[res.faces[cyl_work]].mean(axis=1)[:, 2] > 5000.0).mean() > 0.98


def test_decimation_disabled_is_identity():
    m = trimesh.creation.icosphere(subdivisions=2)
    res = decimate(m.vertices, m.faces, DecimateParams(target_faces=None))
    assert res.is_identity and res.seconds == 0.0


def test_map_faces_respects_orientation():
    # two parallel facing plates 50 nm apart: each face must map onto its own plate
    a = trimesh.creation.box(extents=[2000, 2000, 10])
    b = a.copy()
    b.apply_translation([0, 0, 60])
    m = trimesh.util.concatenate([a, b])
    out = map_faces(m.vertices, m.faces, m.vertices, m.faces)
    assert (out == np.arange(len(m.faces))).mean() > 0.99


@pytest.mark.realdata
def test_heal_real_cell(microns_cell_paths):
    from neurd_lite.io.meshes import load_mesh

    m = load_mesh(microns_cell_paths["mesh"])
    t0 = time.perf_counter()
    r = heal_mesh(m.vertices, m.faces)
    dt = time.perf_counter() - t0
    rep = r.report
    print(f"\nheal 81k faces: {rep.n_components_before} vertex-connected pieces -> {rep.n_components_after}, "
          f"bridged {rep.n_bridged}, dropped {rep.n_dropped} ({rep.dropped_faces} faces), "
          f"max bridge {rep.max_bridge_nm:.0f} nm, {dt:.2f} s")
    assert rep.n_components_before > 50
    assert rep.n_components_after == 1
    assert rep.dropped_faces < 0.01 * len(m.faces)
    assert dt < 5.0


def test_many_separate_pieces_heal_in_near_linear_time():
    """20k separate triangles (the old growth loop was quadratic: 8k pieces 16 s, 50k 764 s): a few CPU
    seconds, every far triangle dropped, the close ones linked."""
    import time

    rng = np.random.default_rng(0)
    n = 20000
    k = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n] * 3000.0
    grid = grid + rng.normal(scale=600.0, size=grid.shape)
    tri = np.array([[0, 0, 0], [400, 0, 0], [0, 400, 0]], float)
    v = (grid[:, None, :] + tri[None]).reshape(-1, 3)
    f = np.arange(3 * n).reshape(-1, 3)
    t0 = time.process_time()
    res = heal_mesh(v, f)
    assert time.process_time() - t0 < 10.0
    r = res.report
    assert r.n_components_before == n and r.n_components_after == 1
    assert r.n_bridged + r.n_dropped == n - 1 and r.n_dropped > 0.9 * n


def _chunked_sphere(cell_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """A sphere (r 5 µm, 20k faces) cut into open pieces of ``cell_nm`` (conftest ``chunk_mesh``)."""
    return chunk_mesh(trimesh.creation.icosphere(subdivisions=5, radius=5000.0), cell_nm)


def test_fragmented_mesh_keeps_every_open_border_when_decimated():
    pytest.importorskip("meshoptimizer")
    from neurd_lite.mesh.decimate import is_fragmented

    closed = trimesh.creation.icosphere(subdivisions=5, radius=5000.0)
    assert not is_fragmented(closed.faces, len(closed.vertices))
    v, f = _chunked_sphere(800.0)
    assert is_fragmented(f, len(v))
    res = decimate(v, f, DecimateParams(target_faces=len(f) // 4, min_faces_to_decimate=0,
                                        fragmented_target_faces=len(f) // 4))
    edges = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    e, count = np.unique(edges, axis=0, return_counts=True)
    border = np.unique(e[count == 1])
    kept = {tuple(x) for x in np.round(res.vertices[np.unique(res.faces)], 3)}
    assert all(tuple(x) in kept for x in np.round(v[border], 3))  # no border vertex moved or collapsed
    assert len(res.faces) < 0.9 * len(f)  # the pieces' interiors are still reduced

"""Soma detection: synthetic somata with known centres, robustness to mesh defects, and real meshes."""
from __future__ import annotations

import glob
import time

import numpy as np
import pytest
import trimesh

from neurd_lite.errors import InputError
from neurd_lite.mesh.soma import SomaParams, find_somas, soma_from_point, soma_surface_faces
from neurd_lite.mesh.voxel_fill import depth_map

from conftest import real_data

CENTRE = np.array([40000.0, 55000.0, 30000.0])


def _sphere(centre: np.ndarray, radius_nm: float, subdivisions: int = 4) -> trimesh.Trimesh:
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius_nm)
    s.apply_translation(centre)
    return s


def _tube(a: np.ndarray, b: np.ndarray, radius_nm: float) -> trimesh.Trimesh:
    return trimesh.creation.cylinder(radius=radius_nm, segment=np.stack([a, b]), sections=16)


def _concat(parts: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """Plain concatenation (overlapping, not a boolean union), like chunked EM meshes."""
    verts, faces, off = [], [], 0
    for p in parts:
        verts.append(np.asarray(p.vertices))
        faces.append(np.asarray(p.faces) + off)
        off += len(p.vertices)
    return trimesh.Trimesh(np.concatenate(verts), np.concatenate(faces), process=False)


def _neuron_like(centre: np.ndarray = CENTRE) -> tuple[trimesh.Trimesh, int]:
    """A 6 µm soma with five neurites (radius 0.5-1 µm, 20-25 µm long); returns mesh and sphere face count."""
    soma = _sphere(centre, 6000.0)
    dirs = np.array([[1, 0, 0], [-1, 0.2, 0], [0, 1, 0], [0.3, -1, 0.2], [0, 0, 1]], float)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    radii = [500.0, 750.0, 1000.0, 600.0, 800.0]
    tubes = [_tube(centre + 5000 * d, centre + (25000 + 1000 * i) * d, r) for i, (d, r) in enumerate(zip(dirs, radii))]
    return _concat([soma, *tubes]), len(soma.faces)


@pytest.fixture(scope="module")
def neuron_like() -> tuple[trimesh.Trimesh, int]:
    return _neuron_like()


def test_one_soma_with_neurites(neuron_like):
    mesh, n_sphere = neuron_like
    t0 = time.perf_counter()
    somas = find_somas(mesh)
    elapsed = time.perf_counter() - t0
    assert len(somas) == 1
    s = somas[0]
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0
    assert 5000.0 < s.radius_nm < 7500.0
    assert s.method == "volume_depth"
    on_sphere = s.faces < n_sphere
    assert on_sphere.sum() >= 0.9 * n_sphere  # nearly the whole sphere surface
    tc = mesh.triangles_center[s.faces]
    assert np.linalg.norm(tc - CENTRE, axis=1).max() < 8500.0  # only the roots of the neurites
    assert s.properties["volume_um3"] == pytest.approx(4 / 3 * np.pi * 6.0 ** 3, rel=0.3)
    assert s.properties["area_um2"] == pytest.approx(4 * np.pi * 6.0 ** 2, rel=0.3)
    assert elapsed < 20.0


def test_orientation_does_not_matter(neuron_like):
    mesh, _ = neuron_like
    faces = np.asarray(mesh.faces).copy()
    rng = np.random.default_rng(1)
    flip = rng.random(len(faces)) < 0.5
    faces[flip] = faces[flip][:, ::-1]
    flipped = trimesh.Trimesh(mesh.vertices, faces, process=False)
    a, b = find_somas(mesh), find_somas(flipped)
    assert len(a) == len(b) == 1
    assert np.allclose(a[0].center_nm, b[0].center_nm)
    assert np.array_equal(a[0].faces, b[0].faces)


def test_two_somata_joined_by_thin_tube():
    c2 = CENTRE + np.array([30000.0, 5000.0, 0.0])
    mesh = _concat([_sphere(CENTRE, 6000.0), _sphere(c2, 5500.0), _tube(CENTRE, c2, 500.0)])
    somas = find_somas(mesh)
    assert len(somas) == 2
    found = np.array([s.center_nm for s in somas])
    for c in (CENTRE, c2):
        assert np.linalg.norm(found - c, axis=1).min() < 500.0
    assert not set(somas[0].faces) & set(somas[1].faces)


def test_touching_somata_are_split():
    c2 = CENTRE + np.array([11000.0, 0.0, 0.0])  # overlapping balls: one volume with a neck
    somas = find_somas(_concat([_sphere(CENTRE, 6000.0), _sphere(c2, 6000.0)]))
    assert len(somas) == 2
    found = np.array([s.center_nm for s in somas])
    for c in (CENTRE, c2):
        assert np.linalg.norm(found - c, axis=1).min() < 1500.0


def test_tube_has_no_soma():
    mesh = _tube(CENTRE, CENTRE + np.array([40000.0, 10000.0, 0.0]), 1000.0)
    assert find_somas(mesh) == []
    thick = _tube(CENTRE, CENTRE + np.array([0.0, 40000.0, 0.0]), 2000.0)  # a 4 µm thick trunk
    assert find_somas(thick) == []


def test_nucleus_faces_are_not_soma_surface():
    outer, inner = _sphere(CENTRE, 6000.0), _sphere(CENTRE + 500.0, 4000.0, subdivisions=3)
    mesh = _concat([outer, inner])
    (s,) = find_somas(mesh)
    n_outer, n_inner = len(outer.faces), len(inner.faces)
    assert len(s.faces) >= 0.95 * (n_outer + n_inner)  # the nucleus belongs to the soma ...
    assert s.properties["n_inner_faces"] >= 0.9 * n_inner  # ... but is not membrane
    assert s.properties["n_surface_faces"] >= 0.95 * n_outer
    assert s.properties["area_um2"] == pytest.approx(outer.area / 1e6, rel=0.05)
    membrane = soma_surface_faces(mesh, s)
    assert np.count_nonzero(membrane < n_outer) >= 0.95 * n_outer
    assert np.count_nonzero(membrane >= n_outer) <= 0.05 * n_inner
    # detection keeps the membrane it found on the Soma: the same faces the recomputation gives
    assert len(s.membrane_faces) == s.properties["n_surface_faces"]
    assert np.isin(s.membrane_faces, s.faces).all()
    np.testing.assert_array_equal(s.membrane_faces, membrane)
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0


def test_leaky_and_cut_soma():
    rng = np.random.default_rng(0)
    mesh, _ = _neuron_like()
    keep = rng.random(len(mesh.faces)) > 0.03  # pinholes everywhere
    leaky = trimesh.Trimesh(mesh.vertices, mesh.faces[keep], process=False)
    (s,) = find_somas(leaky)
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0
    # cut by the imaged volume: the top 3 µm of the soma is missing, its rim lies flat on the cut plane
    sphere = _sphere(CENTRE, 6000.0)
    z_cut = CENTRE[2] + 3000.0
    v = np.asarray(sphere.vertices).copy()
    f = np.asarray(sphere.faces)
    f = f[~np.all(v[f][:, :, 2] > z_cut, axis=1)]
    v[:, 2] = np.minimum(v[:, 2], z_cut)
    cut = _concat([trimesh.Trimesh(v, f, process=False),
                   _tube(CENTRE - [0, 0, 5000], CENTRE - [0, 0, 25000], 700.0)])
    (s,) = find_somas(cut)
    assert np.linalg.norm(s.center_nm[:2] - CENTRE[:2]) < 500.0
    assert CENTRE[2] - 2000.0 < s.center_nm[2] < z_cut


def test_soma_from_point(neuron_like):
    mesh, n_sphere = neuron_like
    s = soma_from_point(mesh, CENTRE + np.array([1500.0, -1000.0, 500.0]))
    assert s.method == "from_point"
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0
    assert np.count_nonzero(s.faces < n_sphere) >= 0.9 * n_sphere
    s2 = soma_from_point(mesh, CENTRE, radius_nm=6000.0)
    assert np.linalg.norm(s2.center_nm - CENTRE) < 500.0
    assert s.properties["too_small"] == 0.0
    on_dendrite = soma_from_point(mesh, CENTRE + np.array([0.0, 0.0, 15000.0]))  # inside the z neurite
    assert on_dendrite.properties["too_small"] == 1.0
    with pytest.raises(InputError, match="not inside an enclosed part"):
        soma_from_point(mesh, CENTRE + np.array([12000.0, 12000.0, -12000.0]))
    with pytest.raises(InputError, match="within"):
        soma_from_point(mesh, CENTRE * 10)
    with pytest.raises(InputError):
        soma_from_point(mesh, [1.0, 2.0])


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="vertices and faces"):
        find_somas(np.zeros((3, 3)))
    with pytest.raises(InputError, match="triangle mesh"):
        find_somas(trimesh.Trimesh())
    m = _sphere(CENTRE, 6000.0, subdivisions=2)
    v = np.asarray(m.vertices).copy()
    v[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        find_somas(trimesh.Trimesh(v, m.faces, process=False))


def test_coarse_to_fine_depth_is_exact_where_deep():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    g = np.zeros((70, 80, 60), dtype=bool)
    g[8:55, 10:70, 8:50] = True
    g[20:40, 30:50, :] = False
    g = ndimage.binary_opening(g | (rng.random(g.shape) < 0.3))
    exact = depth_map(g, 500.0)
    fast = depth_map(g, 500.0, min_depth_nm=2500.0)
    deep = exact >= 2500.0
    assert deep.sum() > 1000
    assert np.array_equal(exact[deep], fast[deep])
    assert np.all(fast <= exact + 1e-3)


def test_params_are_frozen_and_carry_units():
    p = SomaParams()
    with pytest.raises(Exception):
        p.voxel_nm = 1.0  # type: ignore[misc]
    assert all(name.endswith(("_nm", "_um2", "_um3", "_faces", "_voxels", "_ratio", "_fraction", "_ray_faces"))
               or isinstance(getattr(p, name), bool) for name in p.__dataclass_fields__)  # switches: no unit


def _teardrop(centre: np.ndarray, radius_nm: float, trunk_nm: float, taper_nm: float) -> trimesh.Trimesh:
    """A teardrop soma (ball of ``radius_nm`` tapering over ``taper_nm`` into a trunk of radius ``trunk_nm`` along
    -y, 60 µm long) with four thin basal dendrites; plain concatenation of closed parts (nm)."""
    from neurd_lite.testing.meshing import revolve, tube

    u = np.array([0.0, -1.0, 0.0])
    z0 = 0.3 * radius_nm
    zs = np.linspace(-radius_nm, z0, 40)[1:]
    zt = np.linspace(z0, z0 + taper_nm, 20)[1:]
    t = (zt - z0) / taper_nm
    rho0 = np.sqrt(radius_nm ** 2 - zs ** 2)
    rho = np.concatenate([rho0, rho0[-1] + (trunk_nm - rho0[-1]) * (3 * t ** 2 - 2 * t ** 3)])
    v, f, _ = revolve(centre[None], u[None], np.array([-radius_nm]), np.concatenate([zs, zt])[None], rho[None],
                      np.array([z0 + taper_nm + 200.0]), 48)
    parts = [trimesh.Trimesh(v[0], f, process=False)]
    pts = centre + u * np.linspace(z0 + taper_nm - 500.0, z0 + taper_nm + 60000.0, 61)[:, None]
    parts.append(trimesh.Trimesh(*tube(pts, np.linspace(trunk_nm, 1500.0, 61), 16), process=False))
    for d in ([1, 0.5, 0], [-1, 0.5, 0.2], [0, 0.6, 1], [0.2, 0.4, -1]):
        d = np.asarray(d, float) / np.linalg.norm(d)
        parts.append(_tube(centre + 0.6 * radius_nm * d, centre + (radius_nm + 30000.0) * d, 900.0))
    return _concat(parts)


def test_teardrop_soma_with_thick_trunk():
    """A large L5-like soma (9 µm) flowing into a 3 µm trunk: found, centred on the ball, trunk not soma."""
    mesh = _teardrop(CENTRE, 9000.0, 3000.0, 8000.0)
    (s,) = find_somas(mesh)
    assert np.linalg.norm(s.center_nm - CENTRE) < 2500.0
    assert 8000.0 < s.radius_nm < 11500.0
    tc = np.asarray(mesh.triangles_center)
    along = (tc - CENTRE) @ np.array([0.0, -1.0, 0.0])
    assert along[s.faces].max() < 0.3 * 9000.0 + 8000.0 + 3000.0  # stops at the base of the trunk
    ball = np.linalg.norm(tc - CENTRE, axis=1) < 8500.0
    assert np.isin(np.flatnonzero(ball & (along < 0)), s.faces).mean() > 0.95
    assert s.n_processes == 5  # trunk + 4 basal dendrites
    trunk = max(s.exits, key=lambda e: e.radius_nm)
    assert trunk.radius_nm == pytest.approx(3000.0, abs=800.0)
    assert trunk.direction[1] < -0.9
    assert sorted(e.radius_nm for e in s.exits)[:4] == pytest.approx([900.0] * 4, abs=600.0)


def _fine_tube(a: np.ndarray, b: np.ndarray, radius_nm: float) -> trimesh.Trimesh:
    """A closed tube from a to b (nm) with a ring of faces every µm (face centres all along it)."""
    from neurd_lite.testing.meshing import tube

    k = int(np.linalg.norm(b - a) / 1000.0) + 2
    return trimesh.Trimesh(*tube(np.linspace(a, b, k), np.full(k, radius_nm), 12), process=False)


def test_exits_follow_the_processes():
    soma = _sphere(CENTRE, 6000.0)
    n_sphere = len(soma.faces)
    dirs = np.array([[1, 0, 0], [-1, 0.2, 0], [0, 1, 0], [0.3, -1, 0.2], [0, 0, 1]], float)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    radii = [500.0, 750.0, 1000.0, 600.0, 800.0]
    mesh = _concat([soma] + [_fine_tube(CENTRE + 5000 * d, CENTRE + 25000 * d, r) for d, r in zip(dirs, radii)])
    (s,) = find_somas(mesh)
    assert s.n_processes == 5
    assert s.properties["n_processes"] == 5
    for e in s.exits:
        k = int(np.argmax(dirs @ e.direction))
        assert dirs[k] @ e.direction > 0.95
        assert np.linalg.norm(e.point_nm - CENTRE) == pytest.approx(6000.0, abs=1500.0)
        assert e.radius_nm == pytest.approx(radii[k], abs=600.0)
        assert len(e.faces) > 0 and not np.isin(e.faces, s.faces).any()
        assert (e.faces >= n_sphere).all()  # the root ring is on the neurite, not on the soma


def test_thin_branching_dendrites_have_no_soma():
    rng = np.random.default_rng(3)
    parts = [_tube(CENTRE, CENTRE + np.array([60000.0, 0.0, 0.0]), 1200.0)]
    for x in (10000.0, 25000.0, 40000.0):
        d = rng.normal(size=3)
        parts.append(_tube(CENTRE + [x, 0, 0], CENTRE + [x, 0, 0] + 20000.0 * d / np.linalg.norm(d), 700.0))
    assert find_somas(_concat(parts)) == []


# ---- real meshes ------------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.slow
def test_microns_two_soma_merge(microns_cell_paths):
    mesh = trimesh.load(microns_cell_paths["mesh"], process=False)
    somas = find_somas(mesh)
    assert len(somas) == 2
    found = np.array([s.center_nm for s in somas])
    for key in ("soma_0", "soma_1"):
        ref = trimesh.load(microns_cell_paths[key], process=False).vertices.mean(axis=0)
        err_um = np.linalg.norm(found - ref, axis=1).min() / 1000.0
        assert err_um < 3.0, (key, err_um)
    for s in somas:
        assert 3000.0 < s.radius_nm < 8000.0
        assert len(s.faces) > 500
        assert s.properties["n_inner_faces"] > 0  # the nucleus is recognised as inside
    # independent reference: the published perisomatic table (nucleus 659492, this segment)
    import pandas as pd

    table = pd.read_csv(real_data("labels/microns_perisomatic_features_v83.csv.gz"),
                        usecols=["nucleus_id", "soma_x", "soma_y", "soma_z", "soma_volume"])
    row = table[table.nucleus_id == 659492].iloc[0]
    ref = row[["soma_x", "soma_y", "soma_z"]].to_numpy(dtype=float)
    s0 = somas[int(np.argmin(np.linalg.norm(found - ref, axis=1)))]
    assert np.linalg.norm(s0.center_nm - ref) < 3000.0
    assert s0.properties["volume_um3"] == pytest.approx(row.soma_volume / 1e9, rel=0.25)  # table in nm^3


@pytest.mark.realdata
@pytest.mark.slow
def test_microns_soma_region_pieces(real):
    for name in ("neurd_temp_neuron_53938.off", "neurd_tests_990_mesh.off", "neurd_tests_mesh_watertight.off"):
        mesh = trimesh.load(real(f"meshes/microns_soma_region_pieces/{name}"), process=False)
        somas = find_somas(mesh)
        assert len(somas) == 1, name


@pytest.mark.realdata
@pytest.mark.slow
def test_harris_dendrites_have_no_soma(real):
    for name in ("harris_part_dendrite.ply", "dendrite_19321_watertight.off"):
        m = trimesh.load(real(f"meshes/harris_dendrites/{name}"), process=False)
        mesh = trimesh.Trimesh(np.asarray(m.vertices) * 1000.0, m.faces, process=False)  # µm -> nm
        assert find_somas(mesh) == []


@pytest.mark.realdata
@pytest.mark.slow
def test_fly_projection_neurons(real):
    """Fly PN somata are small (inscribed radius ~3 µm): every soma found must be the SWC soma."""
    found_near = 0
    for seg in ("1734350788", "1734350908", "722817260", "754534424", "754538881"):
        m = trimesh.load(real(f"meshes/fly_hemibrain_DA1_PNs/obj/{seg}.obj"), process=False)
        mesh = trimesh.Trimesh(np.asarray(m.vertices) * 8.0, m.faces, process=False)  # 8 nm voxels
        swc = np.loadtxt(real(f"meshes/fly_hemibrain_DA1_PNs/swc/{seg}.swc"))
        soma_rows = swc[swc[:, 1] == 1] if np.any(swc[:, 1] == 1) else swc[swc[:, 6] == -1]
        root = soma_rows[0, 2:5] * 8.0
        somas = find_somas(mesh)
        assert len(somas) <= 1, seg
        for s in somas:
            assert np.linalg.norm(s.center_nm - root) < 3000.0, seg
            found_near += 1
    assert found_near >= 3


@pytest.mark.slow
def test_synthetic_fragmented_pyramidal():
    """The project's synthetic neuron, chunked like a MICrONS mesh with debris: soma centre and size."""
    from neurd_lite.testing import make_neuron

    sn = make_neuron("pyramidal", seed=1, fragment=True, debris=True)
    (s,) = find_somas(sn.mesh)
    truth = np.asarray(sn.truth["soma_center_nm"])
    assert np.linalg.norm(s.center_nm - truth) < 500.0
    assert s.radius_nm == pytest.approx(sn.truth["soma_radius_nm"], rel=0.1)
    is_soma = np.asarray(sn.face_compartment) == "soma"
    assert np.count_nonzero(is_soma[s.faces]) >= 0.98 * np.count_nonzero(is_soma)  # recall
    assert np.count_nonzero(is_soma[s.faces]) >= 0.8 * len(s.faces)  # precision (neurite roots count against)


def _chunked_soma(gap_nm: float) -> tuple[trimesh.Trimesh, trimesh.Trimesh]:
    """A 6 µm soma whose faces within gap/2 of chunk planes every 4 µm (x and y) are lost, with two neurites;
    and the same cell whole."""
    s = _sphere(CENTRE, 6000.0)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    c = v[f].mean(axis=1) - CENTRE
    keep = (np.abs(((c[:, :2] + 2000.0) % 4000.0) - 2000.0) >= gap_nm / 2).all(axis=1)
    tubes = [_tube(CENTRE + [0, 0, 5500], CENTRE + [0, 0, 60000], 1000.0),
             _tube(CENTRE - [5500, 0, 0], CENTRE - [60000, 0, 0], 700.0)]
    return _concat([trimesh.Trimesh(v, f[keep], process=False), *tubes]), _concat([s, *tubes])


def test_soma_with_seam_holes_is_sealed_in_its_window():
    """Holes ~1 µm wide at chunk seams leak through the 1 µm closing; the window's wider closings seal them.
    The small grid caps send the mesh through the coarse-window path, as a large merge goes."""
    holed, _ = _chunked_soma(1000.0)
    caps = dict(max_voxels=300_000, coarse_voxels=100_000)
    assert find_somas(holed, SomaParams(seal_radii_nm=(), **caps)) == []
    (s,) = find_somas(holed, SomaParams(**caps))
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0
    assert s.properties["voxel_um"] == pytest.approx(0.75)  # half the 1.5 µm closing, not the coarse voxel


def test_soma_lost_by_decimation_is_found_on_the_full_mesh():
    """A working mesh that lost most of the soma membrane (as decimation of a chunked mesh does) with the
    full-resolution mesh as ``detail``: the soma is found there and its faces are working-mesh faces."""
    from scipy.spatial import cKDTree

    from neurd_lite.mesh.soma import DetailMesh

    work, full = _chunked_soma(1000.0)
    caps = SomaParams(max_voxels=300_000, coarse_voxels=100_000)
    assert find_somas(work, SomaParams(seal_radii_nm=(), max_voxels=300_000, coarse_voxels=100_000)) == []
    to_work = cKDTree(work.triangles_center).query(full.triangles_center)[1]
    (s,) = find_somas(work, caps, detail=DetailMesh(np.asarray(full.vertices), np.asarray(full.faces), to_work))
    assert np.linalg.norm(s.center_nm - CENTRE) < 500.0
    assert s.faces.max() < len(work.faces) and s.properties["from_full_resolution"] == 1.0
    assert np.linalg.norm(work.triangles_center[s.faces] - CENTRE, axis=1).max() < 8000.0

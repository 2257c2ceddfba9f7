"""Working size by area ("auto" or the session-16 target_edge_nm) and explicit sizes (an int wins)."""
from dataclasses import replace

import numpy as np
import trimesh

from neurd_lite.mesh.decimate import DecimateParams, decimate, edge_target_faces


def _sphere(radius_nm: float = 5000.0) -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=5, radius=radius_nm)  # 20480 faces


def _faces_for_edge(mesh: trimesh.Trimesh, edge_nm: float) -> float:
    return mesh.area / (np.sqrt(3.0) / 4.0 * edge_nm ** 2)


def test_edge_target_faces_follows_area_and_clips():
    m = _sphere()
    base = DecimateParams(target_faces=1000, min_faces_to_decimate=0, max_target_faces=100_000)
    assert edge_target_faces(m.vertices, m.faces, base) == 1000  # off: target_faces
    edge = float(np.sqrt(m.area / (np.sqrt(3.0) / 4.0 * 5000)))  # the edge that asks for 5000 faces
    got = edge_target_faces(m.vertices, m.faces, replace(base, target_edge_nm=edge))
    assert abs(got - _faces_for_edge(m, edge)) <= 1 and 4990 <= got <= 5010
    assert edge_target_faces(m.vertices, m.faces, replace(base, target_edge_nm=edge, max_target_faces=3000)) == 3000
    assert edge_target_faces(m.vertices, m.faces, replace(base, target_edge_nm=4 * edge)) == 1000  # floor
    big = trimesh.creation.icosphere(subdivisions=5, radius=10000.0)  # 4x the area: 4x the faces
    assert abs(edge_target_faces(big.vertices, big.faces, replace(base, target_edge_nm=edge)) - 4 * got) <= 4


def test_decimate_uses_edge_target_and_stays_identical_when_off():
    m = _sphere()
    off = DecimateParams(target_faces=2000, min_faces_to_decimate=0)
    edge = float(np.sqrt(m.area / (np.sqrt(3.0) / 4.0 * 5000)))
    n_off = len(decimate(m.vertices, m.faces, off).faces)
    n_on = len(decimate(m.vertices, m.faces, replace(off, target_edge_nm=edge)).faces)
    assert abs(n_off - 2000) < 200 and abs(n_on - 5000) < 500
    fine = replace(off, target_edge_nm=edge / 3)  # asks for more faces than the input has: the input itself
    assert decimate(m.vertices, m.faces, fine).is_identity


def test_auto_size_follows_area_and_an_explicit_size_wins():
    m = _sphere()
    edge = float(np.sqrt(m.area / (np.sqrt(3.0) / 4.0 * 5000)))  # the edge that asks for 5000 faces
    auto = DecimateParams(target_faces="auto", target_edge_nm=edge, min_faces_to_decimate=0, min_target_faces=1000)
    assert 4990 <= edge_target_faces(m.vertices, m.faces, auto) <= 5010
    assert edge_target_faces(m.vertices, m.faces, replace(auto, min_target_faces=8000)) == 8000  # auto's floor
    assert abs(len(decimate(m.vertices, m.faces, auto).faces) - 5000) < 500
    exact = DecimateParams(target_faces=2000, min_faces_to_decimate=0)  # an int is that size, whatever the area
    assert edge_target_faces(m.vertices, m.faces, exact) == 2000
    assert abs(len(decimate(m.vertices, m.faces, exact).faces) - 2000) < 200
    assert edge_target_faces(m.vertices, m.faces, DecimateParams(target_faces=None)) is None
    assert decimate(m.vertices, m.faces, DecimateParams(target_faces=None, min_faces_to_decimate=0)).is_identity
    # the default "auto" edge (320 nm) on a 5 µm sphere (~314 µm²) asks far below the 250k floor: not decimated
    assert decimate(m.vertices, m.faces, DecimateParams(target_faces="auto", min_faces_to_decimate=0)).is_identity


def test_target_faces_accepts_only_sizes():
    import pytest

    from neurd_lite import PipelineParams
    from neurd_lite.errors import InputError

    with pytest.raises(InputError):
        DecimateParams(target_faces="many")
    p = PipelineParams.from_dict({"decimate": {"target_faces": "auto"}})
    assert p.decimate.target_faces == "auto" and PipelineParams.from_json(p.to_json()) == p
    assert PipelineParams.from_dict({"decimate": {"target_faces": 40000}}).decimate.target_faces == 40000


def test_cli_target_faces_takes_a_number_or_auto():
    from neurd_lite.cli import faces_arg

    assert faces_arg("auto") == "auto" and faces_arg("40000") == 40000


def test_weld_below_the_target_keeps_the_welded_mesh():
    # 300 zero-area faces (three vertices at one point each) that the 1 nm weld drops: the input is above the
    # target, the welded mesh below it; the simplifier must not be asked for more faces than it has (merge 2461).
    m = _sphere()
    pts = np.repeat(m.vertices[:300], 3, axis=0) + np.tile([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]], (300, 1))
    v = np.vstack([m.vertices, pts])
    f = np.vstack([m.faces, len(m.vertices) + np.arange(900).reshape(-1, 3)])
    res = decimate(v, f, DecimateParams(target_faces=len(m.faces) + 100, min_faces_to_decimate=0))
    assert len(res.faces) == len(m.faces)
    assert len(res.input_to_working) == len(f) and (res.input_to_working >= 0).all()

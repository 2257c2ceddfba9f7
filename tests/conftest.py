"""Shared fixtures: real data from data_manifest.yaml (skipped with a reason when absent), temp dirs."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

try:  # nbmake (the [test] extra) runs the notebooks; pyproject's addopts name its options
    import nbmake  # noqa: F401
except ImportError:  # accept those options without it, so one test file runs with pytest alone

    def pytest_addoption(parser):
        group = parser.getgroup("nbmake (not installed: pip install -e '.[test]')")
        group.addoption("--nbmake", action="store_true", help="ignored: nbmake is not installed")
        group.addoption("--nbmake-timeout", type=int, default=None, help="ignored: nbmake is not installed")

    def pytest_report_header(config):
        return "nbmake not installed: the notebooks are not run (pip install -e '.[test]' installs it)"


def real_data(relpath: str):
    """Resolve a manifest file or skip the test, saying why and what to do."""
    from neurd_lite.data import DataNotFoundError, data_path

    try:
        return data_path(relpath)
    except DataNotFoundError as e:
        pytest.skip(f"real data unavailable: {e}")


@pytest.fixture
def refuse_unpickle(monkeypatch):
    """Make any ``pickle.load`` / ``pickle.loads`` fail and start from an empty cell-type model cache (cleared
    again afterwards): shipped models must load without unpickling."""
    import pickle

    from neurd_lite.celltype.models import _load_cached

    def refuse(*a, **k):
        raise AssertionError("a shipped model tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    _load_cached.cache_clear()
    yield
    _load_cached.cache_clear()


@pytest.fixture
def real():
    """``real("meshes/...")`` -> Path, or skip."""
    return real_data


@pytest.fixture(scope="session")
def pyramidal0():
    """A function returning ``make_neuron("pyramidal", seed=0)``: generated once per session (five tests in three
    modules use this cell), each call a deep copy, so a test that changes the cell changes only its own."""
    import copy

    from neurd_lite.testing import make_neuron

    cell = make_neuron("pyramidal", seed=0)
    return lambda: copy.deepcopy(cell)


@pytest.fixture(scope="session")
def small_merge_decomposed():
    """A function returning ``(merge, Neuron)``: ``test_proofread._small_merge()`` (the 2-cell dendrite merge of the
    splitter tests) and its ``decompose`` without spines and compartments, made once per session (five tests in two
    modules ran the same decomposition, ~4 s of CPU each), each call a deep copy of both, so a test that changes
    them changes only its own."""
    import copy

    import neurd_lite as nl
    from neurd_lite.pipeline import PipelineParams
    from test_proofread import _small_merge

    m = _small_merge()
    n = nl.decompose((m.mesh.vertices, m.mesh.faces), params=PipelineParams(skip=("spines", "compartments")))
    return lambda: copy.deepcopy((m, n))


@pytest.fixture(scope="session")
def microns_cell_paths():
    base = "meshes/microns_864691135510518224/"
    return {
        "mesh": real_data(base + "864691135510518224_decimated_80k.off"),
        "synapses": real_data(base + "864691135510518224_synapses.csv"),
        "soma_0": real_data(base + "soma_0.ply"),
        "soma_1": real_data(base + "soma_1.ply"),
        "stats": real_data(base + "neurd_decomposition_stats.json"),
    }


def write_precomputed_layer(folder, meshes_nm: dict) -> str:
    """Write a local neuroglancer precomputed segmentation layer holding ``{segment_id: trimesh (nm)}`` with
    cloud-volume's own API; returns its ``precomputed://file://`` source (skips when cloud-volume is absent)."""
    cloudvolume = pytest.importorskip("cloudvolume")
    info = cloudvolume.CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw", resolution=[8, 8, 40],
        voxel_offset=[0, 0, 0], volume_size=[256, 256, 64], mesh="mesh", chunk_size=[64, 64, 64])
    cv = cloudvolume.CloudVolume(f"file://{folder}/layer", info=info, progress=False)
    cv.commit_info()
    for segid, mesh in meshes_nm.items():
        cv.mesh.put(cloudvolume.Mesh(mesh.vertices, mesh.faces, segid=segid))
    return f"precomputed://file://{folder}/layer"


def chunk_mesh(mesh, cell_nm: float):
    """Cut a trimesh (nm) into open pieces like a chunked segmentation: faces grouped by the grid cell of their
    centroid, each group with its own copies of its vertices, shrunk by 2 % toward its centre (gaps: every seam
    becomes an open border on both sides). Returns (vertices nm, faces)."""
    import numpy as np

    cell = np.floor(mesh.triangles_center / cell_nm).astype(np.int64)
    _, piece = np.unique(cell, axis=0, return_inverse=True)
    keys = np.stack([np.repeat(piece.reshape(-1), 3), mesh.faces.reshape(-1)], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    v = np.asarray(mesh.vertices)[uniq[:, 1]]
    centre = np.stack([np.bincount(uniq[:, 0], weights=v[:, d]) for d in range(3)], axis=1)
    centre /= np.bincount(uniq[:, 0])[:, None]
    return centre[uniq[:, 0]] + 0.98 * (v - centre[uniq[:, 0]]), inv.reshape(-1, 3)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the notebooks (run end to end by nbmake, ~2 min together on 2 cores) slow before ``-m`` deselects, so
    the default suite stays short and CI runs them in its second pass (``-m slow``)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


def hex_tube(radius_nm: float = 300.0, sections: int = 6, length_nm: float = 6000.0, spacing_nm: float = 500.0,
             ring_nm: float = 400.0, offset_nm: float = 0.0):
    """A polygonal tube along z (``sections`` corners per ring on the circle of ``radius_nm``, rings every
    ``ring_nm``, faces are chords), no caps; a skeleton every ``spacing_nm`` along z, ``offset_nm`` off the axis
    along x. Returns (vertices, faces, skeleton, skeleton z)."""
    import numpy as np

    from neurd_lite.skeleton.model import Skeleton

    ang = 2 * np.pi * np.arange(sections) / sections
    zr = np.arange(-length_nm / 2, length_nm / 2 + 1, ring_nm)
    v = np.array([[radius_nm * np.cos(a), radius_nm * np.sin(a), z] for z in zr for a in ang])
    f = []
    for i in range(len(zr) - 1):
        for j in range(sections):
            a, b = i * sections + j, i * sections + (j + 1) % sections
            f += [[a, b, a + sections], [b, b + sections, a + sections]]
    zs = np.arange(-length_nm / 2 + spacing_nm, length_nm / 2, spacing_nm)
    k = len(zs)
    sk = Skeleton(np.column_stack([np.full(k, offset_nm), np.zeros(k), zs]),
                  np.column_stack([np.arange(k - 1), np.arange(1, k)]), root=0, radius=np.full(k, radius_nm))
    return v, np.asarray(f), sk, zs

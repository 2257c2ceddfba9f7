"""Shared fixtures: real data from data_manifest.yaml (skipped with a reason when absent), temp dirs."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def real_data(relpath: str):
    """Resolve a manifest file or skip the test, saying why and what to do."""
    from neurd_lite.data import DataNotFoundError, data_path

    try:
        return data_path(relpath)
    except DataNotFoundError as e:
        pytest.skip(f"real data unavailable: {e}")


@pytest.fixture
def real():
    """``real("meshes/...")`` -> Path, or skip."""
    return real_data


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

"""The benchmarks' one loader of the MICrONS cell 864691135510518224 (81k faces) and its subdivisions.

``trimesh.remesh.subdivide`` applied ``level`` times to the 81k-face mesh as trimesh reads the OFF file (float64,
``process=False``): the same surface with 4^level times the faces, face j of level 0 split into faces
4^level j .. 4^level (j + 1) - 1 (324k, 1.3M, 5.2M faces at levels 1, 2, 3). Subdivided once per process and level
(the last two levels asked kept in memory; not by :func:`mesh_file`, whose callers measure peak memory) and, with
a ``cache`` folder, as ``cell_sub{level}.npz`` there (float64, the same arrays). Every caller gets its own copy.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

CELL = "864691135510518224"
DATA_DIR = f"meshes/microns_{CELL}/"  # under the shared data folder (``neurd_lite.data.data_path``)
MESH = DATA_DIR + f"{CELL}_decimated_80k.off"
SYNAPSES = DATA_DIR + f"{CELL}_synapses.csv"


def subdivide(v: np.ndarray, f: np.ndarray, times: int) -> tuple[np.ndarray, np.ndarray]:
    """``trimesh.remesh.subdivide`` applied ``times`` times to vertices ``v`` (nm) and faces ``f``."""
    import trimesh

    for _ in range(times):
        v, f = trimesh.remesh.subdivide(v, f)
    return v, f


def _read(level: int, cache: str | None) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    from neurd_lite.data import data_path

    path = None if cache is None else Path(cache) / f"cell_sub{level}.npz"
    if path is not None and path.exists():
        z = np.load(path)
        return z["v"], z["f"]
    m = trimesh.load(data_path(MESH), process=False)
    v, f = subdivide(np.asarray(m.vertices), np.asarray(m.faces), level)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, v=v, f=f)
    return v, f


@lru_cache(maxsize=2)
def _arrays(level: int, cache: str | None) -> tuple[np.ndarray, np.ndarray]:
    v, f = _read(level, cache)
    v.flags.writeable = False
    f.flags.writeable = False
    return v, f


def level_arrays(level: int, cache: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) nm float64, faces (F, 3)) of the cell subdivided ``level`` times (module docstring)."""
    v, f = _arrays(int(level), None if cache is None else str(cache))
    return v.copy(), f.copy()


def level_mesh(level: int, cache: Path | None = None):
    """The cell subdivided ``level`` times as a ``trimesh.Trimesh`` (nm, not processed)."""
    import trimesh

    return trimesh.Trimesh(*level_arrays(level, cache), process=False)


def mesh_file(level: int, folder: Path) -> tuple[Path, int]:
    """The cell subdivided ``level`` times as a PLY file in ``folder`` (level 0: the OFF file itself); returns
    (path, faces)."""
    import trimesh

    from neurd_lite.data import data_path

    v, f = _read(level, None)  # not kept in this process: the pipeline benchmarks measure its peak memory
    if level == 0:
        return data_path(MESH), len(f)
    path = Path(folder) / f"cell_sub{level}.ply"
    trimesh.Trimesh(v, f, process=False).export(path)
    return path, len(f)

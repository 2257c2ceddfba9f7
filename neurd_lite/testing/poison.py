"""Hostile and malformed inputs for the batch fault-injection tests and benchmarks (tiny, nm).

``write_poison(folder)`` writes one file (or link, or folder) per kind and returns ``{kind: path}``. Every one
must end up as exactly one row of ``features.parquet`` (with a flag) or of ``errors.csv``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: kinds written by :func:`write_poison`
KINDS = ("empty", "corrupt", "nan", "one_face", "huge", "symlink_loop", "dir_named_ply", "bowtie",
         "separate_triangles", "duplicated_faces", "degenerate_faces")


def _export(vertices: np.ndarray, faces: np.ndarray, path: Path) -> Path:
    import trimesh

    trimesh.Trimesh(np.asarray(vertices, float), np.asarray(faces, np.int64), process=False).export(path)
    return path


def separate_triangles(n: int, spacing_nm: float = 3000.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unconnected triangles (400 nm legs) on a jittered grid ``spacing_nm`` apart: (vertices, faces)."""
    rng = np.random.default_rng(seed)
    k = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n] * spacing_nm
    grid = grid + rng.normal(scale=0.2 * spacing_nm, size=grid.shape)
    tri = np.array([[0, 0, 0], [400, 0, 0], [0, 400, 0]], float)
    return (grid[:, None, :] + tri[None]).reshape(-1, 3), np.arange(3 * n).reshape(-1, 3)


def _symlink_loop(path: Path) -> Path:
    if not os.path.lexists(path):
        os.symlink(path.name, path)
    return path


def _folder_named_ply(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def _writers(folder: Path, n_triangles: int) -> dict:
    """``{kind: () -> path}``: one small writer per poison kind."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2, radius=5000.0)
    nan_vertices = sphere.vertices.copy()
    nan_vertices[:5] = np.nan
    # two tetrahedra that share only one vertex (a non-manifold "bowtie")
    tet = np.array([[0, 0, 0], [3000, 0, 0], [0, 3000, 0], [0, 0, 3000]], float)
    tet_faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    line = np.column_stack([np.arange(30) * 300.0, np.zeros(30), np.zeros(30)])

    def raw(name: str, data: bytes) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return {
        "empty": lambda: raw("empty.ply", b""),
        "corrupt": lambda: raw("corrupt.ply",
                               b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\n\x00\x01garbage"),
        "nan": lambda: _export(nan_vertices, sphere.faces, folder / "nan_vertices.ply"),
        "one_face": lambda: _export([[0, 0, 0], [1000, 0, 0], [0, 1000, 0]], [[0, 1, 2]], folder / "one_face.ply"),
        "huge": lambda: _export(sphere.vertices * 1e8, sphere.faces, folder / "huge_bbox.ply"),
        "symlink_loop": lambda: _symlink_loop(folder / "loop.ply"),
        "dir_named_ply": lambda: _folder_named_ply(folder / "folder.ply"),
        "bowtie": lambda: _export(np.vstack([tet, -tet[1:]]),
                                  np.vstack([tet_faces, np.where(tet_faces, tet_faces + 3, 0)]), folder / "bowtie.ply"),
        "separate_triangles": lambda: _export(*separate_triangles(n_triangles), folder / "separate_triangles.ply"),
        "duplicated_faces": lambda: _export(sphere.vertices, np.vstack([sphere.faces, sphere.faces]),
                                            folder / "duplicated_faces.ply"),
        "degenerate_faces": lambda: _export(line, np.column_stack([np.arange(28), np.arange(1, 29), np.arange(2, 30)]),
                                            folder / "degenerate_faces.ply"),
    }


def write_poison(folder: str | os.PathLike, n_triangles: int = 50000,
                 kinds: tuple[str, ...] = KINDS) -> dict[str, Path]:
    """Write the ``kinds`` (default: every kind of :data:`KINDS`) into ``folder``; returns ``{kind: path}``."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown poison kinds {sorted(unknown)}; choose from {KINDS}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    writers = _writers(folder, n_triangles)
    return {kind: writers[kind]() for kind in kinds}


def probe_task(item: object, config: object) -> dict:
    """A worker task for pool tests, chosen by the item's name: ``die*`` kills its own process with SIGKILL (as
    the OOM killer would), ``hog*`` touches 600 MiB and waits, ``sleep*`` sleeps 30 s; anything else succeeds."""
    import signal
    import time

    name = getattr(item, "name", "")
    if name.startswith("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("hog"):
        block = np.ones(600 * 2**20 // 8)
        time.sleep(30)
        del block
    if name.startswith("sleep"):
        time.sleep(30)
    return {"name": name, "ok": True, "pid": os.getpid()}

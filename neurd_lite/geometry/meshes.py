"""Mesh coercion shared by the feature code (nm)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def as_trimesh(obj: Any, what: str) -> Any:
    """A trimesh from a Trimesh, a ``(vertices, faces)`` pair or a dict with those keys (nm); InputError naming
    ``what`` for anything else or a mesh too small / non-finite to be a closed body."""
    import trimesh

    if isinstance(obj, trimesh.Trimesh):
        mesh = obj
    elif isinstance(obj, dict) and {"vertices", "faces"} <= set(obj):
        mesh = trimesh.Trimesh(np.asarray(obj["vertices"]), np.asarray(obj["faces"]), process=False)
    elif isinstance(obj, (tuple, list)) and len(obj) == 2:
        mesh = trimesh.Trimesh(np.asarray(obj[0]), np.asarray(obj[1]), process=False)
    else:
        raise InputError(f"{what} must be a trimesh.Trimesh or (vertices, faces) in nm, got {type(obj).__name__}")
    if len(mesh.faces) < 4 or not np.all(np.isfinite(mesh.vertices)):
        raise InputError(f"{what} mesh has {len(mesh.faces)} faces or non-finite vertices: not a closed body")
    return mesh

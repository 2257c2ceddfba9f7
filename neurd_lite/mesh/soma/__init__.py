"""Soma detection and the soma boundary on raw EM surface meshes (nm).

:mod:`.detect` fills the mesh volume and finds soma peaks (depth maxima); :mod:`.extent` grows each soma from
its peak to where its processes leave it; :mod:`.windows` holds :func:`find_somas`, which runs the fine pass on
the whole mesh or, for large meshes, in windows around coarse candidates. Public API: :func:`find_somas`, :func:`soma_from_point`,
:func:`soma_surface_faces`, :class:`SomaParams`.
"""
from __future__ import annotations

from .detect import SomaParams, SomaVolume, mesh_volume, soma_from_point, soma_surface_faces
from .windows import DetailMesh, find_somas

__all__ = ["DetailMesh", "SomaParams", "SomaVolume", "find_somas", "mesh_volume", "soma_from_point", "soma_surface_faces"]

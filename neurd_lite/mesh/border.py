"""Open border length per surface area: a tessellation-free test for a chunked (fragmented) input mesh (nm in,
µm per µm² out)."""
from __future__ import annotations

import numpy as np

from ..geometry.meshes import face_areas_nm2
from ..geometry.meshgraph import boundary_edges

# A surface of random orientation cut by a cubic grid of spacing c (µm) gets 3 * (pi / 4) / c µm of cut line per
# µm², and every cut leaves two open borders (one per side): ~4.7 / c µm/µm² (the family's 4 µm chunks: ~1.2, plus
# its crumbs: 4.3-6.2 measured at 1.1-7.1M faces). 0.5 is seams every ~9 µm; the real MICrONS cell reads .044
# (an open border every ~100 µm, mostly cut ends) at 81k and subdivided (docs/spines.md "Session 19, round 2").
SEAMS_PER_UM_FACTOR = 3.0 * np.pi / 4.0 * 2.0


def open_border_um_per_um2(vertices: np.ndarray, faces: np.ndarray, face_areas: np.ndarray | None = None) -> float:
    """Total length of open edges (used by one face; µm) over the surface area (µm²) of a mesh in nm; 0 when it
    has no area. Midpoint subdivision leaves it unchanged (a border edge splits into two of half its length).
    face_areas: the (F,) face areas (nm²) when already computed."""
    v = np.asarray(vertices, dtype=np.float64)
    area = float((face_areas_nm2(v, faces) if face_areas is None else face_areas).sum())
    if area <= 0.0 or not len(faces):
        return 0.0
    b = boundary_edges(faces)
    length = float(np.linalg.norm(v[b[:, 0]] - v[b[:, 1]], axis=1).sum()) if len(b) else 0.0
    return (length / 1e3) / (area / 1e6)


def chunk_spacing_um(border_um_per_um2: float) -> float:
    """The cubic chunk spacing (µm) whose open seams give this border density on a randomly oriented surface."""
    return SEAMS_PER_UM_FACTOR / border_um_per_um2 if border_um_per_um2 > 0 else float("inf")


def border_fragmented(vertices: np.ndarray, faces: np.ndarray, threshold_um_per_um2: float | None,
                      face_areas: np.ndarray | None = None) -> bool:
    """True when ``threshold_um_per_um2`` is set and the mesh's open border exceeds it (µm per µm²)."""
    if threshold_um_per_um2 is None:
        return False
    return open_border_um_per_um2(vertices, faces, face_areas) > float(threshold_um_per_um2)

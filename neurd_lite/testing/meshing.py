"""Closed surface primitives (tubes, ellipsoids, spines) and their labelled union into one mesh (nm).

Every primitive is a closed, outward-oriented triangle mesh. :func:`union_parts` merges overlapping
primitives with manifold3d's batch boolean and keeps, for every output triangle, the index of the part it
came from (manifold3d tracks each input's original id through the boolean), so ground-truth labels follow
the faces. Coordinates are nm throughout; the union runs in float32 around a local origin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tessellation:
    """How finely primitives are cut; ``scale`` multiplies every resolution (faces grow ~ scale²)."""

    scale: float = 1.0
    tube_sides: int = 8
    tube_ring_spacing_nm: float = 1000.0
    soma_lon: int = 48
    soma_lat: int = 32
    head_lon: int = 7
    head_lat: int = 4
    neck_sides: int = 6

    def n(self, base: int, minimum: int = 3) -> int:
        """A resolution count scaled by ``scale``."""
        return max(minimum, int(round(base * self.scale)))


def uv_sphere(n_lon: int, n_lat: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere with poles: (V, 3) vertices and (2 * n_lon * (n_lat - 1), 3) outward triangles."""
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    ring = np.stack([st * np.cos(phi), ct * np.ones_like(phi), st * np.sin(phi)], axis=-1).reshape(-1, 3)
    verts = np.vstack([[0.0, 1.0, 0.0], ring, [0.0, -1.0, 0.0]])
    faces = [_fan(0, 1 + np.arange(n_lon), flip=False)]
    for i in range(n_lat - 2):
        faces.append(_band(1 + i * n_lon, 1 + (i + 1) * n_lon, n_lon))
    last = len(verts) - 1
    faces.append(_fan(last, 1 + (n_lat - 2) * n_lon + np.arange(n_lon), flip=True))
    f = np.vstack(faces)
    return verts, _orient_outward(verts, f)


def _fan(center: int, ring: np.ndarray, flip: bool) -> np.ndarray:
    f = np.column_stack([np.full(len(ring), center), np.roll(ring, -1), ring])
    return f[:, ::-1] if flip else f


def _band(a0: int, b0: int, n: int) -> np.ndarray:
    """Quads between ring starting at vertex a0 and ring starting at b0 (n vertices each), as triangles."""
    i = np.arange(n)
    a, a1, b, b1 = a0 + i, a0 + (i + 1) % n, b0 + i, b0 + (i + 1) % n
    return np.vstack([np.column_stack([a, a1, b]), np.column_stack([a1, b1, b])])


def _orient_outward(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip all faces if the signed volume is negative (primitives are built consistently, so one test suffices)."""
    v = verts[faces]
    vol = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum()
    return faces if vol > 0 else faces[:, ::-1].copy()


def _frames(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parallel-transport normal/binormal frames (n, 3) along a polyline."""
    t = np.gradient(points, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    ref = np.array([1.0, 0.0, 0.0]) if abs(t[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    n = np.empty_like(points)
    n0 = ref - ref.dot(t[0]) * t[0]
    n[0] = n0 / np.linalg.norm(n0)
    for i in range(1, len(points)):
        v = n[i - 1] - n[i - 1].dot(t[i]) * t[i]
        n[i] = v / np.linalg.norm(v)
    return n, np.cross(t, n)


def tube(points: np.ndarray, radii: np.ndarray, sides: int) -> tuple[np.ndarray, np.ndarray]:
    """A closed tube (flat caps) around a polyline: (V, 3) vertices, (F, 3) outward faces, nm."""
    n, b = _frames(points)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    rings = (points[:, None] + radii[:, None, None]
             * (np.cos(ang)[None, :, None] * n[:, None] + np.sin(ang)[None, :, None] * b[:, None]))
    m = len(points)
    verts = np.vstack([rings.reshape(-1, 3), points[[0, -1]]])
    faces = [_band(i * sides, (i + 1) * sides, sides) for i in range(m - 1)]
    faces.append(_fan(m * sides, np.arange(sides), flip=False))
    faces.append(_fan(m * sides + 1, (m - 1) * sides + np.arange(sides), flip=True))
    return verts, _orient_outward(verts, np.vstack(faces))


def resample(points: np.ndarray, radii: np.ndarray, spacing_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample a polyline (and its radii) at about ``spacing_nm`` along its arc length."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    k = max(2, int(np.ceil(s[-1] / spacing_nm)) + 1)
    t = np.linspace(0, s[-1], k)
    pts = np.column_stack([np.interp(t, s, points[:, j]) for j in range(3)])
    return pts, np.interp(t, s, radii)


def union_parts(parts: list[tuple[np.ndarray, np.ndarray]], origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean union of closed parts (vertices nm, faces); returns vertices (nm), faces and each face's part index."""
    import manifold3d as m3d

    manifolds = []
    id_to_part: dict[int, int] = {}
    for i, (v, f) in enumerate(parts):
        mesh = m3d.Mesh(vert_properties=np.ascontiguousarray(v - origin, dtype=np.float32),
                        tri_verts=np.ascontiguousarray(f, dtype=np.uint32))
        man = m3d.Manifold(mesh).as_original()
        if man.status() != m3d.Error.NoError or man.is_empty():
            raise ValueError(f"synthetic part {i} is not a closed manifold ({man.status()})")
        id_to_part[int(man.original_id())] = i
        manifolds.append(man)
    out = m3d.Manifold.batch_boolean(manifolds, m3d.OpType.Add).to_mesh()
    verts = np.asarray(out.vert_properties, dtype=np.float64)[:, :3] + origin
    faces = np.asarray(out.tri_verts, dtype=np.int64)
    run_index = np.asarray(out.run_index, dtype=np.int64) // 3
    run_part = np.array([id_to_part[int(r)] for r in np.asarray(out.run_original_id)], dtype=np.int64)
    part = np.repeat(run_part, np.diff(run_index))
    if len(part) != len(faces):
        raise RuntimeError("manifold3d run table does not cover every triangle")
    return verts, faces, part


def concatenate_parts(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlapping parts as one mesh without a boolean (faster, not one surface): vertices, faces, part index."""
    offs = np.cumsum([0] + [len(v) for v, _ in parts])
    verts = np.vstack([v for v, _ in parts])
    faces = np.vstack([f + o for (_, f), o in zip(parts, offs[:-1])])
    part = np.repeat(np.arange(len(parts)), [len(f) for _, f in parts])
    return verts, faces, part

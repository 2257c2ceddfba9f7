"""Closed surface primitives (tubes, ellipsoids, spines) and their labelled union into one mesh (nm).

Every primitive is a closed, outward-oriented triangle mesh. :func:`union_parts` merges overlapping
primitives with manifold3d's batch boolean and keeps, for every output triangle, the index of the part it
came from (manifold3d tracks each input's original id through the boolean), so ground-truth labels follow
the faces. Coordinates are nm throughout; the union runs in float32 around a local origin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import exactvec as ev


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
    faces = [_fan(0, 1 + np.arange(n_lon), flip=False), _bands(n_lat - 1, n_lon, first=1)]
    last = len(verts) - 1
    faces.append(_fan(last, 1 + (n_lat - 2) * n_lon + np.arange(n_lon), flip=True))
    f = np.vstack(faces)
    return verts, _orient_outward(verts, f)


def _fan(center: int, ring: np.ndarray, flip: bool) -> np.ndarray:
    f = np.column_stack([np.full(len(ring), center), np.roll(ring, -1), ring])
    return f[:, ::-1] if flip else f


def _bands(n_rings: int, n: int, first: int = 0) -> np.ndarray:
    """Triangles joining consecutive rings of ``n`` vertices (ring i starts at vertex ``first + i * n``)."""
    i = np.arange(n)
    a = first + np.arange(n_rings - 1)[:, None] * n + i[None]
    a1 = first + np.arange(n_rings - 1)[:, None] * n + ((i + 1) % n)[None]
    b, b1 = a + n, a1 + n
    return np.concatenate([np.stack([a, a1, b], -1), np.stack([a1, b1, b], -1)], axis=1).reshape(-1, 3)


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
    n0 = ref - ev.dot(ref, t[0]) * t[0]
    n[0] = n0 / ev.norm(n0)
    for i in range(1, len(points)):
        v = n[i - 1] - ev.dot(n[i - 1], t[i]) * t[i]
        n[i] = v / ev.norm(v)
    return n, np.cross(t, n)


def tube(points: np.ndarray, radii: np.ndarray, sides: int) -> tuple[np.ndarray, np.ndarray]:
    """A closed tube (flat caps) around a polyline: (V, 3) vertices, (F, 3) outward faces, nm."""
    n, b = _frames(points)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    rings = (points[:, None] + radii[:, None, None]
             * (np.cos(ang)[None, :, None] * n[:, None] + np.sin(ang)[None, :, None] * b[:, None]))
    m = len(points)
    verts = np.vstack([rings.reshape(-1, 3), points[[0, -1]]])
    faces = [_bands(m, sides)]
    faces.append(_fan(m * sides, np.arange(sides), flip=False))
    faces.append(_fan(m * sides + 1, (m - 1) * sides + np.arange(sides), flip=True))
    return verts, _orient_outward(verts, np.vstack(faces))


def _perpendicular_frames(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors completing each unit row of ``u`` (k, 3) to a right-handed frame."""
    ref = np.where(np.abs(u[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    n1 = np.cross(u, ref)
    n1 /= np.linalg.norm(n1, axis=1, keepdims=True)
    return n1, np.cross(u, n1)


def revolve(base: np.ndarray, u: np.ndarray, z_bottom: np.ndarray, z: np.ndarray, rho: np.ndarray,
            z_top: np.ndarray, around: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed surfaces of revolution around axes ``base + z u`` (k of them, one shared topology), nm.

    z, rho: (k, R) ring heights and radii; each surface is closed by a point on the axis at ``z_bottom`` and
    ``z_top``. Returns vertices (k, R * around + 2, 3), template faces (F, 3) and each face's band (0 = bottom
    fan, i = between rings i-1 and i, R = top fan).
    """
    k, n_rings = z.shape
    n1, n2 = _perpendicular_frames(u)
    ang = np.linspace(0, 2 * np.pi, around, endpoint=False)
    radial = np.cos(ang)[None, :, None] * n1[:, None] + np.sin(ang)[None, :, None] * n2[:, None]  # (k, a, 3)
    rings = (base[:, None, None] + z[..., None, None] * u[:, None, None]
             + rho[..., None, None] * radial[:, None])  # (k, R, a, 3)
    ends = base[:, None] + np.stack([z_bottom, z_top], axis=1)[..., None] * u[:, None]
    verts = np.concatenate([rings.reshape(k, -1, 3), ends], axis=1)
    c0, c1 = n_rings * around, n_rings * around + 1
    faces = [_fan(c0, np.arange(around), flip=False)]
    faces.append(_bands(n_rings, around))
    faces.append(_fan(c1, (n_rings - 1) * around + np.arange(around), flip=True))
    band = np.concatenate([np.zeros(around, np.int64), np.repeat(np.arange(1, n_rings), 2 * around),
                           np.full(around, n_rings)])
    return verts, _orient_outward(verts[0], np.vstack(faces)), band


def resample(points: np.ndarray, radii: np.ndarray, spacing_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample a polyline (and its radii) at about ``spacing_nm`` along its arc length."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    k = max(2, int(np.ceil(s[-1] / spacing_nm)) + 1)
    t = np.linspace(0, s[-1], k)
    pts = np.column_stack([np.interp(t, s, points[:, j]) for j in range(3)])
    return pts, np.interp(t, s, radii)


def union_parts(parts: list[tuple[np.ndarray, np.ndarray]], origin: np.ndarray,
                extra: tuple[np.ndarray, np.ndarray] | None = None, refine: int = 1
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boolean union of closed parts (vertices nm, faces) and one optional ``extra`` mesh of disjoint closed pieces.

    Each input triangle gets an explicit face id (without one, manifold3d groups coplanar triangles under one
    id), so every output triangle maps back to the input triangle it was cut from. The parts may overlap each other; the pieces of ``extra`` must not overlap each other (they are combined
    without a boolean, then unioned with the parts in one step). Returns vertices (nm), faces, each face's part
    index (-1 for ``extra`` faces) and each face's triangle index in its source (its part, or ``extra``).
    ``refine`` > 1 smooths the union (edges sharper than 60° stay creases) and splits every triangle into
    refine² curved ones: a finer surface for far less time than a finer boolean. Face provenance is kept.
    manifold3d's parallel refine is not repeatable: :func:`~.smooth_refine.union_one_cpu` runs this function on
    one CPU in a child process (same parts -> bit-identical mesh).
    """
    import manifold3d as m3d

    def manifold(v: np.ndarray, f: np.ndarray, what: str):
        mesh_id = int(m3d.Manifold.reserve_ids(1))  # not as_original(): that would renumber face ids
        man = m3d.Manifold(m3d.Mesh(vert_properties=np.ascontiguousarray(v - origin, dtype=np.float32),
                                    tri_verts=np.ascontiguousarray(f, dtype=np.uint32),
                                    run_index=np.array([0, 3 * len(f)], dtype=np.uint32),
                                    run_original_id=np.array([mesh_id], dtype=np.uint32),
                                    face_id=np.arange(len(f), dtype=np.uint32)))
        if man.status() != m3d.Error.NoError:
            raise ValueError(f"synthetic {what} is not a closed manifold ({man.status()})")
        return man, mesh_id

    built = [manifold(v, f, f"part {i}") for i, (v, f) in enumerate(parts)]
    id_to_part = {mesh_id: i for i, (_, mesh_id) in enumerate(built)}
    merged = m3d.Manifold.batch_boolean([m for m, _ in built], m3d.OpType.Add)
    extra_id = -2
    if extra is not None and len(extra[1]):
        em, extra_id = manifold(extra[0], extra[1], "spine mesh")
        merged = m3d.Manifold.batch_boolean([merged, em], m3d.OpType.Add)
    if refine > 1:
        merged = merged.smooth_out(60.0, 0.0).refine(int(refine))
    out = merged.to_mesh()
    verts = np.asarray(out.vert_properties, dtype=np.float64)[:, :3] + origin
    faces = np.asarray(out.tri_verts, dtype=np.int64)
    runs = np.diff(np.asarray(out.run_index, dtype=np.int64) // 3)
    run_ids = np.asarray(out.run_original_id, dtype=np.int64)
    part = np.repeat([id_to_part.get(int(r), -1) for r in run_ids], runs)
    face_id = np.asarray(out.face_id, dtype=np.int64)
    if len(part) != len(faces) or len(face_id) != len(faces):
        raise RuntimeError("manifold3d run table does not cover every triangle")
    part[np.repeat(run_ids == extra_id, runs)] = -1
    return verts, faces, part, face_id


def concatenate_parts(parts: list[tuple[np.ndarray, np.ndarray]], extra: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`union_parts` but without a boolean: overlapping closed pieces, not one surface (faster)."""
    pieces = list(parts) + ([extra] if extra is not None else [])
    offs = np.cumsum([0] + [len(v) for v, _ in pieces])
    verts = np.vstack([v for v, _ in pieces])
    faces = np.vstack([f + o for (_, f), o in zip(pieces, offs[:-1])])
    n_part_faces = sum(len(f) for _, f in parts)
    part = np.full(len(faces), -1, dtype=np.int64)
    part[:n_part_faces] = np.repeat(np.arange(len(parts)), [len(f) for _, f in parts])
    face_id = np.concatenate([np.arange(len(f)) for _, f in pieces]).astype(np.int64)
    return verts, faces, part, face_id

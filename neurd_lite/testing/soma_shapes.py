"""Soma shapes of synthetic neurons: round, ellipsoid, elongated and teardrop (nm).

A :class:`SomaShape` is a closed body around ``center`` in a local frame (``rotation`` columns are the local
x, y, z axes in world coordinates; local +y is the shape's long or taper axis). Ellipsoidal shapes are given by
their semi-axes times a few gentle Gaussian lumps (``lumps``, -8 % to +12 % of the radius); a teardrop is a
sphere of radius ``axes_nm[0]`` whose top flows into a trunk of radius ``tip_radius_nm`` at height ``taper_nm``
above the centre (a concave taper, so the width falls gradually, as in large layer-5 somata). Every shape is star-shaped from its centre, so a ray from the centre leaves it once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import exactvec as ev
from .meshing import Tessellation, revolve, uv_sphere

SOMA_SHAPES = ("round", "ellipsoid", "elongated", "teardrop")


@dataclass(frozen=True)
class SomaShape:
    """A soma body (nm). ``kind`` is one of :data:`SOMA_SHAPES`; ``taper_power`` > 1 makes the taper concave."""

    kind: str
    center: np.ndarray
    axes_nm: np.ndarray
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    taper_nm: float = 0.0
    tip_radius_nm: float = 0.0
    taper_power: float = 1.5
    lumps: np.ndarray | None = None  # (k, 5): local unit direction, relative height, width (ellipsoidal kinds)

    @property
    def axis(self) -> np.ndarray:
        """Unit long / taper axis in world coordinates."""
        return self.rotation[:, 1]

    # --- teardrop profile --------------------------------------------------------------------------------
    def _profile(self, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """(z, rho) samples of the teardrop's outline along its axis, bottom pole to taper tip (nm)."""
        r, top, rt = float(self.axes_nm[0]), float(self.taper_nm), float(self.tip_radius_nm)
        d = np.hypot(top, rt)
        phi = np.arctan2(rt, top) + np.arccos(min(r / d, 1.0))  # tangent point of the line from the tip
        zt, rho_t = r * np.cos(phi), r * np.sin(phi)
        z = np.linspace(-r, top, n)
        rho = np.sqrt(np.clip(r * r - z * z, 0.0, None))
        cone = z > zt
        f = (top - z[cone]) / (top - zt)
        rho[cone] = rt + (rho_t - rt) * f ** self.taper_power
        return z, rho

    def _radial(self, u: np.ndarray) -> np.ndarray:
        """Distance from the centre to the surface along local unit directions ``u`` (n, 3), ellipsoidal kinds."""
        r = 1.0 / np.sqrt(np.sum((u / self.axes_nm) ** 2, axis=1))
        if self.lumps is not None and len(self.lumps):
            v, a, w = self.lumps[:, :3], self.lumps[:, 3], self.lumps[:, 4]
            r = r * (1.0 + (a[None] * np.exp(-(1.0 - u @ v.T) / w[None])).sum(axis=1))
        return r

    # --- geometry -------------------------------------------------------------------------------------------
    def local(self, points: np.ndarray) -> np.ndarray:
        """World points (n, 3) in the shape's local frame (nm)."""
        return (np.asarray(points, float) - self.center) @ self.rotation

    def inside(self, points: np.ndarray) -> np.ndarray:
        """(n,) True where a point lies inside the body."""
        q = self.local(np.atleast_2d(points))
        if self.kind != "teardrop":
            rho = np.linalg.norm(q, axis=1)
            return rho <= self._radial(q / np.maximum(rho, 1e-9)[:, None])
        z, rho = self._profile()
        zz = q[:, 1]
        rr = np.hypot(q[:, 0], q[:, 2])
        ok = (zz >= z[0]) & (zz <= z[-1])
        return ok & (rr <= np.interp(zz, z, rho))

    def surface_point(self, d: np.ndarray) -> np.ndarray:
        """Point(s) where rays from the centre along unit ``d`` ((3,) or (n, 3)) leave the body (nm)."""
        d = np.atleast_2d(np.asarray(d, float))
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        if self.kind != "teardrop":
            t = self._radial(d @ self.rotation)
        else:
            lo, hi = np.zeros(len(d)), np.full(len(d), self.extent_nm * 1.01)
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                ins = self.inside(self.center + d * mid[:, None])
                lo, hi = np.where(ins, mid, lo), np.where(ins, hi, mid)
            t = lo
        out = self.center + d * t[:, None]
        return out[0] if out.shape[0] == 1 else out

    @property
    def extent_nm(self) -> float:
        """Largest distance from the centre to the surface (nm)."""
        if self.kind == "teardrop":
            return float(max(self.axes_nm[0], self.taper_nm))
        u, _ = uv_sphere(96, 64)
        return float(self._radial(u).max())

    @property
    def volume_nm3(self) -> float:
        """Enclosed volume (nm³)."""
        if self.kind != "teardrop":
            if self.lumps is None or not len(self.lumps):
                return float(4.0 / 3.0 * np.pi * np.prod(self.axes_nm))
            u, f = uv_sphere(96, 64)
            v = u * self._radial(u)[:, None]
            return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0)
        z, rho = self._profile(2000)
        return float(np.trapezoid(np.pi * rho**2, z))

    @property
    def radius_nm(self) -> float:
        """Radius of the sphere with the body's volume (nm)."""
        return float((3.0 * self.volume_nm3 / (4.0 * np.pi)) ** (1.0 / 3.0))

    @property
    def centroid_nm(self) -> np.ndarray:
        """Volume centroid (nm); the centre for ellipsoids, shifted toward the taper for a teardrop."""
        if self.kind != "teardrop":
            return np.asarray(self.center, float).copy()
        z, rho = self._profile(2000)
        w = np.pi * rho**2
        return self.center + self.axis * float(np.trapezoid(w * z, z) / np.trapezoid(w, z))

    def mesh(self, tess: Tessellation) -> tuple[np.ndarray, np.ndarray]:
        """A closed outward triangle mesh of the body: (V, 3) vertices nm, (F, 3) faces."""
        n_lon, n_lat = tess.n(tess.soma_lon, 8), tess.n(tess.soma_lat, 6)
        if self.kind != "teardrop":
            u, f = uv_sphere(n_lon, n_lat)
            e = u * self.axes_nm
            d = e / np.linalg.norm(e, axis=1, keepdims=True)
            return self.center + (d * self._radial(d)[:, None]) @ self.rotation.T, f
        z, rho = self._profile(2000)
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(z), np.diff(rho)))])
        n_rings = max(6, int(round(n_lat * arc[-1] / (np.pi * self.axes_nm[0]))))
        s = np.linspace(0, arc[-1], n_rings + 2)[1:-1]
        zr, rr = np.interp(s, arc, z), np.interp(s, arc, rho)
        v, f, _ = revolve(self.center[None], self.axis[None], np.array([z[0]]), zr[None], rr[None],
                          np.array([z[-1]]), n_lon)
        return v[0], f


def random_rotation(rng: np.random.Generator, axis: np.ndarray | None = None) -> np.ndarray:
    """A random rotation matrix (columns = local axes); with ``axis`` its local +y is that unit vector."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if axis is None:
        return q
    y = np.asarray(axis, float) / ev.norm(axis)
    x = q[:, 0] - ev.dot(q[:, 0], y) * y
    x /= ev.norm(x)
    return np.column_stack([x, y, np.cross(x, y)])


def make_soma_shape(rng: np.random.Generator, kind: str, center: np.ndarray, radius_nm: float,
                    axis: np.ndarray, tip_radius_nm: float = 0.0) -> SomaShape:
    """A random soma body of ``kind`` whose volume-equivalent radius is about ``radius_nm`` (nm).

    axis: unit direction of the long axis (elongated) or of the taper (teardrop; the trunk leaves there).
    tip_radius_nm: teardrop trunk radius (nm). Ellipsoid axes are drawn within ±25 %, elongated 1.5-2.2x.
    """
    rot = random_rotation(rng, axis)
    if kind == "round":
        axes = radius_nm * rng.uniform(0.94, 1.06, 3)
    elif kind == "ellipsoid":
        axes = radius_nm * rng.uniform(0.78, 1.25, 3)
    elif kind == "elongated":
        e = rng.uniform(1.5, 2.2)
        axes = radius_nm * np.array([e**-0.5, e, e**-0.5]) * rng.uniform(0.92, 1.08, 3)
    elif kind == "teardrop":
        body = radius_nm * rng.uniform(0.86, 0.95)
        # the taper ends a little thinner than the trunk, so the trunk tube leaves it along a clean seam
        tip = 0.93 * float(np.clip(tip_radius_nm, 0.15 * body, 0.45 * body))
        taper, power = rng.uniform(1.5, 2.1), rng.uniform(1.3, 2.0)
        for _ in range(3):  # the taper adds volume: shrink the body until the equivalent radius fits
            shape = SomaShape("teardrop", np.asarray(center, float), np.full(3, body), rot, taper_nm=body * taper,
                              tip_radius_nm=tip, taper_power=power)
            body *= radius_nm / shape.radius_nm
        return shape
    else:
        raise ValueError(f"unknown soma shape {kind!r}; use one of {SOMA_SHAPES}")
    k = int(rng.integers(3, 7))  # a few gentle lumps: no soma is a perfect ellipsoid
    v = rng.normal(size=(k, 3))
    lumps = np.column_stack([v / np.linalg.norm(v, axis=1, keepdims=True), rng.uniform(-0.08, 0.12, k),
                             rng.uniform(0.05, 0.25, k)])
    axes = axes * radius_nm / np.prod(axes) ** (1 / 3)
    shape = SomaShape(kind, np.asarray(center, float), axes, rot, lumps=lumps)
    return SomaShape(kind, shape.center, axes * radius_nm / shape.radius_nm, rot, lumps=lumps)

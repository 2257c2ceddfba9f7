"""The vertex model's umbrella convexity on flat surface under last-bit noise (ShaftParams.stable_ties)."""
import numpy as np
import trimesh

from neurd_lite.geometry.ties import TIE_REL
from neurd_lite.spines.ring_features import ring_columns


def _columns(mesh: trimesh.Trimesh, flat_rel: float) -> np.ndarray:
    v = np.asarray(mesh.vertices, dtype=np.float64)
    axis = v - np.array([0.0, 0.0, 1000.0])  # every vertex 1 µm above its axis point
    nv = len(v)
    return ring_columns(v, np.asarray(mesh.faces), np.asarray(mesh.edges_unique), np.zeros(nv), np.full(nv, 500.0),
                        axis, flat_rel=flat_rel)["convexity_rel"]


def _flat_patch(noise_seed: int | None) -> trimesh.Trimesh:
    """A planar grid of 300 nm squares far from the origin (as in a real volume), subdivided once (midpoints
    lie on the plane in exact arithmetic); noise: one ulp on a random 30 % of coordinates."""
    x, y = np.meshgrid(np.arange(12) * 300.0, np.arange(12) * 300.0)
    v = np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)]) + np.array([712_345.3, 401_234.7, 655_321.9])
    i = np.arange(11)[:, None] * 12 + np.arange(11)[None, :]
    f = np.concatenate([np.stack([i, i + 1, i + 13], -1).reshape(-1, 3),
                        np.stack([i, i + 13, i + 12], -1).reshape(-1, 3)])
    m = trimesh.Trimesh(v, f, process=False).subdivide()
    v = np.array(m.vertices)
    if noise_seed is not None:
        rng = np.random.default_rng(noise_seed)
        hit = rng.random(v.shape) < 0.3
        v[hit] = np.nextafter(v[hit], np.where(rng.random(hit.sum()) < 0.5, -np.inf, np.inf))
    return trimesh.Trimesh(v, np.asarray(m.faces), process=False)


def test_flat_convexity_is_zero_and_noise_free_with_stable_ties():
    clean, noisy = _flat_patch(None), _flat_patch(3)
    off = [_columns(m, 0.0) for m in (clean, noisy)]
    on = [_columns(m, TIE_REL) for m in (clean, noisy)]
    assert np.all(on[0] == 0.0) and np.all(on[1] == 0.0)
    assert np.abs(off[1]).max() < 1e-9  # off: only rounding residue, whose sign follows the last bits
    assert (np.sign(off[0]) != np.sign(off[1])).any()


def test_curved_convexity_unchanged_by_stable_ties():
    s = trimesh.creation.icosphere(subdivisions=3, radius=2000.0)
    s.vertices += np.array([712_345.3, 401_234.7, 655_321.9])
    off, on = _columns(s, 0.0), _columns(s, TIE_REL)
    assert np.array_equal(off, on) and np.abs(off).min() > 1e-3

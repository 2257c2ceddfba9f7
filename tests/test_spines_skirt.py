"""The vertex model's skirt beside a stalked rule spine goes back to the shaft; a dome keeps its rim (skirt.py)."""
import numpy as np

from neurd_lite.spines.skirt import drop_model_skirt


def _plane(step: float = 50.0, half: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """A flat grid (nm) of (2 half + 1)^2 vertices and its edges (grid lines and one diagonal per cell)."""
    k = 2 * half + 1
    xs = (np.arange(k) - half) * step
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    verts = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(k * k)])
    idx = np.arange(k * k).reshape(k, k)
    e = np.vstack([np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
                   np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                   np.column_stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()])])
    return verts, e


def _case():
    verts, e = _plane()
    h = np.zeros(len(verts))
    rule = np.full(len(verts), -1)
    new = np.full(len(verts), -1)
    da = np.linalg.norm(verts[:, :2] - [-700.0, 0.0], axis=1)  # stalked spine: 800 nm high, footprint ~100 nm
    db = np.linalg.norm(verts[:, :2] - [700.0, 0.0], axis=1)  # dome: 150 nm high, footprint ~300 nm
    h[da <= 100] = 800.0
    rule[da <= 100] = 0
    new[da <= 220] = 0
    h[(da > 100) & (da <= 220)] = 10.0  # the skirt: at the shaft's level
    h[db <= 300] = 30.0 + 150.0 * (1 - (db[db <= 300] / 300.0) ** 2)
    rule[db <= 300] = 1
    new[db <= 400] = 1
    h[(db > 300) & (db <= 400)] = 10.0  # the dome's low rim
    return verts, e, rule, new, h, da, db


def test_stalked_spine_loses_its_skirt_and_a_dome_keeps_its_rim():
    verts, e, rule, new, h, da, db = _case()
    margin = np.full(len(verts), 25.0)
    eligible = np.ones(len(verts), dtype=bool)
    out = drop_model_skirt(verts, e, rule, new, h, margin, eligible, (300.0, 700.0))
    assert (out[da <= 100] == 0).all() and (out[(da > 100) & (da <= 220)] == -1).all()
    assert (out[db <= 400] == 1).all()
    every = drop_model_skirt(verts, e, rule, new, h, margin, eligible, (300.0, 700.0), stalked_only=False)
    assert (every[(db > 300) & (db <= 400)] == -1).all() and (every[db <= 300] == 1).all()
    # an added vertex that stands above the level stays on the stalked spine too
    h2 = h.copy()
    h2[(da > 100) & (da <= 220)] = 200.0
    kept = drop_model_skirt(verts, e, rule, new, h2, margin, eligible, (300.0, 700.0))
    assert (kept[da <= 220] == 0).all()

"""The relief pass's local shaft level (``relief.surface_level``) as a quantile of the surrounding surface (ms):
where raised surface (spine fillets, missed low spines) covers more than half of it, the median reads the raised
surface and a lower quantile (``SpineParams.relief_quantile``) the wall."""
from __future__ import annotations

import numpy as np

from neurd_lite.spines.relief import surface_level


def _striped_sheet(raised_share: float, step_nm: float = 20.0, size_nm: float = 4000.0, period_nm: float = 400.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A flat grid (nm) with protrusion 100 nm on stripes covering ``raised_share`` of each period, 0 elsewhere:
    vertices, faces, face areas (nm²) and per-vertex protrusion."""
    n = int(size_nm / step_nm) + 1
    x, y = np.meshgrid(np.arange(n) * step_nm, np.arange(n) * step_nm, indexing="ij")
    verts = np.column_stack([x.ravel(), y.ravel(), np.zeros(n * n)])
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.vstack([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    area = np.full(len(faces), 0.5 * step_nm ** 2)
    h = np.where(np.mod(verts[:, 0], period_nm) < raised_share * period_nm, 100.0, 0.0)
    return verts, faces, area, h


def _level(raised_share: float, quantile: float) -> float:
    verts, faces, area, h = _striped_sheet(raised_share)
    centre = np.argmin(np.linalg.norm(verts[:, :2] - 2000.0, axis=1))
    query = np.zeros(len(verts), dtype=bool)
    query[centre] = True
    level = surface_level(verts, faces, area, h, np.ones(len(verts), dtype=bool), np.zeros(len(verts), dtype=np.int64),
                          verts[centre:centre + 1], radius_nm=1000.0, quantile=quantile, query=query)
    return float(level[centre])


def test_median_level_reads_raised_surface_when_it_covers_most_of_the_neighbourhood():
    """60 % of the vertices raised: the median level sits on the raised surface, the 0.25 quantile on the wall,
    the 0.35 quantile between (on the faces that slope from one to the other)."""
    assert _level(0.6, 0.5) > 80.0
    assert _level(0.6, 0.25) < 20.0
    assert _level(0.6, 0.25) <= _level(0.6, 0.35) <= _level(0.6, 0.5)


def test_levels_agree_where_the_wall_dominates():
    """20 % raised (sparse spines): every quantile up to the median reads the wall."""
    for q in (0.25, 0.35, 0.5):
        assert abs(_level(0.2, q)) < 10.0

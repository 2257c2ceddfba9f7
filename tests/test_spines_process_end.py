"""The process-end test (``SpineParams.process_end_max_share``): a base that is a whole cross-section of its
process is dropped, a spine standing on the side of its shaft is kept (point clouds, nm)."""
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from neurd_lite.spines import SpineParams
from neurd_lite.spines.process_end import drop_process_ends, lateral_share

R = 300.0  # tube radius (nm)


def _tube(z_end: float = 3000.0) -> np.ndarray:
    """Surface points of a tube along z (radius R, 0..z_end) closed by a half sphere at z_end (nm)."""
    a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    z = np.arange(0.0, z_end + 1, 50.0)
    tube = np.column_stack([R * np.cos(a)[None, :].repeat(len(z), 0).ravel(),
                            R * np.sin(a)[None, :].repeat(len(z), 0).ravel(), np.repeat(z, len(a))])
    th = np.linspace(0.05, np.pi / 2, 10)
    cap = np.column_stack([(R * np.sin(th)[:, None] * np.cos(a)[None, :]).ravel(),
                           (R * np.sin(th)[:, None] * np.sin(a)[None, :]).ravel(),
                           (z_end + R * np.cos(th)[:, None] + 0 * a[None, :]).ravel()])
    return np.vstack([tube, cap])


def _stalk(at_z: float) -> np.ndarray:
    """A spine: a thin stalk (radius 80 nm) standing out of the tube along +x at height at_z, with a ball head."""
    a = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    x = np.arange(R + 20, R + 700, 40.0)
    stalk = np.column_stack([np.repeat(x, len(a)), 80 * np.tile(np.cos(a), len(x)),
                             at_z + 80 * np.tile(np.sin(a), len(x))])
    return stalk


def _edges(verts: np.ndarray) -> np.ndarray:
    """Edges between points closer than 80 nm (the clouds' own spacing), as a mesh's edges would join them."""
    return np.asarray(sorted(cKDTree(verts).query_pairs(80.0)), dtype=np.int64).reshape(-1, 2)


def _run(verts: np.ndarray, label: np.ndarray, ring_v: np.ndarray, share: float,
         also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    ring = pd.DataFrame({"spine": np.zeros(len(ring_v), dtype=np.int64), "v": ring_v})
    counts: dict = {}
    return drop_process_ends(verts, np.ones(len(verts)), label, ring, np.ones(len(verts), bool),
                             np.full(len(verts), R), _edges(verts), share, SpineParams().process_end_reach_nm, counts,
                             also=also)


def test_end_of_process_is_dropped_side_spine_kept() -> None:
    v = _tube()
    # the last 500 nm of the tube and its cap labelled as one spine: its base ring is a cross-section
    label = np.where(v[:, 2] > 2500, 0, -1)
    ring_v = np.flatnonzero((v[:, 2] > 2440) & (v[:, 2] <= 2500))
    share = lateral_share(v, np.ones(len(v)), label,
                          pd.DataFrame({"spine": 0, "v": ring_v}), label < 0, np.full(len(v), R), _edges(v))
    assert share[0] < 0.05
    assert (_run(v, label, ring_v, 0.2)[0] < 0).all()
    # a stalked spine on the side of the same tube: the tube runs on past its base
    s = _stalk(1500.0)
    v2 = np.vstack([v, s])
    label2 = np.r_[np.full(len(v), -1), np.zeros(len(s), dtype=np.int64)]
    base = np.array([R, 0.0, 1500.0])
    ring2 = np.flatnonzero((np.linalg.norm(v2 - base, axis=1) < 150) & (label2 < 0))
    share2 = lateral_share(v2, np.ones(len(v2)), label2,
                           pd.DataFrame({"spine": 0, "v": ring2}), label2 < 0, np.full(len(v2), R),
                           _edges(v2))
    assert share2[0] > 0.5
    assert (_run(v2, label2, ring2, 0.2)[0][len(v):] == 0).all()


def test_zero_share_turns_it_off() -> None:
    assert SpineParams().process_end_max_share == 0.1  # the default since session 27
    v = _tube()
    label = np.where(v[:, 2] > 2500, 0, -1)
    ring_v = np.flatnonzero((v[:, 2] > 2440) & (v[:, 2] <= 2500))
    assert (_run(v, label, ring_v, 0.0)[0] == label).all()


def test_rim_stage_drop_follows_into_the_rimless_labels() -> None:
    """After the rim (``process_end_rim_max_share``) the spine judged on the rimmed labels is dropped from the
    rimless labelling too (same ids); off by default."""
    assert SpineParams().process_end_rim_max_share == 0.3 and SpineParams().process_end_rim_planar_max == 0.0
    v = _tube()
    rimmed = np.where(v[:, 2] > 2500, 0, -1)  # the rim reached down to 2500 nm: a whole section
    rimless = np.where(v[:, 2] > 2700, 0, -1)
    ring_v = np.flatnonzero((v[:, 2] > 2440) & (v[:, 2] <= 2500))
    out, core = _run(v, rimmed, ring_v, 0.2, also=rimless)
    assert (out < 0).all() and core is not None and (core < 0).all()
    out, core = _run(v, rimmed, ring_v, 0.0, also=rimless)
    assert (out == rimmed).all() and (core == rimless).all()

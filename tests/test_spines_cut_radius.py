"""The shaft radius at a fragment's cut end is read from the cut (``spines.cut_radius``; opt-in
``SpineParams.cut_end_radius``)."""
from __future__ import annotations

import numpy as np
import trimesh

from neurd_lite.skeleton.model import Skeleton
from neurd_lite.spines.cut_radius import cap_at_cut_ends, cut_end_radii
from neurd_lite.spines.shaft import shaft_field


def _open_tube(radius: float = 400.0, length: float = 2000.0) -> trimesh.Trimesh:
    """A tube along z open at both ends (rings every 50 nm, 48 sides), nm."""
    z = np.arange(-length / 2, length / 2 + 1, 50.0)
    a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    v = np.array([[radius * np.cos(t), radius * np.sin(t), zz] for zz in z for t in a])
    f = []
    for i in range(len(z) - 1):
        for j in range(48):
            p, q = i * 48 + j, i * 48 + (j + 1) % 48
            f += [[p, q, q + 48], [p, q + 48, p + 48]]
    return trimesh.Trimesh(v, np.array(f), process=False)


def _axis(cut: bool, length: float = 2000.0) -> Skeleton:
    z = np.linspace(-length / 2, length / 2, 21)
    verts = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])
    edges = np.column_stack([np.arange(20), np.arange(1, 21)])
    props = {"cut_end": np.isin(np.arange(21), [0, 20])} if cut else {}
    return Skeleton(verts, edges, np.full(21, 400.0), 0, props)


def test_a_wide_read_radius_is_capped_by_the_open_cut_and_nothing_changes_without_cut_ends():
    tube = _open_tube()
    v, f = np.asarray(tube.vertices), np.asarray(tube.faces)
    skel = _axis(cut=True)
    radii = cut_end_radii(skel, v, f)
    assert sorted(radii) == [0, 20] and all(abs(r - 400.0) < 5 for r in radii.values())
    fld = shaft_field(v, f, skel)
    wide = type(fld)(**{**fld.__dict__, "radius_nm": fld.radius_nm + 250.0,
                        "sample_radius_nm": fld.sample_radius_nm + 250.0})  # spines read into the quantile
    capped = cap_at_cut_ends(wide, skel, v, f, reach_nm=2000.0)
    assert np.allclose(capped.radius_nm, 400.0, atol=5) and np.nanmedian(np.abs(capped.protrusion_nm)) < 10
    narrow = cap_at_cut_ends(fld, skel, v, f, reach_nm=2000.0)  # a radius below the cut's is kept
    assert np.all(narrow.radius_nm <= fld.radius_nm + 1e-9) and np.allclose(narrow.radius_nm, fld.radius_nm, atol=5)
    plain = _axis(cut=False)
    assert cut_end_radii(plain, v, f) == {} and cap_at_cut_ends(wide, plain, v, f, 2000.0) is wide

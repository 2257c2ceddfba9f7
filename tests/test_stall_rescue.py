"""Stall rescue after fast-simplification (DecimateParams.stall_rescue_ratio)."""
import numpy as np

from neurd_lite.mesh.decimate import DecimateParams, decimate
from test_weld import _with_duplicates


def test_stall_rescue_acts_only_on_a_stall():
    _, v, f, _ = _with_duplicates()  # unwelded, fast-simplification stops far above 4000 faces
    base = dict(target_faces=4000, min_faces_to_decimate=1000, min_target_faces=1000, prereduce_to_faces=8000,
                weld_edges_only=False,  # the weld and the rescue are on by default: each arm sets both
                fragmented_border_um_per_um2=None)  # its duplicated vertices read as open seams: not the test here
    off = decimate(v, f, DecimateParams(**base, weld_nm=0.0, stall_rescue_ratio=None))
    on = decimate(v, f, DecimateParams(**base, weld_nm=0.0, stall_rescue_ratio=1.05))
    assert len(off.faces) > 1.05 * 4000 and len(on.faces) < len(off.faces)
    assert len(on.input_to_working) == len(f) and 0 <= on.input_to_working.min()
    assert on.input_to_working.max() < len(on.faces)
    assert on.working_to_input.min() >= 0 and on.working_to_input.max() < len(f)
    welded = dict(base, weld_nm=1.0)  # reaches its target: the rescue leaves it alone
    a = decimate(v, f, DecimateParams(**welded, stall_rescue_ratio=None))
    b = decimate(v, f, DecimateParams(**welded, stall_rescue_ratio=1.05))
    assert len(a.faces) <= 1.05 * 4000
    assert np.array_equal(a.faces, b.faces) and np.array_equal(a.input_to_working, b.input_to_working)

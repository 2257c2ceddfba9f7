"""Pre-decimation weld (neurd_lite.mesh.weld, DecimateParams.weld_nm)."""
import numpy as np
import trimesh

from neurd_lite.mesh.decimate import DecimateParams, decimate
from neurd_lite.mesh.weld import weld


def _with_duplicates(every: int = 10):
    """An icosphere (nm) where every ``every``-th face gets a new vertex at its first corner's position: the face
    uses the copy, and a zero-area face (corner, copy, third corner) is added, like refinement leaves them."""
    m = trimesh.creation.icosphere(subdivisions=5, radius=5000.0)
    v, f = np.asarray(m.vertices).copy(), np.asarray(m.faces).copy()
    pick = np.arange(0, len(f), every)
    copies = len(v) + np.arange(len(pick))
    extra = np.column_stack([f[pick, 0], copies, f[pick, 2]])
    v = np.vstack([v, v[f[pick, 0]]])
    f[pick, 0] = copies
    return m, v, np.vstack([f, extra]), len(m.faces)


def test_weld_merges_copies_and_drops_degenerate_faces():
    m, v, f, n_orig = _with_duplicates()
    wv, corners, kept = weld(v, f, 1.0)
    assert len(wv) == len(m.vertices)
    assert np.array_equal(kept, np.arange(n_orig))  # the zero-area faces go, the originals stay
    assert np.array_equal(corners[kept], np.asarray(m.faces))
    assert weld(np.asarray(m.vertices), np.asarray(m.faces), 1.0) is None  # nothing within 1 nm: untouched


def test_decimate_with_weld_maps_every_input_face():
    _, v, f, n_orig = _with_duplicates()
    p = DecimateParams(target_faces=4000, min_faces_to_decimate=1000, min_target_faces=1000, weld_nm=0.0,
                       fragmented_border_um_per_um2=None)  # the duplicates read as open seams: not the test here
    off, on = decimate(v, f, p), decimate(v, f, DecimateParams(**{**p.__dict__, "weld_nm": 1.0}))
    assert len(on.faces) <= 1.05 * 4000
    for r in (off, on):
        assert len(r.input_to_working) == len(f) and r.input_to_working.min() >= 0
        assert r.input_to_working.max() < len(r.faces)
        assert r.working_to_input.min() >= 0 and r.working_to_input.max() < len(f)
    # a dropped zero-area face lands on the working face of a kept face at one of its corners
    drop = np.arange(n_orig, len(f))
    cent = v[f[drop]].mean(axis=1)
    wc = on.vertices[on.faces[on.input_to_working[drop]]].mean(axis=1)
    assert np.median(np.linalg.norm(cent - wc, axis=1)) < 1000.0
    small = DecimateParams(target_faces=4000, min_faces_to_decimate=len(f) + 1, weld_nm=1.0)
    assert decimate(v, f, small).is_identity  # not decimated: the weld does not run


def test_weld_edges_only_leaves_close_vertices_of_distinct_surfaces():
    m, v, f, n_orig = _with_duplicates()
    assert np.array_equal(weld(v, f, 1.0, edges_only=True)[2], np.arange(n_orig))  # the copies share a face
    sv = np.vstack([v, v[:5]])  # five vertices of a second surface (one face) at positions already used
    sf = np.vstack([np.asarray(m.faces), [[len(v), len(v) + 1, len(v) + 2]]])
    assert weld(sv, sf, 1.0, edges_only=True) is None and weld(sv, sf, 1.0) is not None

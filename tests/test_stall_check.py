"""The early give-up on a stalling fast-simplification run (neurd_lite.mesh.simplify_fork): a run that is not
stopped is the full run, and a stopped run goes to the same rescue as a stalled full run."""
import numpy as np
import pytest
import trimesh

from neurd_lite.mesh import decimate as dec
from neurd_lite.mesh.simplify_fork import simplify_forked, simplify_here, stall_foreseen

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")


def _sphere() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(5, radius=5000.0)


def _reports(counts: list[int]) -> list[tuple[int, int, float]]:
    """fast-simplification's reports (pass, faces, threshold) every 5 passes from pass 0, agg 7."""
    return [(5 * i, n, 1e-9 * (5 * i + 3) ** 7) for i, n in enumerate(counts)]


def test_stall_foreseen() -> None:
    """The reports of a stalled family pyramid (tune l23_pyramidal 11, 1.36M faces, 250k target, ended at 272,720)
    foresee the stall at pass 70; those of runs that reached their target (tune l4_pyramidal 4, an icosphere whose
    collapses start only at pass 15) never do."""
    l23 = [1359476, 1298520, 1223176, 1051662, 780920, 588218, 479098, 411670, 368552, 340314, 321306, 308302,
           298914, 292086, 286866, 282974, 280048, 277650, 275524, 273982]
    fired = [r[-1][0] for r in (_reports(l23)[:i] for i in range(1, 21)) if stall_foreseen(r, 30, 262_500, 7)]
    assert fired and fired[0] == 70
    l4 = [1270392, 1216204, 1053960, 772748, 515888, 373534, 293068]
    sphere = [20480, 20480, 20480, 11160, 5948, 3426, 2308]
    for counts, above in ((l4, 262_500), (sphere, 2100)):
        assert not any(stall_foreseen(_reports(counts)[:i], 0, above, 7) for i in range(1, len(counts) + 1))


def test_give_up_stops_or_not(monkeypatch) -> None:
    """A run whose reports foresee a stall is stopped (None); else the child returns the in-process arrays."""
    import neurd_lite.mesh.simplify_fork as sf

    m = _sphere()
    pts, f = m.vertices / 10.0, np.asarray(m.faces, np.int64)
    a = simplify_here(pts, f, 2000, 7)
    for give_up in ((0, 2100.0, 7.0), (95, 0.0, 7.0), None):  # no stall foreseen / checked past the end / off
        b = simplify_forked(pts, f, 2000, 7, give_up=give_up)
        assert b is not None, give_up
        for x, y in zip(a, b):
            assert np.array_equal(x, y), give_up
    monkeypatch.setattr(sf, "stall_foreseen", lambda reports, *a: reports[-1][0] >= 15)  # stop at the 4th report
    assert simplify_forked(pts, f, 2000, 7, give_up=(0, 2100.0, 7.0)) is None


def test_stopped_run_gives_the_rescue(monkeypatch) -> None:
    """decimate: a run stopped early gives the stall rescue's result (meshoptimizer first from the input);
    a run not stopped gives the result without the check."""
    pytest.importorskip("meshoptimizer")
    m = _sphere()
    monkeypatch.setattr(dec, "FORK_ABOVE_FACES", 100)
    p = dec.DecimateParams(target_faces=2000, min_faces_to_decimate=0, prereduce_to_faces=8000)
    import neurd_lite.mesh.simplify_fork as sf

    monkeypatch.setattr(sf, "stall_foreseen", lambda reports, *a: True)  # stop at the first report
    stopped = dec.decimate(m.vertices, m.faces, p)
    monkeypatch.undo()
    monkeypatch.setattr(dec, "FORK_ABOVE_FACES", 100)
    rescue = dec.decimate(m.vertices, m.faces, dec.DecimateParams(**{**p.__dict__, "prereduce_above_faces": 0,
                                                                      "stall_rescue_ratio": None,
                                                                      "prereduce_method": "meshoptimizer"}))
    full = dec.decimate(m.vertices, m.faces, dec.DecimateParams(**{**p.__dict__, "stall_check_from_pass": None}))
    checked = dec.decimate(m.vertices, m.faces, p)
    assert stopped.prereduced_faces > 0 and full.prereduced_faces == 0
    for name in ("vertices", "faces", "input_to_working", "working_to_input"):
        assert np.array_equal(getattr(stopped, name), getattr(rescue, name)), name
        assert np.array_equal(getattr(checked, name), getattr(full, name)), name

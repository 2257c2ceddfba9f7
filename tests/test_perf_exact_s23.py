"""Session 23 exact speed-up: the spine table's per-spine measurements memoised across the labellings with and
without the junction rim (``spines.table.spine_rows(memo=...)``) give the rows of an unmemoised run."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurd_lite.spines.detect as detect
from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.rimless import RIMLESS_KEY

pytest.importorskip("manifold3d")  # spiny_cylinder's boolean engine


def _cell() -> Neuron:
    mesh, _, skel = spiny_cylinder(n_spines=4, seed=5, length_nm=5000.0)
    n = Neuron(mesh=mesh, skeleton=skel)
    n.face_compartment[:] = "basal"
    return n


def _same_rows(a, b) -> None:
    rows_a, id_a, lab_a, head_a = a
    rows_b, id_b, lab_b, head_b = b
    pd.testing.assert_frame_equal(pd.DataFrame(rows_a), pd.DataFrame(rows_b), check_exact=True)
    assert np.array_equal(id_a, id_b) and lab_a == lab_b and np.array_equal(head_a, head_b)


def test_spine_rows_from_a_full_memo_equal_the_plain_rows(monkeypatch):
    orig, calls = detect.spine_rows, []

    def check(*args, memo=None, volume=True):
        plain = orig(*args, volume=volume)  # no memo
        memo2: dict = {}
        first = orig(*args, memo=memo2, volume=volume)  # fills the memo
        again = orig(*args, memo=memo2, volume=volume)  # every spine from the memo
        _same_rows(plain, first)
        _same_rows(plain, again)
        _same_rows(orig(*args), orig(*args, memo=memo2))  # volumes measured later from the memo: the plain ones
        calls.append(len(memo2))
        return orig(*args, memo=memo, volume=volume)

    monkeypatch.setattr(detect, "spine_rows", check)
    detect_spines(_cell(), SpineParams(rim_nm=150.0, rim_max_density_per_um=0.0))
    assert len(calls) == 2 and min(calls) > 0  # the labellings without and with the rim


def _default_and_patched(monkeypatch, patch) -> tuple[Neuron, Neuron]:
    """The cell's spines (rim on) by the default code and with ``detect.spine_rows`` replaced by
    ``patch(orig, args, memo, volume)``."""
    a, b = _cell(), _cell()
    p = SpineParams(rim_nm=150.0, rim_max_density_per_um=0.0)
    detect_spines(a, p)
    orig = detect.spine_rows
    monkeypatch.setattr(detect, "spine_rows", lambda *args, memo=None, volume=True: patch(orig, args, memo, volume))
    detect_spines(b, p)
    return a, b


def test_detect_spines_with_and_without_the_memo(monkeypatch):
    a, b = _default_and_patched(monkeypatch, lambda orig, args, memo, volume: orig(*args, volume=volume))
    assert np.array_equal(a.face_spine, b.face_spine)
    assert (np.asarray(a.face_labels) == np.asarray(b.face_labels)).all()
    pd.testing.assert_frame_equal(a.spines, b.spines, check_exact=True)
    ca, cb = a.cache[RIMLESS_KEY], b.cache[RIMLESS_KEY]
    assert np.array_equal(ca[0], cb[0]) and (np.asarray(ca[1]) == np.asarray(cb[1])).all()
    pd.testing.assert_frame_equal(ca[2], cb[2], check_exact=True)


def test_spines_without_the_rim_skip_only_their_volumes(monkeypatch):
    """Session 27: the labelling without the rim (read by the synapse targets only) measures no volume; every
    other column of it, and the whole rim-widened result, equal a run that measures all volumes."""
    a, b = _default_and_patched(monkeypatch, lambda orig, args, memo, volume: orig(*args, memo=memo))
    pd.testing.assert_frame_equal(a.spines, b.spines, check_exact=True)
    assert np.isfinite(a.spines["volume_um3"]).all()
    ca, cb = a.cache[RIMLESS_KEY][2], b.cache[RIMLESS_KEY][2]
    assert len(ca) and ca["volume_um3"].isna().all() and np.isfinite(cb["volume_um3"]).all()
    pd.testing.assert_frame_equal(ca.drop(columns="volume_um3"), cb.drop(columns="volume_um3"), check_exact=True)

"""Synapse targets on the spine extent without the junction rim (``SpineParams.rim_nm``; session 22).

The rim (``rim.py``) gives a spine the crease below the growth threshold where its surface meets the shaft: a face
label, which the face scores measure. The synapse-target rules and model (``synapses.py``, ``target_model.py``)
read the spine faces, the head / neck labels and the spine table (base point, length, neck); the model was trained
on spines without the rim, and on held-out cells (session 21) the rim-widened bases took shaft synapses (target
macro F1 -.0108, neck F1 -.0084). So when the rim runs, ``detect_spines`` also labels and measures the spines
without it and keeps that result in ``n.cache[RIMLESS_KEY]`` (face spine ids, face labels, spine table without
volumes: ``volume_um3`` NaN, since no target reads it and a convex hull per spine is ~half of measuring it); the
synapse stage decides each synapse's target on that result (:func:`rimless_view`) and reports the spine id of
the rim-widened spine that holds the same spine (:func:`spine_id_map`). Without the rim nothing is stored and
the targets read ``n`` itself. ``nl.decompose`` keeps the result in its run state between the two stages and drops
it with the run; a neuron given synapses later (``attach_synapses`` on a decomposed neuron, or one saved and read
back) has no such result, and its targets read the rim-widened spines.
"""
from __future__ import annotations

import copy

import numpy as np

from ..neuron import Neuron
from .captures import without_captures

RIMLESS_KEY = "spines_without_rim"  # n.cache: (face_spine, face_labels, spines) of the spines without the rim


def spine_copy(n: Neuron) -> Neuron:
    """A shallow copy of ``n`` that may be relabelled without touching ``n``: its own face labels, provenance and
    cache (the spine captures, :data:`~.captures.SPINE_CAPTURES`, left out, so a second labelling does not write
    to them)."""
    c = copy.copy(n)
    c.face_labels = np.asarray(n.face_labels).copy()
    c.provenance = copy.deepcopy(n.provenance)
    c.cache = without_captures(n.cache)
    return c


def keep_rimless(n: Neuron, core: Neuron | None) -> None:
    """Store ``core``'s spine result (the spines without the rim) on ``n``; None: drop any earlier one."""
    if core is None:
        n.cache.pop(RIMLESS_KEY, None)
    else:
        n.cache[RIMLESS_KEY] = (np.asarray(core.face_spine), np.asarray(core.face_labels), core.spines)


def lift_rimless(n: Neuron, w: Neuron, lift) -> Neuron | None:
    """A copy of ``n`` (:func:`spine_copy`) holding the spines without the rim of the view ``w`` put on it by
    ``lift(target, source)`` (the lift ``w``'s own result takes); None when ``w`` holds none."""
    if RIMLESS_KEY not in w.cache:
        return None
    v = rimless_view(w)
    v.provenance = copy.deepcopy(w.provenance)  # the lift writes its counts there
    core = spine_copy(n)
    lift(core, v)
    return core


def rimless_view(n: Neuron) -> Neuron:
    """``n`` with the spine result without the rim (face spine ids, face labels, spine table) when the spine stage
    stored one, else ``n`` itself."""
    got = n.cache.get(RIMLESS_KEY)
    if got is None or len(got[0]) != n.n_faces:
        return n
    v = copy.copy(n)
    v.face_spine, v.face_labels, v.spines = got
    return v


def spine_id_map(core_face_spine: np.ndarray, face_spine: np.ndarray) -> np.ndarray:
    """Per spine id of ``core_face_spine`` (per face, -1 none), the id in ``face_spine`` of the spine sharing the
    most faces with it (-1 when none does; the rim only adds faces, so that is the same spine widened)."""
    core = np.asarray(core_face_spine, dtype=np.int64)
    out = np.full(int(core.max()) + 1 if (core >= 0).any() else 0, -1, dtype=np.int64)
    both = (core >= 0) & (np.asarray(face_spine) >= 0)
    if not both.any():
        return out
    main = np.asarray(face_spine, dtype=np.int64)
    k = int(main.max()) + 1
    u, cnt = np.unique(core[both] * k + main[both], return_counts=True)
    c, m = u // k, u % k
    order = np.lexsort((m, -cnt, c))  # per core spine: most shared faces first, ties to the lower id
    first = order[np.r_[True, np.diff(c[order]) != 0]]
    out[c[first]] = m[first]
    return out


def main_spine_ids(core_ids: np.ndarray, core_face_spine: np.ndarray, face_spine: np.ndarray) -> np.ndarray:
    """``core_ids`` (spine ids of the rim-less result, -1 none) as ids of the rim-widened spines (-1 none)."""
    ids = np.asarray(core_ids, dtype=np.int64)
    m = spine_id_map(core_face_spine, face_spine)
    ok = (ids >= 0) & (ids < len(m))
    return np.where(ok, m[np.where(ok, ids, 0)] if len(m) else -1, -1)

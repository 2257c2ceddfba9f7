"""Session 20: a Neuron's per-face arrays are made at their first read, so a stage that assigns one before anyone
reads it never allocates the default; every read returns what eager allocation returned."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import trimesh

from neurd_lite.names import FACE_ARRAYS, UNLABELLED
from neurd_lite.neuron import FACE_DEFAULTS, Neuron


def _mesh() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=2)


def test_defaults_read_as_before():
    n = Neuron(mesh=_mesh())
    nf = n.n_faces
    assert set(FACE_DEFAULTS) == set(FACE_ARRAYS)
    assert all(n.__dict__[k] is None for k in FACE_ARRAYS)  # nothing allocated yet
    for k in ("face_labels", "face_compartment"):
        a = getattr(n, k)
        assert a.dtype == object and a.shape == (nf,) and (a == UNLABELLED).all()
    for k in ("face_branch", "face_to_skeleton", "face_spine"):
        a = getattr(n, k)
        assert a.dtype == np.int64 and a.shape == (nf,) and (a == -1).all()
    n.face_labels[:3] = "axon"  # the array read is the one kept: in-place writes stay
    assert list(n.face_labels[:4]) == ["axon"] * 3 + [UNLABELLED]


def test_assigned_first_is_never_allocated_and_none_stays_none():
    n = Neuron(mesh=_mesh())
    mine = np.arange(n.n_faces)
    n.face_branch = mine
    assert n.face_branch is mine
    n.face_spine = None  # an explicit None is kept, as with eager defaults
    assert n.face_spine is None
    assert Neuron().face_labels is None  # no mesh: no per-face arrays
    given = np.full(n.n_faces, 7)
    assert Neuron(mesh=_mesh(), face_to_skeleton=given).face_to_skeleton is given


def test_copies_and_pickles_keep_their_own_defaults():
    n = Neuron(mesh=_mesh())
    c = copy.copy(n)
    n.face_labels  # materialised on n only: the shallow copy still makes its own
    assert c.__dict__["face_labels"] is None and c.face_labels is not n.face_labels
    p = pickle.loads(pickle.dumps(n))
    assert (p.face_compartment == UNLABELLED).all() and (p.face_spine == -1).all()
    r = dataclasses.replace(n, name="other")
    assert (r.face_to_skeleton == -1).all() and len(r.face_labels) == n.n_faces


def test_face_array_is_default_until_given_assigned_or_read():
    n = Neuron(mesh=_mesh())
    assert all(n.face_array_is_default(k) for k in FACE_ARRAYS)
    n.face_spine
    n.face_branch = np.zeros(n.n_faces, dtype=np.int64)
    assert not n.face_array_is_default("face_spine") and not n.face_array_is_default("face_branch")
    assert n.face_array_is_default("face_labels")
    assert not Neuron(mesh=_mesh(), face_labels=np.full(n.n_faces, "x", object)).face_array_is_default("face_labels")

"""With the junction rim on, synapse targets read the spines without it (neurd_lite.spines.rimless)."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, attach_synapses, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.rimless import RIMLESS_KEY, main_spine_ids, rimless_view, spine_id_map


def test_spine_id_map_takes_the_spine_sharing_most_faces():
    core = np.array([-1, 0, 0, 1, 1, 1, 2, -1])
    main = np.array([3, 3, 3, 0, 0, 1, -1, 0])
    assert spine_id_map(core, main).tolist() == [3, 0, -1]  # spine 2 lost its faces: no spine
    assert main_spine_ids(np.array([-1, 1, 2, 0, 7]), core, main).tolist() == [-1, 0, -1, 3, -1]
    assert spine_id_map(np.full(8, -1), main).tolist() == []


def test_rim_widens_faces_but_targets_read_the_spines_without_it():
    mesh, _, skel = spiny_cylinder(n_spines=4, seed=5)
    plain = Neuron(mesh=mesh, skeleton=skel)
    plain.face_compartment[:] = "basal"
    rim = copy.deepcopy(plain)
    fld0 = detect_spines(plain, SpineParams(rim_nm=0.0))
    fld1 = detect_spines(rim, SpineParams(rim_nm=150.0, rim_max_density_per_um=0.0))  # every spine takes a rim
    assert RIMLESS_KEY not in plain.cache and rimless_view(plain) is plain
    core = rimless_view(rim)
    assert (core.face_spine == plain.face_spine).all()  # the spines without the rim: the rim-off result
    assert (np.asarray(core.face_labels) == np.asarray(plain.face_labels)).all()
    # its table: the rim-off one without volumes (the targets read none; session 27 measures none there)
    assert core.spines["volume_um3"].isna().all() and plain.spines["volume_um3"].notna().all()
    pd.testing.assert_frame_equal(core.spines.drop(columns="volume_um3"), plain.spines.drop(columns="volume_um3"))
    widened = (rim.face_spine >= 0) & (plain.face_spine < 0)
    assert widened.any() and not ((rim.face_spine < 0) & (plain.face_spine >= 0)).any()
    # postsynapses on plain shaft, on rim faces, on spines
    rng = np.random.default_rng(0)
    cen = np.asarray(mesh.triangles_center)
    pick = np.r_[rng.choice(np.flatnonzero(widened), 20), rng.choice(np.flatnonzero(plain.face_spine >= 0), 20),
                 rng.choice(np.flatnonzero(rim.face_spine < 0), 20)]
    syn = pd.DataFrame(cen[pick] + rng.normal(0, 5, (len(pick), 3)), columns=["x_nm", "y_nm", "z_nm"])
    syn["is_pre"] = False
    plain.synapses, rim.synapses = syn.copy(), syn.copy()
    attach_synapses(plain, shaft_field=fld0)
    attach_synapses(rim, shaft_field=fld1)
    assert (rim.synapses["target"] == plain.synapses["target"]).all()
    on = plain.synapses["spine_id"].to_numpy() >= 0
    got = rim.synapses["spine_id"].to_numpy()
    assert ((got >= 0) == on).all()
    # the same spine: the rim spine holding the default spine's faces
    m = spine_id_map(plain.face_spine, rim.face_spine)
    assert (got[on] == m[plain.synapses["spine_id"].to_numpy()[on]]).all()
    # without the cache (e.g. a neuron read back from a file) the targets read the rim-widened spines
    rim.cache.pop(RIMLESS_KEY)
    attach_synapses(rim, shaft_field=fld1)
    assert (rim.synapses["spine_id"].to_numpy()[: 20] >= 0).all()

"""Postsynapses as spine evidence (``SpineParams.synapse_seed_nm``, ``spines/synapse_evidence.py``): a low dome
carrying a postsynapse becomes a spine, the same dome without one does not, a synapse on plain shaft seeds
nothing, and without synapses the output is the default's (seconds)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import beaded_tube
from neurd_lite.spines.synapse_evidence import postsynapse_vertices, synapse_margin_nm

SYN_ON = SpineParams(synapse_seed_nm=100.0)
RADIUS, PEAK, DOME = 500.0, 170.0, 200.0  # a dome 170 nm high: below the first pass's 200 nm seed


def _tube_with_domes(zs: list[float]):
    """A 12 µm tube along z (nm) with sphere domes standing PEAK nm out of it at ``zs`` (on the +x side), its axis
    skeleton, and the dome tops (nm)."""
    import trimesh
    from trimesh.creation import icosphere

    tube, skel = beaded_tube(RADIUS, 12000.0, [], step_nm=150.0)
    parts, tops = [tube], []
    for z in zs:
        parts.append(icosphere(subdivisions=3, radius=DOME).apply_translation([RADIUS + PEAK - DOME, 0.0, z]))
        tops.append([RADIUS + PEAK, 0.0, z])
    mesh = trimesh.boolean.union(parts, engine="manifold")
    mesh.vertices = mesh.vertices + np.random.default_rng(0).normal(0, 4.0, mesh.vertices.shape)
    return mesh, skel, np.asarray(tops)


def _synapses(points: np.ndarray, pre: bool = False) -> pd.DataFrame:
    p = np.asarray(points, float).reshape(-1, 3)
    return pd.DataFrame({"x_nm": p[:, 0], "y_nm": p[:, 1], "z_nm": p[:, 2], "is_pre": pre})


def _run(mesh, skel, synapses: pd.DataFrame | None, params: SpineParams) -> Neuron:
    n = Neuron(mesh=mesh, skeleton=skel, synapses=synapses)
    detect_spines(n, params)
    return n


def _spine_near(n: Neuron, point: np.ndarray, nm: float = 150.0) -> bool:
    cen = np.asarray(n.mesh.triangles_center)
    near = np.linalg.norm(cen - point, axis=1) < nm
    return bool((n.face_spine[near] >= 0).any())


def test_postsynapse_on_a_low_dome_seeds_a_spine_and_a_bare_dome_stays_shaft():
    mesh, skel, tops = _tube_with_domes([-2500.0, 2500.0])
    syn = _synapses(tops[:1] + [40.0, 0.0, 0.0])  # 40 nm off the first dome's top (a synaptic cleft's centroid)
    plain = _run(mesh, skel, syn, SpineParams())
    assert len(plain.spines) == 0, "the domes must stay below the default seed (else the test shows nothing)"
    n = _run(mesh, skel, syn, SYN_ON)
    assert _spine_near(n, tops[0]), "the synapse pass ignored the postsynapse on the dome"
    assert not _spine_near(n, tops[1]), "a dome without a synapse became a spine"
    assert len(n.spines) == 1
    assert n.provenance["spines"]["pass_counts"]["synapse_pass"] == 1
    # a presynapse at the same place is a bouton's, not evidence for a spine
    assert len(_run(mesh, skel, _synapses(tops[:1] + [40.0, 0.0, 0.0], pre=True), SYN_ON).spines) == 0


def test_synapse_on_plain_shaft_seeds_nothing():
    mesh, skel, _ = _tube_with_domes([])
    syn = _synapses([[0.0, RADIUS + 30.0, 0.0], [-RADIUS - 30.0, 0.0, 2000.0]])
    n = _run(mesh, skel, syn, SYN_ON)
    assert len(n.spines) == 0
    assert n.provenance["spines"]["pass_counts"]["synapse_seeds"] == 0


def test_without_synapses_the_output_is_the_default():
    mesh, skel, _ = _tube_with_domes([-2500.0, 2500.0])
    from neurd_lite.spines.adapters import spiny_cylinder

    for m, s in ((mesh, skel), spiny_cylinder(n_spines=4, seed=2, stubby_every=2, noise_nm=10)[::2]):
        a = _run(m, s, None, SpineParams())
        for syn in (None, _synapses(np.zeros((0, 3)))):
            b = _run(m, s, syn, SYN_ON)
            assert np.array_equal(a.face_spine, b.face_spine)
            assert np.array_equal(a.face_labels.astype(str), b.face_labels.astype(str))
            pd.testing.assert_frame_equal(a.spines, b.spines)


def test_postsynapse_vertices_and_margin():
    mesh, skel, tops = _tube_with_domes([0.0])
    far = tops[0] + [5000.0, 0.0, 0.0]
    v = postsynapse_vertices(mesh, _synapses(np.vstack([tops[0] + [40.0, 0, 0], far])), 600.0)
    assert len(v) == 1 and np.linalg.norm(np.asarray(mesh.vertices)[v[0]] - tops[0]) < 60.0
    m = synapse_margin_nm(SYN_ON, np.array([300.0, 2000.0, np.nan]), np.array([10.0, 10.0, 80.0]))
    assert np.allclose(m, [100.0, 200.0, np.inf])

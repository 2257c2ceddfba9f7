"""Spine detection on aspiny processes and thin dendrites (seconds): varicosities and boutons are not spines,
thin and stubby spines on a thin dendrite are found, counts hold when the mesh is subdivided."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import beaded_tube, spiny_cylinder, varicose_dendrite


@pytest.mark.parametrize("radius_nm,height,half_width_nm", [(400.0, 0.8, 900.0), (150.0, 0.8, 700.0),
                                                            (300.0, 0.5, 1400.0)])
def test_varicose_aspiny_dendrite_has_no_spines(radius_nm, height, half_width_nm):
    """Smooth swellings of the whole circumference (0.5-0.8 x the radius, the family's varicosities) on a
    dendrite with 10 nm vertex noise: no spine."""
    n = varicose_dendrite(radius_nm, height, half_width_nm)
    detect_spines(n)
    assert len(n.spines) == 0, n.spines[["length_um", "head_width_um"]]


def test_axon_with_boutons_labelled_dendrite_has_no_spines():
    """An axon (r 120 nm) with boutons (250-500 nm higher, 450-800 nm half width) that the compartment stage
    failed to call axon: the boutons are swellings, not spines."""
    bumps = [(-4000.0, 450.0, 500.0), (-500.0, 300.0, 800.0), (3000.0, 500.0, 450.0)]
    mesh, skel = beaded_tube(120.0, 12000.0, bumps, noise_nm=5.0, seed=2)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n, SpineParams(normalise_edge_nm=0.0, vertex_model=False))  # the rules; the ring default calls one bouton a spine (session 14)
    assert len(n.spines) == 0


def test_axon_faces_never_get_spines():
    mesh, skel = beaded_tube(120.0, 8000.0, [(0.0, 450.0, 500.0)])
    n = Neuron(mesh=mesh, skeleton=skel)
    n.face_compartment[:] = "axon"
    n.face_labels[:] = "axon"
    detect_spines(n)
    assert len(n.spines) == 0 and (n.face_spine < 0).all()


def test_thin_and_stubby_spines_on_a_thin_dendrite_are_found():
    """A thin interneuron-like dendrite (r 250 nm) with 4 spines, every second one stubby (head only)."""
    mesh, truth, skel = spiny_cylinder(n_spines=4, seed=7, radius_nm=250.0, length_nm=8000.0, stubby_every=2,
                                       noise_nm=5.0)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n)
    assert len(n.spines) == 4
    heads = truth[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()
    cen = np.asarray(mesh.triangles_center)
    for h, row in zip(heads, truth.itertuples()):
        out = np.hypot(cen[:, 0], cen[:, 1]) > 250.0 + 60.0  # off the shaft surface
        near = (np.linalg.norm(cen - h, axis=1) < row.head_radius_nm) & out
        assert np.mean(n.face_spine[near] >= 0) > 0.8


def test_varicose_dendrite_stays_spine_free_when_subdivided():
    import trimesh

    mesh, skel = beaded_tube(300.0, 10000.0, [(-2000.0, 240.0, 900.0), (2500.0, 200.0, 700.0)], step_nm=160.0,
                             sections=16, noise_nm=8.0, seed=3)
    for v, f in ((mesh.vertices, mesh.faces), trimesh.remesh.subdivide(mesh.vertices, mesh.faces)):
        n = Neuron(mesh=trimesh.Trimesh(v, f, process=False), skeleton=skel)
        detect_spines(n)
        assert len(n.spines) == 0


def test_spines_past_a_short_skeleton_are_found_with_extend_tips():
    """A skeleton that stops 3.5 µm short of the dendrite tip: by default the surface past its end is an end cap
    (2 of 6 spines lost); ``ShaftParams(extend_tips=True)`` extends the axis over it and finds all 6."""
    from neurd_lite.skeleton.model import Skeleton
    from neurd_lite.spines.shaft import ShaftParams

    mesh, truth, _ = spiny_cylinder(n_spines=6, seed=3, stubby_every=3, noise_nm=10)
    z = np.linspace(-5000.0, 1500.0, 33)
    short = Skeleton(np.c_[0 * z, 0 * z, z], np.c_[np.arange(len(z) - 1), np.arange(1, len(z))])
    counts = []
    for ext in (False, True):
        n = Neuron(mesh=mesh, skeleton=short)
        detect_spines(n, SpineParams(shaft=ShaftParams(extend_tips=ext), normalise_edge_nm=0.0, vertex_model=False))
        counts.append(len(n.spines))
    assert counts[0] < len(truth) and counts[1] == len(truth), counts


def _elliptic_tube_with_domes(domes_z_nm: tuple[float, ...], height_nm: float = 340.0, foot_nm: float = 350.0,
                              tall_z_nm: tuple[float, ...] = ()):
    """A trunk along z with an elliptic section (semi-axes 1400 x 1000 nm: a chunk radius reads the minor side
    as sunken) and low domes (stubby spines: height_nm, footprint radius foot_nm) on the minor side, 5 nm noise;
    ``tall_z_nm``: tall spines (900 nm high, footprint radius 220 nm) on the major side, which the usual passes find."""
    mesh, skel = beaded_tube(1.0, 8000.0, [], step_nm=40.0, sections=96)
    v = np.asarray(mesh.vertices).copy()
    ring = v[:-2]
    ring[:, 0] *= 1400.0
    ring[:, 1] *= 1000.0
    for axis, tops, h, foot in ((1, domes_z_nm, height_nm, foot_nm), (0, tall_z_nm, 900.0, 220.0)):
        for zc in tops:
            top = np.array([0.0, 0.0, zc])
            top[axis] = 1000.0 if axis == 1 else 1400.0
            d = np.linalg.norm(ring - top, axis=1)
            lift = h * np.sqrt(np.clip(1.0 - (d / foot) ** 2, 0.0, None))
            ring[:, axis] += np.where(ring[:, axis] > 0, lift, 0.0)
    ring += np.random.default_rng(3).normal(0, 5.0, ring.shape)
    v[:-2] = ring
    mesh.vertices = v
    return mesh, skel


def test_relief_pass_finds_low_domes_where_the_shaft_reads_sunken():
    """Domes 340 nm high on the minor side of an elliptic trunk: measured from the chunk radius they rise
    less than the seed threshold (0.2 r); measured from the shaft around them (the relief pass) they are 4 spines. The same tube
    without domes stays spine-free with the relief pass on."""
    from neurd_lite.spines import SpineParams

    mesh, skel = _elliptic_tube_with_domes((-2400.0, -800.0, 800.0, 2400.0))
    off = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(off, SpineParams(relief_radius_nm=0.0))
    on = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(on, SpineParams(relief_radius_nm=1000.0, relief_near_spine_nm=0.0,
                                     relief_min_density_per_um=0.0))
    assert len(off.spines) < 4
    assert len(on.spines) == 4
    assert np.all(on.spines.y_nm.to_numpy() > 700.0)  # on the domes' side
    bare, skel = _elliptic_tube_with_domes(())
    n = Neuron(mesh=bare, skeleton=skel)
    detect_spines(n, SpineParams(relief_radius_nm=1000.0, relief_near_spine_nm=0.0,
                                     relief_min_density_per_um=0.0))
    assert len(n.spines) == 0


def test_relief_density_gate_searches_only_densely_spiny_dendrite():
    """The 4 low domes of the test above: on a trunk where the usual passes find no spine (a sparsely spiny
    process) the density-gated relief pass adds nothing (ungated it finds the 4); beside tall spines every 500 nm
    (found by the usual passes, >= 0.6 per µm around the domes) the gated pass finds all 4 domes."""
    from neurd_lite.spines import SpineParams

    domes = (-2400.0, -800.0, 800.0, 2400.0)
    gated = SpineParams(relief_near_spine_nm=0.0)  # the default density gate
    found = []
    for tall in ((), tuple(np.arange(-3000.0, 3001.0, 500.0))):
        mesh, skel = _elliptic_tube_with_domes(domes, tall_z_nm=tall)
        n = Neuron(mesh=mesh, skeleton=skel)
        detect_spines(n, gated)
        found.append(n.provenance["spines"]["pass_counts"].get("relief_pass", 0))
        low = n.spines[n.spines.y_nm > 700.0].z_nm.to_numpy()
        if tall:
            assert np.allclose(np.sort(low), domes, atol=100.0), low
        else:
            assert len(low) == 0, low
    assert found == [0, 4], found


def test_found_spine_density_counts_spines_per_um_of_cable():
    """Spines every 500 nm along a straight 40 µm axis (samples every 80 nm), each anchored at its sample: 2 per µm
    in the middle (21 within 5 µm over 10 µm of cable), half that at the ends; none on a bare stretch."""
    from types import SimpleNamespace

    from neurd_lite.spines.relief import found_spine_density, spine_anchor_samples

    z = np.arange(0.0, 40000.0, 80.0)
    fld = SimpleNamespace(sample_points_nm=np.c_[0 * z, 0 * z, z], sample_index=np.arange(len(z)))
    label = np.full(len(z), -1)
    on = (z < 20000.0) & (np.round(z) % 500 < 80)  # one sample per 500 nm, first half only
    label[on] = np.arange(on.sum())
    q = np.searchsorted(z, [10000.0, 0.0, 35000.0])
    dens = found_spine_density(spine_anchor_samples(label, fld), fld, q, 5000.0)
    assert abs(dens[0] - 2.0) <= 0.15 and abs(dens[1] - 1.0) <= 0.15 and dens[2] == 0.0, dens


def test_sparse_height_cut_drops_low_spines_only_on_sparse_dendrite():
    """Straight 40 µm axis (samples every 80 nm): spines every 500 nm on the first 20 µm (2 per µm), two spines
    12 µm apart beyond. A low spine (height / extent 0.35) on the dense stretch stays; the low one on the sparse
    stretch goes at a 0.4 sparse cut-off; labels stay dense and the ring follows."""
    from types import SimpleNamespace

    import pandas as pd

    from neurd_lite.spines import SpineParams
    from neurd_lite.spines.relief import drop_low_on_sparse

    z = np.arange(0.0, 40000.0, 80.0)
    fld = SimpleNamespace(sample_points_nm=np.c_[0 * z, 0 * z, z], sample_index=np.arange(len(z)))
    label = np.full(len(z), -1)
    on = ((z < 20000.0) & (np.round(z) % 500 < 80)) | np.isin(np.round(z), [25040.0, 37040.0])
    label[on] = np.arange(on.sum())
    n_sp = int(on.sum())
    ratio = np.full(n_sp, 2.0)
    ratio[[20, n_sp - 2]] = 0.35  # one low spine mid-dense stretch, one on the sparse stretch
    ring = pd.DataFrame({"spine": np.arange(n_sp), "v": np.flatnonzero(on) + 1})
    counts: dict = {}
    p = SpineParams(sparse_min_height_to_extent=0.4)
    lab2, base2, ring2 = drop_low_on_sparse(label, on.copy(), ring, fld, ratio, p, counts)
    assert counts["sparse_low_dropped"] == 1
    gone = np.flatnonzero(label == n_sp - 2)
    assert (lab2[gone] == -1).all() and not base2[gone].any()
    assert lab2.max() == n_sp - 2 and (lab2[label == 20] == 20).all() and (lab2[label == n_sp - 1] == n_sp - 2).all()
    assert len(ring2) == n_sp - 1 and set(ring2.spine) == set(range(n_sp - 1))

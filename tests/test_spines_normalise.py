"""Resolution normalisation of the spine stage's mesh (``SpineParams.normalise_edge_nm``, ``spines/normalise.py``):
the refinement is conforming, keeps the surface and the input vertices, knows each face's parent, and the spine
result lifts back to the input faces with the same spines as a detection on an already fine mesh (seconds)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.normalise import normalised_view, refine_to_edge, view_faces


def _lumpy_sphere():
    m = trimesh.creation.icosphere(2, radius=1000.0)
    rng = np.random.default_rng(0)
    return m.vertices * (1 + 0.3 * rng.random((len(m.vertices), 1))), m.faces


@pytest.mark.parametrize("max_edge", [300.0, 120.0])
def test_refinement_is_conforming_and_keeps_the_surface(max_edge):
    v, f = _lumpy_sphere()
    v2, f2, parent = refine_to_edge(v, f, max_edge)
    m2 = trimesh.Trimesh(v2, f2, process=False)
    assert m2.is_watertight and m2.is_winding_consistent  # no T-junctions, orientation kept
    assert m2.edges_unique_length.max() <= max_edge
    assert np.array_equal(v2[:len(v)], v)  # input vertices keep their indices
    area0 = trimesh.Trimesh(v, f, process=False).area_faces
    assert np.allclose(np.bincount(parent, m2.area_faces, len(f)), area0)  # children tile their parent
    assert np.all(np.diff(parent) >= 0)
    # every child's centroid lies in its parent's plane
    n0 = trimesh.Trimesh(v, f, process=False).face_normals[parent]
    off = ((m2.triangles_center - v[f[parent, 0]]) * n0).sum(1)
    assert np.abs(off).max() < 1e-6


def test_short_edges_leave_the_mesh_unchanged():
    v, f = _lumpy_sphere()
    v2, f2, parent = refine_to_edge(v, f, 1e6)
    assert np.array_equal(v2, v) and np.array_equal(f2, f) and np.array_equal(parent, np.arange(len(f)))


@pytest.mark.slow
def test_lift_gives_input_faces_the_spines_found_on_the_refined_mesh():
    pytest.importorskip("manifold3d")
    mesh, truth, skel = spiny_cylinder(n_spines=5, seed=2, length_nm=9000.0, radius_nm=450.0)
    n = Neuron(mesh=mesh, skeleton=skel)
    detect_spines(n)
    base = len(n.spines)
    m = Neuron(mesh=mesh.copy(), skeleton=skel)
    fld = detect_spines(m, SpineParams(normalise_edge_nm=150.0))
    assert len(m.face_spine) == len(mesh.faces) and len(m.face_labels) == len(mesh.faces)
    assert len(fld.radius_nm) == len(mesh.vertices)
    assert m.provenance["spines_notes"]["normalised_faces"] > len(mesh.faces)
    assert abs(len(m.spines) - base) <= 1 and len(m.spines) >= len(truth) - 1
    ids = np.unique(m.face_spine[m.face_spine >= 0])
    assert np.array_equal(ids, np.arange(len(m.spines)))
    assert np.array_equal(np.bincount(m.face_spine[m.face_spine >= 0]), m.spines["n_faces"].to_numpy())
    on = m.face_spine >= 0
    assert set(np.unique(m.face_labels[on].astype(str))) <= {"spine_head", "spine_neck"}


def test_view_carries_soma_faces_to_their_children():
    v, f = _lumpy_sphere()
    from neurd_lite.neuron import Soma

    n = Neuron(mesh=trimesh.Trimesh(v, f, process=False), somas=[Soma(np.zeros(3), 500.0, faces=np.array([0, 5]))])
    w, parent = normalised_view(n, 200.0)
    assert set(parent[w.somas[0].faces]) == {0, 5} and np.count_nonzero(np.isin(parent, [0, 5])) == len(
        w.somas[0].faces)


def test_refining_only_searched_faces_stays_conforming_and_view_keeps_their_ring():
    v, f = _lumpy_sphere()
    centre = trimesh.Trimesh(v, f, process=False).triangles_center
    searched = centre[:, 2] > 0  # the upper half is searched (dendrite), the lower half is not (soma / axon)
    v2, f2, parent = refine_to_edge(v, f, 200.0, searched)
    m2 = trimesh.Trimesh(v2, f2, process=False)
    assert m2.is_watertight and m2.is_winding_consistent  # faces across split edges are split for conformity
    assert np.array_equal(v2[:len(v)], v)
    kids = np.bincount(parent, minlength=len(f))
    assert m2.edges_unique_length[(m2.edges_unique < len(v2)).all(1)].max() > 200.0  # unsearched faces keep edges
    long_in = np.array([m2.edges_unique_length[np.isin(m2.edges_unique, f2[parent == i]).all(1)].max()
                        for i in np.flatnonzero(searched)[:20]])
    assert long_in.max() <= 200.0 and kids[searched].min() >= 1 and kids[~searched].min() >= 1
    assert kids[~searched].mean() < kids[searched].mean()
    same = refine_to_edge(v, f, 200.0, np.ones(len(f), dtype=bool))
    assert all(np.array_equal(a, b) for a, b in zip(same, refine_to_edge(v, f, 200.0)))
    keep = view_faces(f2, parent, searched, len(v2))
    assert keep[searched[parent]].all() and not keep.all()
    ring = keep & ~searched[parent]  # each kept unsearched face touches a searched one
    on = np.zeros(len(v2), dtype=bool)
    on[f2[searched[parent]]] = True
    assert on[f2[ring]].any(1).all()

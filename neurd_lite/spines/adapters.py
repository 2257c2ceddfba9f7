"""Small adapters used until (or instead of) the full pipeline: build a Neuron ready for spine detection.

``neuron_from_mesh`` skeletonizes with MeshParty TEASAR (imported inside the function) and fills
``n.skeleton`` and ``n.face_to_skeleton``; it does not decompose into branches or compartments.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..neuron import Neuron, Soma
from ..skeleton.model import Skeleton


def skeleton_for_mesh(mesh, soma_center_nm: np.ndarray | None = None, soma_radius_nm: float = 7500.0,
                      invalidation_nm: float = 4000.0) -> tuple[Skeleton, np.ndarray]:
    """TEASAR skeleton of a mesh in nm -> (Skeleton in nm, (V,) mesh vertex -> skeleton vertex, -1 if none)."""
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    from meshparty import skeletonize, trimesh_io

    mp = trimesh_io.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    kw = {} if soma_center_nm is None else {"soma_pt": np.asarray(soma_center_nm, float),
                                            "soma_radius": soma_radius_nm, "collapse_soma": True}
    sk = skeletonize.skeletonize_mesh(mp, invalidation_d=invalidation_nm, compute_radius=True, smooth_vertices=True,
                                      cc_vertex_thresh=30, verbose=False, **kw)
    skel = Skeleton(sk.vertices, sk.edges, np.asarray(sk.radius, float), root=int(sk.root))
    v2s = np.asarray(sk.mesh_to_skel_map, dtype=np.int64)
    v2s[(v2s < 0) | (v2s >= skel.n_vertices)] = -1
    return skel, v2s


def neuron_from_mesh(mesh, name: str = "neuron", soma_center_nm: np.ndarray | None = None,
                     soma_radius_nm: float = 7500.0, soma_faces: np.ndarray | None = None,
                     invalidation_nm: float = 4000.0) -> Neuron:
    """A Neuron (nm) with mesh, TEASAR skeleton, per-face nearest skeleton vertex and optional soma.

    mesh: trimesh.Trimesh in nm. soma_center_nm / soma_radius_nm: a known soma (nm), or None for a fragment.
    """
    if mesh is None or len(getattr(mesh, "faces", [])) == 0:
        raise InputError("mesh has no faces", hint="pass a non-empty trimesh.Trimesh in nm")
    skel, v2s = skeleton_for_mesh(mesh, soma_center_nm, soma_radius_nm, invalidation_nm)
    somas = [] if soma_center_nm is None else [
        Soma(soma_center_nm, soma_radius_nm, faces=np.zeros(0, np.int64) if soma_faces is None else soma_faces,
             method="given")]
    n = Neuron(name=name, mesh=mesh, skeleton=skel, somas=somas)
    n.face_to_skeleton = v2s[np.asarray(mesh.faces)[:, 0]]
    n.provenance["skeleton"] = {"method": "meshparty.teasar", "invalidation_nm": invalidation_nm}
    return n


def neuron_from_synthetic(sn, with_compartments: bool = True) -> Neuron:
    """A Neuron from a ``neurd_lite.testing.synthetic.SyntheticNeuron`` with its true centreline skeleton, its
    true soma (centre, radius, faces) and, when ``with_compartments``, the true per-face compartments (what the
    compartment stage would provide). Spine labels and synapse targets are left for the spine stages."""
    n = sn.neuron()
    n.skeleton = sn.skeleton
    comp = np.asarray(sn.face_compartment, dtype=object)
    soma_faces = np.flatnonzero(comp == "soma")
    n.somas = [Soma(sn.truth["soma_center_nm"], sn.truth["soma_radius_nm"], faces=soma_faces, method="truth")]
    if with_compartments:
        n.face_compartment = comp.copy()
        n.face_labels = np.where(np.isin(comp, ("soma", "axon")), comp, "unlabelled").astype(object)
    n.skeleton_labels = np.full(n.skeleton.n_vertices, "unlabelled", dtype=object)
    return n


def spiny_cylinder(n_spines: int = 6, seed: int = 0, length_nm: float = 10000.0, radius_nm: float = 500.0,
                   noise_nm: float = 0.0, stubby_every: int = 0):
    """A small closed test dendrite (nm): a cylinder along z with mushroom spines (neck tube + sphere head),
    optionally stubby ones (head only). Returns (trimesh.Trimesh, spines DataFrame with head centre/radius,
    neck segment and radius, Skeleton along the axis). Needs manifold3d (trimesh boolean engine)."""
    import pandas as pd
    import trimesh
    from trimesh.creation import cylinder, icosphere

    rng = np.random.default_rng(seed)
    parts = [trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(
        *(lambda c: (c.vertices, c.faces))(cylinder(radius=radius_nm, height=length_nm, sections=24)), 400.0))]
    rows = []
    zs = np.linspace(-length_nm / 2 + 1500, length_nm / 2 - 1500, n_spines)
    for i, z in enumerate(zs):
        ang = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(ang), np.sin(ang), 0.0])
        stubby = stubby_every > 0 and i % stubby_every == stubby_every - 1
        neck_len = 0.0 if stubby else rng.uniform(500, 1000)
        head_r, neck_r = rng.uniform(250, 380), rng.uniform(70, 110)
        base = np.array([0.0, 0.0, z]) + d * (radius_nm - 60)
        tip = base + d * (60 + neck_len)
        centre = tip + d * head_r * (0.8 if not stubby else 0.3)
        if not stubby:
            parts.append(cylinder(radius=neck_r, segment=[base, tip], sections=12).subdivide().subdivide())
        head = icosphere(subdivisions=2, radius=head_r)
        head.apply_translation(centre)
        parts.append(head)
        rows.append({"head_x_nm": centre[0], "head_y_nm": centre[1], "head_z_nm": centre[2], "head_radius_nm": head_r,
                     "neck_radius_nm": neck_r, "neck_length_nm": neck_len, "stubby": stubby,
                     "base_x_nm": base[0], "base_y_nm": base[1], "base_z_nm": base[2], "dir_x": d[0], "dir_y": d[1]})
    mesh = trimesh.boolean.union(parts, engine="manifold")
    if noise_nm > 0:
        mesh.vertices = mesh.vertices + rng.normal(0, noise_nm, mesh.vertices.shape)
    z = np.linspace(-length_nm / 2, length_nm / 2, int(length_nm // 200) + 1)
    skel = Skeleton(np.c_[0 * z, 0 * z, z], np.c_[np.arange(len(z) - 1), np.arange(1, len(z))])
    return mesh, pd.DataFrame(rows), skel


def beaded_tube(radius_nm: float = 300.0, length_nm: float = 12000.0,
                bumps: list[tuple[float, float, float]] = (), step_nm: float = 80.0, sections: int = 24,
                noise_nm: float = 0.0, seed: int = 0):
    """A closed tube along z (nm) whose radius swells by Gaussian bumps (``(z_nm, height_nm, half_width_nm)``:
    varicosities of an aspiny dendrite or boutons of an axon; no spines). Returns (trimesh.Trimesh, Skeleton
    along the axis). ``step_nm`` / ``sections``: ring spacing and vertices per ring (the tessellation)."""
    import trimesh

    z = np.linspace(-length_nm / 2, length_nm / 2, int(length_nm // step_nm) + 1)
    r = np.full(len(z), float(radius_nm))
    for zc, h, w in bumps:
        r += h * np.exp(-0.5 * ((z - zc) / w) ** 2)
    ang = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang)], 1)
    v = np.concatenate([np.column_stack([r[i] * ring, np.full(sections, z[i])]) for i in range(len(z))])
    v = np.vstack([v, [[0.0, 0.0, z[0]], [0.0, 0.0, z[-1]]]])
    f = []
    for i in range(len(z) - 1):
        a, b = i * sections + np.arange(sections), i * sections + (np.arange(sections) + 1) % sections
        f += [np.column_stack([a, b, b + sections]), np.column_stack([a, b + sections, a + sections])]
    lo, hi = len(v) - 2, len(v) - 1
    a, b = np.arange(sections), (np.arange(sections) + 1) % sections
    top = (len(z) - 1) * sections
    f += [np.column_stack([np.full(sections, lo), b, a]), np.column_stack([np.full(sections, hi), top + a, top + b])]
    if noise_nm > 0:
        v[:-2] += np.random.default_rng(seed).normal(0, noise_nm, (len(v) - 2, 3))
    mesh = trimesh.Trimesh(v, np.concatenate(f), process=False)
    zs = np.linspace(-length_nm / 2, length_nm / 2, int(length_nm // 200) + 1)
    skel = Skeleton(np.c_[0 * zs, 0 * zs, zs], np.c_[np.arange(len(zs) - 1), np.arange(1, len(zs))])
    return mesh, skel


def varicose_dendrite(radius_nm: float, height: float, half_width_nm: float) -> Neuron:
    """A fresh Neuron on a 12 µm aspiny test dendrite (nm): a tube of ``radius_nm`` with three smooth swellings of
    the whole circumference (at z = -3.5, 0 and 3 µm, ``height`` x the radius high, Gaussian half width
    ``half_width_nm``) and 10 nm vertex noise; no spines, so every spine found on it is a false one."""
    bumps = [(z, height * radius_nm, half_width_nm) for z in (-3500.0, 0.0, 3000.0)]
    mesh, skel = beaded_tube(radius_nm, 12000.0, bumps, noise_nm=10.0, seed=1)
    return Neuron(mesh=mesh, skeleton=skel)

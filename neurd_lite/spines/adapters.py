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

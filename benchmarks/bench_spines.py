"""Time spine detection and synapse labelling on the real MICrONS cell at 81k faces and at ~1.3M faces.

Run from the repository root:  python benchmarks/bench_spines.py [--skip-large]
The skeleton, somas and compartments come from ``neurd_lite.decompose`` (spine stages excluded from the timing
of that step); the ~1.3M-face mesh is ``trimesh.remesh.subdivide`` applied twice to the 81k-face mesh (same
surface, 16x the faces), with the per-face arrays repeated onto the children. One process, one thread.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _subdivided(n, times: int = 2):
    """A copy of the neuron on a mesh subdivided ``times`` times (each face -> 4 children, same order blocks)."""
    import trimesh

    from neurd_lite.neuron import Neuron, Soma

    v, f = np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces)
    parent = np.arange(len(f))
    for _ in range(times):
        v, f = trimesh.remesh.subdivide(v, f)
        parent = np.repeat(parent, 4)  # the 4 children of face i are faces 4i..4i+3 (checked below)
    child_c, parent_c = v[f].mean(1), np.asarray(n.mesh.triangles_center)[parent]
    assert np.median(np.linalg.norm(child_c - parent_c, axis=1)) < np.median(n.mesh.edges_unique_length)
    mesh = trimesh.Trimesh(v, f, process=False)
    syn = n.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy()
    m = Neuron(name=n.name + "_x16", mesh=mesh, skeleton=n.skeleton, synapses=syn)
    m.face_compartment = n.face_compartment[parent].copy()
    m.face_labels = np.where(np.isin(m.face_compartment, ("soma", "axon")), m.face_compartment,
                             "unlabelled").astype(object)
    m.face_branch = n.face_branch[parent].copy()
    m.face_to_skeleton = n.face_to_skeleton[parent].copy()
    k = 4 ** times
    m.somas = [Soma(s.center_nm, s.radius_nm, faces=(s.faces[:, None] * k + np.arange(k)[None, :]).reshape(-1),
                    method=s.method) for s in n.somas]
    return m


def _time(label: str, n) -> dict:
    from neurd_lite.spines import attach_synapses, detect_spines

    t0 = time.perf_counter()
    detect_spines(n)
    t1 = time.perf_counter()
    attach_synapses(n)
    t2 = time.perf_counter()
    post = n.synapses[~n.synapses["is_pre"].astype(bool)]
    row = {"mesh": label, "faces": n.n_faces, "spines": len(n.spines), "detect_spines_s": round(t1 - t0, 2),
           "attach_synapses_s": round(t2 - t1, 2), "post_targets": post["target"].value_counts().to_dict()}
    print(row, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skip-large", action="store_true", help="only the 81k-face mesh")
    args = ap.parse_args()
    from neurd_lite.data import data_path
    from neurd_lite.pipeline import PipelineParams, decompose

    base = "meshes/microns_864691135510518224/"
    t0 = time.perf_counter()
    n = decompose(data_path(base + "864691135510518224_decimated_80k.off"),
                  synapses=data_path(base + "864691135510518224_synapses.csv"),
                  params=PipelineParams(spines=False))
    print(f"decompose without spine stages: {time.perf_counter() - t0:.1f} s", flush=True)
    _time("81k", n)
    if not args.skip_large:
        big = _subdivided(n, 2)
        _time("subdivided x2", big)


if __name__ == "__main__":
    main()

"""Time spine detection and synapse labelling on the real MICrONS cell at 81k faces and at ~1.3M faces.

Run from the repository root:  python benchmarks/bench_spines.py [--skip-large] [--subdivide-levels 1,2]
[--synthetic] [--pictures]
``--synthetic``: spine precision / recall, head/neck face accuracy and synapse-target macro F1 of synthetic
pyramidal cells run through ``neurd_lite.decompose`` (its own soma, skeleton and compartments), clean and
fragmented + 20 nm noise. ``--pictures``: the PNGs in ``docs/spines/`` (Harris dendrites, MICrONS zoom).
The skeleton, somas and compartments come from ``neurd_lite.decompose`` (spine stages excluded from the timing
of that step); the ~1.3M-face mesh is ``trimesh.remesh.subdivide`` applied twice to the 81k-face mesh (same
surface, 16x the faces), with the per-face arrays repeated onto the children; ``--subdivide-levels 1,2`` also
times the once-subdivided (~324k-face) mesh, so the spine count can be compared across tessellations of one
surface. One process, one thread.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's neurd_lite

import numpy as np  # noqa: E402

from neurd_lite.testing.scores import instance_scores  # noqa: E402


def _subdivided(n, times: int = 2):
    """A copy of the neuron on a mesh subdivided ``times`` times (each face -> 4 children, same order blocks)."""
    import trimesh

    from neurd_lite.neuron import Neuron, Soma
    from real_cell import subdivide

    v, f = subdivide(np.asarray(n.mesh.vertices), np.asarray(n.mesh.faces), times)
    parent = np.repeat(np.arange(len(n.mesh.faces)), 4 ** times)  # face i's children: 4^t i .. (checked below)
    child_c, parent_c = v[f].mean(1), np.asarray(n.mesh.triangles_center)[parent]
    assert np.median(np.linalg.norm(child_c - parent_c, axis=1)) < np.median(n.mesh.edges_unique_length)
    mesh = trimesh.Trimesh(v, f, process=False)
    syn = n.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy()
    m = Neuron(name=f"{n.name}_x{4 ** times}", mesh=mesh, skeleton=n.skeleton, synapses=syn)
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
    from neurd_lite.spines import SynapseParams, attach_synapses, detect_spines

    t0, c0 = time.perf_counter(), time.process_time()
    fld = detect_spines(n)
    t1, c1 = time.perf_counter(), time.process_time()
    attach_synapses(n, SynapseParams(method="model"), shaft_field=fld)
    model_post = n.synapses[~n.synapses["is_pre"].astype(bool)]["target"].value_counts(normalize=True).round(3)
    t1b, c1b = time.perf_counter(), time.process_time()
    attach_synapses(n, SynapseParams(method="rules"))
    t2, c2 = time.perf_counter(), time.process_time()
    post = n.synapses[~n.synapses["is_pre"].astype(bool)]
    with_post = np.unique(post["spine_id"][post["spine_id"] >= 0]) if "spine_id" in post else []
    shares = post["target"].value_counts(normalize=True).round(3).to_dict()
    row = {"mesh": label, "faces": n.n_faces, "spines": len(n.spines), "detect_spines_s": round(t1 - t0, 2),
           "detect_spines_cpu_s": round(c1 - c0, 2), "attach_synapses_s": round(t2 - t1b, 2),
           "attach_synapses_cpu_s": round(c2 - c1b, 2),
           "attach_synapses_model_s": round(t1b - t1, 2), "model_post_shares": model_post.to_dict(), "post_targets": post["target"].value_counts().to_dict(),
           "post_shares": shares, "spines_with_postsynapse": round(len(with_post) / max(len(n.spines), 1), 3),
           "pass_counts": n.provenance["spines"].get("pass_counts")}
    print(row, flush=True)
    return row


def _synthetic_cell(seed: int, cache_dir: str | None):
    """(truth, neuron after ``decompose(..., params=PipelineParams(skip=("spines",)))``) of a synthetic pyramidal cell (even seeds clean,
    odd seeds fragmented + 20 nm noise + debris); pickled in ``cache_dir`` when given, so the spine stages can
    be re-run in seconds."""
    import pickle

    import neurd_lite as nl
    from neurd_lite.pipeline import PipelineParams
    from neurd_lite.testing.synthetic import make_neuron

    path = os.path.join(cache_dir, f"synthetic_seed{seed}.pkl") if cache_dir else None
    if path and os.path.exists(path):
        with open(path, "rb") as fh:
            return pickle.load(fh)
    frag = seed % 2 == 1
    sn = make_neuron("pyramidal", seed=seed, fragment=frag, noise_nm=20.0 if frag else 0.0, debris=frag)
    n = nl.decompose(sn.mesh, synapses=sn.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]].copy(), units="nm",
                     params=PipelineParams(skip=("spines",)))
    truth = {"face_spine": np.asarray(sn.face_spine), "face_labels": np.asarray(sn.face_labels).astype(str),
             "face_compartment": np.asarray(sn.face_compartment).astype(str),
             "target": sn.synapses["target"].to_numpy().astype(str)}
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump((truth, n), fh)
    return truth, n


def synthetic(seeds: tuple[int, ...] = (0, 1, 2, 3), cache_dir: str | None = None) -> list[dict]:
    """Spine and synapse-target scores through ``decompose`` (its own soma, skeleton and compartments; the
    spine, refine and synapse stages are re-run on the cached spine-free decomposition)."""
    from sklearn.metrics import f1_score

    from neurd_lite.pipeline import PipelineParams, stage_refine, stage_spines, stage_synapses

    rows = []
    for seed in seeds:
        truth, n = _synthetic_cell(seed, cache_dir)
        p = PipelineParams()
        t0 = time.perf_counter()
        stage_spines(n, p)
        t1 = time.perf_counter()
        stage_refine(n, p)
        stage_synapses(n, p)
        ts = truth["face_spine"]
        precision, recall = instance_scores(n.face_spine, ts)
        both = (n.face_spine >= 0) & (ts >= 0)
        rows.append({"seed": seed, "cell": "fragmented + 20 nm noise" if seed % 2 else "clean", "faces": n.n_faces,
                     "spine_precision": round(precision, 3), "spine_recall": round(recall, 3),
                     "head_neck_accuracy": round(float(np.mean(n.face_labels[both].astype(str)
                                                               == truth["face_labels"][both])), 3),
                     "target_macro_f1": round(f1_score(truth["target"], n.synapses.target.to_numpy().astype(str),
                                                       average="macro"), 3),
                     "compartment_face_accuracy": round(float(np.mean(n.face_compartment.astype(str)
                                                                      == truth["face_compartment"])), 3),
                     "spines_s": round(t1 - t0, 2)})
        print(rows[-1], flush=True)
    return rows


def pictures(out_dir: str = "docs/spines") -> None:
    """Decompose the Harris dendrites (µm) and draw them; draw a zoom of the MICrONS cell with synapses."""
    import neurd_lite as nl
    from neurd_lite.data import data_path
    from neurd_lite.viz import plot_spines

    for name, view in (("dendrite_19321_watertight.off", "xz"), ("harris_part_dendrite.ply", "xz")):  # side views
        n = nl.decompose(data_path("meshes/harris_dendrites/" + name), units="um")
        stem = name.rsplit(".", 1)[0]
        plot_spines(n, f"{out_dir}/{stem}_default.png", view=view,
                    title=f"{stem}: {len(n.spines)} spines (head, neck, shaft: legend)")
        print(name, n.n_faces, "faces,", len(n.spines), "spines", flush=True)
    from real_cell import MESH, SYNAPSES

    n = nl.decompose(data_path(MESH), synapses=data_path(SYNAPSES))
    c = n.spines[["x_nm", "y_nm", "z_nm"]].to_numpy(float)
    from scipy.spatial import cKDTree

    dens = np.array([len(x) for x in cKDTree(c).query_ball_point(c, 4000.0)])
    plot_spines(n, f"{out_dir}/microns_864691135510518224_zoom.png", center_nm=c[np.argmax(dens)],
                radius_nm=7000.0, view="xy", synapses=True,
                title=f"864691135510518224: {len(n.spines)} spines; 7 µm around the densest spine cluster")


def neurd_reference() -> dict:
    """NEURD's proofread excitatory cell 864691134917511946 (sonata node table, one row per branch): spines and
    spines per µm over branches with spines, and head / neck / shaft shares of its branch postsynapses (the
    soma is not a branch there)."""
    import h5py

    from neurd_lite.data import data_path

    path = data_path("skeletons/microns_neurd_exc_864691134917511946/sonata/network/node.h5")
    with h5py.File(path) as h:
        g = h["nodes/0/0"]
        d = {k: np.asarray(g[k]) for k in ("n_spines", "n_synapses_head", "n_synapses_neck", "n_synapses_shaft",
                                           "n_synapses_post", "skeletal_length", "n_synapses_no_head")}
    spiny = d["n_spines"] > 0
    post = d["n_synapses_head"].sum() + d["n_synapses_neck"].sum() + d["n_synapses_shaft"].sum()
    out = {"branches": int(len(spiny)), "spines": int(d["n_spines"].sum()),
           "spines_per_um_spiny_branches": round(float(d["n_spines"][spiny].sum()
                                                       / max(d["skeletal_length"][spiny].sum() / 1000.0, 1e-9)), 3),
           "post_head_neck_shaft": [int(d[k].sum()) for k in ("n_synapses_head", "n_synapses_neck",
                                                               "n_synapses_shaft")],
           "shares_head_neck_shaft": [round(float(d[k].sum() / max(post, 1)), 3)
                                      for k in ("n_synapses_head", "n_synapses_neck", "n_synapses_shaft")],
           "n_synapses_post_branches": int(d["n_synapses_post"].sum())}
    print("NEURD proofread 864691134917511946:", out, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skip-large", action="store_true", help="only the 81k-face mesh")
    ap.add_argument("--subdivide-levels", default="2",
                    help="comma-separated trimesh.remesh.subdivide levels of the 81k mesh to run as well")
    ap.add_argument("--synthetic", action="store_true", help="scores of synthetic cells through decompose")
    ap.add_argument("--pictures", action="store_true", help="regenerate the PNGs in docs/spines/")
    ap.add_argument("--seeds", default="0,1,2,3", help="synthetic seeds, comma-separated")
    ap.add_argument("--cache", default=None, help="directory for cached spine-free decompositions")
    ap.add_argument("--neurd", action="store_true", help="print NEURD's proofread cell's spine / synapse counts")
    args = ap.parse_args()
    if args.neurd:
        neurd_reference()
    if args.synthetic:
        synthetic(tuple(int(x) for x in args.seeds.split(",") if x.strip()), args.cache)
    if args.pictures:
        pictures()
    if args.synthetic or args.pictures or args.neurd:
        return
    from neurd_lite.data import data_path
    from neurd_lite.pipeline import PipelineParams, decompose

    from real_cell import MESH, SYNAPSES

    t0 = time.perf_counter()
    n = decompose(data_path(MESH), synapses=data_path(SYNAPSES),
                  params=PipelineParams(skip=("spines",)))
    print(f"decompose without spine stages: {time.perf_counter() - t0:.1f} s", flush=True)
    _time("81k", n)
    if not args.skip_large:
        for level in (int(x) for x in args.subdivide_levels.split(",") if x.strip()):
            _time(f"subdivided x{level}", _subdivided(n, level))


if __name__ == "__main__":
    main()

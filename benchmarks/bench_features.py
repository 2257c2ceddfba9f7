"""Feature extraction time per cell: ``python benchmarks/bench_features.py [--real] [--repeat N]``.

Times ``nl.features(n)`` and ``nl.branch_features(n)`` on synthetic pyramidal cells with ground truth (mesh,
labelled skeleton, spines, synapses) and, with ``--real``, on the shared MICrONS cell after ``nl.decompose``
(needs the pipeline and ../shared/data). Decomposition time is not counted. Prints one line per cell.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_neuron(seed: int):
    """A labelled synthetic pyramidal Neuron (soma faces = faces whose true compartment is soma)."""
    import neurd_lite as nl
    from neurd_lite.testing.synthetic import make_neuron

    sn = make_neuron("pyramidal", seed=seed, union=False)
    sk = sn.skeleton
    soma_faces = np.flatnonzero(np.asarray(sn.face_compartment).astype(str) == "soma")
    return nl.Neuron(name=f"synthetic_{seed}", mesh=sn.mesh, skeleton=sk,
                     somas=[nl.Soma(sn.truth["soma_center_nm"], sn.truth["soma_radius_nm"], faces=soma_faces)],
                     skeleton_labels=sk.vertex_properties["compartment"].astype(object),
                     face_labels=sn.face_labels, face_compartment=sn.face_compartment, face_spine=sn.face_spine,
                     spines=sn.spines, synapses=sn.synapses)


def real_neuron():
    """The shared MICrONS cell decomposed by the pipeline."""
    import neurd_lite as nl
    from neurd_lite.data import data_path

    base = "meshes/microns_864691135510518224/"
    return nl.decompose(data_path(base + "864691135510518224_decimated_80k.off"),
                        synapses=data_path(base + "864691135510518224_synapses.csv"), units="nm")


def time_cell(n, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds for features() and branch_features() on one neuron."""
    import neurd_lite as nl

    best_f = best_b = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        df = nl.features(n)
        t1 = time.perf_counter()
        bf = nl.branch_features(n)
        t2 = time.perf_counter()
        best_f, best_b = min(best_f, t1 - t0), min(best_b, t2 - t1)
    return {"faces": n.n_faces, "branches": len(bf), "non_nan": int(df.notna().sum(axis=1).iloc[0]),
            "columns": df.shape[1], "features_s": best_f, "branch_features_s": best_b}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", action="store_true", help="also time the shared MICrONS cell (needs nl.decompose)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = ap.parse_args()
    cells = [(f"synthetic seed {s}", lambda s=s: synthetic_neuron(s)) for s in args.seeds]
    if args.real:
        cells.append(("MICrONS 864691135510518224", real_neuron))
    for label, build in cells:
        n = build()
        r = time_cell(n, args.repeat)
        print(f"{label}: {r['faces']} faces, {r['branches']} branches, {r['non_nan']}/{r['columns']} features "
              f"computed; features {r['features_s']:.2f} s, branch_features {r['branch_features_s']:.2f} s")


if __name__ == "__main__":
    main()

"""Soma detection and soma boundary: synthetic cells per class (held-out seeds), the real MICrONS cell, shared meshes.

Synthetic part: for each class of the synthetic family (``neurd_lite.testing.family``: tune seeds 0-999,
held-out seeds 1000-1999, martinotti held out as a whole class), each member clean and under drawn conditions,
plus 2-3-cell merges: ``find_somas`` on every cell; prints per class the
fraction of cells whose true soma was found (a detected centre within the true soma radius), soma face F1
(area-weighted, faces of the true soma vs the detected soma faces) and soma-synapse F1 (postsynaptic
synapses whose nearest face is a soma face vs those the generator placed on the soma).

Real part: the two somata of microns_864691135510518224 against NEURD's soma meshes (centroid distance, area,
volume) and the perisomatic table's row (nucleus 659492: soma area, volume, number of processes, soma
synapses); the soma-region pieces, the Harris dendrites (no soma expected) and the fly neurons (a soma, if
found, must be the SWC soma); every shared mesh must run without an error.

    OMP_NUM_THREADS=1 python benchmarks/eval_soma.py --split heldout --real
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from typing import Any, Iterator

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's neurd_lite

from real_cell import DATA_DIR as CELL  # noqa: E402  (the real cell's folder under the shared data)
from real_cell import MESH, SYNAPSES  # noqa: E402


def weighted_f1(pred: np.ndarray, true: np.ndarray, w: np.ndarray | None = None) -> float:
    """F1 of two boolean masks, each element weighted by ``w`` (default 1)."""
    w = np.ones(len(true)) if w is None else w
    tp, fp, fn = (w * (pred & true)).sum(), (w * (pred & ~true)).sum(), (w * (~pred & true)).sum()
    return float(2 * tp / max(2 * tp + fp + fn, 1e-12)) if (tp + fp + fn) > 0 else 1.0


def soma_synapse_mask(mesh: Any, soma_faces: np.ndarray, xyz_nm: np.ndarray, max_nm: float = 1000.0) -> np.ndarray:
    """Synapses (nm) whose nearest face centre (within ``max_nm``) is one of ``soma_faces``."""
    from scipy.spatial import cKDTree

    is_soma = np.zeros(len(mesh.faces), dtype=bool)
    is_soma[soma_faces] = True
    d, nf = cKDTree(np.asarray(mesh.triangles_center)).query(xyz_nm)
    return is_soma[nf] & (d <= max_nm)


HOLDOUT_CLASSES = ("martinotti",)
MERGES = {"tune": [([("l23_pyramidal", 5), ("basket", 6)], "dendrite", 5), ([("l4_pyramidal", 7), ("l5_et", 8)], "dendrite", 6)],
          "heldout": [([("l23_pyramidal", 1005), ("l23_pyramidal", 1006)], "dendrite", 1005),
                      ([("basket", 1007), ("l4_pyramidal", 1008)], "axon", 1006),
                      ([("l5_et", 1009), ("neurogliaform", 1010), ("basket", 1011)], ["dendrite", "axon"], 1007)]}


def synthetic_cells(split: str, n_seeds: int) -> Iterator[tuple[str, str, Any]]:
    """(class, name, cell) for every member of the split of the synthetic family (``neurd_lite.testing.family``):
    each (class, seed) clean and under drawn conditions (faces, noise, fragments, orientation), plus merges."""
    from neurd_lite.testing import family

    tune, held = family.split(n_seeds=n_seeds, holdout_classes=HOLDOUT_CLASSES)
    for cls, seed in (tune if split == "tune" else held):
        tag = f"{cls}{' (held-out class)' if cls in HOLDOUT_CLASSES else ''}"
        yield tag, f"{cls}:{seed}", family.make_member(cls, seed)
        yield tag, f"{cls}:{seed}:random", family.make_member(cls, seed, conditions="random")
    for members, contact, seed in MERGES[split]:
        yield f"merge_{len(members)}", "+".join(f"{c}:{s}" for c, s in members), \
            family.make_merge(members, contact, seed=seed)


def truth_arrays(sn: Any) -> tuple[list[np.ndarray], list[float], np.ndarray, np.ndarray]:
    """(true soma centres nm, radii nm, per-face is-soma, per-postsynaptic-synapse is-soma) of a synthetic cell."""
    cells = sn.truth.get("cells") or [sn.truth]
    centres = [np.asarray(c["soma_center_nm"], float) for c in cells]
    radii = [float(c["soma_radius_nm"]) for c in cells]
    true_face = np.asarray(sn.face_labels).astype(str) == "soma"
    post = ~sn.synapses["is_pre"].astype(bool).to_numpy()
    return centres, radii, true_face, sn.synapses["target"].to_numpy()[post] == "soma"


def eval_synthetic(split: str, n_seeds: int) -> None:
    from neurd_lite.mesh.soma import find_somas

    rows: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for cls, name, sn in synthetic_cells(split, n_seeds):
        centres, radii, true_face, true_syn = truth_arrays(sn)
        t0 = time.perf_counter()
        somas = find_somas(sn.mesh)
        dt = time.perf_counter() - t0
        found = np.mean([any(np.linalg.norm(s.center_nm - c) < r for s in somas) for c, r in zip(centres, radii)])
        pred = np.zeros(len(true_face), dtype=bool)
        for s in somas:
            pred[s.faces] = True
        face_f1 = weighted_f1(pred, true_face, np.asarray(sn.mesh.area_faces))
        post = ~sn.synapses["is_pre"].astype(bool).to_numpy()
        xyz = sn.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy()[post]
        syn_f1 = weighted_f1(soma_synapse_mask(sn.mesh, np.flatnonzero(pred), xyz), true_syn)
        rows[cls].append((found, face_f1, syn_f1, dt))
        print(f"  {name:28s} somata {len(somas)} (true {len(centres)})  found {found:.2f}  face F1 {face_f1:.3f}  "
              f"syn F1 {syn_f1:.3f}  processes {[s.n_processes for s in somas]}  {dt:.1f} s", flush=True)
    print(f"\nsplit {split}: class, cells, soma found, face F1 mean / worst, soma-synapse F1 mean / worst")
    allr = []
    for cls, r in rows.items():
        a = np.array(r)
        allr.append(a)
        print(f"  {cls:24s} {len(a):3d}  found {a[:, 0].mean():.2f}  face F1 {a[:, 1].mean():.3f} / {a[:, 1].min():.3f}"
              f"  syn F1 {a[:, 2].mean():.3f} / {a[:, 2].min():.3f}")
    a = np.vstack(allr)
    print(f"  {'ALL':24s} {len(a):3d}  found {a[:, 0].mean():.2f}  face F1 {a[:, 1].mean():.3f} / {a[:, 1].min():.3f}"
          f"  syn F1 {a[:, 2].mean():.3f} / {a[:, 2].min():.3f}")


def _load_nm(path: Any, scale: float = 1.0) -> Any:
    import trimesh

    m = trimesh.load(path, process=False, force="mesh")
    return trimesh.Trimesh(np.asarray(m.vertices) * scale, m.faces, process=False)


def eval_real() -> None:
    import pandas as pd

    from neurd_lite.data import data_path
    from neurd_lite.feature.perisomatic import body_measures
    from neurd_lite.mesh.soma import find_somas

    mesh = _load_nm(data_path(MESH))
    t0 = time.perf_counter()
    somas = find_somas(mesh)
    print(f"real cell 864691135510518224 (80,883 faces): {len(somas)} somata in {time.perf_counter() - t0:.1f} s")
    refs = [_load_nm(data_path(CELL + f"soma_{k}.ply")) for k in (0, 1)]
    syn = pd.read_csv(data_path(SYNAPSES))
    post = syn[syn["prepost"] == "postsyn"]
    xyz = post[["synapse_x", "synapse_y", "synapse_z"]].to_numpy(float) * [4.0, 4.0, 40.0]  # voxels -> nm
    table = pd.read_csv(data_path("labels/microns_perisomatic_features_v83.csv.gz"))
    row = table[table.nucleus_id == 659492].iloc[0]
    for k, ref in enumerate(refs):
        rc = np.asarray(ref.vertices).mean(axis=0)
        s = min(somas, key=lambda s: np.linalg.norm(s.center_nm - rc))
        ours = body_measures(mesh.submesh([s.membrane_faces], append=True))
        theirs = body_measures(ref)
        n_syn = int(soma_synapse_mask(mesh, s.faces, xyz).sum())
        print(f"  NEURD soma_{k}: centre offset {np.linalg.norm(s.center_nm - rc) / 1000:.2f} µm; ours: membrane area "
              f"{ours['area_nm2'] / 1e6:.0f} µm² (voxel props {s.properties['area_um2']:.0f}), volume "
              f"{ours['volume_nm3'] / 1e9:.0f} µm³ (voxel {s.properties['volume_um3']:.0f}), processes {s.n_processes} "
              f"(exit radii µm {[round(e.radius_nm / 1000, 2) for e in s.exits]}), soma synapses {n_syn}; "
              f"NEURD soma mesh ({len(ref.faces)} faces): area {theirs['area_nm2'] / 1e6:.0f} µm², volume "
              f"{theirs['volume_nm3'] / 1e9:.0f} µm³")
    tc = np.array([row.soma_x, row.soma_y, row.soma_z], float)
    s = min(somas, key=lambda s: np.linalg.norm(s.center_nm - tc))
    print(f"  table row nucleus 659492: soma area {row.soma_area / 1e6:.0f} µm², volume {row.soma_volume / 1e9:.0f} µm³, "
          f"processes {row.num_processes}, soma synapses {row.n_soma_syn}; matched soma offset "
          f"{np.linalg.norm(s.center_nm - tc) / 1000:.2f} µm")
    shared = [("microns_soma_region_pieces/" + n, 1.0, "one soma") for n in
              ("neurd_tests_mesh_watertight.off", "neurd_tests_990_mesh.off", "neurd_temp_neuron_53938.off")]
    shared += [("harris_dendrites/" + n, 1000.0, "no soma") for n in ("harris_part_dendrite.ply",
                                                                       "dendrite_19321_watertight.off")]
    for seg in ("1734350788", "1734350908", "722817260", "754534424", "754538881"):
        shared.append((f"fly_hemibrain_DA1_PNs/obj/{seg}.obj", 8.0, "fly: soma only at the SWC root"))
    for rel, scale, expect in shared:
        m = _load_nm(data_path("meshes/" + rel), scale)
        t0 = time.perf_counter()
        try:
            found = find_somas(m)
            msg = f"{len(found)} somata, radii µm {[round(s.radius_nm / 1000, 1) for s in found]}"
            if rel.startswith("fly"):
                seg = rel.split("/")[-1][:-4]
                swc = np.loadtxt(data_path(f"meshes/fly_hemibrain_DA1_PNs/swc/{seg}.swc"))
                soma_rows = swc[swc[:, 1] == 1] if np.any(swc[:, 1] == 1) else swc[swc[:, 6] == -1]
                root = soma_rows[0, 2:5] * 8.0
                msg += f", offsets from SWC soma µm {[round(np.linalg.norm(s.center_nm - root) / 1000, 1) for s in found]}"
        except Exception as e:  # report, do not stop: the check is that nothing crashes
            msg = f"ERROR {type(e).__name__}: {e}"
        print(f"  {rel:52s} expect {expect:30s} -> {msg} ({time.perf_counter() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="heldout", help="tune, heldout, or none")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per class")
    ap.add_argument("--real", action="store_true", help="also the real cell and the shared meshes")
    a = ap.parse_args(argv)
    if a.split != "none":
        eval_synthetic(a.split, a.seeds)
    if a.real:
        eval_real()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Gallery of the synthetic family: one member of every class, close-ups of an L5 teardrop soma and of spine
shapes, and a merge, drawn with neurd_lite.viz (faces coloured by their true label; x-y, pia up).

Usage: ``python benchmarks/synthetic_gallery.py [--out docs/figures/synthetic_family.png] [--seed 1000]``
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurd_lite.neuron import Neuron  # noqa: E402
from neurd_lite.testing import family  # noqa: E402
from neurd_lite.viz import plot_mesh_projection  # noqa: E402

CELL_LABELS = np.array(["basal", "apical_shaft", "oblique"])  # three distinct palette colours for cells 0-2


def _as_neuron(sn, labels: np.ndarray | None = None) -> Neuron:
    lab = sn.face_labels if labels is None else labels
    return Neuron(name=sn.kind, mesh=sn.mesh, face_labels=np.asarray(lab, dtype=object).copy())


def _box(center_nm: np.ndarray, half_um: float) -> tuple[float, float, float, float]:
    c = np.asarray(center_nm) / 1000.0
    return (c[0] - half_um, c[0] + half_um, c[1] - half_um, c[1] + half_um)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/figures/synthetic_family.png")
    ap.add_argument("--seed", type=int, default=1000)
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = time.perf_counter()
    fig, axes = plt.subplots(3, 4, figsize=(20, 17))
    axes = axes.ravel()
    members = {}
    for ax, cls in zip(axes, family.CLASSES):
        sn = family.make_member(cls, args.seed)
        members[cls] = sn
        plot_mesh_projection(_as_neuron(sn), color_by="labels", ax=ax, width_px=700, legend=cls == "l5_et")
        t = sn.truth
        ax.set_title(f"{cls} {args.seed}: {t['soma_shape']} soma r {t['soma_radius_nm'] / 1000:.1f} µm, "
                     f"{t['n_spines']} spines, {len(sn.mesh.faces) / 1000:.0f}k faces", fontsize=10)
    l5 = family.make_member("l5_et", args.seed, soma_shape="teardrop", trunk_radius_nm=3300.0)
    plot_mesh_projection(_as_neuron(l5), color_by="labels", ax=axes[8], width_px=400, legend=False,
                         bounds_um=_box(l5.truth["soma_center_nm"], 30.0))
    axes[8].set_title("l5_et teardrop soma into a 3.3 µm trunk (close-up)", fontsize=10)
    sn = members["l23_pyramidal"]
    sp = sn.spines
    pick = sp[sp["shape"] == "branched"] if (sp["shape"] == "branched").any() else sp
    c = pick[["head_x_nm", "head_y_nm", "head_z_nm"]].to_numpy()[0]
    plot_mesh_projection(_as_neuron(sn), color_by="labels", ax=axes[9], width_px=300, legend=True,
                         bounds_um=_box(c, 6.0))
    axes[9].set_title("spines around a branched spine (l23, 12 µm box)", fontsize=10)
    merge = family.make_merge([("basket", args.seed), ("martinotti", args.seed), ("neurogliaform", args.seed)],
                              ["dendrite", "axon"], seed=args.seed)
    lab = np.where(merge.face_cell >= 0, CELL_LABELS[np.maximum(merge.face_cell, 0)], "unknown")
    plot_mesh_projection(_as_neuron(merge, lab), color_by="labels", ax=axes[10], width_px=700, legend=False)
    for k in merge.truth["contacts"]:
        p = k["point_nm"] / 1000.0
        axes[10].plot(p[0], p[1], "o", mfc="none", mec="k", ms=14)
    axes[10].set_title("merge: basket / Martinotti / neurogliaform (colour = cell; circles = contacts)", fontsize=10)
    k = merge.truth["contacts"][1]
    plot_mesh_projection(_as_neuron(merge, lab), color_by="labels", ax=axes[11], width_px=400, legend=False,
                         bounds_um=_box(k["point_nm"], 10.0))
    axes[11].set_title(f"{k['kind']} contact of cells {k['cells']} (20 µm box)", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=60)
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

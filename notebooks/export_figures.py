"""Regenerate the PNGs under docs/figures that the notebooks show (real cell when the data is present).

    python notebooks/export_figures.py
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import neurd_lite as nl  # noqa: E402
from neurd_lite import viz  # noqa: E402
from neurd_lite.data import available, data_path  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"
CELL = "meshes/microns_864691135510518224/"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if not available(CELL + "864691135510518224_decimated_80k.off"):
        raise SystemExit("needs the shared MICrONS cell: set NEURD_LITE_DATA")
    n = nl.decompose(data_path(CELL + "864691135510518224_decimated_80k.off"),
                     synapses=data_path(CELL + "864691135510518224_synapses.csv"), name="864691135510518224")
    fig, axes = plt.subplots(1, 2, figsize=(15, 8))
    viz.plot_mesh_projection(n, color_by="compartment", ax=axes[0])
    viz.plot_skeleton(n, ax=axes[1])
    axes[0].set_title("MICrONS 864691135510518224: faces by compartment (pia up)")
    axes[1].set_title("skeleton and branch ids")
    fig.tight_layout()
    fig.savefig(OUT / "real_cell_compartments.png", dpi=90)
    plt.close(fig)

    heads = n.mesh.triangles_center[np.asarray(n.face_labels) == "spine_head"] / 1000
    h, xe, ye = np.histogram2d(heads[:, 0], heads[:, 1], bins=20)
    i, j = np.unravel_index(np.argmax(h), h.shape)
    cx, cy = (xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2
    fig, ax = plt.subplots(figsize=(8, 8))
    viz.plot_mesh_projection(n, color_by="spines", ax=ax, bounds_um=(cx - 8, cx + 8, cy - 8, cy + 8))
    ax.set_title(f"spines: head / neck / shaft ({len(n.spines)} spines on the cell)")
    fig.savefig(OUT / "real_cell_spines_zoom.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 9))
    viz.plot_mesh_projection(n, color_by="none", ax=ax, legend=False)
    viz.plot_synapses(n, ax, size=8)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("synapses by target")
    fig.savefig(OUT / "real_cell_synapse_targets.png", dpi=90)
    plt.close(fig)
    print("wrote", sorted(p.name for p in OUT.glob("*.png")))


if __name__ == "__main__":
    main()

"""Pictures of synthetic neurons for checking by eye (x-y projection, pia up)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..viz import LABEL_COLORS as COLORS
from ..viz import TARGET_COLORS as SYNAPSE_COLORS
from .synthetic import SyntheticNeuron


def _draw(ax, sn: SyntheticNeuron, faces: np.ndarray, scale_um: float = 1e-3) -> None:
    """Project the given faces on x-y (µm), painter-sorted by z, coloured by label."""
    from matplotlib.collections import PolyCollection

    tri = np.asarray(sn.mesh.vertices)[np.asarray(sn.mesh.faces)[faces]]
    order = np.argsort(tri[:, :, 2].mean(axis=1))
    cols = [COLORS.get(str(lab), "#000000") for lab in sn.face_labels[faces][order]]
    ax.add_collection(PolyCollection(tri[order][:, :, :2] * scale_um, facecolors=cols, edgecolors="none",
                                     antialiased=False))
    ax.set_aspect("equal")


def plot_synthetic(sn: SyntheticNeuron, path: str | Path, zoom_um: float = 12.0, dpi: int = 110) -> Path:
    """Save a two-panel PNG: the whole cell and a zoom on a spiny stretch, coloured by face label (µm axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    fig, (a0, a1) = plt.subplots(1, 2, figsize=(15, 9), gridspec_kw={"width_ratios": [1.5, 1]})
    allf = np.arange(len(sn.mesh.faces))
    _draw(a0, sn, allf)
    v = np.asarray(sn.mesh.vertices) / 1000.0
    a0.set_xlim(v[:, 0].min() - 5, v[:, 0].max() + 5)
    a0.set_ylim(v[:, 1].max() + 5, v[:, 1].min() - 5)  # +y toward white matter: pia at the top
    a0.set_xlabel("x (µm)")
    a0.set_ylabel("y (µm, pia up)")
    a0.set_title(f"synthetic {sn.kind}, seed {sn.seed}: {len(sn.mesh.faces):,} faces, "
                 f"{sn.truth['n_spines']} spines")
    # zoom on the spine head nearest the middle of the oblique (or any) spines
    sp = sn.spines
    pick = sp[sp.compartment == "oblique"] if (sp.compartment == "oblique").any() else sp
    c = pick[["head_x_nm", "head_y_nm"]].to_numpy()[len(pick) // 2] / 1000.0
    h = zoom_um / 2
    cent = np.asarray(sn.mesh.triangles_center)[:, :2] / 1000.0
    near = np.flatnonzero(np.all(np.abs(cent - c) < h * 1.2, axis=1))
    _draw(a1, sn, near)
    syn = sn.synapses
    inside = (np.abs(syn.x_nm / 1000 - c[0]) < h) & (np.abs(syn.y_nm / 1000 - c[1]) < h)
    for tgt, g in syn[inside].groupby("target"):
        a1.scatter(g.x_nm / 1000, g.y_nm / 1000, s=14, c=SYNAPSE_COLORS.get(tgt, "k"), label=f"syn: {tgt}",
                   zorder=5, edgecolors="white", linewidths=0.4)
    a1.set_xlim(c[0] - h, c[0] + h)
    a1.set_ylim(c[1] + h, c[1] - h)
    a1.set_title(f"zoom {zoom_um:g} µm around spine on {pick.compartment.iloc[len(pick) // 2]}")
    a1.set_xlabel("x (µm)")
    a0.add_patch(Rectangle((c[0] - h, c[1] - h), 2 * h, 2 * h, fill=False, edgecolor="k"))
    present = [k for k in COLORS if k in set(sn.face_labels)]
    a0.legend(handles=[Patch(color=COLORS[k], label=k) for k in present], loc="lower right", fontsize=8)
    a1.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path

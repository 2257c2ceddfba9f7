"""Pictures of spine labels: a shaded orthographic view of the mesh with faces coloured head / neck / shaft.

matplotlib is imported inside the function. Coordinates nm; axes labelled in µm.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..neuron import Neuron

COLOURS = {"spine_head": (0.86, 0.15, 0.15), "spine_neck": (0.98, 0.70, 0.10), "shaft": (0.55, 0.65, 0.80),
           "soma": (0.45, 0.45, 0.45), "axon": (0.35, 0.70, 0.35)}


def _view_basis(view: str | np.ndarray) -> np.ndarray:
    """3x3 rows (right, up, towards viewer) for ``"xy"``, ``"xz"``, ``"yz"`` or a viewing direction."""
    if isinstance(view, str):
        axes = {"xy": (0, 1, 2), "xz": (0, 2, 1), "yz": (1, 2, 0)}[view]
        return np.eye(3)[list(axes)]
    d = np.asarray(view, float) / np.linalg.norm(view)
    up = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    right = np.cross(up, d)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(d, right), d])


def plot_spines(n: Neuron, path: str | Path, center_nm: np.ndarray | None = None, radius_nm: float | None = None,
                view: str | np.ndarray = "xy", title: str = "", synapses: bool = False, dpi: int = 150) -> Path:
    """Save a PNG of the faces within ``radius_nm`` of ``center_nm`` (all faces when None), coloured by
    spine_head / spine_neck / shaft (soma and axon in grey / green). Optional synapse dots by target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    tri = np.asarray(n.mesh.triangles, dtype=np.float64)
    cen = tri.mean(1)
    keep = np.ones(len(tri), dtype=bool)
    if center_nm is not None and radius_nm is not None:
        keep = np.linalg.norm(cen - np.asarray(center_nm, float), axis=1) < radius_nm
    idx = np.flatnonzero(keep)
    basis = _view_basis(view)
    proj = tri[idx] @ basis.T / 1000.0  # µm, columns: right, up, depth
    normal = np.cross(tri[idx, 1] - tri[idx, 0], tri[idx, 2] - tri[idx, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-12)[:, None]
    shade = 0.45 + 0.55 * np.abs(normal @ basis[2])
    labels = n.face_labels.astype(str)[idx]
    comp = n.face_compartment.astype(str)[idx]
    key = np.where(np.isin(labels, ("spine_head", "spine_neck")), labels,
                   np.where(comp == "soma", "soma", np.where(comp == "axon", "axon", "shaft")))
    base = np.array([COLOURS[k] for k in key]) if len(key) else np.zeros((0, 3))
    order = np.argsort(proj[:, :, 2].mean(1))
    span = np.ptp(proj[:, :, :2].reshape(-1, 2), axis=0) if len(idx) else np.ones(2)
    fig, ax = plt.subplots(figsize=(7, 7 * max(span[1], 1e-3) / max(span[0], 1e-3)) if span[0] >= span[1]
                           else (7 * span[0] / span[1] + 1, 7))
    ax.add_collection(PolyCollection(proj[order, :, :2], facecolors=base[order] * shade[order, None],
                                     edgecolors="none", antialiased=False))
    if synapses and len(n.synapses) and "target" in n.synapses:
        pts = n.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy(float)
        near = np.ones(len(pts), bool) if center_nm is None else \
            np.linalg.norm(pts - np.asarray(center_nm, float), axis=1) < (radius_nm or np.inf)
        sp = pts[near] @ basis.T / 1000.0
        tgt = n.synapses["target"].astype(str).to_numpy()[near]
        for t, mk in (("spine_head", "o"), ("spine_neck", "s"), ("shaft", "^"), ("soma", "D")):
            m = tgt == t
            if m.any():
                ax.scatter(sp[m, 0], sp[m, 1], s=14, marker=mk, facecolors="none", edgecolors="k", linewidths=0.8,
                           label=f"synapse on {t}", zorder=5)
    for k in ("spine_head", "spine_neck", "shaft"):
        ax.plot([], [], "s", color=COLOURS[k], label=k.replace("_", " "))
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("µm")
    ax.set_ylabel("µm")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out

"""Pictures of a split: the merged mesh coloured by cell, the cuts, and each cell by compartment (µm, pia up)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CELL_COLORS = ("#4e79a7", "#e15759", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2")
NEITHER_COLOR = "#bbbbbb"


def plot_split(cells: Any, path: str | Path, plane: str = "xy", width_px: int = 900, dpi: int = 110) -> Path:
    """Save a PNG: left, the merged mesh with faces coloured by the cell that got them (grey: neither) and the
    cuts marked; then one panel per cell coloured by compartment. ``cells``: what :func:`split` returned."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    from ..viz import _AXES, _rasterise, plot_mesh_projection

    merged = cells.merged
    a, b = _AXES[plane[0]], _AXES[plane[1]]
    owner = np.full(merged.n_faces, -1)
    for k, c in enumerate(cells):
        if c.input_faces is not None:
            owner[c.input_faces] = k
    colors = np.array([to_rgba(NEITHER_COLOR)] + [to_rgba(CELL_COLORS[k % len(CELL_COLORS)])
                                                    for k in range(len(cells))])[owner + 1]
    tri = np.asarray(merged.mesh.vertices)[np.asarray(merged.mesh.faces)] / 1000.0
    image, extent = _rasterise(tri[:, :, [a, b]], tri[:, :, 3 - a - b].mean(axis=1), colors, width_px)
    fig, axes = plt.subplots(1, 1 + len(cells), figsize=(6 * (1 + len(cells)), 7))
    ax = axes[0]
    ax.imshow(image, extent=extent, origin="lower", interpolation="nearest")
    for cut in cells.report.get("cuts", []):
        if cut.get("applied"):
            p = np.asarray(cut["position_nm"]) / 1000.0
            ax.plot(p[a], p[b], marker="x", color="k", markersize=14, mew=3)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xlabel(f"{plane[0]} (µm)")
    ax.set_ylabel(f"{plane[1]} (µm) — pia up")
    handles = [Patch(color=CELL_COLORS[k % len(CELL_COLORS)], label=f"cell {k} ({c.name})")
               for k, c in enumerate(cells)] + [Patch(color=NEITHER_COLOR, label="neither")]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title(f"{merged.name}: faces by cell, cut(s) x")
    for k, c in enumerate(cells):
        plot_mesh_projection(c, "compartment", plane=plane, ax=axes[k + 1], width_px=width_px)
        axes[k + 1].set_title(f"cell {k}: {c.n_faces:,} faces, {len(c.synapses)} synapses")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path

"""Pictures of a Neuron: static matplotlib projections (pia up), skeleton/graph views, an offline 3D view, and
shaded close-ups of spine labels (:func:`plot_spines`, saved as PNG).

Coordinates are drawn in µm. For minnie65 (+y toward white matter) the x-y projection is drawn with y
increasing downward, so pia is at the top. The 3D view embeds three.js through trimesh (no network).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import matplotlib.axes
    import pandas as pd

    from .neuron import Neuron

# The one palette: every picture (mesh projections, skeleton/graph views, 3D scenes, spine close-ups and the
# synthetic-cell pictures in neurd_lite.testing.plot) colours a compartment or spine part by this table.
LABEL_COLORS: dict[str, str] = {
    "soma": "#222222", "axon": "#f28e2b", "basal": "#4e79a7", "apical_shaft": "#e15759",
    "apical_tuft": "#b07aa1", "oblique": "#59a14f", "dendrite": "#76b7b2", "spine_head": "#edc948",
    "spine_neck": "#9c755f", "shaft": "#bab0ac", "unknown": "#888888", "unlabelled": "#d9d9d9",
}
# Synapse markers by target: the same table, except shaft synapses (blue, to stand out on grey shaft faces)
# and unknown targets (magenta).
TARGET_COLORS: dict[str, str] = {
    **{k: LABEL_COLORS[k] for k in ("spine_head", "spine_neck", "soma", "axon")},
    "shaft": "#4e79a7", "unknown": "#ff00ff",
}
_AXES = {"x": 0, "y": 1, "z": 2}


def _face_values(n: "Neuron", color_by: str) -> np.ndarray:
    if color_by == "compartment":
        return np.asarray(n.face_compartment if n.face_compartment is not None else n.face_labels, dtype=str)
    if color_by == "labels":
        return np.asarray(n.face_labels, dtype=str)
    if color_by == "none":  # plain grey background, e.g. under a synapse overlay
        return np.full(n.n_faces, "unlabelled")
    if color_by == "spines":
        lab = np.asarray(n.face_labels, dtype=str)
        return np.where(np.isin(lab, ["spine_head", "spine_neck", "soma"]), lab, "shaft")
    raise ValueError(f"color_by must be 'compartment', 'labels', 'spines' or 'none', not {color_by!r}")


def _face_colors(values: np.ndarray, palette: dict[str, str]) -> np.ndarray:
    from matplotlib.colors import to_rgba

    lut = {k: to_rgba(c) for k, c in palette.items()}
    uniq, inv = np.unique(values, return_inverse=True)
    table = np.array([lut.get(u, to_rgba(palette.get("unknown", "#888888"))) for u in uniq])
    return table[inv]


def plot_mesh_projection(n: "Neuron", color_by: str = "compartment", plane: str = "xy",
                         ax: "matplotlib.axes.Axes | None" = None, width_px: int = 900,
                         y_down: bool = True, bounds_um: Sequence[float] | None = None,
                         legend: bool = True) -> "matplotlib.axes.Axes":
    """Draw the mesh projected on ``plane`` (µm), faces coloured by compartment / labels / spines.

    The projection is rasterised to an image ``width_px`` wide (faces painted far-to-near along the dropped
    axis), which stays fast for meshes of millions of faces. ``bounds_um`` = (xmin, xmax, ymin, ymax) zooms.
    With ``y_down`` (default) y grows downward so that minnie65 pia is at the top.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if n.mesh is None:
        raise ValueError(f"neuron {n.name!r} has no mesh; use plot_skeleton")
    a, b = (_AXES[plane[0]], _AXES[plane[1]])
    depth_axis = 3 - a - b
    verts = np.asarray(n.mesh.vertices) / 1000.0
    faces = np.asarray(n.mesh.faces)
    values = _face_values(n, color_by)
    keep = np.arange(len(faces))
    if bounds_um is not None:
        c = verts[faces].mean(axis=1)
        x0, x1, y0, y1 = bounds_um
        keep = np.flatnonzero((c[:, a] >= x0) & (c[:, a] <= x1) & (c[:, b] >= y0) & (c[:, b] <= y1))
    tri = verts[faces[keep]]
    palette = {**LABEL_COLORS, **({"shaft": "#bab0ac"} if color_by == "spines" else {})}
    colors = _face_colors(values[keep], palette)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 8))
    image, extent = _rasterise(tri[:, :, [a, b]], tri[:, :, depth_axis].mean(axis=1), colors, width_px)
    ax.imshow(image, extent=extent, origin="lower", interpolation="nearest")
    ax.set_aspect("equal")
    if y_down and plane[1] == "y":
        ax.invert_yaxis()
    ax.set_xlabel(f"{plane[0]} (µm)")
    ax.set_ylabel(f"{plane[1]} (µm)" + (" — pia up" if y_down and plane[1] == "y" else ""))
    if legend:
        present = [v for v in palette if v in set(values[keep])]
        ax.legend(handles=[Patch(color=palette[v], label=v) for v in present], loc="best", fontsize=8)
    return ax


def _rasterise(tri2d: np.ndarray, depth: np.ndarray, colors: np.ndarray,
               width_px: int) -> tuple[np.ndarray, list[float]]:
    """Paint triangles (F, 3, 2) into an RGBA image, far (low depth) to near, by sampling each face with a
    number of points that grows with its area in pixels; returns (image, [xmin, xmax, ymin, ymax])."""
    lo, hi = tri2d.reshape(-1, 2).min(axis=0), tri2d.reshape(-1, 2).max(axis=0)
    pix = max(float(hi[0] - lo[0]), 1e-9) / width_px
    shape = (int(np.ceil((hi[1] - lo[1]) / pix)) + 1, width_px + 1)
    p0, e1, e2 = tri2d[:, 0], tri2d[:, 1] - tri2d[:, 0], tri2d[:, 2] - tri2d[:, 0]
    area_px = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / pix**2
    k = np.clip(np.ceil(6 * area_px), 1, 4000).astype(np.int64)
    face = np.repeat(np.arange(len(tri2d)), k)
    rng = np.random.default_rng(0)
    u, v = rng.random(len(face)), rng.random(len(face))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    pts = p0[face] + u[:, None] * e1[face] + v[:, None] * e2[face]
    pts = np.concatenate([pts, tri2d.reshape(-1, 2)])  # corners keep thin faces visible
    face = np.concatenate([face, np.repeat(np.arange(len(tri2d)), 3)])
    order = np.argsort(depth[face], kind="stable")
    ij = np.floor((pts[order] - lo) / pix).astype(np.int64)
    image = np.zeros(shape + (4,))
    image[ij[:, 1], ij[:, 0]] = colors[face[order]]  # later (nearer) samples overwrite earlier ones
    return image, [float(lo[0]), float(lo[0] + shape[1] * pix), float(lo[1]), float(lo[1] + shape[0] * pix)]


def plot_synapses(n: "Neuron", ax: "matplotlib.axes.Axes", plane: str = "xy", size: float = 6.0,
                  column: str = "target") -> "matplotlib.axes.Axes":
    """Overlay synapse positions (µm) coloured by ``column`` (default the synapse target)."""
    if n.synapses.empty:
        return ax
    a, b = (_AXES[plane[0]], _AXES[plane[1]])
    xyz = n.synapses[["x_nm", "y_nm", "z_nm"]].to_numpy(float) / 1000.0
    labels = n.synapses[column].astype(str).to_numpy() if column in n.synapses else np.full(len(xyz), "unknown")
    for lab in np.unique(labels):
        m = labels == lab
        ax.scatter(xyz[m, a], xyz[m, b], s=size, c=TARGET_COLORS.get(lab, "#ff00ff"), label=f"syn: {lab}",
                   edgecolors="none", zorder=5)
    return ax


def plot_skeleton(n: "Neuron", plane: str = "xy", ax: "matplotlib.axes.Axes | None" = None,
                  branch_ids: bool = True, y_down: bool = True) -> "matplotlib.axes.Axes":
    """Draw skeleton edges (µm) coloured by compartment, with branch node ids at branch midpoints."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Patch

    if n.skeleton is None:
        raise ValueError(f"neuron {n.name!r} has no skeleton (nl.decompose or nl.label_skeleton builds one)")
    a, b = (_AXES[plane[0]], _AXES[plane[1]])
    v = n.skeleton.vertices / 1000.0
    e = n.skeleton.edges
    labels = (np.asarray(n.skeleton_labels, dtype=str) if n.skeleton_labels is not None
              else np.full(len(v), "unlabelled"))
    colors = _face_colors(labels[e[:, 1]], LABEL_COLORS)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 8))
    ax.add_collection(LineCollection(v[e][:, :, [a, b]], colors=colors, linewidths=1.2))
    for s in n.somas:
        ax.add_patch(plt.Circle((s.center_nm[a] / 1000, s.center_nm[b] / 1000), s.radius_nm / 1000,
                                color=LABEL_COLORS["soma"], alpha=0.6))
    if branch_ids:
        for node, d in n.graph.nodes(data=True):
            sv = d.get("skeleton_vertices")
            if d.get("kind") == "branch" and sv is not None and len(sv):
                p = v[np.asarray(sv)[len(sv) // 2]]
                ax.text(p[a], p[b], str(node), fontsize=6, color="black")
    ax.autoscale_view()
    ax.set_aspect("equal")
    if y_down and plane[1] == "y":
        ax.invert_yaxis()
    ax.set_xlabel(f"{plane[0]} (µm)")
    ax.set_ylabel(f"{plane[1]} (µm)")
    present = [k for k in LABEL_COLORS if k in set(labels)]
    ax.legend(handles=[Patch(color=LABEL_COLORS[k], label=k) for k in present], fontsize=8, loc="best")
    return ax


def plot_feature_distributions(df: "pd.DataFrame", features: Sequence[str], by: str,
                               max_cols: int = 3) -> Any:
    """Box plots of ``features`` (columns of ``df``) grouped by the class column ``by``; returns the figure."""
    import matplotlib.pyplot as plt

    asked, features = list(features), [f for f in features if f in df.columns]
    if not features:
        raise ValueError(f"none of the requested features {asked} are columns of the table (feature names carry "
                         "their unit, e.g. cable_length_um; nl.feature.REGISTRY lists them)")
    ncols = min(max_cols, len(features))
    nrows = int(np.ceil(len(features) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    groups = sorted(df[by].dropna().astype(str).unique())
    for ax, feat in zip(axes.flat, features):
        data = [df.loc[df[by].astype(str) == g, feat].dropna().to_numpy() for g in groups]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1), groups, rotation=60, fontsize=7)
        ax.set_title(feat, fontsize=9)
    for ax in list(axes.flat)[len(features):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def scene(n: "Neuron", color_by: str = "compartment") -> Any:
    """A ``trimesh.Scene`` of the mesh (µm) with per-face colours."""
    import trimesh

    rgba = (_face_colors(_face_values(n, color_by), LABEL_COLORS) * 255).astype(np.uint8)
    mesh = trimesh.Trimesh(np.asarray(n.mesh.vertices) / 1000.0, n.mesh.faces, process=False,
                           face_colors=rgba)
    return trimesh.Scene(mesh)


def view3d(n: "Neuron", color_by: str = "compartment", height: int = 500) -> Any:
    """Interactive 3D view for Jupyter (three.js embedded by trimesh; works offline); the mesh in µm, ``height``
    in pixels."""
    from trimesh.viewer.notebook import scene_to_notebook

    return scene_to_notebook(scene(n, color_by), height=height)


def save_html(n: "Neuron", path: str, color_by: str = "compartment") -> str:
    """Write a standalone HTML file with the interactive 3D view (the mesh in µm); returns the path."""
    from trimesh.viewer.notebook import scene_to_html

    with open(path, "w") as fh:
        fh.write(scene_to_html(scene(n, color_by)))
    return path


# ---- spine close-ups ---------------------------------------------------------------------------------------
def _view_basis(view: "str | np.ndarray") -> np.ndarray:
    """3x3 rows (right, up, towards viewer) for ``"xy"``, ``"xz"``, ``"yz"`` or a viewing direction."""
    if isinstance(view, str):
        axes = {"xy": (0, 1, 2), "xz": (0, 2, 1), "yz": (1, 2, 0)}[view]
        return np.eye(3)[list(axes)]
    d = np.asarray(view, float) / np.linalg.norm(view)
    up = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    right = np.cross(up, d)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(d, right), d])


def plot_spines(n: "Neuron", path: "str | Path", center_nm: np.ndarray | None = None, radius_nm: float | None = None,
                view: "str | np.ndarray" = "xy", title: str = "", synapses: bool = False, dpi: int = 150) -> "Path":
    """Save a PNG of the faces within ``radius_nm`` of ``center_nm`` (all faces when None), coloured by
    spine_head / spine_neck / shaft, soma and axon (``LABEL_COLORS``), drawn as shaded polygons seen along
    ``view`` (``"xy"``, ``"xz"``, ``"yz"`` or a direction), axes in µm. Optional synapse markers by target.
    For whole cells :func:`plot_mesh_projection` with ``color_by="spines"`` is faster (rasterised)."""
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
    from matplotlib.colors import to_rgb

    base = np.array([to_rgb(LABEL_COLORS[k]) for k in key]) if len(key) else np.zeros((0, 3))
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
        ax.plot([], [], "s", color=LABEL_COLORS[k], label=k.replace("_", " "))
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("µm")
    ax.set_ylabel("µm")
    ax.set_title(title, fontsize=10)
    return _save_figure(fig, path, dpi)


def plot_cell(n: "Neuron", path: "str | Path | None" = None, plane: str = "xy", width_px: int = 700
              ) -> "matplotlib.figure.Figure":
    """One picture of a decomposed cell (µm): faces by compartment with spine heads and necks (left), and the
    synapses by target on the grey mesh (right), in the one palette (``LABEL_COLORS``, ``TARGET_COLORS``);
    legends beside the panels. Saved to ``path`` (PNG, 120 dpi) when given; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    a, b = (_AXES[plane[0]], _AXES[plane[1]])
    span = np.ptp(np.asarray(n.mesh.vertices)[:, [a, b]], axis=0) if n.mesh is not None else np.ones(2)
    panel_w = float(np.clip(7.0 * span[0] / max(span[1], 1e-9), 2.5, 7.0))
    fig, axes = plt.subplots(1, 2, figsize=(2 * panel_w + 4.4, 7.5), sharex=True, sharey=True)
    plot_mesh_projection(n, color_by="labels", plane=plane, ax=axes[0], width_px=width_px, legend=False)
    present = set(_face_values(n, "labels"))
    axes[0].legend(handles=[Patch(color=c, label=k) for k, c in LABEL_COLORS.items() if k in present],
                   loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    axes[0].set_title("compartments, spine heads and necks", fontsize=10)
    plot_mesh_projection(n, color_by="none", plane=plane, ax=axes[1], width_px=width_px, legend=False)
    if n.synapses is not None and len(n.synapses):
        plot_synapses(n, axes[1], plane=plane, size=7)
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, markerscale=1.5, frameon=False)
    axes[1].set_title("synapses by target", fontsize=10)
    axes[1].set_ylabel("")
    axes[1].tick_params(labelleft=False)
    fig.suptitle(f"{n.name}: {len(n.spines) if n.spines is not None else 0} spines, "
                 f"{0 if n.synapses is None else len(n.synapses)} synapses", fontsize=11)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _save_figure(fig: Any, path: Any, dpi: int) -> Any:
    """Lay out, write ``fig`` as ``path`` (folders made) and close it; returns the Path."""
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


# ---- merged cells (neurd_lite.proofread) ---------------------------------------------------------------------
SPLIT_CELL_COLORS = ("#4e79a7", "#e15759", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2")
NEITHER_COLOR = "#bbbbbb"


def plot_split(cells: Any, path: str | Path, plane: str = "xy", width_px: int = 900, dpi: int = 110) -> Path:
    """Save a PNG: left, the merged mesh with faces coloured by the cell that got them (grey: neither) and the
    cuts marked; then one panel per cell coloured by compartment. ``cells``: what :func:`split` returned."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    merged = cells.merged
    a, b = _AXES[plane[0]], _AXES[plane[1]]
    owner = np.full(merged.n_faces, -1)
    for k, c in enumerate(cells):
        if c.input_faces is not None:
            owner[c.input_faces] = k
    colors = np.array([to_rgba(NEITHER_COLOR)] + [to_rgba(SPLIT_CELL_COLORS[k % len(SPLIT_CELL_COLORS)])
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
    handles = [Patch(color=SPLIT_CELL_COLORS[k % len(SPLIT_CELL_COLORS)], label=f"cell {k} ({c.name})")
               for k, c in enumerate(cells)] + [Patch(color=NEITHER_COLOR, label="neither")]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title(f"{merged.name}: faces by cell, cut(s) x")
    for k, c in enumerate(cells):
        plot_mesh_projection(c, "compartment", plane=plane, ax=axes[k + 1], width_px=width_px)
        axes[k + 1].set_title(f"cell {k}: {c.n_faces:,} faces, {len(c.synapses)} synapses")
    return _save_figure(fig, path, dpi)

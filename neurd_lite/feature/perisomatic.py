"""Perisomatic features (Elabbady et al. style) with the definitions of the v83 perisomatic table.

Definitions (worked out from the 69,461-row table ``labels/microns_perisomatic_features_v83.csv.gz``):

- ``*_area_to_volume_per_um`` is area / volume in µm⁻¹ (what the name says). The table's own
  ``soma_area_to_volume`` / ``nucleus_area_to_volume`` columns are NOT that ratio: they equal exactly
  ``area / ((36 π)^(1/3) · volume^(2/3))`` (log-linear fit over all rows: exponents 1 and -2/3, constant
  ln(1/4.836), residual 1e-15), i.e. area relative to a sphere of the same volume (dimensionless, 1 for a
  sphere). The engine gives that value as ``soma_area_to_volume_index`` / ``nucleus_area_to_volume_index``.
- ``soma_synapse_density_per_um2 = soma_n_synapses / soma_area_um2`` (table: ``n_soma_syn / soma_area`` in nm⁻²,
  exact; here per µm², i.e. x 1e6).
- ``nucleus_fraction_folded = nucleus_fold_area_um2 / nucleus_area_um2`` (exact in the table).
- soma volume/area: the soma faces of the input mesh, openings where processes leave capped by fans to each
  opening's centroid; area of that closed surface; volume by filling a 250 nm voxelisation of it minus the
  surface shell (0.68 · A · pitch, the shell share measured on spheres of radius 3-8 µm at 150-250 nm pitch),
  which needs neither a watertight nor a consistently wound mesh.
- fold area (our definition; the table's meshes are not available to calibrate it): the area of nucleus faces
  lying more than 150 nm inside the nucleus's convex hull, i.e. surface folded inward away from the envelope.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..geometry.depth import cortical_depth_um, depth_range_problem
from ..geometry.meshes import canonical_order, outline_paths, submesh
from ..geometry.subdivide import subdivision_points
from ..units import nm_to_um
from .context import FeatureContext, synapse_table
from .params import PerisomaticParams
from .registry import Missing, register

FAMILY = "perisomatic"
SPHERE_CONSTANT = (36.0 * np.pi) ** (1.0 / 3.0)  # area of a unit-volume sphere


PARAMS = PerisomaticParams()  # defaults of the module-level helpers below; features read ctx.params


def sphericity_index(area_nm2: float, volume_nm3: float) -> float:
    """Area relative to a sphere of equal volume, A / ((36π)^(1/3) V^(2/3)): the table's area_to_volume."""
    if not (volume_nm3 > 0 and area_nm2 > 0):
        return np.nan
    return float(area_nm2 / (SPHERE_CONSTANT * volume_nm3 ** (2.0 / 3.0)))


def cap_openings(mesh: Any) -> tuple[Any, np.ndarray]:
    """Close each boundary loop of an open mesh with a fan to its centroid.

    Returns the capped mesh (nm) and the perimeter (nm) of every opening.
    """
    import trimesh

    m = mesh.copy()
    m.merge_vertices()
    m = trimesh.Trimesh(*canonical_order(m.vertices, m.faces), process=False)  # loops independent of listing order
    verts, faces, perims = [m.vertices], [m.faces], []
    nv = len(m.vertices)
    if not m.is_watertight:
        for idx in outline_paths(m):  # the paths of m.outline(), faster on large meshes
            if len(idx) > 1 and idx[0] == idx[-1]:
                idx = idx[:-1]
            if len(idx) < 3:
                continue
            ring = m.vertices[idx]
            perims.append(float(np.linalg.norm(ring - np.roll(ring, -1, axis=0), axis=1).sum()))
            verts.append(ring.mean(axis=0, keepdims=True))
            faces.append(np.column_stack([idx, np.roll(idx, -1), np.full(len(idx), nv)]))
            nv += 1
    capped = trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)
    return capped, np.asarray(perims)


def surface_voxels(mesh: Any, pitch_nm: float, edge_factor: float = 2.0, max_iter: int = 10) -> np.ndarray:
    """Dense bool grid of the voxels (side ``pitch_nm``) holding a surface point: ``mesh.voxelized(pitch_nm).matrix``
    (trimesh's ``voxelize_subdivide``: every vertex after splitting edges longer than pitch / ``edge_factor``,
    rounded to the grid) with only the faces that have such an edge handed to the splitting. A face without one
    passes through trimesh's ``subdivide_to_size`` unchanged and adds no vertex, so the points, and the grid, are
    the same; the splitting's edge table over every face was ~0.8 s of the 5.2M cell's soma volume. The split
    points come from :func:`neurd_lite.geometry.subdivide.subdivision_points` (the same points without trimesh's
    shared-edge table: 0.26 -> 0.06 s at 1.3M faces) and mark the grid directly (marking a voxel twice is marking
    it once: no ``unique_rows``)."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    max_edge = pitch_nm / edge_factor
    long_face = np.zeros(len(f), dtype=bool)
    for a, b in ((0, 1), (1, 2), (2, 0)):  # trimesh's edge length expression
        long_face |= ((v[f[:, a]] - v[f[:, b]]) ** 2).sum(axis=1) ** 0.5 > max_edge
    pts = np.concatenate([v, subdivision_points(v, f[long_face], max_edge, max_iter)]) if long_face.any() else v
    hit = np.round(pts / pitch_nm).astype(int)
    hit -= hit.min(axis=0)
    grid = np.zeros(hit.max(axis=0) + 1, dtype=bool)
    grid[tuple(hit.T)] = True
    return grid


def filled_volume_nm3(closed: Any, pitch_nm: float = PARAMS.voxel_pitch_nm,
                      shell_factor: float = PARAMS.voxel_shell_factor) -> float:
    """Volume (nm³) of a closed (possibly badly wound) surface by voxel filling at ``pitch_nm``: filled voxels
    minus the surface shell ``shell_factor · area · pitch``."""
    from scipy import ndimage

    grid = np.pad(surface_voxels(closed, pitch_nm), 2)
    grid = ndimage.binary_closing(grid, iterations=1)
    filled = ndimage.binary_fill_holes(grid)
    return float(max(filled.sum() * pitch_nm**3 - shell_factor * closed.area * pitch_nm, 0.0))


def body_measures(mesh: Any, params: PerisomaticParams = PARAMS) -> dict[str, Any]:
    """Closed-body measurements of a soma or nucleus mesh in nm: area_nm2 (capped surface), open_area_nm2,
    volume_nm3, sphericity_index, center_nm (centroid of the filled body surface), opening perimeters (nm)."""
    capped, perims = cap_openings(mesh)
    volume = float(abs(capped.volume)) if capped.is_watertight and capped.is_winding_consistent else \
        filled_volume_nm3(capped, params.voxel_pitch_nm, params.voxel_shell_factor)
    return {"area_nm2": float(capped.area), "open_area_nm2": float(mesh.area), "volume_nm3": volume,
            "sphericity_index": sphericity_index(capped.area, volume),
            "center_nm": np.asarray(capped.triangles_center).T @ capped.area_faces / capped.area,
            "opening_perimeters_nm": perims, "capped": capped}


def fold_area_nm2(mesh: Any, depth_nm: float = PARAMS.fold_depth_nm) -> float:
    """Area (nm²) of faces whose centre lies more than ``depth_nm`` inside the convex hull."""
    hull = mesh.convex_hull
    normals = np.asarray(hull.face_normals)
    offsets = np.einsum("ij,ij->i", normals, np.asarray(hull.triangles)[:, 0])
    centers = np.asarray(mesh.triangles_center)
    depth = np.min(offsets[None, :] - centers @ normals.T, axis=1)  # distance to the hull boundary
    return float(mesh.area_faces[depth > depth_nm].sum())


def soma_measures(ctx: FeatureContext) -> dict[str, Any]:
    """Closed-body measures of soma 0 (cached per call of features(), the Missing outcome too: nine features
    read it, and each voxel fill of a 1.3M-face cell's soma took ~3 s)."""
    if "soma" not in ctx.cache:
        try:
            ctx.cache["soma"] = _soma_measures(ctx)
        except Missing as e:
            ctx.cache["soma"] = e
    if isinstance(ctx.cache["soma"], Missing):
        raise Missing(str(ctx.cache["soma"]))
    return ctx.cache["soma"]


def _soma_measures(ctx: FeatureContext) -> dict[str, Any]:
    n = ctx.n
    if not n.somas:
        raise Missing("no soma")
    if n.mesh is None or len(n.somas[0].faces) < 4:
        raise Missing("soma 0 has no faces on the mesh")
    faces = membrane_faces(ctx)
    if len(faces) < 4:
        raise Missing("soma 0 has no membrane faces")
    m = body_measures(submesh(n.mesh, faces), ctx.params.perisomatic)
    detected_nm3 = 1e9 * float(n.somas[0].properties.get("volume_um3", 0.0))
    if m["volume_nm3"] < 0.5 * detected_nm3:  # openings not closed loops (chunked mesh): the fill leaked
        m["volume_nm3"] = detected_nm3
        m["sphericity_index"] = sphericity_index(m["area_nm2"], detected_nm3)
        ctx.notes["soma_volume"] = "capped membrane did not enclose the soma: volume of the detected soma body"
    return _plausible_body(m, "soma", ctx)


def _plausible_body(m: dict[str, Any], what: str, ctx: FeatureContext) -> dict[str, Any]:
    """The measures, or Missing when the surface does not enclose a body (area/volume index too large)."""
    limit = ctx.params.perisomatic.max_sphericity_index
    if not m["sphericity_index"] <= limit:
        raise Missing(f"{what} mesh does not enclose a body: area/volume index {m['sphericity_index']:.1f} "
                      f"(a sphere is 1; above {limit} it is a sheet or fragments)")
    return m


def membrane_faces(ctx: FeatureContext) -> np.ndarray:
    """Input-face ids of soma 0's membrane. Soma detection keeps inner surfaces (the nucleus) in
    ``Soma.faces``; when it reports some (``properties["n_inner_faces"]``), the membrane is
    ``Soma.membrane_faces`` as detection found it, else recovered with
    ``neurd_lite.mesh.soma.soma_surface_faces`` (cached in ``n.cache``)."""
    n = ctx.n
    soma = n.somas[0]
    if not soma.properties.get("n_inner_faces", 0):
        return soma.faces
    if soma.membrane_faces is not None:
        return soma.membrane_faces
    key = "soma_0_membrane_faces"
    if key not in n.cache:
        try:
            from ..mesh.soma import soma_surface_faces
        except ImportError:
            ctx.notes["soma_faces"] = "soma_surface_faces unavailable: inner (nucleus) faces not removed"
            return soma.faces
        n.cache[key] = np.asarray(soma_surface_faces(n.mesh, soma), dtype=np.int64)
    return n.cache[key]


def nucleus_measures(ctx: FeatureContext) -> dict[str, Any]:
    """Closed-body measures plus fold area of the nucleus mesh (cached)."""
    if "nucleus" not in ctx.cache:
        if ctx.nucleus is None:
            raise Missing("no nucleus mesh (pass features(n, nucleus=mesh))")
        m = _plausible_body(body_measures(ctx.nucleus, ctx.params.perisomatic), "nucleus", ctx)
        m["fold_area_nm2"] = fold_area_nm2(m["capped"], ctx.params.perisomatic.fold_depth_nm)
        ctx.cache["nucleus"] = m
    return ctx.cache["nucleus"]


def _area_to_volume_per_um(m: dict) -> float:
    """Area (nm²) / volume (nm³) of a closed body, in µm⁻¹; NaN for an empty volume."""
    return m["area_nm2"] / m["volume_nm3"] * 1000.0 if m["volume_nm3"] > 0 else np.nan


def _register_body(body: str, measures: Callable[[FeatureContext], dict[str, Any]], volume: str, area: str,
                   ratio: str, index: str) -> None:
    """The four closed-body features of the ``body`` ("soma" / "nucleus") from ``measures(ctx)`` (nm): volume
    (µm³), area (µm²), area / volume (per µm) and the v83 sphericity index; the strings are their definitions."""
    register(f"{body}_volume_um3", "neuron", "um3", volume, FAMILY)(
        lambda ctx: nm_to_um(measures(ctx)["volume_nm3"], 3))
    register(f"{body}_area_um2", "neuron", "um2", area, FAMILY)(lambda ctx: nm_to_um(measures(ctx)["area_nm2"], 2))
    register(f"{body}_area_to_volume_per_um", "neuron", "per_um", ratio, FAMILY)(
        lambda ctx: _area_to_volume_per_um(measures(ctx)))
    register(f"{body}_area_to_volume_index", "neuron", "1", index, FAMILY)(
        lambda ctx: measures(ctx)["sphericity_index"])


_register_body("soma", soma_measures, "volume of the closed soma surface (openings capped, voxel-filled)",
               "area of the soma surface with process openings capped", "soma area / soma volume (closed surface)",
               "v83 table's soma_area_to_volume: area / ((36π)^(1/3) volume^(2/3)), 1 for a sphere")


@register("soma_n_processes", "neuron", "1",
          "processes leaving soma 0: its limbs in n.graph, else its exits (Soma.exits), else soma-mesh openings "
          "with perimeter >= 1 µm", FAMILY)
def soma_n_processes(ctx: FeatureContext) -> float:
    n = ctx.n
    if not n.somas:
        raise Missing("no soma")
    if n.graph.number_of_nodes() and "soma_0" in n.graph:
        return int(sum(1 for c in n.graph.successors("soma_0") if n.graph.nodes[c].get("kind") == "branch"))
    if n.somas[0].exits:
        ctx.notes["soma_n_processes"] = "no branch graph: the soma's exits (where processes leave it)"
        return len(n.somas[0].exits)
    ctx.notes["soma_n_processes"] = "no branch graph: counted soma-mesh openings"
    return int(np.count_nonzero(soma_measures(ctx)["opening_perimeters_nm"] >= ctx.params.perisomatic.min_process_perimeter_nm))


def _soma_synapse_count(ctx: FeatureContext) -> int:
    syn = synapse_table(ctx)
    if "target" not in syn:
        raise Missing("synapse targets not assigned (no target column)")
    return int(np.count_nonzero((syn["target"].astype(str) == "soma").to_numpy() & syn["is_post"].to_numpy()))


@register("soma_n_synapses", "neuron", "1", "postsynaptic synapses with target soma", FAMILY)
def soma_n_synapses(ctx: FeatureContext) -> float:
    return _soma_synapse_count(ctx)


@register("soma_synapse_density_per_um2", "neuron", "per_um2", "soma synapses per µm² of soma area", FAMILY)
def soma_synapse_density_per_um2(ctx: FeatureContext) -> float:
    return _soma_synapse_count(ctx) / nm_to_um(soma_measures(ctx)["area_nm2"], 2)


_register_body("nucleus", nucleus_measures, "volume of the closed nucleus surface",
               "area of the nucleus surface (openings capped)", "nucleus area / nucleus volume",
               "v83 table's nucleus_area_to_volume: area / ((36π)^(1/3) volume^(2/3))")


@register("nucleus_fold_area_um2", "neuron", "um2",
          "area of nucleus surface more than 150 nm inside its convex hull (infolded)", FAMILY)
def nucleus_fold_area_um2(ctx: FeatureContext) -> float:
    return nm_to_um(nucleus_measures(ctx)["fold_area_nm2"], 2)


@register("nucleus_fraction_folded", "neuron", "1", "nucleus fold area / nucleus area", FAMILY)
def nucleus_fraction_folded(ctx: FeatureContext) -> float:
    m = nucleus_measures(ctx)
    return m["fold_area_nm2"] / m["area_nm2"]


def _soma_position_nm(ctx: FeatureContext) -> np.ndarray:
    if not ctx.n.somas:
        raise Missing("no soma")
    try:
        return soma_measures(ctx)["center_nm"]
    except Missing:
        return ctx.n.somas[0].center_nm


@register("cortical_depth_um", "neuron", "um",
          "soma depth below pia in minnie65, in the frame of the v83 table (5° rotation + pia offset)", FAMILY)
def cortical_depth(ctx: FeatureContext) -> float:
    depth, method = cortical_depth_um(_soma_position_nm(ctx), params=ctx.params.depth)
    problem = depth_range_problem(float(depth[0]), ctx.depth_range_um)
    if problem:
        raise Missing(f"{problem}: not minnie65 coordinates in nm?")
    ctx.notes["cortical_depth_um"] = f"method: {method}; assumes minnie65 coordinates (nm)"
    return float(depth[0])


def _axis_feature(axis: int, name: str) -> None:
    @register(name, "neuron", "nm", f"soma {'xyz'[axis]} position (surface centroid of soma 0, else its centre)",
              FAMILY)
    def position(ctx: FeatureContext) -> float:
        return float(_soma_position_nm(ctx)[axis])


for _i, _n in enumerate(("soma_x_nm", "soma_y_nm", "soma_z_nm")):
    _axis_feature(_i, _n)

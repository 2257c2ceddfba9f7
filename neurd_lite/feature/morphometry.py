"""Morphometrics per compartment group and per branch, from the skeleton (nm), branch graph and mesh.

Reported in µm / µm² / µm³ / degrees. Conventions:

- cable is assigned to the distal vertex of each skeleton edge; edges leaving a soma vertex lie inside the soma
  and are not counted. Branches are the branch nodes of ``n.graph`` (else skeleton segments between branch
  points); branch order is 0 for a limb's first branch; Strahler order is 1 at tips.
- width (diameter) per skeleton vertex is 2 x the median distance from the skeleton axis of the corners of the
  vertex's non-spine faces; compartment widths are cable-weighted quantiles of it. On synthetic tubes
  (230 nm to 1.7 µm) it is 0.99-1.04 x the true diameter at full and at 25 % mesh resolution. The skeleton sits
  off the cable axis on coarse meshes and spiny dendrites, which reads wider; opt-in ``FeatureParams.width``
  settings (nm): ``centre_window_nm=500`` measures about a circle centre fitted over +-500 nm of skeleton,
  ``sample="surface"`` takes an area-weighted median over the faces, ``sample="area"`` uses non-spine surface
  area (shaft under spines restored) / (pi x cable) over +-2 widths of skeleton (docs/width_diagnosis.md). All
  three change ``width_*_um``, branch ``width_um`` and the branches NEURD's E/I densities count.
  On the real MICrONS cell's thin axon (session 20, plane cuts across the skeleton:
  ``geometry/width_slice.py``, ``benchmarks/width_slices.py``) the mesh is ~0.15 µm across at 81k-1.3M faces
  while the skeleton sits ~0.13 µm off the cut centre, so the default width reads such axons 2-2.5x too wide
  (0.33 µm median); ``sample="area"`` agrees with the cuts. Read axon widths below ~0.3 µm with that in mind.
- extents are measured from the soma centre along ``up`` (toward pia), against it (toward white matter) and
  perpendicular to it (lateral); Sholl crossings count skeleton edges crossing spheres around the soma centre.
- volume of an open mesh piece is estimated as a sum of truncated cones (frusta) along the skeleton edges using
  the skeleton radius, because compartment pieces of a mesh are not closed surfaces; mesh area sums the faces
  whose branch compartment is in the group (spines included).
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from ..geometry.stats import weighted_quantile
from ..units import nm_to_um
from .context import FeatureContext, branch_distance_to_soma_nm, branch_width_nm
from .params import MorphometryParams
from .registry import COMPARTMENT_GROUPS, REGISTRY, Feature, Missing, register


PARAMS = MorphometryParams()  # the Sholl radii registered as columns
FAMILY = "morphometry"


def _branches(ctx: FeatureContext, group: str) -> pd.DataFrame:
    ids = ctx.branch_ids(group)
    return ctx.branches.loc[ids]


# ---- compartment level -------------------------------------------------------------------------------
@register("cable_length_um", "compartment", "um", "total skeleton cable length", FAMILY)
def cable_length_um(ctx: FeatureContext, group: str) -> float:
    return nm_to_um(ctx.cable_length_nm(group))


@register("n_branches", "compartment", "1", "number of branches (unbranched segments) of the branch graph", FAMILY)
def n_branches(ctx: FeatureContext, group: str) -> float:
    return len(ctx.branch_ids(group))


@register("n_tips", "compartment", "1",
          "number of terminal branches (no children); a branch ending at a cut end of a cropped fragment is not a tip",
          FAMILY)
def n_tips(ctx: FeatureContext, group: str) -> float:
    if not len(ctx.branches):
        return 0
    br = _branches(ctx, group)
    terminal = br[br["n_children"] == 0]
    if ctx.n.skeleton is None:
        return len(terminal)
    cut = ctx.n.skeleton.cut_ends
    return int(sum(not (len(v) and cut[int(np.asarray(v)[-1])]) for v in terminal["vertices"]))


def _branch_lengths_um(ctx: FeatureContext, group: str) -> np.ndarray:
    lengths = _branches(ctx, group)["length_nm"].to_numpy(dtype=float)
    if not len(lengths):
        raise Missing(f"no {group} branches")
    return nm_to_um(lengths)


@register("branch_length_mean_um", "compartment", "um", "mean branch length", FAMILY)
def branch_length_mean_um(ctx: FeatureContext, group: str) -> float:
    return float(np.mean(_branch_lengths_um(ctx, group)))


@register("branch_length_median_um", "compartment", "um", "median branch length", FAMILY)
def branch_length_median_um(ctx: FeatureContext, group: str) -> float:
    return float(np.median(_branch_lengths_um(ctx, group)))


@register("max_path_length_um", "compartment", "um", "largest path distance along the skeleton from the soma",
          FAMILY)
def max_path_length_um(ctx: FeatureContext, group: str) -> float:
    d = ctx.skeleton.distance_to_root_nm[ctx.vertex_mask(group)]
    d = d[np.isfinite(d)]
    if not len(d):
        raise Missing(f"no {group} skeleton vertices")
    return nm_to_um(float(d.max()))


@register("max_branch_order", "compartment", "1",
          "largest branch order (0 = first branch of a limb, +1 per branch point)", FAMILY)
def max_branch_order(ctx: FeatureContext, group: str) -> float:
    return _max_of_branches(ctx, group, "order")


@register("max_strahler_order", "compartment", "1",
          "largest Strahler order (tips 1; +1 where two children share the maximum)", FAMILY)
def max_strahler_order(ctx: FeatureContext, group: str) -> float:
    return _max_of_branches(ctx, group, "strahler")


def _max_of_branches(ctx: FeatureContext, group: str, column: str) -> int:
    """Largest value of the integer branch-table ``column`` over the ``group``'s branches (Missing: none)."""
    b = _branches(ctx, group)
    if not len(b):
        raise Missing(f"no {group} branches")
    return int(b[column].max())


def _probe_point(ctx: FeatureContext, origin: np.ndarray, verts: np.ndarray) -> np.ndarray | None:
    """First vertex of a child branch at least the probe distance (path) from the branch point."""
    if not len(verts):
        return None
    pts = ctx.skeleton.vertices[verts]
    steps = np.linalg.norm(np.diff(np.vstack([origin, pts]), axis=0), axis=1)
    far = np.flatnonzero(np.cumsum(steps) >= ctx.params.morphometry.bifurcation_probe_um * 1000.0)
    return pts[far[0]] if len(far) else pts[-1]


def bifurcation_angles_deg(ctx: FeatureContext, branch_ids: pd.Index) -> np.ndarray:
    """Angles (degrees) between every pair of child directions at the distal end of each given branch."""
    b = ctx.branches
    angles = []
    for bid in branch_ids:
        children = ctx.branch_children.get(bid, [])
        verts = b.at[bid, "vertices"]
        if len(children) < 2 or not len(verts):
            continue
        origin = ctx.skeleton.vertices[verts[-1]]
        dirs = []
        for c in children:
            p = _probe_point(ctx, origin, b.at[c, "vertices"])
            if p is not None and np.linalg.norm(p - origin) > 0:
                dirs.append((p - origin) / np.linalg.norm(p - origin))
        for i in range(len(dirs)):
            for j in range(i + 1, len(dirs)):
                angles.append(np.degrees(np.arccos(np.clip(dirs[i] @ dirs[j], -1.0, 1.0))))
    return np.asarray(angles)


@register("bifurcation_angle_mean_deg", "compartment", "deg",
          "mean angle between child branches at branch points, measured 5 µm along each child", FAMILY)
def bifurcation_angle_mean_deg(ctx: FeatureContext, group: str) -> float:
    a = bifurcation_angles_deg(ctx, ctx.branch_ids(group))
    if not len(a):
        raise Missing(f"no {group} bifurcations")
    return float(a.mean())


def _sholl_feature(radius_um: float) -> Feature:
    def sholl(ctx: FeatureContext, group: str) -> float:
        sk = ctx.skeleton
        par = sk.parent
        child = np.flatnonzero(ctx.vertex_mask(group) & (par >= 0))
        r = radius_um * 1000.0
        d_child = np.linalg.norm(sk.vertices[child] - ctx.soma_center_nm, axis=1)
        d_par = np.linalg.norm(sk.vertices[par[child]] - ctx.soma_center_nm, axis=1)
        return int(np.count_nonzero((np.minimum(d_child, d_par) < r) & (np.maximum(d_child, d_par) >= r)))

    r = int(radius_um) if float(radius_um).is_integer() else radius_um
    return Feature(f"sholl_{r}um_crossings", "compartment", "1",
                   f"number of skeleton edges crossing the sphere of radius {r} µm around the soma centre",
                   FAMILY, sholl)


for _r in PARAMS.sholl_radii_um:
    REGISTRY.add(_sholl_feature(_r))


def _width_quantile(ctx: FeatureContext, group: str, q: float) -> float:
    mask = ctx.vertex_mask(group)
    if not np.any(mask):
        raise Missing(f"no {group} skeleton vertices")
    value = weighted_quantile(ctx.vertex_width_nm[mask], ctx.edge_length_to_parent_nm[mask], q)
    if not np.isfinite(value):
        raise Missing("no width: mesh and skeleton radius both absent")
    return nm_to_um(value)


@register("width_median_um", "compartment", "um",
          "cable-weighted median width (2 x median skeleton-to-mesh distance, spine faces excluded)", FAMILY)
def width_median_um(ctx: FeatureContext, group: str) -> float:
    return _width_quantile(ctx, group, 0.5)


@register("width_p10_um", "compartment", "um", "cable-weighted 10th percentile of width (spines excluded)", FAMILY)
def width_p10_um(ctx: FeatureContext, group: str) -> float:
    return _width_quantile(ctx, group, 0.1)


@register("width_p90_um", "compartment", "um", "cable-weighted 90th percentile of width (spines excluded)", FAMILY)
def width_p90_um(ctx: FeatureContext, group: str) -> float:
    return _width_quantile(ctx, group, 0.9)


def _offsets_nm(ctx: FeatureContext, group: str) -> np.ndarray:
    mask = ctx.vertex_mask(group)
    if not np.any(mask):
        raise Missing(f"no {group} skeleton vertices")
    return ctx.skeleton.vertices[mask] - ctx.soma_center_nm


@register("extent_pia_um", "compartment", "um",
          "farthest reach toward pia (along `up`) from the soma centre (0 when nothing lies above the soma)", FAMILY)
def extent_pia_um(ctx: FeatureContext, group: str) -> float:
    return nm_to_um(max(0.0, float((_offsets_nm(ctx, group) @ ctx.up).max())))


@register("extent_white_matter_um", "compartment", "um",
          "farthest reach toward white matter (against `up`) from the soma centre", FAMILY)
def extent_white_matter_um(ctx: FeatureContext, group: str) -> float:
    return nm_to_um(max(0.0, float((-_offsets_nm(ctx, group) @ ctx.up).max())))


@register("extent_lateral_um", "compartment", "um",
          "farthest distance from the soma centre perpendicular to `up`", FAMILY)
def extent_lateral_um(ctx: FeatureContext, group: str) -> float:
    off = _offsets_nm(ctx, group)
    lateral = off - np.outer(off @ ctx.up, ctx.up)
    return nm_to_um(float(np.linalg.norm(lateral, axis=1).max()))


@register("mesh_area_um2", "compartment", "um2",
          "surface area of the mesh faces of the compartment (spines included, soma faces excluded)", FAMILY)
def mesh_area_um2(ctx: FeatureContext, group: str) -> float:
    n = ctx.n
    if n.mesh is None or n.n_faces == 0:
        raise Missing("neuron has no mesh")
    area = ctx.face_area_nm2
    if group == "neuron":
        keep = ~ctx.face_label_mask("face_labels", ("soma",))
        for s in n.somas:
            keep[s.faces] = False
    else:
        ctx.vertex_mask(group)  # raises Missing without labels
        keep = ctx.face_label_mask("face_compartment", tuple(COMPARTMENT_GROUPS[group]))
    return nm_to_um(float(area[keep].sum()), 2)


@register("volume_um3", "compartment", "um3",
          "volume as a sum of truncated cones along skeleton edges (skeleton radius, else half the mesh width)",
          FAMILY)
def volume_um3(ctx: FeatureContext, group: str) -> float:
    sk = ctx.skeleton
    r = np.where(np.isfinite(sk.radius), sk.radius, ctx.vertex_width_nm / 2.0)
    par = sk.parent
    child = np.flatnonzero(ctx.vertex_mask(group) & (par >= 0))
    r1, r2 = r[child], r[par[child]]
    ok = np.isfinite(r1) & np.isfinite(r2)
    if len(child) and not np.any(ok):
        raise Missing("no radius: skeleton radius and mesh both absent")
    h = ctx.edge_length_to_parent_nm[child]
    return nm_to_um(float(np.sum((np.pi / 3.0 * h * (r1 * r1 + r1 * r2 + r2 * r2))[ok])), 3)


# ---- branch level ------------------------------------------------------------------------------------
@register("length_um", "branch", "um", "skeleton length of the branch", FAMILY)
def branch_length_um(ctx: FeatureContext) -> pd.Series:
    return nm_to_um(ctx.branches["length_nm"].astype(float))


@register("branch_order", "branch", "1", "branch order (0 = first branch of its limb)", FAMILY)
def branch_order(ctx: FeatureContext) -> pd.Series:
    return ctx.branches["order"]


@register("strahler_order", "branch", "1", "Strahler order of the branch", FAMILY)
def strahler_order(ctx: FeatureContext) -> pd.Series:
    return ctx.branches["strahler"]


@register("n_children", "branch", "1", "number of child branches", FAMILY)
def n_children(ctx: FeatureContext) -> pd.Series:
    return ctx.branches["n_children"]


@register("distance_to_soma_um", "branch", "um", "path distance from the soma to the branch's proximal end",
          FAMILY)
def distance_to_soma_um(ctx: FeatureContext) -> pd.Series:
    return nm_to_um(branch_distance_to_soma_nm(ctx))


@register("width_um", "branch", "um", "cable-weighted median width of the branch (spines excluded)", FAMILY)
def branch_width_um(ctx: FeatureContext) -> pd.Series:
    return nm_to_um(branch_width_nm(ctx))


@register("bifurcation_angle_deg", "branch", "deg",
          "mean angle between the children at the branch's distal end (NaN when it does not bifurcate)", FAMILY)
def branch_bifurcation_angle_deg(ctx: FeatureContext) -> pd.Series:
    out = {}
    for bid in ctx.branches.index:
        a = bifurcation_angles_deg(ctx, pd.Index([bid]))
        out[bid] = float(a.mean()) if len(a) else np.nan
    return pd.Series(out, dtype=float)

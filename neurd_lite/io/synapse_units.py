"""Which units put a synapse table on its mesh: tried, measured and recorded, never assumed silently.

A synapse table's positions come in whatever its source used (nm, 4 x 4 x 40 nm MICrONS voxels, 8 nm hemibrain
voxels, µm). Read in the wrong units every synapse lands tens of µm to mm from the mesh and every synapse
feature is silently wrong. :func:`fit_synapse_units` measures, on a sample of rows, the median distance (nm) of
the positions to the mesh under each candidate unit and keeps the one that puts them on the surface.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, NeurdLiteWarning
from ..geometry.nearest import LocalNearest, NearestFaces
from ..units import UnitsLike, scale_to_nm

ON_MESH_NM = 1000.0  # a table "fits" when its median synapse lies within 1 µm of the surface
SAMPLE_ROWS = 300  # rows measured per candidate: the median of 300 distances is stable to a few nm
CANDIDATE_UNITS: tuple[UnitsLike, ...] = ("nm", (4.0, 4.0, 40.0), 8.0, "um")
_POS = ["x_nm", "y_nm", "z_nm"]


def units_label(units: UnitsLike) -> str:
    """Units as a person writes them on the command line: ``nm``, ``um``, ``8``, ``4,4,40``."""
    if isinstance(units, str):
        return "um" if units.strip().lower() in ("µm", "um", "micron", "micrometer", "micrometre") else units
    arr = np.atleast_1d(np.asarray(units, dtype=float))
    return ",".join(f"{v:g}" for v in arr)


def _candidates(mesh_units: UnitsLike, layout_default: UnitsLike) -> list[UnitsLike]:
    """The mesh's units, then nm, 4x4x40, 8, µm and the layout's default, without repeats (same scale)."""
    out: list[UnitsLike] = []
    seen: list[np.ndarray] = []
    for u in (mesh_units, *CANDIDATE_UNITS, layout_default):
        try:
            s = scale_to_nm(u)
        except ValueError:
            continue
        if not any(np.allclose(s, t) for t in seen):
            out.append(u)
            seen.append(s)
    return out


FAR_NM = 100 * ON_MESH_NM  # median distance to the mesh's bounding box beyond which a unit is not measured exactly


def median_distances_nm(raw: np.ndarray, triangles_nm: Any, candidates: list[UnitsLike],
                        max_edge_nm: float | None = None) -> list[float]:
    """Median distance (nm) of the positions ``raw`` (N, 3, input units) to the mesh (an (F, 3, 3) triangle array
    or a ``(vertices, faces)`` pair, nm), per candidate unit. A unit whose positions lie a median of more than
    ``FAR_NM`` outside the mesh's bounding box gets that median distance to the box instead (a lower bound of
    the distance to the mesh, at least 100 x the fit limit): exact nearest-face queries from points mm away
    visit most of the index (10 s for 900 points on an 8.9M-face mesh)."""
    if not len(raw):
        return [np.nan for _ in candidates]
    is_pair = isinstance(triangles_nm, tuple)
    pts = np.asarray(triangles_nm[0] if is_pair else triangles_nm, dtype=np.float64).reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    index = None
    out = []
    for u in candidates:
        xyz = raw * scale_to_nm(u)
        box = float(np.median(np.linalg.norm(np.maximum(np.maximum(lo - xyz, xyz - hi), 0.0), axis=1)))
        if box > FAR_NM:
            out.append(box)
            continue
        if index is None:
            index = LocalNearest(*triangles_nm, max_edge_nm=max_edge_nm) if is_pair else NearestFaces(triangles_nm)
        d = index.distances(xyz, k=8) if is_pair else index.query(xyz, k=8)[1]
        out.append(float(np.median(d)))
    return out


def fit_synapse_units(syn: pd.DataFrame, triangles_nm: np.ndarray, mesh_units: UnitsLike = "nm",
                      given: UnitsLike | None = None, where: Any = None, seed: int = 0,
                      max_edge_nm: float | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Put a loaded synapse table (``io.synapses.load_synapses``) on its mesh; return (table in nm, record).

    syn: the table as loaded, ``x_nm, y_nm, z_nm`` in nm under ``syn.attrs["units_in"]`` (the given units or the
    layout's default). triangles_nm: (F, 3, 3) mesh triangles in nm, or the mesh as a ``(vertices, faces)`` pair
    (nm; no (F, 3, 3) array is made: 1.1 GB at 5M faces). mesh_units: the mesh's input units (tried
    first). given: the units the caller named (honoured, only measured) or None (inferred: the candidate with the
    smallest median distance, which must be under ``ON_MESH_NM``).
    The record (also in ``table.attrs["synapse_units"]``) has ``used``, ``how`` ("given", "inferred",
    "layout" for ``x_nm`` columns), ``layout_default``, ``median_distance_nm`` per unit tried and ``problem``
    (a flag text, or None). Raises ``InputError`` naming every unit tried and its median distance when inferring
    and none fits. max_edge_nm: the mesh's longest edge (nm) when known (``load_mesh`` caches it).
    """
    layout_units = syn.attrs.get("units_in", "nm")
    layout_default = syn.attrs.get("layout_default", layout_units)
    fixed_nm = syn.attrs.get("position_columns") == "x_nm"
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(syn), SAMPLE_ROWS, replace=False)) if len(syn) > SAMPLE_ROWS else slice(None)
    loaded_scale = scale_to_nm(layout_units if not fixed_nm else "nm")
    raw = syn[_POS].to_numpy(np.float64)[rows] / loaded_scale
    if given is not None or fixed_nm:
        first = "nm" if fixed_nm else given
        cands = [first] + [u for u in _candidates(mesh_units, layout_default)
                           if not np.allclose(scale_to_nm(u), scale_to_nm(first))]
    else:
        cands = _candidates(mesh_units, layout_default)
    med = median_distances_nm(raw, triangles_nm, cands, max_edge_nm)
    tried = {units_label(u): round(d, 1) for u, d in zip(cands, med)}
    best = int(np.nanargmin(med)) if np.isfinite(med).any() else 0
    record: dict[str, Any] = {"layout_default": units_label(layout_default), "median_distance_nm": tried,
                              "sample_rows": int(min(len(syn), SAMPLE_ROWS)), "problem": None}
    listing = ", ".join(f"{k}: {_fmt_nm(v)}" for k, v in tried.items())
    if given is not None or fixed_nm:
        used, how = cands[0], ("given" if given is not None else "layout")
        if med[0] > ON_MESH_NM:
            hint = f"; --synapse-units {units_label(cands[best])} puts them {_fmt_nm(med[best])} away" \
                if best != 0 and med[best] <= ON_MESH_NM else ""
            record["problem"] = (f"synapse_units_suspect: median synapse {_fmt_nm(med[0])} from the mesh with "
                                 f"synapse units {_describe(used)}{hint}")
    else:
        if not np.isfinite(med[best]) or med[best] > ON_MESH_NM:
            raise InputError(f"no synapse units put the synapses on the mesh (median distance to the mesh per "
                             f"units tried: {listing}; a fit needs under {_fmt_nm(ON_MESH_NM)})", where,
                             "check that the synapse table belongs to this mesh, that the mesh units (--units) "
                             "are right, or pass --synapse-units")
        used, how = cands[best], "inferred"
        if not np.allclose(scale_to_nm(used), scale_to_nm(layout_default)):
            record["problem"] = (f"synapse_units_inferred: synapse positions read as {_describe(used)} (median "
                                 f"{_fmt_nm(med[best])} from the mesh), not the table layout's default "
                                 f"{_describe(layout_default)} ({_fmt_nm(tried[units_label(layout_default)])}); "
                                 f"pass --synapse-units {units_label(used)} to say so")
    record.update(used=units_label(used), how=how)
    out = syn
    if not fixed_nm and not np.allclose(scale_to_nm(used), loaded_scale):
        out = syn.copy()
        out[_POS] = syn[_POS].to_numpy(np.float64) / loaded_scale * scale_to_nm(used)
    out.attrs.update(syn.attrs)
    out.attrs["units_in"] = used if isinstance(used, str) else np.atleast_1d(used).tolist()
    out.attrs["synapse_units"] = record
    if record["problem"]:
        prefix = f"{where}: " if where is not None else ""
        warnings.warn(prefix + record["problem"], NeurdLiteWarning, stacklevel=3)
    return out, record


def _fmt_nm(d: float) -> str:
    """A distance for people: '35 nm', '2.4 µm', '137 µm', '40 mm'."""
    if not np.isfinite(d):
        return "n/a"
    return f"{d:.0f} nm" if d < 1000 else f"{d / 1000:.3g} µm" if d < 1e6 else f"{d / 1e6:.3g} mm"


def _describe(units: UnitsLike) -> str:
    """'nm', 'µm', '8 nm voxels', '4x4x40 nm voxels'."""
    label = units_label(units)
    if label in ("nm", "um", "mm"):
        return label.replace("um", "µm")
    return label.replace(",", "x") + " nm voxels"

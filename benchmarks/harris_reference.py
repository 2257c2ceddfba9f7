"""Harris dendrites: the spine detector against a reference that does not come from it (docs/spines.md, Harris).

Reference (plain geometry, no neurd_lite spine or skeleton code; nm):

1. Shaft axis. The stub (``harris_part_dendrite``, open at both cuts) is a straight 1.55 µm tube between its two
   boundary loops: its axis is the segment between the loop centroids. ``dendrite_19321`` (9.4 µm, a flat cap
   over each cut) is cut into 100 nm slices perpendicular to the line between the cap centroids; in each slice
   the section polygon nearest the previous slice's centre (the shaft, not a spine) gives a centre and an
   equivalent radius sqrt(area / pi); centres are smoothed by a running median of 7 slices.
2. Shaft radius r: the median of the slices' equivalent radii (stub), or their running median over 11 slices
   (19321). Protrusion of a vertex = its distance to the axis (segments clamped at the cuts) - r there.
3. Spines: connected sets (mesh edges) of vertices protruding > ``GROW_NM`` (100 nm) whose top protrudes
   >= ``PEAK_NM`` (300 nm): *origins* (protrusions that leave the shaft together). Heads: within an origin, a
   maximum of protrusion is its own spine when it rises >= ``PERSIST_NM`` (300 nm) above the saddle joining it
   to a higher one (a branched spine or two spines sharing a base count as two *heads*).

Comparison (areas of faces; faces take the label of >= 2 of their vertices): a reference head is *found* when
detected spines cover >= 50 % of it, *split* when two detected spines each cover >= 20 %; a detected spine is
*merged* when it covers >= 50 % of two heads, *false* when < 20 % of it lies on reference spine surface; and
the share of the shaft surface (reference protrusion < 0) that the detector calls spine.

Usage: ``python benchmarks/harris_reference.py [--pictures docs/spines] [--set spines.x=y ...]``
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import scipy.sparse as sp
from scipy.ndimage import median_filter
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

os.environ.setdefault("OMP_NUM_THREADS", "1")

GROW_NM, PEAK_NM, PERSIST_NM = 100.0, 300.0, 300.0
MESHES = {"harris_part_dendrite": "harris_part_dendrite.ply",
          "dendrite_19321_watertight": "dendrite_19321_watertight.off"}


def load(stem: str):
    """The mesh in nm, as in the file (no vertex merging: face order kept)."""
    import trimesh

    from neurd_lite.data import data_path

    m = trimesh.load(data_path("meshes/harris_dendrites/" + MESHES[stem]), process=False)
    m.vertices = np.asarray(m.vertices) * 1000.0  # µm -> nm
    return m


def _ends(m) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of the two largest boundary loops (open cuts), else of the two flat caps (faces with |n_z| > 0.99
    in the lowest / highest tenth along z)."""
    from trimesh.grouping import group_rows

    e = m.edges_sorted
    be = e[group_rows(e, require_count=1)]
    if len(be):
        g = sp.coo_matrix((np.ones(len(be)), (be[:, 0], be[:, 1])), shape=(len(m.vertices),) * 2)
        lab = csgraph.connected_components(g, directed=False)[1]
        used = np.unique(be)
        loops = sorted((used[lab[used] == c] for c in np.unique(lab[used])), key=len)[-2:]
        return m.vertices[loops[0]].mean(0), m.vertices[loops[1]].mean(0)
    c, z = m.triangles_center, m.vertices[:, 2]
    flat = np.abs(m.face_normals[:, 2]) > 0.99
    return (c[flat & (c[:, 2] < np.quantile(z, 0.1))].mean(0), c[flat & (c[:, 2] > np.quantile(z, 0.9))].mean(0))


def _slices(m, p0: np.ndarray, p1: np.ndarray, step: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Per slice perpendicular to p0 -> p1: shaft polygon centre (3,) and equivalent radius (nm)."""
    import trimesh
    from shapely.geometry import Point

    d = (p1 - p0) / np.linalg.norm(p1 - p0)
    cen, rad = [], []
    for s in np.arange(step / 2, np.linalg.norm(p1 - p0), step):
        sec = m.section(plane_origin=p0 + d * s, plane_normal=d)
        if sec is None:
            continue
        planar, to3d = sec.to_2D()
        polys = planar.polygons_full
        if not polys:
            continue
        areas = np.array([pg.area for pg in polys])
        i = int(np.argmax(areas))
        if cen:
            prev = trimesh.transform_points(cen[-1][None], np.linalg.inv(to3d))[0, :2]
            dist = np.array([pg.distance(Point(prev)) for pg in polys])
            near = np.flatnonzero(dist == dist.min())
            j = int(near[np.argmax(areas[near])])
            i = j if areas[j] >= 0.3 * areas.max() else i
        c2 = np.array(polys[i].centroid.coords[0])
        cen.append(trimesh.transform_points(np.array([[c2[0], c2[1], 0.0]]), to3d)[0])
        rad.append(np.sqrt(areas[i] / np.pi))
    return np.array(cen), np.array(rad)


def _axis_distance(pts: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of each point to the polyline ``axis`` (segments clamped), its segment and position on it."""
    best, seg, tt = np.full(len(pts), np.inf), np.zeros(len(pts), int), np.zeros(len(pts))
    for i in range(len(axis) - 1):
        ab = axis[i + 1] - axis[i]
        t = np.clip(((pts - axis[i]) @ ab) / max(ab @ ab, 1e-12), 0, 1)
        d = np.linalg.norm(pts - (axis[i] + t[:, None] * ab), axis=1)
        b = d < best
        best[b], seg[b], tt[b] = d[b], i, t[b]
    return best, seg, tt


def _face_vote(vlab: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Face label = the label two or three of its vertices share (-1 otherwise)."""
    f = vlab[faces]
    return np.where((f[:, 0] == f[:, 1]) | (f[:, 0] == f[:, 2]), f[:, 0], np.where(f[:, 1] == f[:, 2], f[:, 1], -1))


def _heads(m, prot: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Per vertex: head id (-1 off spines). Vertices join, from the highest down, the highest neighbouring group;
    a group whose peak rises less than PERSIST_NM above the vertex where it meets a higher one merges into it."""
    n = len(prot)
    parent, peak = np.arange(n), prot.copy()
    done, join = np.zeros(n, bool), np.full(n, -1)
    into: dict[int, int] = {}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    nbr = m.vertex_neighbors
    for v in np.argsort(-prot):
        if origin[v] < 0:
            continue
        done[v] = True
        roots = sorted({find(u) for u in nbr[v] if done[u]}, key=lambda r: -peak[r])
        if not roots:
            join[v] = v
            continue
        for r in roots[1:]:
            if peak[r] - prot[v] < PERSIST_NM:
                into[r] = roots[0]
            parent[r] = roots[0]
        parent[v] = join[v] = roots[0]

    def resolve(r: int) -> int:
        while r in into:
            r = into[r]
        return r

    top = [resolve(j) if j >= 0 else -1 for j in join]
    ids = {r: i for i, r in enumerate(sorted(set(t for t in top if t >= 0)))}
    return np.array([ids[t] if t >= 0 else -1 for t in top])


def reference(stem: str) -> dict:
    """Reference protrusion, origins and heads of one Harris mesh (see the module doc)."""
    m = load(stem)
    p0, p1 = _ends(m)
    cen, rad = _slices(m, p0, p1)
    if stem == "harris_part_dendrite":
        axis, radius = np.array([p0, p1]), np.full(2, np.median(rad))
    else:
        axis = np.column_stack([median_filter(cen[:, k], size=7, mode="nearest") for k in range(3)])
        radius = median_filter(rad, size=11, mode="nearest")
    dist, seg, t = _axis_distance(np.asarray(m.vertices), axis)
    prot = dist - (radius[seg] * (1 - t) + radius[np.minimum(seg + 1, len(radius) - 1)] * t)
    hi = prot > GROW_NM
    e = m.edges_unique[hi[m.edges_unique[:, 0]] & hi[m.edges_unique[:, 1]]]
    lab = csgraph.connected_components(sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])),
                                                     shape=(len(prot),) * 2), directed=False)[1]
    lab = np.where(hi, lab, -1)
    tall = [c for c in np.unique(lab[lab >= 0]) if prot[lab == c].max() >= PEAK_NM]
    origin = np.full(len(prot), -1)
    for k, c in enumerate(tall):
        origin[lab == c] = k
    heads = _heads(m, prot, origin)
    return {"mesh": m, "prot": prot, "face_prot": prot[m.faces].mean(1), "face_origin": _face_vote(origin, m.faces),
            "face_head": _face_vote(heads, m.faces), "n_origins": len(tall), "n_heads": int(heads.max() + 1),
            "radius_nm": float(np.median(radius)), "axis": axis}


def compare(ref: dict, n) -> dict:
    """Detected spines of the decomposed ``n`` (same mesh, nm) against ``ref`` (:func:`reference`)."""
    m = ref["mesh"]
    d, idx = cKDTree(np.asarray(n.mesh.triangles_center)).query(m.triangles_center)
    assert d.max() < 1e-3, "the decomposed mesh is not the file's mesh"
    fs = np.asarray(n.face_spine)[idx]
    fh, fo, area = ref["face_head"], ref["face_origin"], m.area_faces
    det, heads = np.unique(fs[fs >= 0]), np.unique(fh[fh >= 0])
    cover = np.array([[area[(fh == h) & (fs == s)].sum() / area[fh == h].sum() for s in det] for h in heads])
    cover = cover.reshape(len(heads), len(det))
    on_ref = np.array([area[(fs == s) & (fo >= 0)].sum() / area[fs == s].sum() for s in det])
    tp = area[(fs >= 0) & (fo >= 0)].sum()
    prec, rec = tp / max(area[fs >= 0].sum(), 1e-9), tp / max(area[fo >= 0].sum(), 1e-9)
    shaft = ref["face_prot"] < 0
    return {"detected": int(len(det)), "ref_origins": ref["n_origins"], "ref_heads": ref["n_heads"],
            "found": int((cover.sum(1) >= 0.5).sum()),
            "missed": [int(h) for h in heads[cover.sum(1) < 0.5]],
            "split": [int(h) for h in heads[(cover >= 0.2).sum(1) >= 2]],
            "merged": [int(s) for s in det[(cover >= 0.5).sum(0) >= 2]],
            "false": [int(s) for s in det[on_ref < 0.2]],
            "area_precision": round(float(prec), 3), "area_recall": round(float(rec), 3),
            "shaft_called_spine": round(float(area[shaft & (fs >= 0)].sum() / area[shaft].sum()), 3)}


def render(m, face_label: np.ndarray, path: str, title: str, dpi: int = 60) -> None:
    """Six views (xz, yz, xy and three obliques), one colour per label (grey: none), label ids written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    tri = np.asarray(m.triangles) / 1000.0
    palette = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)]
    palette += list(plt.get_cmap("Dark2").colors)
    ids = np.unique(face_label[face_label >= 0])
    col = np.tile([0.78, 0.78, 0.78], (len(tri), 1))
    for k, s in enumerate(ids):
        col[face_label == s] = palette[k % len(palette)]
    nrm = m.face_normals
    fig, axes = plt.subplots(2, 3, figsize=(15, 10))
    for ax, view in zip(axes.ravel(), ((0, -1, 0), (1, 0, 0), (0, 0, 1), (1, 1, 0.3), (1, -1, 0.3), (-1, 1, -0.3))):
        d = np.asarray(view, float) / np.linalg.norm(view)
        up = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
        right = np.cross(up, d)
        right /= np.linalg.norm(right)
        basis = np.stack([right, np.cross(d, right), d])
        proj = tri @ basis.T
        order = np.argsort(proj[:, :, 2].mean(1))
        shade = 0.35 + 0.65 * np.abs(nrm @ d)
        ax.add_collection(PolyCollection(proj[order, :, :2], facecolors=np.clip(col[order] * shade[order, None], 0, 1),
                                         edgecolors="none", antialiased=False))
        for s in ids:
            c = proj[face_label == s].reshape(-1, 3)
            front = c[c[:, 2] >= np.quantile(c[:, 2], 0.5)]
            ax.text(front[:, 0].mean(), front[:, 1].mean(), str(int(s)), fontsize=7, zorder=10)
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_title(f"seen from {tuple(float(x) for x in view)}", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    """Print (and return) one JSON row per Harris mesh."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pictures", default=None, help="folder for the PNGs (detector and reference, per mesh)")
    ap.add_argument("--set", action="append", default=[], help="dotted PipelineParams field=value")
    args = ap.parse_args(argv)
    import neurd_lite as nl
    from neurd_lite.data import data_path

    sets = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        sets[k] = json.loads(v) if v not in ("true", "false") else v == "true"
    tree: dict = {}
    for k, v in sets.items():
        node = tree
        *path, leaf = k.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = v
    params = nl.PipelineParams.from_dict(tree)
    rows = []
    for stem, name in MESHES.items():
        ref = reference(stem)
        n = nl.decompose(data_path("meshes/harris_dendrites/" + name), units="um", params=params)
        row = {"mesh": stem, "radius_nm": round(ref["radius_nm"]), **compare(ref, n)}
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.pictures:
            m = ref["mesh"]
            _, idx = cKDTree(np.asarray(n.mesh.triangles_center)).query(m.triangles_center)
            render(m, np.asarray(n.face_spine)[idx], f"{args.pictures}/{stem}_spines.png",
                   f"{stem}: detector, {row['detected']} spines (one colour each)")
            render(m, ref["face_head"], f"{args.pictures}/{stem}_reference.png",
                   f"{stem}: reference, {ref['n_heads']} heads on {ref['n_origins']} origins (one colour per head)")
    return rows


if __name__ == "__main__":
    main()

"""Spine labels per face and the ``n.spines`` table (one row per spine: base, head / neck measurements in µm)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geometry.meshes import coordinate_order
from ..geometry.stats import group_mode, stable_int_order
from ..neuron import Neuron
from ..skeleton.model import Skeleton
from ..units import nm_to_um
from .headneck import spine_geometry, spine_volume_nm3
from .params import SpineParams
from .shaft import ShaftField

SPINE_COLUMNS = ["spine_id", "n_faces", "x_nm", "y_nm", "z_nm", "length_um", "head_width_um", "neck_width_um",
                 "neck_length_um", "has_neck", "area_um2", "volume_um3", "distance_to_soma_um", "shaft_radius_um",
                 "branch", "compartment"]


def _majority(lab: np.ndarray) -> np.ndarray:
    """Per face (F, 3) vertex labels -> the label shared by >= 2 vertices, else -1."""
    a, b, c = lab[:, 0], lab[:, 1], lab[:, 2]
    out = np.where((a == b) | (a == c), a, np.where(b == c, b, -1))
    return np.where(out >= 0, out, -1)


def _face_labels(vlabel: np.ndarray, faces: np.ndarray, verts: np.ndarray, fld: ShaftField,
                 p: SpineParams) -> np.ndarray:
    """Spine id per face: the label of >= 2 of its vertices, or of one when the face centroid itself
    protrudes past the growth threshold (faces fanning from a spine's base ring up its neck)."""
    lab = vlabel[faces]
    out = _majority(lab)
    one = (out < 0) & (lab.max(axis=1) >= 0)
    if one.any():
        idx = np.flatnonzero(one)
        d, _ = cKDTree(fld.sample_points_nm).query(verts[faces[idx]].mean(1))
        r = np.nanmean(fld.radius_nm[faces[idx]], axis=1)
        grows = (d - r) > p.grow_threshold_nm(r)
        # two spines: the one of the labelled corner first by coordinates (ids follow input order)
        corner = verts[faces[idx]].reshape(-1, 3)
        rank = coordinate_order(corner)[1]  # each corner's place in coordinate order
        pick = lab[idx, np.argmin(np.where(lab[idx] >= 0, rank.reshape(-1, 3), len(corner)), axis=1)]
        out[idx[grows]] = pick[grows]
    return out


def _measure(memo: dict | None, verts: np.ndarray, vidx: np.ndarray, fidx: np.ndarray, base_v: np.ndarray,
             faces: np.ndarray, fld: ShaftField, p: SpineParams, base_pt: np.ndarray | None,
             dist_root: np.ndarray | None, volume: bool = True) -> tuple:
    """(SpineGeometry, head flag per face of ``fidx`` or None for a spine over the length / head-width caps,
    distance to the root nm (NaN when ``dist_root`` is None), shaft radius nm) of one spine (vertex ids ``vidx``,
    face ids ``fidx``, their base flags ``base_v``, ring point ``base_pt``), looked up in / stored to ``memo``
    (None: none) by those arguments: the same arguments, the same result. The volume (a convex hull per spine)
    is measured only for a spine within the caps and with ``volume``, once (else ``volume_nm3`` is NaN)."""
    key = None
    tri = verts[faces[fidx]]  # the spine's triangles (nm): the rows of verts[faces], without the (F, 3, 3) array
    if memo is not None:
        key = (vidx.tobytes(), fidx.tobytes(), base_v.tobytes(), None if base_pt is None else base_pt.tobytes())
    out = None if key is None else memo.get(key)
    if out is None:
        geo = spine_geometry(verts[vidx], base_v, tri, p.headneck, base_pt, volume=False)
        if geo.length_nm > p.max_length_nm or geo.head_width_nm > p.max_head_width_nm:
            out = (geo, None, np.nan, np.nan)  # a branch stub or a swelling, not a spine
        else:
            bv = vidx[base_v] if base_v.any() else vidx
            to_root = np.nan if dist_root is None else float(np.min(dist_root[fld.sample_vertex[bv]]))
            out = (geo, geo.is_head(tri.mean(1)), to_root, float(np.nanmedian(fld.radius_nm[bv])))
        if memo is not None:
            memo[key] = out
    if volume and out[1] is not None and np.isnan(out[0].volume_nm3):  # measured once, for a kept spine
        out[0].volume_nm3 = spine_volume_nm3(tri, out[0].base_nm)
    return out


def spine_rows(n: Neuron, skel: Skeleton, fld: ShaftField, p: SpineParams, verts: np.ndarray, faces: np.ndarray,
               vlabel: np.ndarray, base: np.ndarray, ring: pd.DataFrame, face_spine: np.ndarray,
               memo: dict | None = None, volume: bool = True
               ) -> tuple[list[dict], np.ndarray, list[int], np.ndarray]:
    """One ``SPINE_COLUMNS`` row per labelled spine that passes the length and head-width caps (nm inside, µm
    out). Returns the rows, the row id of each spine label (-1 dropped), the spine label of each row and the (F,)
    mask of head faces. ``ring``: attachment ring (``spine, v``); ``face_spine``: spine label per face.
    memo: a dict shared by labellings of one mesh with the same ``p`` (the spines with and without the junction
    rim): a spine whose faces, vertices, base flags and ring point equal an earlier one's reuses its geometry.
    ``volume`` False: ``volume_um3`` NaN (no convex hulls; the spines without the rim, whose table only the
    synapse targets read, and they read no volume)."""
    rc = ring.assign(x=verts[ring.v, 0], y=verts[ring.v, 1], z=verts[ring.v, 2]).groupby("spine")[list("xyz")].mean()
    ring_row = dict(zip(rc.index.tolist(), rc.to_numpy()))  # spine -> mean ring position (no DataFrame.loc per spine)
    rows = []
    has_soma = len(n.somas) > 0
    dist_root = skel.distance_to_root_nm
    order = stable_int_order(face_spine)
    counts = np.bincount(face_spine[face_spine >= 0], minlength=int(vlabel.max()) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)]) + np.count_nonzero(face_spine < 0)
    vorder = stable_int_order(vlabel)
    vcounts = np.bincount(vlabel[vlabel >= 0], minlength=len(counts))
    vstarts = np.concatenate([[0], np.cumsum(vcounts)]) + np.count_nonzero(vlabel < 0)
    head_face = np.zeros(len(faces), dtype=bool)
    new_id = np.full(len(counts), -1, dtype=np.int64)
    # per spine: the most common branch / compartment of its faces (the vote refine repeats after relabelling)
    with_b = (face_spine >= 0) & (n.face_branch >= 0)
    branch_vote = group_mode(face_spine[with_b], n.face_branch[with_b], len(counts), -1)
    on = face_spine >= 0
    comp_vote = group_mode(face_spine[on], n.face_compartment[on].astype(str), len(counts), "unlabelled")
    row_label: list[int] = []
    for sid in range(len(counts)):
        fidx = order[starts[sid]:starts[sid + 1]]
        vidx = vorder[vstarts[sid]:vstarts[sid + 1]]
        if len(fidx) == 0:
            continue
        geo, head, to_root, shaft_r = _measure(memo, verts, vidx, fidx, base[vidx], faces, fld, p,
                                               ring_row.get(sid), dist_root if has_soma else None, volume)
        if head is None:
            continue  # a branch stub or a swelling, not a spine
        head_face[fidx] = head
        new_id[sid] = len(rows)
        row_label.append(sid)
        rows.append({
            "spine_id": len(rows), "n_faces": len(fidx),
            "x_nm": geo.base_nm[0], "y_nm": geo.base_nm[1], "z_nm": geo.base_nm[2],
            "length_um": nm_to_um(geo.length_nm), "head_width_um": nm_to_um(geo.head_width_nm),
            "neck_width_um": nm_to_um(geo.neck_width_nm), "neck_length_um": nm_to_um(geo.neck_length_nm),
            "has_neck": geo.t_split_nm > 0, "area_um2": nm_to_um(geo.area_nm2, 2),
            "volume_um3": nm_to_um(geo.volume_nm3, 3),
            "distance_to_soma_um": nm_to_um(to_root),
            "shaft_radius_um": nm_to_um(shaft_r),
            "branch": int(branch_vote[sid]),
            "compartment": str(comp_vote[sid]),
        })
    return rows, new_id, row_label, head_face

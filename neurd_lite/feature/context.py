"""Per-neuron derived arrays shared by the feature families, computed once per :func:`features` call.

All lengths in nm. The branch table comes from ``n.graph`` when it has branch nodes, otherwise from the
skeleton itself (unbranched segments between branch points), so skeleton-only neurons (e.g. SWC) work too.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..geometry.meshes import as_trimesh, mesh_face_areas_nm2
from ..geometry.stats import weighted_quantile
from ..geometry.width import cross_section_width_nm, skeleton_tangents
from ..geometry.width_area import adaptive_area_width_nm
from ..geometry.width_centre import recentred_width_nm
from ..model.frame import DEPTH_RANGE_UM
from ..neuron import Neuron, synapse_polarity
from .cache import factorize_labels
from .params import FeatureParams
from .registry import COMPARTMENT_GROUPS, Missing

SPINE_FACE_LABELS = ("spine_head", "spine_neck")
NON_COMPARTMENT = ("soma", "unknown", "unlabelled")


def _unit_vector(up: Any) -> np.ndarray:
    v = np.asarray(up, dtype=np.float64).reshape(-1)
    if v.size != 3 or not np.all(np.isfinite(v)) or np.linalg.norm(v) == 0:
        raise InputError(f"up must be a non-zero 3-vector (direction toward pia), got {up!r}")
    return v / np.linalg.norm(v)


class FeatureContext:
    """Everything a feature function reads: the neuron, the optional nucleus mesh, the pia direction (None: the
    one the compartment labeller used, given or inferred, else minnie65's), the feature parameters
    (``FeatureParams``) and the plausible cortical depth range (µm)."""

    def __init__(self, n: Any, nucleus: Any = None, up: Any = None, params: FeatureParams | None = None,
                 depth_range_um: tuple[float, float] = DEPTH_RANGE_UM) -> None:
        if not isinstance(n, Neuron):
            raise InputError(f"features() needs a neurd_lite.Neuron, got {type(n).__name__}",
                             hint="build one with nl.decompose(...) or nl.load(path)")
        self.n = n
        nucleus = nucleus if nucleus is not None else n.nucleus
        if nucleus is not None:
            nucleus = as_trimesh(nucleus, "nucleus")
        self.nucleus = nucleus
        if up is None:  # the frame the compartment labeller used (given or inferred), else minnie65's
            up = (getattr(n, "provenance", None) or {}).get("compartments", {}).get("up", (0, -1, 0))
        if up is None:  # the frame the compartment labeller used (given or inferred), else minnie65's
            up = (getattr(n, "provenance", None) or {}).get("compartments", {}).get("up", (0, -1, 0))
        self.up = _unit_vector(up)
        self.params = params if params is not None else FeatureParams()
        self.depth_range_um = tuple(float(x) for x in depth_range_um)
        self.notes: dict[str, str] = {}
        self.cache: dict[str, Any] = {}

    # ---- skeleton ----------------------------------------------------------------------------------
    @property
    def skeleton(self) -> Any:
        sk = self.n.skeleton
        if sk is None or sk.n_vertices == 0:
            raise Missing("neuron has no skeleton")
        return sk

    @cached_property
    def soma_center_nm(self) -> np.ndarray:
        """Centre of soma 0, else the skeleton root (nm)."""
        if self.n.somas:
            return self.n.somas[0].center_nm
        self.notes["soma_center"] = "no soma: distances are relative to the skeleton root"
        return self.skeleton.vertices[self.skeleton.root]

    @cached_property
    def edge_length_to_parent_nm(self) -> np.ndarray:
        """(N,) length of the edge from each vertex to its parent, nm: cable is assigned to the distal vertex.

        0 at roots and on edges leaving a soma vertex (the root or a vertex labelled ``soma``): that stretch lies
        inside the soma and is not neurite cable.
        """
        sk = self.skeleton
        par = sk.parent
        out = np.zeros(sk.n_vertices)
        has = par >= 0
        out[has] = np.linalg.norm(sk.vertices[has] - sk.vertices[par[has]], axis=1)
        lab = self._skeleton_label_array()
        soma_vertex = np.zeros(sk.n_vertices, dtype=bool)
        soma_vertex[par < 0] = True
        if lab is not None:
            soma_vertex |= lab == "soma"
        out[has & soma_vertex[np.maximum(par, 0)]] = 0.0
        return out

    # ---- branches ----------------------------------------------------------------------------------
    @cached_property
    def branches(self) -> pd.DataFrame:
        """One row per branch: limb, parent (-1 = soma), vertices, length_nm, compartment, order, strahler."""
        g = self.n.graph
        nodes = [v for v, d in g.nodes(data=True) if d.get("kind") == "branch"]
        rows = self._branches_from_graph(nodes) if nodes else self._branches_from_skeleton()
        df = pd.DataFrame(rows).set_index("branch") if rows else pd.DataFrame(
            columns=["limb", "parent", "vertices", "length_nm", "compartment"]).rename_axis("branch")
        if len(df):
            df["order"] = _branch_orders(df["parent"])
            df["strahler"] = _strahler(df["parent"])
            df["n_children"] = df.index.map(df["parent"].value_counts()).fillna(0).astype(int)
        return df

    def _branches_from_graph(self, nodes: list) -> list[dict]:
        g = self.n.graph
        vlab = self._skeleton_label_array()
        rows = []
        for b in nodes:
            d = g.nodes[b]
            preds = [p for p in g.predecessors(b) if g.nodes[p].get("kind") == "branch"]
            verts = np.asarray(d.get("skeleton_vertices", []), dtype=np.int64)
            comp = d.get("compartment")
            if comp is None and vlab is not None and len(verts):
                vals, cnt = np.unique(vlab[verts].astype(str), return_counts=True)
                comp = str(vals[np.argmax(cnt)])
            length = d.get("length_nm")
            if length is None:
                length = float(self.edge_length_to_parent_nm[verts].sum()) if len(verts) else np.nan
            rows.append({"branch": b, "limb": d.get("limb", -1), "parent": preds[0] if preds else -1,
                         "vertices": verts, "length_nm": float(length), "compartment": comp or "unlabelled"})
        return rows

    def _branches_from_skeleton(self) -> list[dict]:
        sk = self.skeleton
        kids = sk.children()
        par = sk.parent
        is_node = np.array([len(k) != 1 for k in kids]) | (par < 0)
        vlab = self._skeleton_label_array()
        seg_of_end: dict[int, int] = {}
        rows: list[dict] = []
        roots = np.flatnonzero(par < 0)
        stack = [int(r) for r in roots]
        limb_of_root_child: dict[int, int] = {}
        while stack:
            node = stack.pop()
            for c in kids[node]:
                path = [int(c)]
                while not is_node[path[-1]]:
                    path.append(int(kids[path[-1]][0]))
                bid = len(rows)
                parent = seg_of_end.get(node, -1)
                limb = rows[parent]["limb"] if parent >= 0 else limb_of_root_child.setdefault(bid, len(limb_of_root_child))
                verts = np.asarray(path, dtype=np.int64)
                comp = "unlabelled"
                if vlab is not None:
                    vals, cnt = np.unique(vlab[verts].astype(str), return_counts=True)
                    comp = str(vals[np.argmax(cnt)])
                rows.append({"branch": bid, "limb": limb, "parent": parent, "vertices": verts,
                             "length_nm": float(self.edge_length_to_parent_nm[verts].sum()), "compartment": comp})
                seg_of_end[path[-1]] = bid
                stack.append(path[-1])
        self.notes["branches"] = "n.graph has no branch nodes: branches are skeleton segments between branch points"
        return rows

    def _skeleton_label_array(self) -> np.ndarray | None:
        """Compartment per skeleton vertex: ``n.skeleton_labels``, else the skeleton's own ``compartment`` or SWC
        ``swc_type`` vertex property (1 soma, 2 axon, 3 basal, or dendrite when there is no type 4, 4 apical
        counted as apical_shaft); None when nothing is labelled."""
        if "skeleton_labels" in self.cache:
            return self.cache["skeleton_labels"]
        sk = self.n.skeleton
        lab = self.n.skeleton_labels
        out = None
        if lab is not None and sk is not None and len(lab) == sk.n_vertices:
            lab = np.asarray(lab).astype(str)
            out = lab if np.any(lab != "unlabelled") else None
        if out is None and sk is not None:
            props = sk.vertex_properties
            if "compartment" in props and len(props["compartment"]) == sk.n_vertices:
                out = np.asarray(props["compartment"]).astype(str)
            elif "swc_type" in props and len(props["swc_type"]) == sk.n_vertices:
                t = np.asarray(props["swc_type"]).astype(int)
                names = {1: "soma", 2: "axon", 3: "basal" if np.any(t == 4) else "dendrite", 4: "apical_shaft"}
                out = np.array([names.get(int(k), "unknown") for k in t])
            if out is not None:
                self.notes["compartments"] = "compartments from the skeleton's own vertex labels"
        self.cache["skeleton_labels"] = out
        return out

    @cached_property
    def vertex_branch(self) -> np.ndarray:
        """(N,) branch id per skeleton vertex (-1 for vertices of no branch, e.g. soma). A branch's first vertex
        is its proximal cut point, shared with the parent branch or the soma vertex, and belongs to the branch
        ending there (``skeleton/graph.py``): the soma vertex to none. Assigning it to whichever sibling came
        last made synapses anchored at the soma vertex count on a branch picked by listing order."""
        out = np.full(self.skeleton.n_vertices, -1, dtype=np.int64)
        for b, verts in self.branches["vertices"].items():
            out[verts[1:]] = b
        for b, verts in self.branches["vertices"].items():
            if len(verts) == 1 and out[verts[0]] < 0:
                out[verts] = b
        return out

    @cached_property
    def branch_children(self) -> dict:
        """branch id -> list of child branch ids."""
        kids: dict = {b: [] for b in self.branches.index}
        for b, p in self.branches["parent"].items():
            if p in kids:
                kids[p].append(b)
        return kids

    def locate(self, table: pd.DataFrame, what: str) -> np.ndarray:
        """Skeleton vertex of each row of a synapse or spine table.

        Uses, in order: a ``skeleton_vertex`` column (the synapse anchors, ``neurd_lite.model.anchors``; -1 = far);
        a ``face`` column (input-mesh face, through ``n.face_to_skeleton``); the nearest skeleton vertex to
        ``base_{x,y,z}_nm`` (spine bases) or ``x_nm, y_nm, z_nm``.
        """
        sk = self.skeleton
        if "skeleton_vertex" in table:
            return table["skeleton_vertex"].to_numpy(dtype=np.int64)
        f2s = self.n.face_to_skeleton
        if "face" in table and f2s is not None and np.any(np.asarray(f2s) >= 0):
            faces = table["face"].to_numpy(dtype=np.int64)
            out = np.full(len(faces), -1, dtype=np.int64)
            ok = (faces >= 0) & (faces < len(f2s))
            out[ok] = np.asarray(f2s)[faces[ok]]
            return out
        for cols in (["base_x_nm", "base_y_nm", "base_z_nm"], ["x_nm", "y_nm", "z_nm"]):
            if all(c in table for c in cols):
                from scipy.spatial import cKDTree

                return cKDTree(sk.vertices).query(table[cols].to_numpy(dtype=float))[1].astype(np.int64)
        raise Missing(f"cannot place {what} on the skeleton: no skeleton_vertex, face, base_x_nm or x_nm column")

    # ---- compartments ------------------------------------------------------------------------------
    @cached_property
    def vertex_compartment(self) -> np.ndarray:
        """(N,) compartment per skeleton vertex: skeleton_labels, else the compartment of its branch."""
        lab = self._skeleton_label_array()
        if lab is not None:
            return lab
        out = np.full(self.skeleton.n_vertices, "unlabelled", dtype=object)
        for _, r in self.branches.iterrows():
            out[r["vertices"]] = r["compartment"]
        return out.astype(str)

    @cached_property
    def has_compartments(self) -> bool:
        comp = self.vertex_compartment
        return bool(np.any(~np.isin(comp, NON_COMPARTMENT)))

    def _check_group(self, group: str) -> None:
        if group not in COMPARTMENT_GROUPS:
            raise KeyError(f"unknown compartment group {group!r}; known: {list(COMPARTMENT_GROUPS)}")
        if group != "neuron" and not self.has_compartments:
            raise Missing("no compartment labels (run compartment labelling first)")

    def vertex_mask(self, group: str) -> np.ndarray:
        """(N,) bool: skeleton vertices of a compartment group (soma vertices never count)."""
        self._check_group(group)
        comp = self.vertex_compartment
        if group == "neuron":
            return comp != "soma"
        return np.isin(comp, COMPARTMENT_GROUPS[group])

    def branch_ids(self, group: str) -> pd.Index:
        """Branch ids whose compartment is in the group (all branches for ``neuron``)."""
        self._check_group(group)
        b = self.branches
        if group == "neuron":
            return b.index[b["compartment"].astype(str) != "soma"] if len(b) else b.index
        return b.index[b["compartment"].astype(str).isin(COMPARTMENT_GROUPS[group])]

    def cable_length_nm(self, group: str) -> float:
        """Skeleton cable of a group, nm (each edge counted once, assigned to its distal vertex)."""
        return float(self.edge_length_to_parent_nm[self.vertex_mask(group)].sum())

    def require_length_nm(self, group: str) -> float:
        """Cable length of the group, raising Missing when it is zero (a density would be undefined)."""
        length = self.cable_length_nm(group)
        if length <= 0:
            raise Missing(f"no {group} cable: density undefined")
        return length

    # ---- per-face arrays of the input mesh (computed once, in blocks) -------------------------------------
    @cached_property
    def face_area_nm2(self) -> np.ndarray:
        """(F,) area of each input face (nm²), without trimesh's cached (F, 3, 3) triangle array; the ones
        ``load_mesh`` computed when the mesh is unchanged since."""
        return mesh_face_areas_nm2(self.n.mesh)

    def face_label_mask(self, which: str, labels: tuple[str, ...]) -> np.ndarray:
        """(F,) bool: input faces whose ``n.face_labels`` / ``n.face_compartment`` (``which``) is one of
        ``labels``; the array is factorised once per call of ``features`` (no per-group string copy)."""
        key = f"codes_{which}"
        if key not in self.cache:
            self.cache[key] = factorize_labels(getattr(self.n, which))
        codes, uniques = self.cache[key]
        hit = [i for i, u in enumerate(uniques) if str(u) in labels]
        return np.isin(codes, hit)

    # ---- mesh-derived width (geometry.width) -----------------------------------------------------------
    @cached_property
    def vertex_tangent(self) -> np.ndarray:
        """(N, 3) unit skeleton direction at each vertex (parent to first child; zero for isolated vertices)."""
        return skeleton_tangents(self.skeleton)

    @cached_property
    def vertex_width_nm(self) -> np.ndarray:
        """(N,) local width (diameter) per skeleton vertex, nm: 2 x median distance from the skeleton axis of the
        corners of its non-spine mesh faces (the offset along the skeleton direction is removed, so vertex
        spacing does not inflate thin branches). On synthetic tubes (230 nm axons to 1.7 µm trunks) this is
        0.99-1.04 x the true diameter at full and at 25 % mesh resolution.

        Falls back to 2 x skeleton radius where a vertex has no faces or there is no mesh. Measured where
        ``FeatureParams.width.sample`` says (``"corners"`` default, ``"surface"`` or ``"area"`` opt-in).
        """
        return self.mesh_width_nm(self.params.width.sample)

    def mesh_width_nm(self, at: str = "corners") -> np.ndarray:
        """Per-vertex width (nm) measured at face ``"corners"`` (on the surface), face ``"centres"`` (NEURD's
        choice; they lie inside the surface of a coarse mesh, 0.81-0.93 x on synthetic tubes), over the
        ``"surface"`` (area-weighted, independent of the tessellation) or as ``"area"`` per cable length."""
        sk = self.skeleton
        mesh = self.n.mesh
        if mesh is None or len(mesh.faces) == 0:
            self.notes["width"] = "no mesh: width is 2 x skeleton radius"
            return 2.0 * sk.radius.copy()
        f2s = np.asarray(self.n.face_to_skeleton) if self.n.face_to_skeleton is not None else None
        if f2s is None or not np.any(f2s >= 0):
            from scipy.spatial import cKDTree

            f2s = cKDTree(sk.vertices).query(np.asarray(mesh.triangles_center))[1]
            self.notes["width"] = "no face_to_skeleton map: faces mapped to the nearest skeleton vertex"
        keep = f2s >= 0
        if self.n.face_labels is not None:
            lab = np.asarray(self.n.face_labels)  # compared element-wise (no 5M-string copy via astype(str))
            for name in SPINE_FACE_LABELS:
                keep &= lab != name
        if self.n.face_spine is not None:
            keep &= np.asarray(self.n.face_spine) < 0
        if at == "area":  # surface area per cable length over a window of skeleton (opt-in)
            return adaptive_area_width_nm(sk, mesh.vertices, mesh.faces, f2s, keep, self.params.width.area_window_nm,
                                          self.n.face_spine, self.vertex_compartment == "soma", self.vertex_tangent)
        window = self.params.width.centre_window_nm
        if window is not None:  # about a cable centre fitted on +-window_nm of skeleton (opt-in)
            return recentred_width_nm(sk, mesh.vertices, mesh.faces, f2s, keep, float(window), at, self.vertex_tangent)
        return cross_section_width_nm(sk, mesh.vertices, mesh.faces, f2s, keep, at, self.vertex_tangent)


def _branch_orders(parent: pd.Series) -> pd.Series:
    """Branch order: 0 for a limb's first branch, +1 at every branch point toward the tips."""
    par = parent.to_dict()
    order: dict[Any, int] = {}
    for b in par:
        chain = []
        cur = b
        while cur not in order and cur != -1 and cur in par:
            chain.append(cur)
            cur = par[cur]
            if len(chain) > len(par):
                raise InputError("branch graph has a cycle: cannot compute branch orders")
        base = order.get(cur, -1)
        for c in reversed(chain):
            base += 1
            order[c] = base
    return pd.Series(order).reindex(parent.index).astype(int)


def _strahler(parent: pd.Series) -> pd.Series:
    """Strahler order per branch: tips are 1; a parent takes its children's maximum, +1 when two or more
    children share that maximum."""
    depth = _branch_orders(parent)
    children: dict[Any, list] = {b: [] for b in parent.index}
    for b, p in parent.items():
        if p in children:
            children[p].append(b)
    out: dict[Any, int] = {}
    for b in depth.sort_values(ascending=False).index:
        ks = [out[k] for k in children[b]]
        if not ks:
            out[b] = 1
        else:
            top = max(ks)
            out[b] = top + 1 if ks.count(top) >= 2 else top
    return pd.Series(out).reindex(parent.index).astype(int)


# ---- shared tables (cached in ctx.cache; every feature family reads them from here) ----------------------
def far_mask(syn: pd.DataFrame) -> np.ndarray:
    """True for synapses the synapse stage marked ``is_far`` (all False without that column)."""
    if "is_far" not in syn:
        return np.zeros(len(syn), dtype=bool)
    return pd.array(syn["is_far"], dtype="boolean").fillna(False).to_numpy(dtype=bool)


def synapse_table(ctx: FeatureContext) -> pd.DataFrame:
    """``n.synapses`` without the ``is_far`` rows, with boolean ``is_pre`` / ``is_post`` (both False where the
    polarity is unknown) and a ``compartment`` and ``branch`` column. Missing when there are no synapses, when
    every synapse is far from the mesh, or when no synapse has a known polarity."""
    if "synapses" in ctx.cache:
        return ctx.cache["synapses"]
    syn = ctx.n.synapses
    if syn is None or (len(syn) == 0 and len(syn.columns) == 0):
        raise Missing("no synapses given")
    if "is_pre" not in syn:
        raise Missing("synapse table has no is_pre column")
    far = far_mask(syn)
    if len(syn) and far.all():
        raise Missing(f"all {len(syn)} synapses are farther from the mesh than the synapse stage allows "
                      "(is_far; check synapse_units)")
    syn = syn[~far].copy()
    syn.attrs = {}  # no feature reads them; pandas deep-copies attrs on every derived frame (279 times at 1.3M)
    is_pre, is_post = synapse_polarity(syn)
    unknown = ~(is_pre | is_post)
    if len(syn) and unknown.all():
        raise Missing(f"polarity unknown for all {len(syn)} synapses (is_pre is <NA>: the table had no pre/post "
                      "column)")
    if unknown.any():
        ctx.notes["synapses_polarity"] = (f"{int(unknown.sum())} of {len(syn)} synapses have unknown polarity "
                                          "and are counted neither pre nor post")
    syn["is_pre"], syn["is_post"] = is_pre, is_post
    try:
        v = ctx.locate(syn, "synapses") if len(syn) else np.zeros(0, dtype=np.int64)
    except Missing:
        v = np.full(len(syn), -1, dtype=np.int64)
    ok = v >= 0
    if "compartment" not in syn:
        comp = np.full(len(syn), "unlabelled", dtype=object)
        if ctx.n.skeleton is not None:
            comp[ok] = ctx.vertex_compartment[v[ok]]
        if "target" in syn:
            comp[syn["target"].astype(str).to_numpy() == "soma"] = "soma"
        syn["compartment"] = comp
    branch = np.full(len(syn), -1, dtype=np.int64)
    if ctx.n.skeleton is not None and np.any(ok):
        branch[ok] = ctx.vertex_branch[v[ok]]
    syn["branch"] = branch
    ctx.cache["synapses"] = syn
    return syn


def spines_table(ctx: FeatureContext) -> pd.DataFrame:
    """``n.spines`` with ``skeleton_vertex`` and ``compartment`` columns added (raises Missing when absent)."""
    if "spines" in ctx.cache:
        return ctx.cache["spines"]
    sp = ctx.n.spines
    if sp is None or (len(sp) == 0 and len(sp.columns) == 0):
        raise Missing("spines not detected (n.spines is empty; run spine detection)")
    sp = sp.copy()
    if len(sp) == 0:
        sp["skeleton_vertex"] = np.zeros(0, dtype=np.int64)
    elif {"skeleton_vertex", "face", "x_nm", "base_x_nm"} & set(sp.columns):
        sp["skeleton_vertex"] = ctx.locate(sp, "spines")
    else:
        sp["skeleton_vertex"] = _vertex_from_face_spine(ctx, sp)
    v = sp["skeleton_vertex"].to_numpy(dtype=np.int64)
    comp = np.full(len(sp), "unlabelled", dtype=object)
    ok = v >= 0
    comp[ok] = ctx.vertex_compartment[v[ok]]
    if "compartment" in sp:  # keep the table's label where it names a compartment (detection may predate labels)
        given = sp["compartment"].astype(str).to_numpy()
        comp = np.where(np.isin(given, NON_COMPARTMENT), comp, given)
    sp["compartment"] = comp
    branch = np.where(ok, ctx.vertex_branch[np.maximum(v, 0)], -1)
    if "branch" in sp:
        given_b = pd.to_numeric(sp["branch"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
        branch = np.where(given_b >= 0, given_b, branch)
    sp["branch"] = branch
    ctx.cache["spines"] = sp
    return sp


def _vertex_from_face_spine(ctx: FeatureContext, sp: pd.DataFrame) -> np.ndarray:
    """Skeleton vertex of each spine from its faces (the most common face_to_skeleton among them)."""
    fs, f2s = ctx.n.face_spine, ctx.n.face_to_skeleton
    ids = sp["spine_id"].to_numpy() if "spine_id" in sp else np.arange(len(sp))
    if fs is None or f2s is None:
        raise Missing("cannot place spines on the skeleton: no position columns and no face_spine map")
    fs, f2s = np.asarray(fs), np.asarray(f2s)
    out = np.full(len(sp), -1, dtype=np.int64)
    on = (fs >= 0) & (f2s >= 0)
    df = pd.DataFrame({"spine": fs[on], "v": f2s[on]})
    mode = df.groupby("spine")["v"].agg(lambda x: x.value_counts().index[0]) if len(df) else pd.Series(dtype=int)
    for i, s in enumerate(ids):
        if s in mode.index:
            out[i] = int(mode[s])
    return out


def spines_per_branch(ctx: FeatureContext) -> pd.Series:
    """Number of spines on each branch (0 where none)."""
    counts = spines_table(ctx)["branch"].value_counts()
    return counts.reindex(ctx.branches.index).fillna(0)


def _per_branch(ctx: FeatureContext, func) -> pd.Series:
    return pd.Series({b: (func(v) if len(v) else np.nan) for b, v in ctx.branches["vertices"].items()},
                     dtype=float)


def branch_distance_to_soma_nm(ctx: FeatureContext) -> pd.Series:
    """Path distance (nm) from the soma to each branch's proximal end."""
    d = ctx.skeleton.distance_to_root_nm - ctx.edge_length_to_parent_nm
    return _per_branch(ctx, lambda v: d[v[0]])


def branch_width_nm(ctx: FeatureContext) -> pd.Series:
    """Cable-weighted median width (diameter, nm) of each branch, spine faces excluded (``vertex_width_nm``)."""
    w, el = ctx.vertex_width_nm, ctx.edge_length_to_parent_nm
    return _per_branch(ctx, lambda v: weighted_quantile(w[v], np.maximum(el[v], 1e-9), 0.5))

"""Learned synapse-target classifier: local mesh/skeleton features of a synapse site -> target (LightGBM).

Features (nm unless noted; computed after ``detect_spines``, from the synapse's closest surface point):
distance to the mesh; distance to the pruned shaft skeleton, the local shaft radius and their difference and
ratio; multi-scale neighbourhood statistics of vertex protrusion (fraction protruding, max, mean, at 250 / 500 /
1000 nm); the rule-based spine labels of the site's face and measurements of its spine (length, head and neck
width, position along the spine axis relative to the head/neck split); soma distance; axon/soma face flags; is_pre;
and (``target_features.py``) distances to the nearest spine / head / neck face, the nearest spine's shape and the
site's place along its axis, the site's height below the local top of the surface. The rule labeller's target is
a one-hot input (``rules_<class>``) and, for the classes the sidecar lists in ``keep_rule_targets``, final.

The model ships as LightGBM text + JSON sidecar in ``neurd_lite/models`` (``synapse_target_profile.txt/.json``,
default since session 14, with the axis-profile inputs of ``axis_profile.py``; ``synapse_target``: session 12);
``classifiers/synapse_target/capture.py`` + ``train.py`` rebuild it from TUNE members of the synthetic family
(``classifiers/synapse_target/MODEL_CARD.md``).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import InputError
from ..model.shipped import read_booster
from ..neuron import Neuron, synapse_polarity
from .target_features import spine_context_features

MODEL_NAME = "synapse_target"
CLASSES = ("axon", "shaft", "soma", "spine_head", "spine_neck")
SCALES_NM = (250.0, 500.0, 1000.0)
GROW_NM, GROW_REL = 40.0, 0.1  # protrusion counted as "protruding" in the neighbourhood features


def _neighbourhood(tree: cKDTree, h: np.ndarray, prot: np.ndarray, pts: np.ndarray, radius: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: fraction of vertices within ``radius`` protruding, max and mean protrusion (nm)."""
    lists = tree.query_ball_point(pts, radius)
    counts = np.array([len(x) for x in lists])
    idx = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]) if counts.sum() else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(pts)), counts)
    frac = np.full(len(pts), np.nan)
    hmax = np.full(len(pts), np.nan)
    hmean = np.full(len(pts), np.nan)
    if len(idx):
        hv = np.nan_to_num(h[idx], nan=0.0)
        ok = counts > 0
        frac[ok] = np.bincount(owner, weights=prot[idx], minlength=len(pts))[ok] / counts[ok]
        hmean[ok] = np.bincount(owner, weights=hv, minlength=len(pts))[ok] / counts[ok]
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        hmax[ok] = np.maximum.reduceat(hv, starts[ok])
    return frac, hmax, hmean


def neighbourhood_columns(mesh: Any, fld: Any, cp: np.ndarray, neighbourhood: str = "vertices"
                          ) -> tuple[dict[str, np.ndarray], dict[int, np.ndarray]]:
    """The fraction protruding, max and mean protrusion (nm) within each of ``SCALES_NM`` of the sites ``cp``
    (nm), read over the mesh's vertices (``"vertices"``) or over evenly spaced surface samples (``"samples"``,
    ``even_neighbourhood.py``), and the max per radius (the ``below_top_*`` inputs read it)."""
    if neighbourhood not in ("vertices", "samples"):
        raise InputError(f"unknown neighbourhood {neighbourhood!r}", hint="use 'vertices' or 'samples'")
    h = fld.protrusion_nm
    prot = np.nan_to_num(h, nan=-np.inf) > np.maximum(GROW_NM, GROW_REL * np.nan_to_num(fld.radius_nm, nan=np.inf))
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    vtree = cKDTree(verts) if neighbourhood == "vertices" else None
    out, tops = {}, {}
    for rad in SCALES_NM:
        if vtree is not None:
            frac, hmax, hmean = _neighbourhood(vtree, h, prot.astype(float), cp, rad)
        else:
            from .even_neighbourhood import sampled_neighbourhood

            frac, hmax, hmean = sampled_neighbourhood(verts, np.asarray(mesh.faces), h, prot, cp, rad)
        tag = int(rad)
        out[f"protruding_fraction_{tag}nm"] = frac
        out[f"max_protrusion_{tag}nm"] = hmax
        out[f"mean_protrusion_{tag}nm"] = hmean
        tops[tag] = hmax
    return out, tops


def synapse_site_features(n: Neuron, syn: pd.DataFrame, shaft_field: Any, anchors: Any = None,
                          soma: np.ndarray | None = None, profile: bool = False,
                          profile_sample_nm: float | None = None, neighbourhood: str = "vertices"
                          ) -> pd.DataFrame:
    """One row of features per synapse (columns named with units). ``syn``: positions (nm); ``shaft_field``: the
    field ``detect_spines(n)`` returned; ``anchors``: the synapses' anchors on ``n.mesh``
    (``neurd_lite.model.anchors``; computed when None); ``soma``: (F,) soma face mask (None: faces labelled soma
    or listed in a soma); profile: also the nearest spine's axis-profile features (``spines/axis_profile.py``),
    from surface samples ``profile_sample_nm`` apart (None: the captured spacing, ``AxisProfileParams.sample_nm``);
    neighbourhood: where the ``*_250nm`` / ``_500nm`` / ``_1000nm`` inputs are read (:func:`neighbourhood_columns`)."""
    fld = shaft_field
    if fld is None:
        raise InputError("synapse features need the shaft field detect_spines returned",
                         hint="fld = detect_spines(n); synapse_site_features(n, syn, fld)")
    from ..geometry.nearest import closest_faces

    pts = syn[["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=np.float64)
    pts = np.where(np.isfinite(pts), pts, 0.0)
    if anchors is None:
        face, dmesh, cp = closest_faces(n.mesh, pts)
    else:
        face, dmesh, cp = np.maximum(anchors.working_face, 0), anchors.distance_nm.copy(), anchors.closest_nm.copy()
        bad = ~np.isfinite(cp).all(axis=1)  # non-finite positions: placed at the origin, as without anchors
        if bad.any():
            face[bad], dmesh[bad], cp[bad] = closest_faces(n.mesh, pts[bad])
    d_sk, s = cKDTree(fld.sample_points_nm).query(cp)
    r = fld.sample_radius_nm[s]
    out: dict[str, Any] = {
        "distance_to_mesh_nm": dmesh, "distance_to_skeleton_nm": d_sk, "shaft_radius_nm": r,
        "protrusion_nm": d_sk - r, "skeleton_distance_ratio": d_sk / np.maximum(r, 1.0),
    }
    cols, tops = neighbourhood_columns(n.mesh, fld, cp, neighbourhood)
    out.update(cols)
    sid = n.face_spine[face]
    lab = n.face_labels.astype(str)[face]
    out["face_is_spine"] = (sid >= 0).astype(float)
    out["face_is_head"] = (lab == "spine_head").astype(float)
    sp_tab = n.spines.set_index("spine_id") if len(n.spines) else None
    for col in ("length_um", "head_width_um", "neck_width_um", "neck_length_um"):
        vals = np.full(len(pts), np.nan)
        if sp_tab is not None and (sid >= 0).any():
            vals[sid >= 0] = sp_tab.loc[sid[sid >= 0], col].to_numpy(dtype=float) * 1000.0
        out[col.replace("_um", "_nm")] = vals
    base = np.full((len(pts), 3), np.nan)
    if sp_tab is not None and (sid >= 0).any():
        base[sid >= 0] = sp_tab.loc[sid[sid >= 0], ["x_nm", "y_nm", "z_nm"]].to_numpy(dtype=float)
    out["distance_from_spine_base_nm"] = np.linalg.norm(cp - base, axis=1)
    out["relative_neck_position"] = out["distance_from_spine_base_nm"] / np.maximum(out["neck_length_nm"], 1.0)
    soma_d = np.full(len(pts), np.nan)
    for so in n.somas:
        dd = np.linalg.norm(cp - so.center_nm, axis=1) - so.radius_nm
        soma_d = np.fmin(soma_d, dd)
    out["soma_surface_distance_nm"] = soma_d
    comp = n.face_compartment.astype(str)[face]
    if soma is None:
        soma_face = (comp == "soma") | (lab == "soma")
        for so in n.somas:
            soma_face |= np.isin(face, so.faces)
    else:
        soma_face = soma[face]
    out["face_is_soma"] = soma_face.astype(float)
    out["face_is_axon"] = ((comp == "axon") | (lab == "axon")).astype(float)
    out["is_pre"] = synapse_polarity(syn)[0].astype(float)
    out.update(spine_context_features(n, face, cp, r, d_sk - r, tops, profile, profile_sample_nm))
    return pd.DataFrame(out, index=syn.index)


@lru_cache(maxsize=4)
def load_model(folder: str | None = None, name: str = MODEL_NAME) -> tuple[Any, dict[str, Any]]:
    """The shipped LightGBM booster ``name`` and its JSON sidecar (feature names, classes, metrics, versions)."""
    return read_booster(name, folder, what="synapse-target",
                        hint="run classifiers/synapse_target/train.py or use SynapseParams(method='rules')")


def rule_columns(rule_target: np.ndarray) -> dict[str, np.ndarray]:
    """One-hot features (0/1) of the rule labeller's target per synapse (``rules_<class>``)."""
    t = np.asarray(rule_target).astype(str)
    return {f"rules_{c}": (t == c).astype(float) for c in CLASSES}


def predict_targets(n: Neuron, syn: pd.DataFrame, shaft_field: Any, anchors: Any = None,
                    soma: np.ndarray | None = None, folder: str | None = None,
                    rule_target: np.ndarray | None = None, dendritic_only: bool = False,
                    model_soma: bool = False, name: str = MODEL_NAME,
                    profile_sample_nm: float | None = None) -> np.ndarray:
    """Predicted target per synapse (object array of class names) with the shipped model (arguments as
    :func:`synapse_site_features`; ``rule_target``: the rule labeller's targets, a feature of the model; where
    they are a class the sidecar lists in ``keep_rule_targets`` they stay). dendritic_only: the rules' soma and
    axon calls stay and the model picks among shaft / spine_head / spine_neck elsewhere (needs ``rule_target``).
    model_soma: soma is the model's call everywhere (the rules' soma calls are neither kept nor the only ones).
    name: the model file (``SynapseParams.target_model``); profile_sample_nm: ``SynapseParams.profile_sample_nm``."""
    booster, meta = load_model(folder, name)
    x = synapse_site_features(n, syn, shaft_field, anchors, soma,
                              profile=any(f.startswith("profile_") for f in meta["features"]),
                              profile_sample_nm=profile_sample_nm,
                              neighbourhood=meta.get("neighbourhood", "vertices"))
    if any(f.startswith("rules_") for f in meta["features"]):
        if rule_target is None:
            raise InputError("this synapse-target model reads the rule targets",
                             hint="pass rule_target=rule_targets(...) (attach_synapses does)")
        for c, v in rule_columns(rule_target).items():
            x[c] = v
    prob = booster.predict(x[meta["features"]].to_numpy(dtype=np.float64), num_threads=1)
    if dendritic_only and rule_target is None:
        raise InputError("dendritic_only needs the rule targets", hint="pass rule_target=rule_targets(...)")
    kept, rules_only = kept_rule_classes(meta, dendritic_only, model_soma)
    return decide_targets(prob, meta["classes"], rule_target, kept, rules_only)


def kept_rule_classes(meta: dict[str, Any], dendritic_only: bool, model_soma: bool
                      ) -> tuple[list[str], tuple[str, ...]]:
    """The rule classes that stay (``kept``) and those the model may not pick (``rules_only``) for the sidecar
    ``meta`` and :func:`predict_targets`'s decision flags (hybrid: ``dendritic_only=True``)."""
    kept = list(meta.get("keep_rule_targets", []))
    if dendritic_only:
        kept += ["soma", "axon"]
    if model_soma:
        kept = [c for c in kept if c != "soma"]
    rules_only = tuple(c for c in ("soma", "axon") if c in kept) if dendritic_only else ()
    return kept, rules_only


def decide_targets(prob: np.ndarray, classes: Any, rule_target: np.ndarray | None, kept: Any = (),
                   rules_only: Any = ()) -> np.ndarray:
    """Targets (object array) from the model's (S, C) class scores ``prob``: the best class that is not in
    ``rules_only``, except where the rules' target (``rule_target``, None: no rules) is a class of ``kept``, which
    stays. The one decision of the pipeline and of the training script's scores."""
    if len(rules_only):
        prob = np.where(np.isin(classes, list(rules_only))[None, :], -1.0, prob)
    pred = np.asarray(classes, dtype=object)[np.argmax(prob, axis=1)]
    if len(kept) and rule_target is not None:
        keep = np.isin(np.asarray(rule_target).astype(str), list(kept))
        pred[keep] = np.asarray(rule_target, dtype=object)[keep]
    return pred

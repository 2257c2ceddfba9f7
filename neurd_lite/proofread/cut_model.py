"""A learned ranker of the cut candidates on a soma-to-soma path (session 11; nm inside, µm in feature names).

The hand score of :mod:`.cuts` weighs its cues by hand. Here every candidate vertex of the path (soma prior > 0)
gets a row of the hand cues, the hand score itself (raw, relative to the path's best, its rank) and raw geometry
(distances from each soma in µm and as a share of the path, radius against the path's median, calibre before and
after, turns at three scales, branch points nearby, synapse shares either side, compartment labels either side,
faceless skeleton vertices and long edges, which is how heal bridges look). A LightGBM ranker (text model +
JSON sidecar, ``classifiers/models/split_cut.*``, trained by ``classifiers/split_cut/train.py`` on tune merges
only) scores the rows and the splitter cuts at the best one (``SplitParams.cut_model``, default ``split_cut_dist``
since session 15; ``None``: the hand score).
The polarity gate of :mod:`.polarity` still applies: when it is decisive, only candidates inside its confidence
set compete.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .cuts import SplitParams, _mean_in, _output_shares, _point_at, _sum_in, _window_median

HAND_CUES = ("bottleneck", "width_jump", "turn", "radial", "taper", "junction", "axon_change", "axons_meet",
             "outward", "branch_jump", "synapse_change")
FEATURES = tuple(f"cue_{c}" for c in HAND_CUES) + (
    "hand_score", "hand_score_rel", "hand_rank_frac", "hand_local_max", "polarity_ok", "polarity_decisive",
    "s_um", "path_um", "s_frac", "from_a_um", "from_b_um", "from_near_um",
    "log_radius_local", "log_radius_rel_path", "log_radius_before_after", "log_branch_before_after",
    "log_branch_rel_path", "log_taper_before", "log_taper_after", "turn_2um", "turn_12um",
    "d_soma_a_um", "d_soma_b_um", "away_a_before", "toward_b_after",
    "is_junction", "junction_dist_um", "junctions_3um", "degree",
    "out_share_before", "out_share_after", "syn_before", "syn_after",
    "axon_before", "axon_after", "log_faces", "faceless_frac", "edge_um")


def _turn(x: np.ndarray, s: np.ndarray, d: float) -> np.ndarray:
    """(1 - cos of the angle between the direction over ``d`` nm before and after each vertex) / 2."""
    din = x - _point_at(x, s, s - d)
    dout = _point_at(x, s, s + d) - x
    nin, nout = np.linalg.norm(din, axis=1), np.linalg.norm(dout, axis=1)
    cos = np.einsum("ij,ij->i", din, dout) / np.maximum(nin * nout, 1e-9)
    return np.where((nin > 0) & (nout > 0), (1.0 - cos) / 2.0, 0.0)


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(a / b)
    return np.where(np.isfinite(out), out, np.nan)


def path_features(sc: dict, x: np.ndarray, radius: np.ndarray, branch_radius: np.ndarray, is_axon: np.ndarray,
                  is_junction: np.ndarray, degree: np.ndarray, n_faces: np.ndarray,
                  synapses: tuple[np.ndarray, np.ndarray], soma_a: tuple[np.ndarray, float],
                  soma_b: tuple[np.ndarray, float], p: SplitParams) -> np.ndarray:
    """(m, len(FEATURES)) candidate rows of one soma-to-soma path (float; NaN where a value is undefined).

    sc: :func:`.cuts.path_scores` of the path; x (m, 3) nm; radius, branch_radius (m,) nm; is_axon, is_junction
    (m,) bool; degree (m,) skeleton degree of each vertex; n_faces (m,) input faces mapped to each vertex;
    synapses: (m,) output and (m,) input counts; soma_a / soma_b: (centre nm, radius nm)."""
    m = len(x)
    s = np.asarray(sc["s_nm"], float)
    total = max(float(s[-1]), 1.0)
    (ca, ra), (cb, rb) = soma_a, soma_b
    ok = np.asarray(sc["prior"]) > 0
    score = np.asarray(sc["score"], float)
    best = float(score[ok].max()) if ok.any() else 0.0
    order = np.argsort(-np.where(ok, score, -np.inf), kind="stable")
    rank = np.empty(m)
    rank[order] = np.arange(m)
    n_ok = max(int(ok.sum()), 1)
    local_max = np.zeros(m)
    lo, hi = np.searchsorted(s, s - 2000.0), np.searchsorted(s, s + 2000.0, side="right")
    for i in range(m):
        local_max[i] = float(score[i] >= score[lo[i]:hi[i]].max())
    r = np.where(np.isfinite(radius) & (radius > 0), radius, np.nan)
    br = np.where(np.isfinite(branch_radius) & (branch_radius > 0), branch_radius, np.nan)
    every = np.ones(m, dtype=bool)
    local = _window_median(s, r, every, s - p.local_nm, s + p.local_nm)
    w = p.window_nm
    before, after = _window_median(s, r, ok, s - w, s), _window_median(s, r, ok, s + 1e-6, s + w)
    b_before, b_after = _window_median(s, br, ok, s - w, s + 1e-6), _window_median(s, br, ok, s + 1e-6, s + w)
    far_before = _window_median(s, r, every, s - 2 * w, s - w)
    far_after = _window_median(s, r, every, s + w, s + 2 * w)
    med_r = np.nanmedian(r[ok]) if np.isfinite(r[ok]).any() else np.nan
    med_br = np.nanmedian(br[ok]) if np.isfinite(br[ok]).any() else np.nan
    da, db = np.linalg.norm(x - ca, axis=1), np.linalg.norm(x - cb, axis=1)
    back, ahead = np.interp(s - 3000.0, s, da), np.interp(s + 3000.0, s, db)
    jdist = np.full(m, 20000.0)
    nj = np.zeros(m)
    if is_junction.any():
        dj = np.abs(s[:, None] - s[is_junction][None, :])
        jdist = np.minimum(dj.min(axis=1), 20000.0)
        nj = (dj <= 3000.0).sum(axis=1)
    ax = is_axon.astype(float)
    fb, fa = _output_shares(s, ok, synapses, p)
    allsyn = np.where(ok, np.asarray(synapses[0], float) + np.asarray(synapses[1], float), 0.0)
    sw = p.synapse_window_nm
    faceless = _mean_in(s, (np.asarray(n_faces) == 0).astype(float), s - p.local_nm, s + p.local_nm)
    seg = np.diff(s)
    edge = np.maximum(np.concatenate([[0.0], seg]), np.concatenate([seg, [0.0]]))
    cols = [np.asarray(sc[c], float) for c in HAND_CUES] + [
        score, score / best if best > 0 else np.zeros(m), rank / n_ok, local_max,
        np.asarray(sc.get("polarity_ok", np.ones(m)), float),
        np.full(m, float(bool(sc.get("polarity", {}).get("decisive", False)))),
        s / 1e3, np.full(m, total / 1e3), s / total, (s - ra) / 1e3, (total - s - rb) / 1e3,
        np.minimum(s - ra, total - s - rb) / 1e3,
        np.log(local), _log_ratio(local, med_r), _log_ratio(before, after), _log_ratio(b_before, b_after),
        _log_ratio(br, med_br),
        _log_ratio(far_before, local), _log_ratio(far_after, local), _turn(x, s, 2000.0), _turn(x, s, 12000.0),
        da / 1e3, db / 1e3, (da - back) / 3000.0, (ahead - db) / 3000.0,
        is_junction.astype(float), jdist / 1e3, nj, np.asarray(degree, float),
        fb, fa, _sum_in(s, allsyn, s - sw, s), _sum_in(s, allsyn, s + 1e-6, s + sw),
        np.nan_to_num(_mean_in(s, ax, s - w, s)), np.nan_to_num(_mean_in(s, ax, s + 1e-6, s + w)),
        np.log1p(np.asarray(n_faces, float)), faceless, edge / 1e3]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.column_stack([np.asarray(c, float) for c in cols])
    out[~np.isfinite(out)] = np.nan
    return out


@lru_cache(maxsize=4)
def load_cut_model(name: str) -> tuple[Any, dict]:
    """(lightgbm.Booster, sidecar) of a cut model: ``name`` is a shipped model (``split_cut``) or a path to a
    ``.txt`` file with its ``.json`` sidecar beside it. Text model and JSON only; nothing is unpickled."""
    from ..model.shipped import read_booster

    path = Path(name)
    directory, stem = (path.parent, path.stem) if path.suffix == ".txt" else (None, name)
    booster, meta = read_booster(stem, directory, what="split-cut",
                                 hint="set SplitParams(cut_model=None) for the hand-weighted score, or rebuild with "
                                      "python classifiers/split_cut/train.py")
    if tuple(meta.get("features", ())) != FEATURES:
        from ..errors import InputError

        raise InputError("split-cut model was trained on other features than proofread.cut_model.FEATURES",
                         path=path, hint="rebuild with python classifiers/split_cut/train.py")
    return booster, meta


def choose_cut(sc: dict, feats: np.ndarray, model: str, margin: float = 0.0) -> tuple[int, np.ndarray]:
    """Index of the best-ranked candidate (prior > 0, inside a decisive polarity gate's set) and the model score
    of every vertex (-inf where not a candidate). margin > 0: the hand score's best vertex instead, unless the
    model's best scores more than ``margin`` above it (``SplitParams.cut_model_margin``)."""
    booster, _ = load_cut_model(model)
    cand = np.asarray(sc["prior"]) > 0
    if sc.get("polarity", {}).get("decisive", False):
        inside = cand & np.asarray(sc["polarity_ok"], bool)
        cand = inside if inside.any() else cand
    out = np.full(len(cand), -np.inf)
    if cand.any():
        out[cand] = booster.predict(feats[cand], num_threads=1)
    hand = int(np.argmax(sc["score"]))
    if not cand.any():
        return hand, out
    best = int(np.argmax(out))
    if margin > 0 and np.isfinite(out[hand]) and out[best] - out[hand] <= margin:
        return hand, out
    return best, out

"""Synapse points placed on a labelled synthetic surface, a few nm outside it, with their true targets (nm)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DENDRITIC = ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite")
SYNAPSE_COLUMNS = ["synapse_id", "x_nm", "y_nm", "z_nm", "is_pre", "target", "compartment", "spine_id", "face"]


@dataclass(frozen=True)
class SynapseParams:
    """Expected synapse counts: per spine, per µm of cable, per soma; offset of points from the surface (nm)."""

    head_per_spine: float = 0.85
    second_head_per_spine: float = 0.05
    neck_per_spine: float = 0.05
    shaft_per_um_excitatory: float = 0.2
    shaft_per_um_inhibitory: float = 1.0
    soma_excitatory: float = 50.0
    soma_inhibitory: float = 100.0
    pre_per_um_excitatory: float = 0.2
    pre_per_um_inhibitory: float = 0.33
    n_far: int = 5
    far_distance_nm: float = 30_000.0
    offset_nm: tuple[float, float] = (3.0, 10.0)


def _points_on_faces(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray, idx: np.ndarray,
                     offset_nm: tuple[float, float]) -> np.ndarray:
    """A uniform random point on each face ``idx``, pushed ``offset_nm`` outward along the face normal."""
    tri = verts[faces[idx]]
    a, b = rng.random((2, len(idx)))
    flip = a + b > 1
    a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
    p = tri[:, 0] + a[:, None] * (tri[:, 1] - tri[:, 0]) + b[:, None] * (tri[:, 2] - tri[:, 0])
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return p + n * rng.uniform(*offset_nm, len(idx))[:, None]


def _pick(rng: np.random.Generator, candidates: np.ndarray, area: np.ndarray, k: int) -> np.ndarray:
    """``k`` faces from ``candidates`` drawn with probability proportional to area."""
    if k == 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    w = area[candidates]
    return rng.choice(candidates, size=k, p=w / w.sum())


def _pick_per_spine(rng: np.random.Generator, faces_by_spine: dict[int, np.ndarray], area: np.ndarray,
                    spine_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One area-weighted face per requested spine id; spines without faces (cut away) are skipped."""
    out_f, out_s = [], []
    for s in spine_ids:
        cand = faces_by_spine.get(int(s))
        if cand is None:
            continue
        out_f.append(_pick(rng, cand, area, 1)[0])
        out_s.append(s)
    return np.asarray(out_f, dtype=np.int64), np.asarray(out_s, dtype=np.int64)


def _group(face_idx: np.ndarray, key: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(key[face_idx], kind="stable")
    f = face_idx[order]
    ks, starts = np.unique(key[f], return_index=True)
    return {int(k): part for k, part in zip(ks, np.split(f, starts[1:]))}


def place_synapses(rng: np.random.Generator, verts: np.ndarray, faces: np.ndarray, face_labels: np.ndarray,
                   face_compartment: np.ndarray, face_spine: np.ndarray, spine_ids: np.ndarray,
                   cable_um: dict[str, float], inhibitory: bool, n_synapses: int | None = None,
                   far: bool = False, p: SynapseParams = SynapseParams()) -> pd.DataFrame:
    """Synapses on the surface: postsynapses on spine heads, necks, shafts and the soma; presynapses on the axon.

    Expected counts follow ``p`` (per spine, per µm of dendrite / axon cable); ``n_synapses`` rescales them
    to that total. ``far`` adds ``p.n_far`` points far from the cell with target ``"unknown"``. Coordinates nm.
    """
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    dend_um = sum(cable_um.get(c, 0.0) for c in DENDRITIC)
    n_sp = len(spine_ids)
    expected = {
        "spine_head": n_sp * (p.head_per_spine + p.second_head_per_spine),
        "spine_neck": n_sp * p.neck_per_spine,
        "shaft": dend_um * (p.shaft_per_um_inhibitory if inhibitory else p.shaft_per_um_excitatory),
        "soma": p.soma_inhibitory if inhibitory else p.soma_excitatory,
        "axon": cable_um.get("axon", 0.0) * (p.pre_per_um_inhibitory if inhibitory else p.pre_per_um_excitatory),
    }
    if n_synapses is None:
        counts = {k: int(rng.poisson(v)) for k, v in expected.items()}
    else:
        w = np.array(list(expected.values()))
        counts = dict(zip(expected, rng.multinomial(int(n_synapses), w / w.sum()).tolist()))
    frames = []
    is_dend_shaft = np.isin(face_labels, DENDRITIC)
    for target, k in counts.items():
        if target in ("spine_head", "spine_neck"):
            cand = np.flatnonzero(face_labels == target)
            spines = rng.choice(spine_ids, size=k, replace=True) if n_sp else np.zeros(0, np.int64)
            f, s = _pick_per_spine(rng, _group(cand, face_spine), area, spines)
        else:
            cand = np.flatnonzero(is_dend_shaft if target == "shaft" else face_labels == target)
            f = _pick(rng, cand, area, k)
            s = np.full(len(f), -1)
        pts = _points_on_faces(rng, verts, faces, f, p.offset_nm)
        frames.append(pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2],
                                    "is_pre": target == "axon", "target": target,
                                    "compartment": face_compartment[f].astype(str) if len(f) else [],
                                    "spine_id": s.astype(np.int64), "face": f.astype(np.int64)}))
    if far and p.n_far:
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        pts = hi + rng.uniform(1.0, 2.0, (p.n_far, 3)) * p.far_distance_nm
        pts[: p.n_far // 2] = lo - (pts[: p.n_far // 2] - hi)
        frames.append(pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2], "is_pre": False,
                                    "target": "unknown", "compartment": "unknown", "spine_id": -1, "face": -1}))
    df = pd.concat(frames, ignore_index=True)
    df = df.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    df.insert(0, "synapse_id", np.arange(len(df), dtype=np.int64))
    return df[SYNAPSE_COLUMNS]

"""Learned axon / apical labelling on a soma-rooted skeleton: two LightGBM vertex models and a tree-level decision.

Models (``neurd_lite/models/compartment_axon.*`` and ``compartment_apical.*``: LightGBM text + JSON sidecar,
no pickle; trained by ``classifiers/compartments/train.py``, model cards beside them) score every non-soma
vertex from :func:`neurd_lite.compartments.features.vertex_features`. The decision on top:

- **axon**: one subtree, the one maximising the summed ``p_axon - 0.5`` weighted by cable (µm; when none passes,
  ``p_axon - decision.axon_threshold`` of the sidecar, 0.05, session 7; that lower level never takes the
  apical candidate's distal end unless the subtree is thinner than the rest, session 8, ``label.decide_axon``),
  so the axon is everything beyond a single cut, as in the rule and the synapse-flow split; none when no
  subtree has a positive sum.
- **apical**: among the remaining dendrite, each unbranched segment (between branch points) takes the
  cable-weighted mean of its vertices' ``p_apical``; segments above 0.5 are apical. A cell whose apical
  cable is below ``MIN_APICAL_FRAC`` of its dendrite has no apical; whether a cell has one at all is the cell
  model's call (``compartment_has_apical``, on the cell-level evidence of :mod:`.gate`); ``has_apical`` forces
  either answer. When the cell has an apical but the vertex model finds almost none, the rule's apical is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model.shipped import MODELS_DIR, read_booster, sidecar_feature_names
from .tree import Tree

AXON_MODEL, APICAL_MODEL, CELL_MODEL = "compartment_axon", "compartment_apical", "compartment_has_apical"
LIMB_MODEL = "compartment_apical_limb"  # which primary dendrite is the apical candidate (compartments.candidate)
AXON_SHAPE_MODEL = "compartment_axon_shape"  # opt-in axon model with branch-shape inputs (axon_shape.py, session 18)
AXON_L2_MODEL = "compartment_axon_l2"  # opt-in axon model with level-2 side-node inputs (axon_l2.py, session 19)
MODEL_NAMES = (AXON_MODEL, APICAL_MODEL, CELL_MODEL, LIMB_MODEL)
MIN_APICAL_FRAC = 0.03  # apical cable below this share of the dendrite -> no apical (forced: the rule's)
@dataclass
class VertexModel:
    """A LightGBM booster and its sidecar (features in order, threshold, metrics)."""

    name: str
    booster: Any
    meta: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return sidecar_feature_names(self.meta)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """P(positive class) per row; NaN features are LightGBM's missing values."""
        if not len(x):
            return np.zeros(0)
        mat = x.reindex(columns=self.features).to_numpy(dtype=float)
        return np.asarray(self.booster.predict(mat, num_threads=1), dtype=float)


@lru_cache(maxsize=None)
def _load(name: str, directory: str) -> VertexModel:
    booster, meta = read_booster(name, directory, what="compartment",
                                 hint="rebuild with python classifiers/compartments/train.py, or use method='rules'")
    return VertexModel(name, booster, meta)


def load_vertex_model(name: str, directory: str | Path | None = None) -> VertexModel:
    """Load ``NAME.txt`` + ``NAME.json`` (LightGBM text, nothing unpickled); cached per process."""
    return _load(name, str(Path(directory) if directory is not None else MODELS_DIR))


def models_available(directory: str | Path | None = None) -> bool:
    """Whether every compartment vertex model (``MODEL_NAMES``) has its ``.txt`` and ``.json`` in ``directory``
    (default: the shipped models)."""
    d = Path(directory) if directory is not None else MODELS_DIR
    return all((d / f"{m}.{ext}").is_file() for m in MODEL_NAMES for ext in ("txt", "json"))


def edge_um(tree: Tree) -> np.ndarray:
    """(N,) length (µm) of the edge from each vertex to its parent (0 at roots)."""
    sk = tree.sk
    par = sk.parent
    return np.where(par >= 0, np.linalg.norm(sk.vertices - sk.vertices[np.maximum(par, 0)], axis=1), 0.0) / 1000


def axon_subtree(tree: Tree, p_axon: np.ndarray, body: np.ndarray, threshold: float = 0.5,
                 keep: int = -1) -> tuple[np.ndarray, int, float]:
    """(axon mask, cut vertex or -1, summed score in µm) of the subtree maximising sum((p - threshold) * cable);
    ``threshold`` is the model's decision level (sidecar ``decision.axon_threshold``). ``keep`` >= 0: a vertex
    the axon must not contain (no cut on its path to the root)."""
    w = (edge_um(tree) + 1e-3) * body
    score = tree.subtree_sum(np.where(body, (np.nan_to_num(p_axon, nan=0.0) - threshold) * w, 0.0))
    score = np.where(body, score, -np.inf)
    if keep >= 0:
        score[tree.path_to_root(keep)] = -np.inf
    if not body.any() or score.max() <= 0:
        return np.zeros(tree.n, dtype=bool), -1, 0.0
    cut = int(np.argmax(score))
    return tree.subtree_mask(cut) & body, cut, float(score[cut])


def segments(tree: Tree, mask: np.ndarray) -> np.ndarray:
    """(N,) segment id of each vertex in ``mask`` (-1 elsewhere): a new segment starts at a vertex whose parent
    is outside the mask or has more than one child in the mask."""
    par = tree.parent
    seg = np.full(tree.n, -1, dtype=np.int64)
    nk = np.zeros(tree.n, dtype=np.int64)
    kids_in = par[mask & (par >= 0)]
    np.add.at(nk, kids_in, 1)
    nxt = 0
    for v in tree.order:
        if not mask[v]:
            continue
        p = par[v]
        if p >= 0 and mask[p] and nk[p] == 1:
            seg[v] = seg[p]
        else:
            seg[v] = nxt
            nxt += 1
    return seg


def apical_segments(tree: Tree, p_apical: np.ndarray, dendrite: np.ndarray) -> np.ndarray:
    """Bool (N,) dendrite vertices whose segment's cable-weighted mean ``p_apical`` exceeds 0.5."""
    seg = segments(tree, dendrite)
    on = seg >= 0
    if not on.any():
        return np.zeros(tree.n, dtype=bool)
    w = edge_um(tree)[on] + 1e-3
    num = np.bincount(seg[on], weights=np.nan_to_num(p_apical[on]) * w)
    den = np.bincount(seg[on], weights=w)
    mean = num / den
    out = np.zeros(tree.n, dtype=bool)
    out[on] = mean[seg[on]] > 0.5
    return out


def off_axon_limbs(tree: Tree, apical: np.ndarray, axon: np.ndarray, height: np.ndarray | None = None,
                   spare_above_frac: float | None = None) -> np.ndarray:
    """``apical`` without the vertices on a limb that also carries the decided ``axon`` (bool (N,) each): an axon
    may leave a basal dendrite's stem, not the apical's (session 16, opt-in ``apical_off_axon_limb``). Unchanged
    when that would leave no apical vertex.

    spare_above_frac (session 17, needs ``height``: (N,) along ``up`` from the root, any unit): such a limb keeps
    its apical when at least this share of its apical cable lies above the root (a real apical sharing the
    axon's stem still rises, MICrONS 864691134884871930: 0.79; the basals that share it on the synthetic
    pyramids hang beside or below the soma: 0.00-0.07, one 0.68). None: every such limb loses its apical."""
    limbs = tree.limb_start
    axon_limbs = np.unique(limbs[axon & (limbs >= 0)])
    if spare_above_frac is not None and height is not None and len(axon_limbs):
        e = edge_um(tree)
        on = apical & np.isin(limbs, axon_limbs)
        cable = np.bincount(limbs[on], weights=e[on], minlength=tree.n)
        above = np.bincount(limbs[on & (height > 0)], weights=e[on & (height > 0)], minlength=tree.n)
        axon_limbs = axon_limbs[above[axon_limbs] < spare_above_frac * cable[axon_limbs]]
    out = apical & ~np.isin(limbs, axon_limbs)
    return out if out.any() else apical


def apical_limbs(tree: Tree, apical: np.ndarray, height: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """(limb mask restricted to apical vertices, top vertex) for every limb holding apical vertices."""
    out = []
    for s in np.unique(tree.limb_start[apical & (tree.limb_start >= 0)]):
        m = apical & (tree.limb_start == s)
        idx = np.flatnonzero(m)
        out.append((m, int(idx[np.argmax(height[idx])])))
    return out

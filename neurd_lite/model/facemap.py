"""Working <-> input face map: per-face results computed on a decimated working mesh, put on the input faces.

``lift`` takes a per-working-face array to a per-input-face array (each input face reads its working face);
``lower`` takes a per-input-face array to the working faces (each working face reads its representative input
face). ``lift_faces`` / ``lower_faces`` map sets of face ids. Without decimation the map is the identity.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..geometry.stats import stable_int_order


@dataclass(frozen=True, eq=False)
class FaceMap:
    """input_to_working: (F,) working face of each input face; working_to_input: (F',) one representative input
    face per working face (``neurd_lite.mesh.decimate``)."""

    input_to_working: np.ndarray
    working_to_input: np.ndarray

    @classmethod
    def identity(cls, n_faces: int) -> "FaceMap":
        ids = np.arange(int(n_faces), dtype=np.int64)
        return cls(ids, ids)

    @property
    def n_input(self) -> int:
        return len(self.input_to_working)

    @property
    def n_working(self) -> int:
        return len(self.working_to_input)

    @cached_property
    def is_identity(self) -> bool:
        """Whether every input face is its own working face (computed once: the map is never changed)."""
        return self.n_input == self.n_working and bool(np.array_equal(self.input_to_working, np.arange(self.n_input)))

    @cached_property
    def _groups(self) -> tuple[np.ndarray, np.ndarray]:
        """(input faces sorted by working face (stable), start of each working face's run (F' + 1,)), computed
        once per map (a stable sort of F ids: 0.2 s at 5.2M faces; the anchors and the synapse stage both ask)."""
        order = stable_int_order(self.input_to_working)
        return order, np.searchsorted(self.input_to_working[order], np.arange(self.n_working + 1))

    def lift(self, per_working_face: np.ndarray) -> np.ndarray:
        """(F', ...) array over working faces -> (F, ...) over input faces (a copy)."""
        a = np.asarray(per_working_face)
        if len(a) != self.n_working:
            raise ValueError(f"lift: array has {len(a)} rows, the working mesh {self.n_working} faces")
        return a[self.input_to_working]

    def lift_rows(self, per_working_face: np.ndarray, input_faces: np.ndarray) -> np.ndarray:
        """``lift(per_working_face)[input_faces]`` without the (F, ...) array over every input face (on an 8.9M-face
        input the spine stage's object label lift took ~0.2 s to keep the few spine faces' rows)."""
        a = np.asarray(per_working_face)
        if len(a) != self.n_working:
            raise ValueError(f"lift_rows: array has {len(a)} rows, the working mesh {self.n_working} faces")
        return a[self.input_to_working[input_faces]]

    def lower(self, per_input_face: np.ndarray) -> np.ndarray:
        """(F, ...) array over input faces -> (F', ...) over working faces (representative input face)."""
        a = np.asarray(per_input_face)
        if len(a) != self.n_input:
            raise ValueError(f"lower: array has {len(a)} rows, the input mesh {self.n_input} faces")
        return a[self.working_to_input]

    def lift_faces(self, working_faces: np.ndarray) -> np.ndarray:
        """Sorted input faces whose working face is one of ``working_faces``."""
        mask = np.zeros(self.n_working, dtype=bool)
        mask[np.asarray(working_faces, dtype=np.int64)] = True
        return np.flatnonzero(mask[self.input_to_working])

    def lower_faces(self, input_faces: np.ndarray) -> np.ndarray:
        """Sorted working faces of the given input faces."""
        return np.unique(self.input_to_working[np.asarray(input_faces, dtype=np.int64)])

    def nearest_input_faces(self, working_faces: np.ndarray, points_nm: np.ndarray, input_centroids_nm: np.ndarray,
                            chunk: int = 200_000) -> np.ndarray:
        """For each point (nm) on working face ``working_faces[i]``, the input face of that working face whose
        centroid is nearest (the representative input face when none maps to it); -1 where the working face is
        -1 or the point is not finite. Vectorised in chunks of points (memory bounded)."""
        wf_all = np.asarray(working_faces, dtype=np.int64)
        pts_all = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
        if self.is_identity:
            return np.where((wf_all >= 0) & np.isfinite(pts_all).all(axis=1), wf_all, -1)
        order, starts = self._groups
        counts = np.diff(starts)
        out = np.full(len(wf_all), -1, dtype=np.int64)
        for lo in range(0, len(wf_all), chunk):
            wf, pts = wf_all[lo:lo + chunk], pts_all[lo:lo + chunk]
            ok = np.flatnonzero((wf >= 0) & np.isfinite(pts).all(axis=1))
            empty = ok[counts[wf[ok]] == 0]
            out[lo + empty] = self.working_to_input[wf[empty]]
            has = ok[counts[wf[ok]] > 0]
            c = counts[wf[has]]
            owner = np.repeat(np.arange(len(has)), c)
            offset = np.arange(len(owner)) - np.repeat(np.cumsum(c) - c, c)
            cand = order[starts[wf[has]][owner] + offset]
            d = np.linalg.norm(input_centroids_nm[cand] - pts[has][owner], axis=1)
            o = np.lexsort((d, owner))  # stable: ties go to the lowest input face id, as argmin did
            first = o[np.r_[True, owner[o][1:] != owner[o][:-1]]] if len(o) else o
            out[lo + has[owner[first]]] = cand[first]
        return out

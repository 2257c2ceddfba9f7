"""benchmarks/rescore_refined_truth: the generator's vertex noise and chunk shifts are undone from the member's
own random streams (checked by the junction rule giving back the stored head / neck labels)."""
import sys
from pathlib import Path

import numpy as np

from neurd_lite.testing import family
from neurd_lite.testing.headneck import HEAD_NECK, junction_labels

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_clean_vertices_undo_noise_and_chunk_shifts():
    from rescore_refined_truth import clean_vertices

    sn = family.make_member("l23_pyramidal", 3, target_faces=60_000, fragment=True, debris=True, noise_nm=20.0)
    faces, lab, fs = np.asarray(sn.mesh.faces), np.asarray(sn.face_labels).astype(object), np.asarray(sn.face_spine)
    hn = np.isin(lab, HEAD_NECK) & (fs >= 0)
    tables = [(sn.spines, 0)]

    def mismatch(v: np.ndarray) -> int:
        return int(np.count_nonzero(junction_labels(v, faces, lab, fs, tables)[hn] != lab[hn]))

    v, info = clean_vertices(sn, "l23_pyramidal", 3)
    assert info["n_chunks"] > 1
    noisy, clean = mismatch(np.asarray(sn.mesh.vertices, float)), mismatch(v)
    # unfragmented and noise-free the rule gives back every label; the rest is crumbs (a few faces each)
    assert clean <= 0.004 * hn.sum() and clean * 3 < noisy, (clean, noisy, int(hn.sum()))

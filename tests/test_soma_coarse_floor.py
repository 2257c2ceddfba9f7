"""``SomaParams.coarse_floor_voxels``: the coarse-window pass of a big merge must not hide a small soma.

On a three-cell fragmented family merge the coarse grid is ~2.5 µm, and a bipolar soma of inscribed radius
~3.4 µm reads a coarse depth of sqrt(2) voxels, under the default floor of 1.5 voxels: no window opens there and
the soma is lost (tune merge 935; fresh 2054 failed the same way, session 19)."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.mesh.soma import SomaParams, find_somas


@pytest.mark.slow
def test_small_soma_of_a_big_merge_opens_a_window_with_a_lower_floor():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from eval_split import family_spec

    from neurd_lite.testing import family

    members, contact, frag = family_spec(935)  # tune seed: martinotti + l4_pyramidal + bipolar, fragmented
    sn = family.make_merge(members, contact=contact, seed=935, target_faces=40000 * len(members), fragment=frag)
    centres = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])

    def hits(floor: float) -> tuple[int, int]:
        somas = find_somas(sn.mesh, SomaParams(coarse_floor_voxels=floor, probe_floor_voxels=0.0))
        d = np.linalg.norm(np.array([s.center_nm for s in somas])[:, None] - centres[None], axis=2)
        return int((d.min(axis=0) < 3000.0).sum()), int((d.min(axis=1) >= 3000.0).sum())

    assert hits(1.5) == (2, 0)  # the default floor without the probe misses the bipolar soma (cell 2)
    assert hits(1.4) == (3, 0)  # all three somata, no false one


def test_floor_is_a_frozen_parameter_with_the_old_default():
    p = SomaParams()
    assert p.coarse_floor_voxels == 1.5
    with pytest.raises(Exception):
        p.coarse_floor_voxels = 1.4  # type: ignore[misc]

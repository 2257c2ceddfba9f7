"""``SomaParams.probe_floor_voxels``: shallow coarse regions of a big merge are probed on the fine grid, so a
small soma that reads only sqrt(2) coarse voxels deep is searched without lowering the window floor for every
thick dendrite (docs/proofreading.md, session 25 round 2)."""
from __future__ import annotations

import numpy as np
import pytest

from neurd_lite.mesh.soma import SomaParams, find_somas
from neurd_lite.mesh.soma.windows import FaceSlabs


def test_probe_is_on_by_default_and_frozen():
    p = SomaParams()
    assert p.probe_floor_voxels == 1.4
    with pytest.raises(Exception):
        p.probe_floor_voxels = 1.4  # type: ignore[misc]


def test_face_slabs_hold_every_face_reaching_an_x_interval():
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 1000, (300, 3))
    f = rng.integers(0, 300, (500, 3))
    s = FaceSlabs.of(v, f)
    lo, hi = 300.0, 420.0
    cand = s.order[np.searchsorted(s.x0, lo - s.width):np.searchsorted(s.x0, hi, "right")]
    x = v[:, 0][f]
    reach = np.flatnonzero(((x >= lo) & (x <= hi)).any(axis=1))
    assert set(reach) <= set(cand)


@pytest.mark.slow
def test_small_soma_of_a_big_merge_is_found_by_the_probe():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from eval_split import family_spec

    from neurd_lite.testing import family
    from neurd_lite.testing.merge import MergeParams

    members, contact, frag = family_spec(102)  # tune seed: basket + l4_pyramidal + bipolar, fragmented, end-on
    sn = family.make_merge(members, contact=contact, seed=102, target_faces=40000 * len(members), fragment=frag,
                           contact_params=MergeParams(tip_contact_nm=10000))
    centres = np.array([c["soma_center_nm"] for c in sn.truth["cells"]])

    def hits(p: SomaParams) -> tuple[int, int]:
        somas = find_somas(sn.mesh, p)
        d = np.linalg.norm(np.array([s.center_nm for s in somas])[:, None] - centres[None], axis=2)
        return int((d.min(axis=0) < 3000.0).sum()), int((d.min(axis=1) >= 3000.0).sum())

    assert hits(SomaParams(probe_floor_voxels=0.0)) == (2, 0)  # without the probe the bipolar soma (cell 2) is missed
    assert hits(SomaParams()) == (3, 0)  # the default probe: all three somata, no false one

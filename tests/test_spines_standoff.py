"""The standoff test (``SpineParams.min_standoff_rel``): a labelled patch of shaft wall is dropped, a spine that
rises out of its shaft is kept (point clouds, nm)."""
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from neurd_lite.neuron import Neuron
from neurd_lite.spines import SpineParams, detect_spines
from neurd_lite.spines.adapters import spiny_cylinder
from neurd_lite.spines.relief import attachment
from neurd_lite.spines.standoff import drop_flat_patches, standoff_ratio

R = 300.0  # tube radius (nm)


def _cloud() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tube along z (radius R, 0..3000 nm) with a stalk (radius 80 nm, 700 nm long, along +x at z 1000) and
    (V, 3) points, the stalk's labels (0), a wall patch's labels (1) on the far side (-x) at z 2200."""
    a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    z = np.arange(0.0, 3001, 50.0)
    tube = np.column_stack([np.tile(R * np.cos(a), len(z)), np.tile(R * np.sin(a), len(z)), np.repeat(z, len(a))])
    b = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    x = np.arange(R + 20, R + 700, 40.0)
    stalk = np.column_stack([np.repeat(x, len(b)), 80 * np.tile(np.cos(b), len(x)),
                             1000 + 80 * np.tile(np.sin(b), len(x))])
    v = np.vstack([tube, stalk])
    label = np.full(len(v), -1)
    label[len(tube):] = 0
    patch = (v[:, 0] < -R * np.cos(np.pi / 5)) & (np.abs(v[:, 2] - 2200) < 250)
    label[patch] = 1
    return v, label, np.asarray(sorted(cKDTree(v).query_pairs(80.0)), dtype=np.int64).reshape(-1, 2)


def _ring(v: np.ndarray, label: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    """The attachment table (``relief.attachment``): unlabelled vertices joined by an edge to each spine."""
    none = pd.DataFrame({"spine": np.zeros(0, np.int64), "v": np.zeros(0, np.int64)})
    return attachment(edges, label, np.ones(len(v), dtype=bool), none)[1]


def test_wall_patch_is_dropped_stalk_kept_and_rimless_follows() -> None:
    v, label, edges = _cloud()
    ring = _ring(v, label, edges)
    ones = np.ones(len(v))
    ratio = standoff_ratio(v, ones, label, ring, np.ones(len(v), bool), edges)
    assert ratio[0] > 1.0  # the stalk rises several base radii out of the tube
    assert ratio[1] < 0.2  # the patch follows the wall: its centroid stays near its base centre
    counts: dict = {}
    also = np.where(label == 1, 1, -1)  # a second labelling with the same ids (the rimless one)
    out, also_out = drop_flat_patches(v, ones, label, ring, np.ones(len(v), bool), edges, 0.2, counts, also)
    assert counts["flat_patch_dropped"] == 1
    assert (out[label == 0] == 0).all() and (out[label == 1] == -1).all()
    assert (also_out == -1).all()


def test_default_and_zero_share_drops_nothing() -> None:
    assert SpineParams().min_standoff_rel == 0.2
    v, label, edges = _cloud()
    out, _ = drop_flat_patches(v, np.ones(len(v)), label, _ring(v, label, edges), np.ones(len(v), bool), edges,
                               0.0, {})
    assert (out == label).all()


@pytest.mark.slow
def test_detect_spines_keeps_protruding_spines_with_and_without_rim() -> None:
    """On a spiny cylinder every spine stands off its base: the test (rim on: after the rim; rim off: on the vertex
    labels) runs, counts and drops none."""
    mesh, _, skel = spiny_cylinder(n_spines=4, seed=5)
    for rim in (150.0, 0.0):
        got = []
        for rel in (0.0, 0.2):
            n = Neuron(mesh=mesh, skeleton=skel)
            n.face_compartment[:] = "basal"
            detect_spines(n, SpineParams(rim_nm=rim, min_standoff_rel=rel))
            got.append(n.face_spine.copy())
        assert (got[0] == got[1]).all() and (got[0] >= 0).any()
        assert n.provenance["spines"]["pass_counts"]["flat_patch_dropped"] == 0

"""Frame inference, the learned compartment models and bad skeleton input (fast: synthetic skeletons only)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurd_lite as nl
from neurd_lite.testing.soma_shapes import random_rotation
from neurd_lite.compartments.features import FEATURES
from neurd_lite.compartments.frame import angle_deg, infer_up, minnie65_frame
from neurd_lite.compartments.learned import APICAL_MODEL, AXON_MODEL, load_vertex_model, models_available
from neurd_lite.compartments.tree import Tree
from neurd_lite.errors import InputError
from neurd_lite.io.skeletons import load_skeleton
from neurd_lite.skeleton.model import Skeleton
from neurd_lite.testing.morphology import grow_interneuron, grow_pyramidal, tree_to_skeleton

APICAL = ("apical_shaft", "apical_tuft", "oblique")


def _rotation(seed: int) -> np.ndarray:
    return random_rotation(np.random.default_rng(seed))


def _cell(kind: str, seed: int, rotate: bool = True) -> tuple[Skeleton, np.ndarray, np.ndarray]:
    """A synthetic skeleton (nm) centred at the origin, rotated; its true up and per-vertex truth."""
    rng = np.random.default_rng(seed)
    grow = grow_pyramidal if kind == "pyramidal" else grow_interneuron
    centre = np.array([600e3, 800e3, 850e3])
    sk0 = tree_to_skeleton(grow(rng, centre))
    rot = _rotation(seed) if rotate else np.eye(3)
    sk = Skeleton((sk0.vertices - centre) @ rot.T, sk0.edges, sk0.radius, sk0.root)
    return sk, rot @ np.array([0.0, -1.0, 0.0]), np.asarray(sk0.vertex_properties["compartment"]).astype(str)


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    denom = pred.sum() + truth.sum()
    return 1.0 if denom == 0 else 2 * float((pred & truth).sum()) / float(denom)


def test_infer_up_finds_the_apical_of_a_rotated_pyramid():
    for seed in (3, 4):
        sk, up, _ = _cell("pyramidal", seed)
        t = Tree.from_skeleton(sk, 7000.0)
        fr = infer_up(t, t.in_root_tree & ~t.soma, units="um")
        assert fr.method == "apical_limb"
        assert angle_deg(fr.up, up) < 30
        assert 0 <= fr.confidence <= 1


def test_minnie65_frame_needs_nm_units_and_a_soma_inside_the_volume():
    soma = np.array([700e3, 700e3, 900e3])  # nm, mid-cortex in minnie65
    assert minnie65_frame(soma, "nm")
    assert not minnie65_frame(soma, "um")             # µm input is never minnie65
    assert not minnie65_frame(np.zeros(3), "nm")       # soma-centred: depth unknown
    assert not minnie65_frame(np.array([700e3, 700e3, 5e6]), "nm")  # z outside the volume


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_models_load_as_text_with_sidecar():
    for name in (AXON_MODEL, APICAL_MODEL):
        m = load_vertex_model(name)
        assert m.features == FEATURES
        assert m.meta["held_out_metrics"]  # the card's numbers travel with the model
        p = m.predict(__import__("pandas").DataFrame(np.zeros((2, len(FEATURES))), columns=FEATURES))
        assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_label_skeleton_with_up_given_and_inferred():
    sk, up, truth = _cell("pyramidal", 7)
    for given in (up, None):
        n = nl.label_skeleton(sk, up=given)
        lab = n.skeleton_labels.astype(str)
        rec = n.provenance["compartments"]
        assert rec["method"] == "learned"
        assert rec["frame"]["method"] == ("given" if given is not None else "apical_limb")
        assert _f1(np.isin(lab, APICAL), np.isin(truth, APICAL)) > 0.8
        assert _f1(lab == "axon", truth == "axon") > 0.8
        assert any(f.startswith("up_inferred") for f in n.flags) == (given is None)


@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_has_apical_forced_and_rules_method():
    sk, up, truth = _cell("pyramidal", 8)
    n = nl.label_skeleton(sk, up=up, has_apical=False)
    assert not np.isin(n.skeleton_labels.astype(str), APICAL).any()
    from neurd_lite.compartments import CompartmentParams
    from neurd_lite.pipeline import PipelineParams

    n = nl.label_skeleton(sk, up=up, params=PipelineParams(compartments=CompartmentParams(method="rules")))
    assert n.provenance["compartments"]["method"] == "rules"


def test_axon_threshold_keeps_a_weakly_scored_axon_and_is_read_from_the_sidecar():
    """A held-out source's axon may score p ~0.2 while its dendrites stay near 0: at 0.5 no subtree has a
    positive sum (no axon); at the inner-fold threshold the whole weak subtree is the axon, nothing else."""
    from neurd_lite.compartments.label import CompartmentParams, axon_threshold
    from neurd_lite.compartments.learned import axon_subtree

    sk, _, truth = _cell("pyramidal", 9, rotate=False)
    t = Tree.from_skeleton(sk, 7000.0)
    body = t.in_root_tree & ~t.soma
    axon = (truth == "axon") & body
    p = np.where(axon, 0.2, 0.01)
    assert not axon_subtree(t, p, body)[0].any()
    got = axon_subtree(t, p, body, 0.1)[0]
    assert _f1(got, axon) > 0.95 and not (got & ~axon).any()
    assert axon_threshold(CompartmentParams(axon_threshold=0.3)) == 0.3
    if models_available():
        side = load_vertex_model(AXON_MODEL).meta["decision"].get("axon_threshold", 0.5)
        assert axon_threshold(CompartmentParams()) == side


def _write(path, text: str):
    path.write_text(text)
    return path


def test_bad_skeleton_input_is_refused_or_flagged(tmp_path):
    good = "1 1 0 0 0 5 -1\n2 3 0 10 0 1 1\n3 3 0 20 0 1 2\n"
    with pytest.raises(InputError, match="NaN.*") as e:
        load_skeleton(_write(tmp_path / "nan.swc", good.replace("0 20 0", "nan 20 0")), units="um")
    assert "nan.swc" in str(e.value)
    with pytest.raises(InputError, match="cycle") as e:  # the root's parent is its grandchild
        load_skeleton(_write(tmp_path / "loop.swc", good.replace("5 -1", "5 3")), units="um")
    assert "loop.swc" in str(e.value)
    with pytest.raises(InputError, match="binary") as e:
        bad = tmp_path / "bin.swc"
        bad.write_bytes(b"\x89PNG\x00\x00\x01\x02" * 10)
        load_skeleton(bad, units="um")
    assert "bin.swc" in str(e.value)
    with pytest.raises(InputError, match="cycle") as e:  # a self loop below the root
        load_skeleton(_write(tmp_path / "self.swc", good.replace("2 3 0 10 0 1 1", "2 3 0 10 0 1 2")), units="um")
    assert "self.swc" in str(e.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk, _ = load_skeleton(_write(tmp_path / "neg.swc", good.replace("0 20 0 1", "0 20 0 -1")), units="um")
    assert np.isnan(sk.radius).sum() == 1
    n = nl.label_skeleton(tmp_path / "neg.swc", units="um", up=(0, 1, 0))
    assert any("negative radii" in f and "neg.swc" in f for f in n.flags)


@pytest.mark.realdata
@pytest.mark.skipif(not models_available(), reason="compartment models not built")
def test_basket_cell_gets_no_apical_with_or_without_synapses(real):
    """The MICrONS basket cell (never in training): no apical vertex either way; up from minnie65 coordinates."""
    path = real("skeletons/microns_ossify_BC_864691135101289504/skel.json")
    for syn in (None, "file"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk, file_syn = load_skeleton(path)
            n = nl.label_skeleton(sk, synapses=file_syn if syn else None, up=None)
        assert not np.isin(n.skeleton_labels.astype(str), APICAL).any()


def test_off_axon_limbs_drops_apical_sharing_the_axons_limb():
    """``off_axon_limbs`` (opt-in ``apical_off_axon_limb``): apical vertices on the limb that carries the axon go;
    when no other apical vertex is left, the apical stays as it was."""
    from neurd_lite.compartments.learned import off_axon_limbs
    from neurd_lite.skeleton.model import Skeleton

    # soma 0; limb A: 1-2 (up); limb B: 3-4 with the axon 5-6 leaving 3 and a basal 4
    v = np.array([[0, 0, 0], [0, -5e3, 0], [0, -9e3, 0], [5e3, 0, 0], [9e3, 2e3, 0], [9e3, -2e3, 0],
                  [13e3, -2e3, 0]], dtype=float)
    e = np.array([[1, 0], [2, 1], [3, 0], [4, 3], [5, 3], [6, 5]])
    tree = Tree.from_skeleton(Skeleton(v, e, root=0))
    axon = np.isin(np.arange(7), [5, 6])
    apical = np.isin(np.arange(7), [1, 2, 4])
    assert np.flatnonzero(off_axon_limbs(tree, apical, axon)).tolist() == [1, 2]
    only_b = np.isin(np.arange(7), [4])
    assert np.array_equal(off_axon_limbs(tree, only_b, axon), only_b)


def test_off_axon_limbs_spares_a_rising_limb():
    """``spare_above_frac`` (session 17): the limb carrying the axon keeps its apical when that apical's cable
    lies above the soma (a real apical sharing the axon's stem), loses it when it hangs below (a basal)."""
    from neurd_lite.compartments.learned import off_axon_limbs
    from neurd_lite.skeleton.model import Skeleton

    up = np.array([0.0, -1.0, 0.0])
    e = np.array([[1, 0], [2, 1], [3, 0], [4, 3], [5, 3], [6, 5]])
    axon = np.isin(np.arange(7), [5, 6])
    apical = np.isin(np.arange(7), [1, 2, 3, 4])
    for y4, kept in ((2e3, [1, 2]), (-8e3, [1, 2, 3, 4])):  # basal 4 below the soma / rising above it
        v = np.array([[0, 0, 0], [0, -5e3, 0], [0, -9e3, 0], [5e3, 0.5e3, 0], [9e3, y4, 0], [9e3, 2e3, 0],
                      [13e3, 2e3, 0]], dtype=float)
        tree = Tree.from_skeleton(Skeleton(v, e, root=0))
        height = (v - v[0]) @ up
        assert np.flatnonzero(off_axon_limbs(tree, apical, axon, height, 0.5)).tolist() == kept
        assert np.flatnonzero(off_axon_limbs(tree, apical, axon)).tolist() == [1, 2]  # session 16: always drops

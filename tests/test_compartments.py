"""Compartment labelling on hand-built skeletons (known answers) and on real labelled MICrONS skeletons."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from neurd_lite.compartments import CompartmentParams, label_compartments
from neurd_lite.neuron import Neuron, Soma
from neurd_lite.skeleton.model import Skeleton

APICAL = ("apical_shaft", "apical_tuft", "oblique")


SOMA_NM = np.array([600e3, 700e3, 800e3])  # inside minnie65 cortex (329 µm below pia), as label_compartments checks


class ToyCell:
    """A pyramidal-like skeleton (nm; +y is toward white matter, so the apical goes to -y), soma at ``origin``."""

    def __init__(self, origin=SOMA_NM) -> None:
        self.v: list[np.ndarray] = [np.asarray(origin, dtype=float)]
        self.r: list[float] = [8000.0]
        self.e: list[tuple[int, int]] = []
        self.part: list[str] = ["soma"]

    def line(self, start: int, direction, length_um: float, part: str, radius_nm: float, step_um: float = 1.0) -> int:
        d = np.asarray(direction, float) / np.linalg.norm(direction)
        prev = start
        for k in range(1, int(length_um / step_um) + 1):
            self.v.append(self.v[start] + d * k * step_um * 1000)
            self.r.append(radius_nm)
            self.part.append(part)
            self.e.append((prev, len(self.v) - 1))
            prev = len(self.v) - 1
        return prev

    def skeleton(self) -> Skeleton:
        return Skeleton(np.array(self.v), np.array(self.e), radius=np.array(self.r), root=0)


MINNIE = (0.0, -1.0, 0.0)

def pyramidal(origin=SOMA_NM) -> ToyCell:
    c = ToyCell(origin)
    # apical: shaft 150 µm up, an oblique at ~100° from the shaft-to-soma direction, a tuft fork at the top
    s1 = c.line(0, (0, -1, 0), 60, "apical_shaft", 900)
    c.line(s1, (1, 0.15, 0), 40, "oblique", 400)
    s2 = c.line(s1, (0, -1, 0), 90, "apical_shaft", 700)
    c.line(s2, (1, -1, 0), 50, "apical_tuft", 300)
    c.line(s2, (-1, -1, 0), 50, "apical_tuft", 300)
    for direction in ((1, 0.6, 0), (-1, 0.6, 0), (0, 0.5, 1), (0, 0.5, -1)):
        b = c.line(0, direction, 50, "basal", 500)
        c.line(b, (direction[0] + 0.5, 1, direction[2]), 40, "basal", 350)
    a = c.line(0, (0.1, 1, 0.1), 120, "axon", 120)
    c.line(a, (1, 0.2, 0), 80, "axon", 100)
    c.line(a, (-1, 0.2, 0), 80, "axon", 100)
    return c


def toy_synapses(c: ToyCell, rng: np.random.Generator) -> pd.DataFrame:
    part = np.array(c.part)
    verts = np.array(c.v)
    axon = np.flatnonzero((part == "axon") & (np.linalg.norm(verts - verts[0], axis=1) > 60_000))
    dend = np.flatnonzero((part != "axon") & (part != "soma"))
    pre_v = rng.choice(axon, 40)
    post_v = np.concatenate([rng.choice(dend, 400), rng.choice(np.flatnonzero(part == "axon"), 3)])
    pts = np.concatenate([verts[pre_v], verts[post_v]]) + rng.normal(0, 300, (len(pre_v) + len(post_v), 3))
    return pd.DataFrame({"x_nm": pts[:, 0], "y_nm": pts[:, 1], "z_nm": pts[:, 2],
                         "is_pre": np.r_[np.ones(len(pre_v), bool), np.zeros(len(post_v), bool)]})


def _frac(labels: np.ndarray, part: np.ndarray, name: str, allowed) -> float:
    return float(np.isin(labels[part == name], allowed).mean())


def test_pyramidal_with_synapses_labels_every_compartment():
    c = pyramidal()
    n = Neuron(skeleton=c.skeleton(), synapses=toy_synapses(c, np.random.default_rng(0)))
    label_compartments(n)
    lab, part = n.skeleton_labels.astype(str), np.array(c.part)
    assert lab[0] == "soma"
    assert _frac(lab, part, "axon", ["axon"]) == 1.0
    assert not np.any(lab[part != "axon"] == "axon")
    assert _frac(lab, part, "basal", ["basal"]) == 1.0
    assert _frac(lab, part, "apical_shaft", ["apical_shaft"]) > 0.95
    assert _frac(lab, part, "apical_tuft", ["apical_tuft"]) == 1.0
    assert _frac(lab, part, "oblique", ["oblique"]) == 1.0
    assert n.provenance["compartments"]["axon_method"] == "synapses"
    assert n.provenance["compartments"]["axon_segregation_index"] > 0.5


def test_geometry_only_axon_and_orientation():
    c = pyramidal()
    n = Neuron(skeleton=c.skeleton())
    label_compartments(n)
    lab, part = n.skeleton_labels.astype(str), np.array(c.part)
    assert n.provenance["compartments"]["axon_method"] == "geometry"
    assert _frac(lab, part, "axon", ["axon"]) == 1.0
    # the rules read "up" as given: flipped, the apical is an ordinary downward process (no apical on its side)
    n2 = Neuron(skeleton=c.skeleton())
    label_compartments(n2, CompartmentParams(method="rules"), up=(0, 1, 0))
    lab2 = n2.skeleton_labels.astype(str)
    assert not np.isin(lab2[part == "apical_tuft"], APICAL).any()
    # the learned labeller keeps the dominant limb pointing away from the pia as the apical, on its own axis,
    # and says so (an inverted pyramid, or a wrong up)
    n3 = Neuron(skeleton=c.skeleton())
    label_compartments(n3, up=(0, 1, 0))
    if n3.provenance["compartments"]["method"] == "learned":
        assert np.isin(n3.skeleton_labels.astype(str)[part == "apical_tuft"], APICAL).mean() > 0.9
        assert any(f.startswith("apical_axis_not_up") for f in n3.flags)


def test_interneuron_gets_dendrite_and_no_radius_flags():
    c = pyramidal()
    n = Neuron(skeleton=c.skeleton(), synapses=toy_synapses(c, np.random.default_rng(1)))
    label_compartments(n, CompartmentParams(has_apical=False))
    lab = n.skeleton_labels.astype(str)
    assert set(lab) == {"soma", "axon", "dendrite"}
    sk = c.skeleton()
    bare = Neuron(skeleton=Skeleton(sk.vertices, sk.edges, radius=None, root=0))
    label_compartments(bare, CompartmentParams(method="rules"))  # the radius rule has nothing to go on
    assert "axon_not_found" in bare.flags
    assert not (bare.skeleton_labels == "axon").any()
    learned = Neuron(skeleton=Skeleton(sk.vertices, sk.edges, radius=None, root=0))
    label_compartments(learned)  # the learned model uses shape, not only radius
    lab = learned.skeleton_labels.astype(str)
    assert "axon_not_found" in learned.flags or _frac(lab, np.array(c.part), "axon", ["axon"]) > 0.5


def test_graph_and_faces_follow_the_skeleton():
    import trimesh

    c = pyramidal()
    sk = c.skeleton()
    nv = sk.n_vertices
    # one degenerate-free triangle per skeleton vertex, placed at the vertex
    tri = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0]], float)
    verts = (sk.vertices[:, None, :] + tri[None]).reshape(-1, 3)
    mesh = trimesh.Trimesh(verts, np.arange(3 * nv).reshape(nv, 3), process=False)
    g = nx.DiGraph()
    g.add_node("soma_0", kind="soma")
    part = np.array(c.part)
    g.add_node(1, kind="branch", limb=0, skeleton_vertices=np.flatnonzero(part == "axon"))
    g.add_edge("soma_0", 1)
    n = Neuron(mesh=mesh, skeleton=sk, graph=g, somas=[Soma(sk.vertices[0], 8000, faces=[0])])
    n.face_to_skeleton = np.arange(nv)
    n.face_labels[5] = "spine_head"
    basal_face = int(np.flatnonzero(part == "basal")[-1])
    n.face_branch[basal_face] = 1  # a face assigned to the axon branch follows its branch
    label_compartments(n, CompartmentParams(), up=(0, -1, 0))
    assert g.nodes[1]["compartment"] == "axon" and g.nodes["soma_0"]["compartment"] == "soma"
    assert n.face_labels[5] == "spine_head" and n.face_compartment[5] == n.skeleton_labels[5]
    assert n.face_labels[0] == "soma"
    assert n.face_compartment[basal_face] == "axon" and n.skeleton_labels[basal_face] == "basal"
    rest = np.setdiff1d(np.arange(6, nv), [basal_face])
    assert np.array_equal(n.face_compartment[rest], n.skeleton_labels[rest])


def test_bad_up_vector_and_missing_skeleton():
    from neurd_lite.errors import InputError

    n = Neuron(skeleton=pyramidal().skeleton())
    with pytest.raises(InputError):
        label_compartments(n, up=(0, 0, 0))
    empty = Neuron()
    label_compartments(empty)
    assert "no_skeleton" in empty.flags


@pytest.mark.realdata
def test_real_labelled_cell_axon_and_apical(real):
    from neurd_lite.io.skeletons import load_skeleton

    sk, syn = load_skeleton(real("skeletons/microns_apical_labelled/864691135776101293_with_apical.h5"))
    n = Neuron(skeleton=sk, synapses=syn)
    label_compartments(n)
    lab = n.skeleton_labels.astype(str)
    ax, ap = sk.vertex_properties["is_axon"], sk.vertex_properties["is_apical"]

    def f1(p, t):
        return 2 * np.sum(p & t) / (p.sum() + t.sum())

    assert f1(lab == "axon", ax) > 0.95
    assert f1(np.isin(lab, APICAL), ap & ~ax) > 0.95


@pytest.mark.realdata
def test_real_basket_cell_axon(real):
    from neurd_lite.io.skeletons import load_skeleton

    sk, syn = load_skeleton(real("skeletons/microns_ossify_BC_864691135101289504/skel.json"))
    n = Neuron(skeleton=sk, synapses=syn)
    label_compartments(n, CompartmentParams(has_apical=False))
    lab = n.skeleton_labels.astype(str)
    truth = sk.vertex_properties["swc_type"] == 2
    assert np.mean((lab == "axon") == truth) > 0.98


def test_side_branch_rule():
    from neurd_lite.compartments import ApicalParams
    from neurd_lite.compartments.apical import _side_branch_label

    on = ApicalParams(basal_branch_max_um=30.0)
    assert _side_branch_label(100.0, 20_000, 50_000, False, on) == "oblique"
    assert _side_branch_label(60.0, 20_000, 10_000, False, on) == "basal"       # heads back down near the soma
    assert _side_branch_label(120.0, 2_000, 10_000, False, on) == "basal"       # never rises, near the soma
    assert _side_branch_label(120.0, 2_000, 10_000, False, ApicalParams()) == "oblique"  # rule off by default
    assert _side_branch_label(160.0, 90_000, 80_000, True, on) == "apical_tuft"  # runs up beside the shaft


@pytest.mark.realdata
def test_label_skeleton_pipeline_on_real_swc(real, tmp_path):
    """nl.label_skeleton (pipeline) -> load_skeleton -> graph -> label_compartments, then SWC out and back."""
    import neurd_lite as nl
    from neurd_lite.io.skeletons import load_skeleton

    n = nl.label_skeleton(real("skeletons/microns_neurd_exc_864691134917511946/864691134917511946_proofread.swc"))
    truth = n.skeleton.vertex_properties["swc_type"]
    lab = n.skeleton_labels.astype(str)
    scored = truth != 1
    assert np.mean((lab == "axon")[scored] == (truth == 2)[scored]) > 0.95
    assert np.mean(np.isin(lab, APICAL)[scored] == (truth == 4)[scored]) > 0.95
    assert {d.get("compartment") for b, d in n.graph.nodes(data=True)} >= {"soma", "axon", "basal"}
    back, _ = load_skeleton(n.to_swc(tmp_path / "out.swc"))
    assert back.n_vertices == n.skeleton.n_vertices
    assert set(np.unique(back.vertex_properties["swc_type"])) == {1, 2, 3, 4}


def test_unknown_polarity_falls_back_to_geometry():
    """A table without pre/post (is_pre <NA> for every row) does not crash: the synapses are not used for the
    axon split, which then comes from geometry as without synapses, and the neuron is flagged."""
    c = pyramidal()
    syn = toy_synapses(c, np.random.default_rng(0))
    syn["is_pre"] = pd.array([pd.NA] * len(syn), dtype="boolean")
    n = Neuron(skeleton=c.skeleton(), synapses=syn)
    label_compartments(n)
    bare = Neuron(skeleton=c.skeleton())
    label_compartments(bare)
    assert n.provenance["compartments"]["axon_method"] == "geometry"
    assert n.provenance["compartments"]["n_synapses_unknown_polarity"] == len(syn)
    np.testing.assert_array_equal(n.skeleton_labels, bare.skeleton_labels)
    assert any(f.startswith(f"synapse_polarity_unknown: {len(syn)} of {len(syn)}") for f in n.flags)
    # a few unknown among known ones: counted neither way, the synapse split still runs, no flag
    part = syn.copy()
    part["is_pre"] = pd.array(toy_synapses(c, np.random.default_rng(0))["is_pre"], dtype="boolean")
    part.loc[:4, "is_pre"] = pd.NA
    m = Neuron(skeleton=c.skeleton(), synapses=part)
    label_compartments(m)
    assert m.provenance["compartments"]["axon_method"] == "synapses"
    assert m.provenance["compartments"]["n_presynapses_mapped"] == 35
    assert not any(f.startswith("synapse_polarity_unknown") for f in m.flags)


def test_cell_outside_minnie65_cortex_gets_generic_dendrites_and_a_flag():
    """With minnie65's up, a soma outside minnie65 cortex (here 470 µm above pia; a fly neuron in the hemibrain
    frame: -118 µm) means up is not known to point to pia: dendrites are 'dendrite', flagged. A soma at the
    origin (soma-centred export such as NEURD's SWC) keeps its labels and is flagged. Without ``up`` the
    direction is inferred instead (no minnie65 assumption, so no frame flag)."""
    c = pyramidal(origin=(0.0, -5e4, 0.0))
    syn = toy_synapses(c, np.random.default_rng(0))
    n = Neuron(skeleton=c.skeleton(), synapses=syn)
    label_compartments(n, up=MINNIE)
    lab, part = n.skeleton_labels.astype(str), np.array(c.part)
    assert set(lab) == {"soma", "axon", "dendrite"}
    assert _frac(lab, part, "axon", ["axon"]) == 1.0
    flags = [f for f in n.flags if f.startswith("frame_not_minnie65_cortex:")]
    assert len(flags) == 1 and "soma depth -470 µm" in flags[0] and "'dendrite'" in flags[0]
    assert n.provenance["compartments"]["frame_problem"]
    # flag only: the cortical labels stay, flagged
    kept = Neuron(skeleton=c.skeleton(), synapses=syn)
    label_compartments(kept, CompartmentParams(outside_cortex="flag"), up=MINNIE)
    assert _frac(kept.skeleton_labels.astype(str), part, "apical_tuft", ["apical_tuft"]) == 1.0
    assert any(f.startswith("frame_not_minnie65_cortex:") for f in kept.flags)
    # the caller's own up: its frame, not checked
    other = Neuron(skeleton=c.skeleton(), synapses=syn)
    label_compartments(other, up=(0, 0, -1))
    assert not any(f.startswith("frame_not") for f in other.flags)
    # soma-centred: labels kept, flagged
    centred = Neuron(skeleton=pyramidal(origin=np.zeros(3)).skeleton(), synapses=toy_synapses(
        pyramidal(origin=np.zeros(3)), np.random.default_rng(0)))
    label_compartments(centred, up=MINNIE)
    assert _frac(centred.skeleton_labels.astype(str), part, "apical_tuft", ["apical_tuft"]) == 1.0
    assert any(f.startswith("frame_not_minnie65_cortex: soma at the origin") for f in centred.flags)
    # in the frame: no flag
    inside = Neuron(skeleton=pyramidal().skeleton())
    label_compartments(inside, up=MINNIE)
    assert not any(f.startswith("frame_not") for f in inside.flags)
    inferred = Neuron(skeleton=c.skeleton(), synapses=syn)
    label_compartments(inferred)
    assert not any(f.startswith("frame_not") for f in inferred.flags)
    assert any(f.startswith("up_inferred") for f in inferred.flags)

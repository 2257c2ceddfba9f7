"""Feature engine: registry rules, morphometry on neurons of known geometry, spines, synapses, NEURD E/I
features, perisomatic measures and depth, missing-input handling, and real-data checks."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import trimesh

import neurd_lite as nl
from neurd_lite.errors import InputError
from neurd_lite.feature import REGISTRY, branch_features, features
from neurd_lite.geometry.depth import linear_depth_um
from neurd_lite.feature.perisomatic import body_measures, fold_area_nm2, sphericity_index
from neurd_lite.feature.registry import UNIT_SUFFIXES, Registry


# ---- small neurons built by hand ----------------------------------------------------------------------
def _polyline(verts: list, edges: list, start: int, direction, n: int, step_nm: float = 1000.0) -> int:
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    prev = start
    for _ in range(n):
        verts.append(np.asarray(verts[prev]) + d * step_nm)
        edges.append((prev, len(verts) - 1))
        prev = len(verts) - 1
    return prev


def _limb(verts: list, edges: list, direction, n: int, stem_nm: float = 5000.0) -> int:
    """A limb leaving the soma centre (vertex 0): a stem to the soma surface (inside the soma, not cable),
    then ``n`` 1 µm steps."""
    stem = _polyline(verts, edges, 0, direction, 1, stem_nm)
    return _polyline(verts, edges, stem, direction, n)


def toy_neuron(radius_nm: float = 300.0, labels: bool = False) -> nl.Neuron:
    """Soma (radius 5 µm) at the origin; an apical trunk 20 µm toward pia (-y) splitting into two 30 µm children
    at ±0.5 rad; a 40 µm basal branch toward white matter (+y). Total cable 120 µm outside the soma."""
    v: list = [np.zeros(3)]
    e: list = []
    trunk = _limb(v, e, [0, -1, 0], 20)
    _polyline(v, e, trunk, [np.sin(0.5), -np.cos(0.5), 0], 30)
    _polyline(v, e, trunk, [-np.sin(0.5), -np.cos(0.5), 0], 30)
    _limb(v, e, [0, 1, 0], 40)
    sk = nl.Skeleton(np.array(v), np.array(e), radius=np.full(len(v), radius_nm))
    lab = None
    if labels:
        lab = np.array(["soma"] + ["apical_shaft"] * 21 + ["apical_tuft"] * 60 + ["basal"] * 41, dtype=object)
    return nl.Neuron(name="toy", skeleton=sk, somas=[nl.Soma([0, 0, 0], 5000.0)], skeleton_labels=lab)


def test_registry_names_units_and_expansion():
    names = [f.name for f in REGISTRY]
    assert len(names) == len(set(names))
    for f in REGISTRY:
        assert f.definition and f.level in ("branch", "compartment", "neuron")
        suffix = UNIT_SUFFIXES.get(f.unit)
        if suffix:
            assert f.name.endswith(suffix), f.name
    cols = REGISTRY.columns()
    assert len(cols) == len(set(cols))
    assert {"basal_cable_length_um", "apical_cable_length_um", "dendrite_all_cable_length_um", "cable_length_um",
            "axon_n_branches"} <= set(cols)
    perisomatic = ["soma_volume_um3", "soma_area_um2", "soma_area_to_volume_per_um", "soma_n_processes",
                   "soma_n_synapses", "soma_synapse_density_per_um2", "nucleus_volume_um3", "nucleus_area_um2",
                   "nucleus_area_to_volume_per_um", "nucleus_fold_area_um2", "nucleus_fraction_folded",
                   "cortical_depth_um", "soma_x_nm", "soma_y_nm", "soma_z_nm"]
    ei = ["neurd_syn_density_post_per_um", "neurd_syn_density_head_per_um", "neurd_syn_density_neck_per_um",
          "neurd_syn_density_shaft_per_um", "neurd_spine_density_per_um"]
    assert set(perisomatic + ei) <= set(cols)
    reg = Registry()
    with pytest.raises(ValueError, match="must end with"):
        reg.register("cable_length", "neuron", "um", "x", "t")(lambda c: 0)
    with pytest.raises(ValueError, match="level"):
        reg.register("x_um", "cell", "um", "x", "t")(lambda c: 0)


def test_toy_morphometry_exact():
    df = features(toy_neuron())
    r = df.iloc[0]
    assert df.index.tolist() == ["toy"]
    assert r["cable_length_um"] == pytest.approx(120.0)
    assert r["n_branches"] == 4 and r["n_tips"] == 3
    assert r["max_strahler_order"] == 2 and r["max_branch_order"] == 1
    assert r["bifurcation_angle_mean_deg"] == pytest.approx(np.degrees(1.0), abs=1e-6)
    assert r["max_path_length_um"] == pytest.approx(55.0)  # path from the soma centre
    assert r["extent_pia_um"] == pytest.approx(25 + 30 * np.cos(0.5))
    assert r["extent_white_matter_um"] == pytest.approx(45.0)
    assert r["extent_lateral_um"] == pytest.approx(30 * np.sin(0.5))
    assert r["sholl_25um_crossings"] == 2 and r["sholl_50um_crossings"] == 2 and r["sholl_100um_crossings"] == 0
    assert r["width_median_um"] == pytest.approx(0.6)
    assert r["volume_um3"] == pytest.approx(np.pi * 0.3**2 * 120.0)
    # no compartment labels, spines, synapses, mesh: NaN with a reason, never 0
    miss = df.attrs["missing"]
    for col in ("basal_cable_length_um", "n_spines", "n_synapses_post", "mesh_area_um2", "soma_volume_um3",
                "nucleus_volume_um3"):
        assert np.isnan(r[col]) and miss[col]
    assert "compartment" in miss["basal_cable_length_um"] and "spine" in miss["n_spines"]
    assert "cortical_depth_um" in miss  # origin is not a minnie65 position


def test_compartment_groups_and_graph_branches():
    n = toy_neuron(labels=True)
    r = features(n).iloc[0]
    assert r["apical_cable_length_um"] == pytest.approx(80.0)
    assert r["basal_cable_length_um"] == pytest.approx(40.0)
    assert r["dendrite_all_cable_length_um"] == pytest.approx(120.0)
    assert r["axon_cable_length_um"] == 0 and r["axon_n_branches"] == 0
    assert r["apical_n_branches"] == 3 and r["apical_max_strahler_order"] == 2
    # the same tree given as an n.graph (other stages' convention) gives the same numbers
    g = nx.DiGraph()
    g.add_node("soma_0", kind="soma")
    spans = {0: (1, 22, "apical_shaft", -1), 1: (22, 52, "apical_tuft", 0), 2: (52, 82, "apical_tuft", 0),
             3: (82, 123, "basal", -1)}
    for b, (lo, hi, comp, par) in spans.items():
        g.add_node(b, kind="branch", limb=0 if b < 3 else 1, skeleton_vertices=np.arange(lo, hi),
                   length_nm=(hi - lo - (par < 0)) * 1000.0, compartment=comp)
        g.add_edge("soma_0" if par < 0 else par, b)
    n.graph = g
    r2 = features(n).iloc[0]
    for col in ("apical_cable_length_um", "apical_max_strahler_order", "apical_bifurcation_angle_mean_deg",
                "n_tips", "basal_branch_length_mean_um"):
        assert r2[col] == pytest.approx(r[col]), col
    assert r2["soma_n_processes"] == 2
    bf = branch_features(n)
    assert list(bf.index) == [0, 1, 2, 3]
    assert bf.loc[0, "strahler_order"] == 2 and bf.loc[1, "strahler_order"] == 1
    assert bf.loc[1, "distance_to_soma_um"] == pytest.approx(25.0)
    assert bf.loc[0, "bifurcation_angle_deg"] == pytest.approx(np.degrees(1.0))
    assert np.isnan(bf.loc[1, "bifurcation_angle_deg"])


def test_swc_types_give_compartments():
    n = toy_neuron()
    n.skeleton.vertex_properties["swc_type"] = np.array([1] + [4] * 81 + [3] * 41)
    df = features(n)
    assert df.iloc[0]["apical_cable_length_um"] == pytest.approx(80.0)
    assert df.iloc[0]["basal_cable_length_um"] == pytest.approx(40.0)
    assert "compartments" in df.attrs["notes"]


def test_strahler_of_unbalanced_tree():
    from neurd_lite.feature.context import _strahler

    # 0 -> (1, 2); 1 -> (3, 4); 3 -> (5, 6): the order rises only where equal orders meet
    parent = pd.Series({0: -1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 3, 6: 3})
    assert _strahler(parent).to_dict() == {0: 2, 1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1}
    balanced = pd.Series({0: -1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2})
    assert _strahler(balanced)[0] == 3


def _thin_thick_neuron() -> nl.Neuron:
    """Three straight limbs of 150 µm: a thin one (radius 300 nm, inside NEURD's 140-520 nm window) toward pia, a
    thick one (radius 1.1 µm) toward white matter and a thin mostly presynaptic one along x, with spines and
    synapses at known places."""
    v: list = [np.zeros(3)]
    e: list = []
    _limb(v, e, [0, -1, 0], 150)
    _limb(v, e, [0, 1, 0], 150)
    _limb(v, e, [1, 0, 0], 150)  # thin but mostly presynaptic: NEURD drops it as likely axon
    radius = np.r_[0.0, np.full(151, 300.0), np.full(151, 1100.0), np.full(151, 300.0)]
    sk = nl.Skeleton(np.array(v), np.array(e), radius=radius)
    lab = np.array(["soma"] + ["basal"] * 453, dtype=object)
    thin_y = -np.arange(6, 126) * 1000.0  # 120 synapses along the thin limb
    thick_y = np.arange(6, 36) * 1000.0   # 30 on the thick one
    y = np.r_[thin_y, thick_y]
    target = np.r_[np.repeat(["spine_head", "spine_neck", "shaft"], [60, 15, 45]), ["shaft"] * 30]
    syn = pd.DataFrame({"x_nm": 0.0, "y_nm": y, "z_nm": 0.0, "is_pre": False, "target": target})
    soma_syn = pd.DataFrame({"x_nm": 0.0, "y_nm": 0.0, "z_nm": 0.0, "is_pre": [False] * 5, "target": "soma"})
    x_syn = pd.DataFrame({"x_nm": np.arange(6, 18) * 1000.0, "y_nm": 0.0, "z_nm": 0.0,
                          "is_pre": [True] * 9 + [False] * 3, "target": ["axon"] * 9 + ["shaft"] * 3})
    syn = pd.concat([syn, soma_syn, x_syn], ignore_index=True)
    spines = pd.DataFrame({"spine_id": np.arange(90), "x_nm": 0.0, "y_nm": -np.linspace(6e3, 154e3, 90),
                           "z_nm": 0.0, "volume_nm3": 1e8})
    return nl.Neuron(name="ei", skeleton=sk, somas=[nl.Soma([0, 0, 0], 5000.0)], skeleton_labels=lab,
                     synapses=syn, spines=spines)


def test_neurd_ei_features_use_the_thin_proximal_dendrite():
    df = features(_thin_thick_neuron())
    r = df.iloc[0]
    assert r["neurd_skeletal_length_syn_um"] == pytest.approx(150.0)  # the thin limb starts at the soma
    assert r["neurd_skeletal_length_spine_um"] == pytest.approx(150.0)
    assert r["neurd_syn_density_post_per_um"] == pytest.approx(120 / 150)
    assert r["neurd_syn_density_head_per_um"] == pytest.approx(60 / 150)
    assert r["neurd_syn_density_neck_per_um"] == pytest.approx(15 / 150)
    assert r["neurd_syn_density_shaft_per_um"] == pytest.approx(45 / 150)
    assert r["neurd_spine_density_per_um"] == pytest.approx(90 / 150)
    # whole-compartment densities count both limbs
    assert r["basal_syn_density_post_per_um"] == pytest.approx(153 / 450)
    assert r["basal_spine_density_per_um"] == pytest.approx(90 / 450)
    assert r["basal_spine_volume_density_um3_per_um"] == pytest.approx(90 * 0.1 / 450)
    assert r["soma_n_synapses"] == 5 and r["n_synapses_post"] == 158 and r["n_synapses_pre"] == 9


def test_empty_spine_table_with_columns_is_a_real_zero():
    n = toy_neuron(labels=True)
    n.spines = pd.DataFrame({"spine_id": pd.Series([], dtype=int), "x_nm": pd.Series([], dtype=float),
                             "y_nm": pd.Series([], dtype=float), "z_nm": pd.Series([], dtype=float)})
    r = features(n).iloc[0]
    assert r["n_spines"] == 0 and r["basal_spine_density_per_um"] == 0.0


def test_bad_inputs_raise_clear_errors_or_nan():
    with pytest.raises(InputError, match="Neuron"):
        features("not a neuron")
    with pytest.raises(InputError, match="up"):
        features(toy_neuron(), up=(0, 0, 0))
    empty = nl.Neuron(name="empty")
    df = features(empty)
    assert df.isna().all(axis=None)
    assert df.attrs["missing"]["cable_length_um"] == "neuron has no skeleton"
    bf = branch_features(empty)
    assert len(bf) == 0 and "no skeleton" in bf.attrs["missing"]["length_um"]
    with pytest.raises(InputError, match="nucleus"):
        features(toy_neuron(), nucleus="mesh.ply")


def test_closed_body_measures_on_open_sphere():
    sphere = trimesh.creation.icosphere(4, radius=5000.0)
    c = sphere.triangles_center
    holed = sphere.submesh([np.flatnonzero((c[:, 2] < 4500) & (c[:, 0] < 4000))], append=True)
    m = body_measures(holed)
    R, caps = 5000.0, (500.0, 1000.0)  # cut-off spherical caps of these heights are replaced by flat discs
    volume = 4 / 3 * np.pi * R**3 - sum(np.pi * h * h * (3 * R - h) / 3 for h in caps)
    area = 4 * np.pi * R**2 - sum(2 * np.pi * R * h - np.pi * (2 * R * h - h * h) for h in caps)
    assert m["volume_nm3"] == pytest.approx(volume, rel=0.02)
    assert m["area_nm2"] == pytest.approx(area, rel=0.02)
    # a badly wound copy goes through the voxel fill and lands close too
    flipped = holed.copy()
    flipped.faces[::2] = flipped.faces[::2, ::-1]
    assert body_measures(flipped)["volume_nm3"] == pytest.approx(volume, rel=0.04)
    assert len(m["opening_perimeters_nm"]) == 2
    assert sphericity_index(sphere.area, sphere.volume) == pytest.approx(1.0, abs=0.01)
    assert fold_area_nm2(sphere) == 0.0


def test_fold_area_finds_an_infolding():
    sphere = trimesh.creation.icosphere(4, radius=5000.0)
    v = sphere.vertices.copy()
    cap = v[:, 2] > 4000  # push a polar cap 1.5 µm inward: a fold
    v[cap] *= (1 - 1500.0 / 5000.0)
    dented = trimesh.Trimesh(v, sphere.faces, process=False)
    fold = fold_area_nm2(dented)
    assert 0 < fold < dented.area * 0.2


def test_soma_and_nucleus_features_on_a_mesh():
    sphere = trimesh.creation.icosphere(3, radius=6000.0)
    n = nl.Neuron(name="soma_only", mesh=sphere, somas=[nl.Soma([0, 0, 0], 6000.0,
                                                                  faces=np.arange(len(sphere.faces)))])
    nucleus = trimesh.creation.icosphere(3, radius=4000.0)
    r = features(n, nucleus=(nucleus.vertices, nucleus.faces)).iloc[0]
    assert r["soma_volume_um3"] == pytest.approx(sphere.volume / 1e9, rel=1e-6)
    assert r["soma_area_to_volume_per_um"] == pytest.approx(3 / 6.0, rel=0.02)
    assert r["soma_area_to_volume_index"] == pytest.approx(1.0, abs=0.02)
    assert r["nucleus_volume_um3"] == pytest.approx(nucleus.volume / 1e9, rel=1e-6)
    assert r["nucleus_fraction_folded"] == 0.0
    assert r["soma_n_processes"] == 0  # closed sphere: no openings


def test_linear_depth_matches_rotation():
    p = np.array([[0.0, 419.99e3, 0.0], [1e6, 0.0, 5e5]])
    d = linear_depth_um(p)
    assert d[0] == pytest.approx(419.99 * np.cos(np.radians(5)) - 419.99)
    assert d[1] == pytest.approx(1e3 * np.sin(np.radians(5)) - 419.99)
    with pytest.raises(InputError):
        linear_depth_um(np.ones((2, 2)))
    from neurd_lite.geometry.depth import cortical_depth_um

    with pytest.raises(InputError, match="method"):
        cortical_depth_um(p, method="atlas")


# ---- synthetic neurons with known truth ---------------------------------------------------------------
@pytest.fixture(scope="module", params=[("pyramidal", 3), ("interneuron", 0)], ids=["pyramidal", "interneuron"])
def synthetic(request):
    from neurd_lite.testing.synthetic import make_neuron

    kind, seed = request.param
    sn = make_neuron(kind, seed=seed, union=False)
    sk = sn.skeleton
    soma_faces = np.flatnonzero(np.asarray(sn.face_compartment).astype(str) == "soma")
    n = nl.Neuron(name="synthetic", mesh=sn.mesh, skeleton=sk,
                  somas=[nl.Soma(sn.truth["soma_center_nm"], sn.truth["soma_radius_nm"], faces=soma_faces)],
                  skeleton_labels=sk.vertex_properties["compartment"].astype(object), face_labels=sn.face_labels,
                  face_compartment=sn.face_compartment, face_spine=sn.face_spine, spines=sn.spines,
                  synapses=sn.synapses)
    return sn, n, features(n)


@pytest.mark.slow
def test_synthetic_truth(synthetic):
    sn, n, df = synthetic
    r, truth = df.iloc[0], sn.truth
    cable = truth["cable_length_nm"]
    groups = {"basal": ["basal"], "apical": ["apical_shaft", "apical_tuft", "oblique"], "axon": ["axon"],
              "dendrite_all": ["basal", "apical_shaft", "apical_tuft", "oblique", "dendrite"]}
    if sn.kind == "interneuron":
        groups = {"axon": ["axon"], "dendrite_all": ["dendrite"]}
    for g, comps in groups.items():
        true_um = sum(cable.get(c, 0.0) for c in comps) / 1000.0
        assert r[f"{g}_cable_length_um"] == pytest.approx(true_um, rel=0.05), g
    assert r["cable_length_um"] == pytest.approx((cable["total"] - cable["soma"]) / 1000.0, rel=0.05)
    assert r["max_strahler_order"] == truth["strahler_order"]
    assert r["n_branches"] == truth["n_branches"] and r["n_tips"] == truth["n_tips"]
    dens = truth["spine_density_per_um"]
    assert r["dendrite_all_spine_density_per_um"] == pytest.approx(dens["all_dendrite"], rel=0.10)
    # the spine table's own compartment column is not needed: placing spines by position gives the same
    n2 = nl.Neuron(name="s2", skeleton=n.skeleton, skeleton_labels=n.skeleton_labels,
                   somas=n.somas, spines=sn.spines.drop(columns=["compartment"]))
    r2 = features(n2).iloc[0]
    assert r2["dendrite_all_spine_density_per_um"] == pytest.approx(dens["all_dendrite"], rel=0.10)
    if sn.kind == "pyramidal":
        assert r["basal_spine_density_per_um"] == pytest.approx(dens["basal"], rel=0.10)
        assert r2["basal_spine_density_per_um"] == pytest.approx(dens["basal"], rel=0.10)
    assert r["soma_volume_um3"] == pytest.approx(4 / 3 * np.pi * (truth["soma_radius_nm"] / 1000) ** 3, rel=0.03)
    # mesh widths (spine faces excluded) against the true tube radii, cable-weighted medians
    from neurd_lite.feature.context import FeatureContext
    from neurd_lite.geometry.stats import weighted_quantile

    el = FeatureContext(n).edge_length_to_parent_nm
    sk_labels = n.skeleton.vertex_properties["compartment"]
    for g, comps in groups.items():
        m = np.isin(sk_labels, comps)
        true_um = 2 * weighted_quantile(n.skeleton.radius[m], el[m], 0.5) / 1000.0
        assert r[f"{g}_width_median_um"] == pytest.approx(true_um, rel=0.10), g
    # synapse counts by target agree with the truth table
    by_target = truth["n_synapses_by_target"]
    assert r["soma_n_synapses"] == by_target.get("soma", 0)
    assert 0.95 < r["soma_area_to_volume_index"] < 1.3  # an ellipsoid
    assert not any(k.startswith(("cable", "basal_cable", "n_spines")) for k in df.attrs["missing"])


@pytest.fixture(scope="module")
def unioned():
    """A synthetic pyramidal cell with a single unioned surface (the soma is open where processes leave)."""
    from neurd_lite.testing.synthetic import make_neuron

    return make_neuron("pyramidal", seed=3, union=True)


@pytest.mark.slow
def test_soma_volume_of_a_unioned_synthetic_cell(unioned):
    """Capping the soma piece's openings recovers its volume."""
    from neurd_lite.feature.perisomatic import body_measures

    sn = unioned
    soma = sn.mesh.submesh([np.flatnonzero(np.asarray(sn.face_compartment).astype(str) == "soma")], append=True)
    m = body_measures(soma)
    assert not soma.is_watertight and len(m["opening_perimeters_nm"]) >= 3
    assert m["volume_nm3"] == pytest.approx(4 / 3 * np.pi * sn.truth["soma_radius_nm"] ** 3, rel=0.03)


@pytest.mark.slow
def test_spine_density_from_detected_spines(unioned):
    """Spines found by the spine stage on the mesh give the true density within 10 %."""
    detect_spines = pytest.importorskip("neurd_lite.spines.detect").detect_spines
    sn = unioned
    sk = sn.skeleton
    n = nl.Neuron(name="detected", mesh=sn.mesh, skeleton=sk,
                  somas=[nl.Soma(sn.truth["soma_center_nm"], sn.truth["soma_radius_nm"],
                                 faces=np.flatnonzero(np.asarray(sn.face_compartment).astype(str) == "soma"))],
                  skeleton_labels=sk.vertex_properties["compartment"].astype(object),
                  face_compartment=np.asarray(sn.face_compartment).copy())
    detect_spines(n)
    r = features(n).iloc[0]
    assert r["dendrite_all_spine_density_per_um"] == pytest.approx(
        sn.truth["spine_density_per_um"]["all_dendrite"], rel=0.10)


# ---- real data ----------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_soma_0_against_neurd_and_table(real):
    mesh = trimesh.load(real("meshes/microns_864691135510518224/soma_0.ply"), process=False)
    m = body_measures(mesh)
    hull = mesh.convex_hull.volume
    assert 0.6 * hull < m["volume_nm3"] <= hull  # a cell body is nearly but not quite convex
    assert m["open_area_nm2"] / 1e6 == pytest.approx(341.07, rel=1e-3)  # NEURD's max_soma_area
    assert m["area_nm2"] >= m["open_area_nm2"]
    table = pd.read_csv(real("labels/microns_perisomatic_features_v83.csv.gz"),
                        usecols=["soma_volume", "soma_area"])
    lo, hi = np.percentile(table["soma_volume"], [0.1, 99.9])
    assert lo < m["volume_nm3"] < hi


@pytest.mark.realdata
def test_nucleus_candidate_sheet_is_not_measured_as_a_body(real):
    z = np.load(real("meshes/microns_864691135510518224/nucleus_candidate_meshes.npz"))
    df = features(nl.Neuron(name="x"), nucleus=(z["nucleus_candidate_0_vertices"], z["nucleus_candidate_0_faces"]))
    assert np.isnan(df.iloc[0]["nucleus_volume_um3"])
    assert "does not enclose a body" in df.attrs["missing"]["nucleus_volume_um3"]


@pytest.mark.realdata
@pytest.mark.slow
def test_linear_depth_reproduces_table_depth(real):
    table = pd.read_csv(real("labels/microns_perisomatic_features_v83.csv.gz"),
                        usecols=["soma_x", "soma_y", "soma_z", "yr_um_translated"])
    err = linear_depth_um(table[["soma_x", "soma_y", "soma_z"]].to_numpy()) - table["yr_um_translated"].to_numpy()
    assert np.median(np.abs(err)) < 1.0 and np.percentile(np.abs(err), 99) < 3.0


def test_cut_ends_of_a_cropped_piece_are_not_tips():
    """A plain tube cut open at both ends: one branch between the cuts and no tips; a tube with rounded ends
    keeps its tips."""
    from neurd_lite.pipeline import PipelineParams

    def fine(m):
        return trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(m.vertices, m.faces, 150.0))

    closed = fine(trimesh.creation.cylinder(radius=450.0, height=4000.0, sections=24))
    keep = np.abs(closed.triangles_center[:, 2]) < 1950.0
    tube = trimesh.Trimesh(closed.vertices, closed.faces[keep], process=False)
    tube.remove_unreferenced_vertices()
    p = PipelineParams(skip=("spines",))
    cut = features(nl.decompose(tube, params=p))
    capped = features(nl.decompose(closed, params=p))  # flat caps are cut ends too
    rounded = features(nl.decompose(fine(trimesh.creation.capsule(radius=450.0, height=4000.0)), params=p))
    for df in (cut, capped):
        assert df["n_tips"].iloc[0] == 0 and df["cable_length_um"].iloc[0] == pytest.approx(4.0, abs=0.5)
    assert rounded["n_tips"].iloc[0] >= 1


def test_far_synapses_are_not_counted():
    """Synapses marked is_far (too far from the mesh to be this neuron's) count in n_syn_far only."""
    n = _thin_thick_neuron()
    syn = n.synapses.assign(is_far=False)
    far = pd.DataFrame({"x_nm": 0.0, "y_nm": -np.arange(6, 46) * 1000.0, "z_nm": 5e5,
                        "is_pre": [True] * 10 + [False] * 30, "target": "unknown", "is_far": True})
    n.synapses = pd.concat([syn, far], ignore_index=True)
    r = features(n).iloc[0]
    assert r["n_syn_far"] == 40
    assert r["n_synapses_post"] == 158 and r["n_synapses_pre"] == 9
    assert r["n_syn_post"] == 153 and r["n_syn_pre"] == 9
    assert r["basal_syn_density_post_per_um"] == pytest.approx(153 / 450)
    assert r["neurd_syn_density_post_per_um"] == pytest.approx(120 / 150)
    n.synapses = far
    df = features(n)
    assert df.iloc[0]["n_syn_far"] == 40 and np.isnan(df.iloc[0]["n_syn_post"])
    assert "all 40 synapses" in df.attrs["missing"]["neurd_syn_density_post_per_um"]
    assert "is_far" in df.attrs["missing"]["n_synapses_pre"]

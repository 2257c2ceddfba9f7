"""Splitting merged cells and merge-error flags (neurd_lite.proofread)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurd_lite as nl
from neurd_lite.neuron import Neuron, Soma
from neurd_lite.pipeline import PipelineParams
from neurd_lite.proofread import (NEITHER, SplitParams, face_owner, find_cuts, flag_merge_errors, merge_flags,
                                  path_scores)
from neurd_lite.skeleton.graph import build_branch_graph
from neurd_lite.skeleton.model import Skeleton


def _polyline(a, b, step=500.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    k = max(int(np.linalg.norm(b - a) // step), 1)
    return a + (b - a) * np.linspace(0, 1, k + 1)[:, None]


def _crossing_skeleton():
    """Two cells whose dendrites cross at right angles at the origin: cell A's soma at (-40 µm, 0, 0), its
    dendrite running along +x to (40 µm, 0, 0); cell B's soma at (0, -40 µm, 0), its dendrite along +y. Radii
    taper away from each soma. Returns the skeleton (nm, rooted at soma A), the somas and each vertex's cell."""
    pts, edges, cell, rad = [np.zeros(3)], [], [-1], [500.0]  # vertex 0: the crossing

    def add(a, b, c, r0, r1, join_first=False, join_last=False):
        line = _polyline(a, b)
        start = len(pts)
        for i, p in enumerate(line):
            pts.append(p)
            cell.append(c)
            rad.append(r0 + (r1 - r0) * i / max(len(line) - 1, 1))
            if i:
                edges.append((start + i - 1, start + i))
        if join_first:
            edges.append((0, start))
        if join_last:
            edges.append((start + len(line) - 1, 0))
        return start

    root = add((-40e3, 0, 0), (-500, 0, 0), 0, 1200.0, 500.0, join_last=True)
    add((500, 0, 0), (40e3, 0, 0), 0, 480.0, 300.0, join_first=True)
    add((0, -40e3, 0), (0, -500, 0), 1, 1200.0, 500.0, join_last=True)
    add((0, 500, 0), (0, 40e3, 0), 1, 480.0, 300.0, join_first=True)
    sk = Skeleton(np.asarray(pts), np.asarray(edges), np.asarray(rad), root=root)
    somas = [Soma((-40e3, 0, 0), 6000.0), Soma((0, -40e3, 0), 6000.0)]
    return sk, somas, np.asarray(cell)


def _neuron_from_skeleton(sk, somas):
    g, vb = build_branch_graph(sk, somas)
    return Neuron(name="crossing", skeleton=sk, somas=somas, graph=g)


def test_crossing_cut_pairs_branches_by_continuity():
    sk, somas, cell = _crossing_skeleton()
    n = _neuron_from_skeleton(sk, somas)
    owner, cuts = find_cuts(n)
    assert len(cuts) == 1 and cuts[0]["applied"]
    # the cut is at the crossing (within 2.5 µm), and each distal dendrite goes with the cell it continues
    assert np.linalg.norm(cuts[0]["position_nm"]) < 2500.0
    far = np.linalg.norm(sk.vertices, axis=1) > 3000.0
    assert np.mean(owner[far] == cell[far]) == 1.0
    assert not np.any(owner == NEITHER)


def test_path_scores_prefer_a_thin_turning_junction():
    x = np.vstack([_polyline((0, 0, 0), (20e3, 0, 0)), _polyline((20e3, 500, 0), (20e3, 20e3, 0))])
    r = np.concatenate([np.linspace(1500, 400, 41), np.linspace(400, 1500, len(x) - 41)])
    junction = np.zeros(len(x), bool)
    junction[40] = True
    sc = path_scores(x, r, np.zeros(len(x), bool), junction, (x[0], 5000.0), (x[-1], 5000.0), SplitParams())
    assert abs(int(np.argmax(sc["score"])) - 40) <= 2
    assert sc["prior"][:10].sum() == 0  # no cut inside a soma


def test_single_soma_neuron_is_never_cut():
    sk, somas, cell = _crossing_skeleton()
    n = _neuron_from_skeleton(sk, somas[:1])
    owner, cuts = find_cuts(n)
    assert cuts == [] and np.all(owner == 0)
    out = nl.split(n)
    assert len(out) == 1 and out[0] is n and out.report["cuts"] == []


def test_flags_dendrite_on_axon_axon_on_dendrite_and_dendrite_outputs():
    sk, somas, cell = _crossing_skeleton()
    n = _neuron_from_skeleton(sk, somas[:1])
    branches = n.branch_nodes
    for b in branches:
        n.graph.nodes[b]["compartment"] = "basal"
    first = [b for b in branches if n.graph.has_edge("soma_0", b)][0]
    n.graph.nodes[first]["compartment"] = "axon"
    n.synapses = pd.DataFrame({"x_nm": [0.0] * 4, "y_nm": 0.0, "z_nm": 0.0, "is_pre": [True, True, True, False],
                               "branch": [branches[-1]] * 4})
    kinds = {f["flag"] for f in merge_flags(n)}
    assert {"merge_dendrite_on_axon", "merge_dendrite_outputs"} <= kinds
    assert "merge_axon_on_dendrite" not in kinds
    flag_merge_errors(n)
    assert any(f.startswith("merge_dendrite_on_axon: ") for f in n.flags)
    # an axon leaving a dendrite 40 µm out is another cell's axon
    for b in branches:
        n.graph.nodes[b]["compartment"] = "basal"
    far = [b for b in branches if n.skeleton.distance_to_root_nm[n.graph.nodes[b]["skeleton_vertices"][0]] > 35e3]
    n.graph.nodes[far[0]]["compartment"] = "axon"
    assert "merge_axon_on_dendrite" in {f["flag"] for f in merge_flags(n)}


def _small_merge():
    from neurd_lite.testing.touching import merge_cells
    from neurd_lite.testing.synthetic import make_neuron

    cells = [make_neuron("interneuron", seed=s, target_faces=8000, spine_density_per_um=0.5, with_axon=False)
             for s in (3, 4)]
    return merge_cells(cells, contact="dendrite", seed=1)


def test_small_synthetic_merge_cut_assigns_faces(small_merge_decomposed):
    """Fast: the cut and the face owners on a small 2-cell merge, without rebuilding the cells."""
    m, n = small_merge_decomposed()  # _small_merge() decomposed without spines and compartments (conftest)
    out = nl.split(n, rebuild=False)
    assert len(out.report["cuts"]) == 1 and out.report["cuts"][0]["applied"]
    owner = face_owner(n, find_cuts(n)[0])
    truth = [int(np.argmin(np.linalg.norm(m.soma_centers_nm - s.center_nm, axis=1))) for s in n.somas]
    pred = np.where(owner >= 0, np.asarray(truth)[np.maximum(owner, 0)], -1)
    for t in (0, 1):
        assert np.mean(pred[m.face_cell == t] == t) >= 0.95
        assert np.mean(m.face_cell[pred == t] == t) >= 0.95


@pytest.mark.slow
def test_split_small_synthetic_merge(tmp_path):
    m = _small_merge()
    syn = m.synapses[["x_nm", "y_nm", "z_nm", "is_pre"]]
    cells = nl.decompose((m.mesh.vertices, m.mesh.faces), synapses=syn, split=True,
                         params=PipelineParams(skip=("spines",)))
    assert len(cells) == 2 and len(cells.report["cuts"]) == 1
    truth = [int(np.argmin(np.linalg.norm(m.soma_centers_nm - c.somas[0].center_nm, axis=1))) for c in cells]
    assert sorted(truth) == [0, 1]
    for c, t in zip(cells, truth):
        assert len(c.somas) == 1 and c.provenance["split"]["cuts"]
        assert c.n_faces == len(c.input_faces)
        np.testing.assert_allclose(c.mesh.vertices[c.mesh.faces[0]], m.mesh.vertices[m.mesh.faces[c.input_faces[0]]])
        assert np.mean(m.face_cell[c.input_faces] == t) >= 0.95  # faces it holds are its own
        assert np.mean(m.face_cell[c.input_faces] == t) * len(c.input_faces) >= 0.95 * np.sum(m.face_cell == t)
    back = nl.load(cells[0].save(tmp_path / "cell.h5"))
    np.testing.assert_array_equal(back.input_faces, cells[0].input_faces)
    # every synapse goes with exactly one cell (or is reported as in neither)
    assert sum(len(c.synapses) for c in cells) + cells.report["neither"]["synapses"] == len(syn)


def test_cut_flagged_removes_the_flagged_subtree_only_when_asked():
    from neurd_lite.proofread import cut_flagged
    from neurd_lite.testing.synthetic import make_neuron

    sn = make_neuron("interneuron", seed=5, target_faces=8000, spine_density_per_um=0.5, with_axon=False)
    p = PipelineParams(skip=("spines",))
    n = nl.decompose((sn.mesh.vertices, sn.mesh.faces), params=p)
    for b in n.branch_nodes:  # labels of a clean dendritic cell (this one has no axon)
        n.graph.nodes[b]["compartment"] = "dendrite"
    assert cut_flagged(n, nl.decompose, pipeline_params=p) is n  # nothing flagged, nothing cut
    far = [b for b in n.branch_nodes if n.skeleton.distance_to_root_nm[n.graph.nodes[b]["skeleton_vertices"][0]] > 35e3
           and any(n.graph.nodes[q].get("kind") == "branch" for q in n.graph.predecessors(b))]
    b = far[0]
    n.graph.nodes[b]["compartment"] = "axon"  # an axon leaving a dendrite 35 µm out: another cell's
    out = cut_flagged(n, nl.decompose, pipeline_params=p)
    gone = np.flatnonzero(np.asarray(n.face_branch) == b)
    assert len(gone) and not np.isin(gone, out.input_faces).any()
    assert out.n_faces == n.n_faces - out.provenance["cut_flagged"]["faces_removed"]
    with pytest.raises(ValueError):
        cut_flagged(n, nl.decompose, kinds=("merge_multiple_axons",))


def test_single_synthetic_cell_is_not_split():
    from neurd_lite.testing.synthetic import make_neuron

    sn = make_neuron("interneuron", seed=5, target_faces=8000, spine_density_per_um=0.5)
    out = nl.decompose((sn.mesh.vertices, sn.mesh.faces), split=True, params=PipelineParams(skip=("spines",)))
    assert len(out) == 1 and out.report["cuts"] == []


@pytest.mark.realdata
@pytest.mark.slow
def test_real_two_soma_cell_splits_in_two(microns_cell_paths):
    cells = nl.decompose(microns_cell_paths["mesh"], synapses=microns_cell_paths["synapses"], split=True)
    assert len(cells) == 2
    cut = cells.report["cuts"][0]
    assert cut["applied"] and min(cut["from_soma_nm"]) > 3000.0
    total = sum(c.n_faces for c in cells) + cells.report["neither"]["faces"]
    assert total == len(cells.merged.mesh.faces)
    assert all(len(c.somas) == 1 for c in cells)
    assert sum(len(c.synapses) for c in cells) + cells.report["neither"]["synapses"] == 965


def _fork_skeleton():
    """A soma at the origin with three processes (nm): a 20 µm trunk along +x that forks into a child three times
    thicker (along +x) and a child that turns straight back (along -x, 0.5 µm aside), plus two separate 15 µm
    processes along +y and -y."""
    pts, edges, rad = [np.zeros(3)], [], [6000.0]

    def add(a, b, r, parent):
        line = _polyline(a, b)[1:]
        start = len(pts)
        for i, p in enumerate(line):
            pts.append(p)
            rad.append(r)
            edges.append((parent if i == 0 else start + i - 1, start + i))
        return len(pts) - 1

    end = add((0, 0, 0), (20e3, 0, 0), 300.0, 0)
    add((20e3, 0, 0), (40e3, 0, 0), 900.0, end)
    add((20e3, 0, 0), (20e3 - 200, 500, 0), 250.0, end)
    back = len(pts) - 1
    add((20e3 - 200, 500, 0), (2e3, 500, 0), 250.0, back)
    add((0, 0, 0), (0, 15e3, 0), 200.0, 0)
    add((0, 0, 0), (0, -15e3, 0), 200.0, 0)
    sk = Skeleton(np.asarray(pts), np.asarray(edges), np.asarray(rad), root=0)
    return _neuron_from_skeleton(sk, [Soma((0, 0, 0), 3000.0)])


def test_flags_width_jump_direction_jump_and_two_axons():
    n = _fork_skeleton()
    for b in n.branch_nodes:
        n.graph.nodes[b]["compartment"] = "dendrite"
    kinds = {f["flag"] for f in merge_flags(n)}
    assert {"merge_width_jump", "merge_direction_jump"} <= kinds
    assert "merge_multiple_axons" not in kinds
    vertical = [b for b in n.branch_nodes if abs(n.skeleton.vertices[n.graph.nodes[b]["skeleton_vertices"][-1]][1])
                > 10e3]
    assert len(vertical) == 2
    for b in vertical:
        n.graph.nodes[b]["compartment"] = "axon"
    found = [f for f in merge_flags(n) if f["flag"] == "merge_multiple_axons"]
    assert len(found) == 1 and sorted(found[0]["branch"]) == sorted(vertical)
    # a clean fork (children thinner, no turn back) raises neither jump
    from neurd_lite.proofread import FlagParams
    assert not {"merge_width_jump", "merge_direction_jump"} & {f["flag"] for f in merge_flags(
        n, FlagParams(width_ratio=4.0, max_turn_deg=179.9))}


def test_crossing_traced_as_two_branch_points_keeps_each_arm_with_its_cell():
    """Cell B's neurite crosses cell A's dendrite, but the skeleton joins its distal arm to A's dendrite 3 µm
    before the crossing (two branch points): the arm still goes with B, which it continues."""
    sk0, somas, cell0 = _crossing_skeleton()
    x = sk0.vertices.copy()
    arm = (cell0 == 1) & (x[:, 1] > 0)  # B's distal dendrite, along +y from the crossing
    x[arm, 0] -= 3000.0
    first = np.flatnonzero(arm)[0]
    host = int(np.argmin(np.linalg.norm(x - np.array([-3000.0, 0.0, 0.0]), axis=1)))
    edges = np.array([(host if a == 0 and b == first else a, b) for a, b in sk0.edges])
    sk = Skeleton(x, edges, np.asarray(sk0.radius), root=sk0.root)
    n = _neuron_from_skeleton(sk, somas)
    owner, cuts = find_cuts(n)
    assert owner[arm].mean() == 1.0 and np.all(owner[cell0 == 0] == 0)
    owner0, _ = find_cuts(n, SplitParams(crossing_nm=0.0))  # without reaching the second branch point
    assert owner0[arm].mean() == 0.0


def test_own_axon_origin_is_not_scored_as_an_axon_dendrite_contact():
    """A path that leaves soma A through A's own axon (axon from 10 µm on) and meets B's dendrite 60 µm out: the
    axon's start near A is not an axon-dendrite change; the far end, where the axon meets B's dendrite, is."""
    x = _polyline((0, 0, 0), (100e3, 0, 0))
    s = x[:, 0]
    is_axon = (s > 10e3) & (s < 60e3)
    r = np.full(len(x), 300.0)
    args = (x, r, is_axon, np.zeros(len(x), bool), (x[0], 5000.0), (x[-1], 5000.0))
    own = path_scores(*args, SplitParams())["axon_change"]
    raw = path_scores(*args, SplitParams(axon_origin_nm=0.0))["axon_change"]
    start, meet = np.argmin(np.abs(s - 10e3)), np.argmin(np.abs(s - 60e3))
    assert raw[start] > 0.9 and own[start] == 0.0
    assert own[meet] > 0.9


def test_own_axon_origin_calibre_step_and_branch_point_are_quiet():
    """The hillock where A's own axon starts (10 µm out, calibre 1 µm -> 0.3 µm, a branch point there) is A's
    own structure: no calibre step and no junction score there; the same step where the axon meets B's dendrite
    still scores."""
    x = _polyline((0, 0, 0), (100e3, 0, 0))
    s = x[:, 0]
    is_axon = (s > 10e3) & (s < 60e3)
    r = np.where(is_axon, 300.0, 1000.0)
    junction = np.isclose(s, s[np.argmin(np.abs(s - 10e3))])
    args = (x, r, is_axon, junction, (x[0], 5000.0), (x[-1], 5000.0))
    quiet = path_scores(*args, SplitParams(rall_discount=0.0), branch_radius=r)  # the hillock alone, not Rall steps
    loud = path_scores(*args, SplitParams(origin_quiet=False, rall_discount=0.0), branch_radius=r)
    start, meet = np.argmin(np.abs(s - 10e3)), np.argmin(np.abs(s - 60e3))
    assert loud["branch_jump"][start] > 0.9 and loud["junction"][start] > 0.9
    assert quiet["branch_jump"][start] == 0.0 and quiet["junction"][start] == 0.0
    assert quiet["branch_jump"][meet] > 0.9 and quiet["score"][meet] > quiet["score"][start]


def test_outward_is_silent_on_a_path_running_straight_between_the_somata():
    """dA rises and dB falls everywhere on a straight path: no split explains the distances better than another,
    so ``outward`` gives 0 (not round-off rescaled to 0 / 1)."""
    x = _polyline((0, 0, 0), (100e3, 0, 0))
    args = (x, np.full(len(x), 300.0), np.zeros(len(x), bool), np.zeros(len(x), bool), (x[0], 5000.0),
            (x[-1], 5000.0))
    assert np.all(path_scores(*args, SplitParams())["outward"] == 0.0)
    bent = x.copy()
    bent[len(x) // 2:, 1] = (bent[len(x) // 2:, 0] - 50e3) * -1.0  # the far half turns back toward A's side
    out = path_scores(bent, *args[1:], SplitParams())["outward"]
    assert out.max() == 1.0


def test_synapse_change_finds_an_axon_dendrite_contact_the_labels_miss():
    """A's dendrite (input synapses, 0-60 µm) meets B's axon (output synapses, 60-125 µm), whose own start near B
    (input synapses 125-140 µm) is B's: the labels call the whole path axon (no ``axon_change``); the synapses
    put the cut at the contact and stay quiet at B's axon origin."""
    x = _polyline((0, 0, 0), (140e3, 0, 0))
    s = x[:, 0]
    pre = ((s > 60e3) & (s < 125e3) & (np.round(s / 500) % 8 == 0)).astype(float)  # a bouton every 4 µm
    post = (((s < 60e3) | (s > 125e3)) & (np.round(s / 500) % 4 == 0)).astype(float)
    args = (x, np.full(len(x), 300.0), np.ones(len(x), bool), np.zeros(len(x), bool), (x[0], 5000.0),
            (x[-1], 5000.0), SplitParams())
    sc = path_scores(*args, synapses=(pre, post))
    meet, origin = np.argmin(np.abs(s - 60e3)), np.argmin(np.abs(s - 125e3))
    assert sc["synapse_change"][meet] > 0.9 and sc["synapse_change"][origin] == 0.0
    assert abs(s[np.argmax(sc["score"])] - 60e3) <= 2500  # within a synapse spacing
    assert np.all(path_scores(*args)["synapse_change"] == 0.0)  # no synapses: no cue


def test_taper_reads_branch_calibres_not_the_noisy_vertex_radius():
    """Branch calibres fall from soma A to a contact 50 µm out and rise to soma B; the per-vertex radius jumps
    (spines, outliers). ``taper`` fitted to the branch radii peaks at the contact."""
    x = _polyline((0, 0, 0), (150e3, 0, 0))
    s = x[:, 0]
    branch = np.where(s < 50e3, 1500.0 - 15.0 * s / 1e3, 500.0 + 10.0 * (s - 50e3) / 1e3)
    branch = np.round(branch / 250.0) * 250.0  # piecewise constant, one value per branch
    noisy = branch * np.exp(np.random.default_rng(0).normal(0, 1.0, len(s)))
    args = (x, noisy, np.zeros(len(x), bool), np.zeros(len(x), bool), (x[0], 5000.0), (x[-1], 5000.0))
    taper = path_scores(*args, SplitParams(taper_on_branches=True), branch_radius=branch)["taper"]
    assert abs(s[np.argmax(taper)] - 50e3) <= 5000


def test_rall_step_at_a_cells_own_branch_point_is_not_a_contact():
    """Branch calibres 1000 nm (A's trunk) -> 500 nm (A's child, from 30 µm) -> 400 nm (B's dendrite, from 65 µm)
    -> 1000 nm (B's trunk, from 95 µm), a branch point at 30, 65 and 95 µm. The steps at 30 µm (thick side toward
    A, the nearer soma) and 95 µm (thick side toward B) are each cell's own branching; the step at 65 µm (thick
    side toward A while B is nearer) is not: with ``rall_discount`` the cut goes there, without it to an own branch point."""
    x = _polyline((0, 0, 0), (120e3, 0, 0))
    s = x[:, 0]
    br = np.select([s < 30e3, s < 65e3, s < 95e3], [1000.0, 500.0, 400.0], 1000.0)
    junction = np.zeros(len(s), bool)
    for at in (30e3, 65e3, 95e3):
        junction[np.argmin(np.abs(s - at))] = True
    args = (x, br, np.zeros(len(x), bool), junction, (x[0], 5000.0), (x[-1], 5000.0))
    on = path_scores(*args, SplitParams(), branch_radius=br)
    off = path_scores(*args, SplitParams(rall_discount=0.0, taper_on_branches=False), branch_radius=br)
    own_a, meet, own_b = (np.argmin(np.abs(s - t)) for t in (30e3, 65e3, 95e3))
    assert on["branch_jump"][own_a] == 0.0 and on["branch_jump"][own_b] == 0.0 and on["branch_jump"][meet] > 0.2
    assert abs(s[np.argmax(on["score"])] - 65e3) <= 2000
    assert abs(s[np.argmax(off["score"])] - 65e3) > 20000


def test_rall_discount_spares_an_axon_meeting_a_thicker_dendrite():
    """A's axon (300 nm, 0-60 µm) meets B's dendrite (1000 nm) 60 µm out, nearer B: thin to thick toward B looks
    like B's own branching, but the thin side is an axon, by its labels or (labels all dendrite) by its output
    synapses, so the step keeps its score; without ``rall_dendrites_only`` it would be discounted."""
    x = _polyline((0, 0, 0), (100e3, 0, 0))
    s = x[:, 0]
    br = np.where(s < 60e3, 300.0, 1000.0)
    meet = np.argmin(np.abs(s - 60e3))
    pre = ((s < 60e3) & (np.round(s / 500) % 8 == 0)).astype(float)
    post = ((s >= 60e3) & (np.round(s / 500) % 4 == 0)).astype(float)
    for is_axon, syn in ((s < 60e3, None), (np.zeros(len(s), bool), (pre, post))):
        args = (x, br, is_axon, np.zeros(len(s), bool), (x[0], 5000.0), (x[-1], 5000.0))
        kept = path_scores(*args, SplitParams(), branch_radius=br, synapses=syn)["branch_jump"]
        lost = path_scores(*args, SplitParams(rall_dendrites_only=False), branch_radius=br, synapses=syn)["branch_jump"]
        assert kept[meet] > 0.9 and lost[meet] == 0.0


def test_axon_own_discount_quiets_a_branch_point_inside_one_axon():
    """A's axon (300 nm, a branch point at 40 µm, 200 nm after it; output synapses) meets B's dendrite (inputs) at
    80 µm with no branch point, the whole path labelled axon (as merged objects often are). The axon's own branch
    point and calibre step win without ``axon_own_discount``; with it (labels and outputs both say axon on both
    sides there) the cut moves to the output/input change. With the labels all dendrite only one kind of evidence
    says axon and ``axon_own_by="both"`` changes nothing."""
    x = _polyline((0, 0, 0), (120e3, 0, 0))
    s = x[:, 0]
    br = np.where(s < 40e3, 300.0, 200.0)
    junction = np.zeros(len(s), bool)
    junction[np.argmin(np.abs(s - 40e3))] = True
    pre = ((s < 80e3) & (np.round(s / 500) % 8 == 0)).astype(float)
    post = ((s >= 80e3) & (np.round(s / 500) % 4 == 0)).astype(float)
    on_p = SplitParams(axon_own_discount=0.5, axon_own_by="both", polarity_gate=0.0)  # this cue alone
    for labels, moves in ((np.ones(len(s), bool), True), (np.zeros(len(s), bool), False)):
        args = (x, br, labels, junction, (x[0], 5000.0), (x[-1], 5000.0))
        off = path_scores(*args, SplitParams(axon_own_discount=0.0, polarity_gate=0.0), branch_radius=br,
                          synapses=(pre, post))
        on = path_scores(*args, on_p, branch_radius=br, synapses=(pre, post))
        assert abs(s[np.argmax(off["score"])] - 40e3) <= 1000
        if moves:
            assert abs(s[np.argmax(on["score"])] - 80e3) <= 5000
        else:
            assert np.array_equal(on["score"], off["score"])


def test_side_by_side_marks_two_tubes_running_together():
    """A 30 µm tube (radius 400 nm) along x with the skeleton on its axis; a second tube of the same calibre
    runs beside it (axes 900 nm apart) from x = 10 to 20 µm. Cross-sections show two loops there, so
    ``side_by_side`` is 1 over that stretch and 0 elsewhere; without the second tube, and with the run shorter
    than ``min_run_nm``, it is 0 everywhere."""
    import trimesh
    from scipy.spatial import cKDTree

    from neurd_lite.proofread.sections import side_by_side

    def tube(x0, x1, y):
        c = trimesh.creation.cylinder(radius=400.0, segment=[[x0, y, 0.0], [x1, y, 0.0]], sections=24)
        return c.subdivide_to_size(600.0)

    path_x = _polyline((0, 0, 0), (30e3, 0, 0), step=1000.0)
    s = path_x[:, 0]
    path = np.arange(len(path_x))
    br = np.full(len(path), 400.0)
    ok = (s > 2e3) & (s < 28e3)
    for extra, run, expect in ((tube(10e3, 20e3, 900.0), 4000.0, True), (None, 4000.0, False),
                               (tube(10e3, 20e3, 900.0), 12000.0, False)):
        mesh = tube(0.0, 30e3, 0.0) if extra is None else trimesh.util.concatenate([tube(0.0, 30e3, 0.0), extra])
        f2s = cKDTree(path_x).query(mesh.triangles_center)[1]
        v = side_by_side(mesh, f2s, path_x, path, s, br, ok, min_run_nm=run)
        inside = (s > 11e3) & (s < 19e3)
        outside = ok & ((s < 8e3) | (s > 22e3))
        assert v[outside].sum() == 0
        assert (v[inside].min() == 1.0) if expect else (v.sum() == 0)
        if expect:  # parallel tubes keep their spacing, so the steadiness filter keeps the run
            kept = side_by_side(mesh, f2s, path_x, path, s, br, ok, min_run_nm=run, max_slope=0.3)
            assert np.array_equal(kept, v)
    from neurd_lite.proofread.sections import _steady
    run_s = np.arange(0.0, 5000.0, 500.0)
    assert _steady(run_s, np.full(len(run_s), 900.0), 0.3)  # side by side
    assert not _steady(run_s, 900.0 + 0.5 * run_s, 0.3)  # a sister child diverging
    assert not _steady(run_s, 600.0 + 0.8 * np.abs(run_s - 2500.0), 0.3)  # a neurite crossing at an angle

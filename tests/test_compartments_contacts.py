"""The axon's thin route past a contact with a thicker neurite (``compartments/contacts.py``, session 16)."""
from __future__ import annotations

import numpy as np

from neurd_lite.compartments.contacts import _weighted_median, calibres, thin_route_axon
from neurd_lite.compartments.tree import Tree
from neurd_lite.skeleton.model import Skeleton


def _cell(radius: bool = True, host: bool = False) -> tuple[Tree, int, int]:
    """Soma at the origin (radius 10 µm, one vertex); a thin route (250 nm) along +x from 10 to 30 µm meets, at
    30 µm, a thick neurite (1000 nm) whose far part runs on along +y and the thin axon on along +x (40 µm).
    ``host``: the route's first 10 µm are a thick host neurite, which goes on along +z where the thin route leaves
    it. Returns (tree, cut vertex, the host's junction or -1). Vertex 1 lies on the soma's surface (soma)."""
    v = [np.zeros(3)]
    rad = [10_000.0]
    edges = []
    for i in range(21):  # 10..30 µm, 1 µm apart
        v.append([10_000.0 + 1000.0 * i, 0, 0])
        rad.append(1000.0 if host and i <= 10 else 250.0)
        edges.append((len(v) - 2 if i else 0, len(v) - 1))
    contact = len(v) - 1
    for i in range(1, 31):  # the thick far part
        v.append([30_000.0, 1000.0 * i, 0])
        rad.append(1000.0)
        edges.append((contact if i == 1 else len(v) - 2, len(v) - 1))
    cut = len(v)
    for i in range(1, 41):  # the axon beyond the contact
        v.append([30_000.0 + 1000.0 * i, 0, 0])
        rad.append(250.0)
        edges.append((contact if i == 1 else len(v) - 2, len(v) - 1))
    if host:
        for i in range(1, 21):
            v.append([20_000.0, 0, 1000.0 * i])
            rad.append(1000.0)
            edges.append((11 if i == 1 else len(v) - 2, len(v) - 1))
    r = np.array(rad) if radius else None
    sk = Skeleton(np.array(v, float), np.array(edges), r, 0)
    return Tree.from_skeleton(sk, 10_000.0), cut, (11 if host else -1)


def test_weighted_median_matches_the_sorted_definition():
    rng = np.random.default_rng(0)
    g, x, w = rng.integers(0, 4, 40), rng.normal(size=40), rng.random(40)
    out = _weighted_median(g, x, w, 5)
    for k in range(4):
        o = np.argsort(x[g == k])
        cw = np.cumsum(w[g == k][o])
        assert out[k] == x[g == k][o][np.searchsorted(cw, cw[-1] / 2)]
    assert np.isnan(out[4])


def test_the_route_up_to_the_soma_joins_the_axon_and_the_thick_piece_stays():
    t, cut, _ = _cell()
    axon = t.subtree_mask(cut)
    above, below = calibres(t)
    assert below[cut] == 250.0 and below[cut - 1] == 1000.0
    new, rec = thin_route_axon(t, axon, cut)
    assert rec["extended"] and rec["route_vertices"] == 20
    assert new[2:22].all() and not new[22:52].any() and new[axon].all() and not t.soma[2] and t.soma[1]
    assert 490 < rec["face_bound_nm"] < 510  # sqrt(250 x 1000)


def test_the_route_stops_at_a_thick_host_and_nothing_happens_without_radius():
    t, cut, host_end = _cell(host=True)
    new, rec = thin_route_axon(t, t.subtree_mask(cut), cut)
    assert rec["extended"] and new[host_end + 1:22].all() and not new[1:host_end + 1].any()
    assert not new[92:].any()  # the host's own continuation
    t0, cut0, _ = _cell(radius=False)
    axon0 = t0.subtree_mask(cut0)
    new0, rec0 = thin_route_axon(t0, axon0, cut0)
    assert not rec0["extended"] and np.array_equal(new0, axon0)


def test_a_cut_without_a_thick_sibling_is_left_alone():
    t, cut, _ = _cell()
    thin_sibling = t.children[t.parent[cut]]
    sk = t.sk
    rad = sk.radius.copy()
    rad[22:52] = 250.0  # the far part as thin as the axon: an ordinary branch point
    t2 = Tree.from_skeleton(Skeleton(sk.vertices, sk.edges, rad, sk.root), 10_000.0)
    axon = t2.subtree_mask(cut)
    new, rec = thin_route_axon(t2, axon, cut)
    assert len(thin_sibling) == 2 and not rec["extended"] and np.array_equal(new, axon)


def test_label_skeleton_without_radius_is_unchanged_by_the_option():
    """MICrONS level-2 skeletons carry no radius: the option cannot change their labels (leave-cell-out)."""
    import warnings
    from dataclasses import replace

    import neurd_lite as nl
    from neurd_lite.testing.morphology import grow_pyramidal, tree_to_skeleton

    sk = tree_to_skeleton(grow_pyramidal(np.random.default_rng(21), np.array([600e3, 800e3, 850e3])))
    sk.vertex_properties = {}
    sk.radius = np.full(sk.n_vertices, np.nan)
    p = nl.PipelineParams()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = nl.label_skeleton(sk, units="nm", up=(0, -1, 0), params=p)
        b = nl.label_skeleton(sk, units="nm", up=(0, -1, 0), params=replace(
            p, compartments=replace(p.compartments, axon_thin_route=True)))
    assert np.array_equal(np.asarray(a.skeleton_labels).astype(str), np.asarray(b.skeleton_labels).astype(str))
    assert b.provenance["compartments"]["axon_thin_route"] == {"extended": False}
    assert "axon_thin_route" not in a.provenance["compartments"]

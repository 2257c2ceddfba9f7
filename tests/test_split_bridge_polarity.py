"""Axon pieces healed onto another cell's dendrite go to another cell's axon
(``SplitParams.bridge_axon_polarity``, ``proofread.bridge_polarity``), and the mirror: dendrite pieces healed onto
another cell's axon go to another cell's dendrite (``SplitParams.bridge_dendrite_polarity``, session 28)."""
import numpy as np
from test_split_bridges import _merge

from neurd_lite.proofread.bridge_calibre import HEAL_REACH_NM
from neurd_lite.proofread.bridge_polarity import polarity_bridge_moves
from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _owners


def _owner_of_piece(piece_out: bool = True, a_out: bool = True, bridged: bool = True,
                    origin_nm: float = 30_000.0, b_out: bool = False, axon: bool = True) -> str:
    """``test_split_bridges._merge``'s layout (somata A at 0 and B at 100 µm, path cut at 50 µm; B's 10 µm side
    branch at 55 µm, on its end a second piece running 15 µm on along +y, ~11 µm from A's end of the path) with one
    synapse per vertex: the piece's outputs (``piece_out``) or inputs, B's path and side branch inputs, A's last
    20 µm outputs (``a_out``) or inputs; ``b_out``: B's path and side branch carry outputs instead; ``axon``: the rule
    (False: the mirror)."""
    f, sv, _, piece, end = _merge(55.0, (0.0, 1.0), bridged)
    m = sv[1] + 1
    out, inp = np.zeros(len(f.x)), np.zeros(len(f.x))
    px = f.x[:m, 0]
    a_arm = (px >= 30_000.0) & (px < 50_000.0)
    (out if a_out else inp)[:m][a_arm] = 1.0
    (out if b_out else inp)[:m][px >= 50_000.0] = 1.0
    (out if b_out else inp)[m:m + 20] = 1.0
    (out if piece_out else inp)[m + 20:] = 1.0
    moves = polarity_bridge_moves(f, _owners(f, sv), sv, piece, (out, inp), 0.8, 20_000.0, origin_nm, 3,
                                  HEAL_REACH_NM, axon=axon)
    kind = "bridge_polarity" if axon else "bridge_dendrite_polarity"
    assert all(mv["kind"] == kind and mv["to_soma"] == 0 for mv in moves)
    return "A" if _owners(f, sv)[end] == 0 else "B"


def test_axon_piece_on_a_dendrite_moves_to_the_other_cells_axon_within_reach():
    assert _owner_of_piece() == "A"


def test_no_axon_of_another_cell_within_reach_keeps_the_piece():
    assert _owner_of_piece(a_out=False) == "B"  # the move would not end the clash


def test_dendritic_piece_stays():
    assert _owner_of_piece(piece_out=False) == "B"


def test_edge_inside_one_mesh_piece_is_never_rejudged():
    assert _owner_of_piece(bridged=False) == "B"


def test_axon_may_leave_a_dendrite_near_its_soma():
    assert _owner_of_piece(origin_nm=60_000.0) == "B"  # the bridge lies 55 µm from B's soma along the skeleton


def test_on_by_default():
    assert SplitParams().bridge_axon_polarity is True  # default since session 27 (held-out 2380-2419)


def test_dendrite_piece_on_an_axon_moves_to_the_other_cells_dendrite_within_reach():
    assert _owner_of_piece(piece_out=False, a_out=False, b_out=True, axon=False) == "A"


def test_mirror_keeps_the_piece_without_another_cells_dendrite_within_reach():
    assert _owner_of_piece(piece_out=False, a_out=True, b_out=True, axon=False) == "B"


def test_mirror_leaves_a_dendrite_piece_on_a_dendrite_and_an_axon_piece_on_an_axon():
    assert _owner_of_piece(piece_out=False, a_out=False, b_out=False, axon=False) == "B"
    assert _owner_of_piece(piece_out=True, a_out=False, b_out=True, axon=False) == "B"


def test_mirror_off_by_default():
    assert SplitParams().bridge_dendrite_polarity is False

"""Pieces much thicker than the neurite they were healed onto go to another cell
(``SplitParams.bridge_calibre_ratio``, ``proofread.bridge_calibre``)."""
import numpy as np
from test_split_bridges import _merge as _bridged_merge

from neurd_lite.proofread.bridge_calibre import HEAL_REACH_NM, calibre_bridge_moves
from neurd_lite.proofread.split import _owners


def _merge(hang_at_um: float, r_piece: float, r_arm_a: float = 1000.0, bridged: bool = True):
    """``test_split_bridges._merge``'s layout (somata A at 0 and B at 100 µm, path cut at 50 µm; B's 10 µm side
    branch at ``hang_at_um``, at its end a second piece running 15 µm on along +y) with branch radii: A's arm
    ``r_arm_a``, B's 1000 nm, the side branch 200 nm, the piece ``r_piece``."""
    f, sv, _, piece, end = _bridged_merge(hang_at_um, (0.0, 1.0), bridged)
    px = f.x[: sv[1] + 1, 0]
    r = np.concatenate([np.where(px < 50_000.0, r_arm_a, 1000.0), np.full(20, 200.0), np.full(30, r_piece)])
    return f, sv, piece, r, end


def _owner_of_piece(hang_at_um: float, r_piece: float, r_arm_a: float = 1000.0, bridged: bool = True) -> str:
    f, sv, piece, r, end = _merge(hang_at_um, r_piece, r_arm_a, bridged)
    moves = calibre_bridge_moves(f, _owners(f, sv), sv, piece, r, 2.0, 5000.0, 3000.0, HEAL_REACH_NM)
    assert all(mv["kind"] == "bridge_calibre" and mv["to_soma"] == 0 for mv in moves)
    return "A" if _owners(f, sv)[end] == 0 else "B"


def test_thick_piece_on_a_thin_neurite_moves_to_the_other_cell_within_reach():
    assert _owner_of_piece(55.0, 1000.0) == "A"  # 5x its parent; A's arm 11 µm away fits it


def test_piece_no_thicker_than_its_parent_stays():
    assert _owner_of_piece(55.0, 300.0) == "B"


def test_no_other_cell_within_heal_reach_keeps_the_piece():
    assert _owner_of_piece(80.0, 1000.0) == "B"  # A's nearest vertex ~32 µm away


def test_a_move_that_would_not_remove_the_calibre_jump_is_not_made():
    assert _owner_of_piece(55.0, 1000.0, r_arm_a=200.0) == "B"  # as thick against A's thin arm


def test_edge_inside_one_mesh_piece_is_never_rejudged():
    assert _owner_of_piece(55.0, 1000.0, bridged=False) == "B"


def test_other_cell_touching_the_piece_is_a_contact_not_a_heal_link():
    # A's arm 11 µm thick: its centreline lies closer to the piece's root (~11 µm) than the two calibres together
    assert _owner_of_piece(55.0, 1000.0, r_arm_a=11000.0) == "B"

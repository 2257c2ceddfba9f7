"""Pieces much thicker than the neurite they were healed onto go to another cell
(``SplitParams.bridge_calibre_ratio``, ``proofread.bridge_calibre``)."""
import numpy as np

from neurd_lite.proofread.bridge_calibre import HEAL_REACH_NM, calibre_bridge_moves
from neurd_lite.proofread.split import _Forest, _owners


def _merge(hang_at_um: float, r_piece: float, r_arm_a: float = 1000.0, bridged: bool = True):
    """Somata A (0) and B (100 µm) on a straight path cut at 50 µm (A's arm radius ``r_arm_a``, B's 1000 nm);
    B carries a thin (200 nm) side branch 10 µm along +y at ``hang_at_um``, and at its end a second piece (another
    mesh piece when ``bridged``) of radius ``r_piece`` runs 15 µm on along +y. Returns forest, soma vertices,
    pieces, branch radius and the piece's last vertex."""
    px = np.arange(0.0, 100_001.0, 500.0)
    m = len(px)
    q = int(np.searchsorted(px, hang_at_um * 1000.0))
    side = np.array([[px[q], 500.0 * i, 0.0] for i in range(1, 21)])
    hung = side[-1] + 500.0 * np.arange(1, 31)[:, None] * np.array([0.0, 1.0, 0.0])
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), side, hung])
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(q, m)
    k = int(np.searchsorted(px, 50_000.0)) - 1
    f.cut(k, k + 1)
    piece = np.zeros(len(x), dtype=np.int64)
    piece[m + 20:] = 1 if bridged else 0
    r = np.concatenate([np.where(px < 50_000.0, r_arm_a, 1000.0), np.full(20, 200.0), np.full(30, r_piece)])
    return f, [0, m - 1], piece, r, len(x) - 1


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

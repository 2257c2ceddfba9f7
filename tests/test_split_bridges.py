"""Pieces hung on the other cell through a heal bridge go to the soma they grow away from
(``SplitParams.bridge_growth_margin``, ``proofread.bridges``)."""
import numpy as np

from neurd_lite.proofread.bridges import bridge_moves
from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _Forest, _owners

SOMAS = [np.zeros(3), np.array([100_000.0, 0.0, 0.0])]


def _merge(hang_at_um: float, to: tuple[float, float], bridged: bool = True):
    """Somata A (0) and B (100 µm) on a straight path cut at 50 µm; B carries a side branch 10 µm along +y at
    ``hang_at_um``, and at its end a second piece (another mesh piece when ``bridged``) runs 15 µm along ``to``."""
    px = np.arange(0.0, 100_001.0, 500.0)
    m = len(px)
    q = int(np.searchsorted(px, hang_at_um * 1000.0))
    side = np.array([[px[q], 500.0 * i, 0.0] for i in range(1, 21)])
    d = np.array([*to, 0.0]) / np.linalg.norm(to)
    hung = side[-1] + 500.0 * np.arange(1, 31)[:, None] * d
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), side, hung])
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(q, m)
    k = int(np.searchsorted(px, 50_000.0)) - 1
    f.cut(k, k + 1)
    piece = np.zeros(len(x), dtype=np.int64)
    piece[m + 20:] = 1 if bridged else 0
    return f, [0, m - 1], (0, 1, k), piece, len(x) - 1


def _moved_to(to: tuple[float, float], bridged: bool = True, margin: float = 0.5) -> str:
    f, sv, cut, piece, end = _merge(60.0, to, bridged)
    moves = bridge_moves(f, _owners(f, sv), sv, SOMAS, [cut], piece, margin, 20_000.0)
    assert all(mv["kind"] == "bridge_growth" and set(mv["somas"]) == {0, 1} for mv in moves)
    return "A" if _owners(f, sv)[end] == 0 else "B"


def test_piece_growing_away_from_the_other_soma_moves_to_it():
    assert _moved_to((1.0, 0.0)) == "A"  # runs on towards B, away from A: A's neurite hung on B


def test_piece_growing_away_from_its_owner_stays():
    assert _moved_to((-1.0, 0.0)) == "B"  # runs back towards A: grows away from B, B's own


def test_edge_inside_one_mesh_piece_is_never_rejudged():
    assert _moved_to((1.0, 0.0), bridged=False) == "B"


def test_default_is_the_side_growth_margin():
    p = SplitParams()  # session 20: adopted with the margin and radius of the path's side-branch growth rule
    assert (p.bridge_growth_margin, p.bridge_growth_nm) == (p.side_growth_margin, p.side_growth_nm)


def test_faceless_vertex_inside_one_piece_is_not_a_bridge():
    """Session 21 (``bridge_faced_pieces``): a faceless skeleton vertex is read through to the first vertices with
    faces on each side; when both lie on one mesh piece the edge is no bridge (the membrane is one neurite)."""
    from neurd_lite.proofread.bridges import _crosses

    x = np.arange(5.0)[:, None] * np.array([[500.0, 0.0, 0.0]])
    f = _Forest(x, [set() for _ in range(5)])
    for a in range(4):
        f.join(a, a + 1)
    same = np.array([0, 0, -1, 0, 0])
    other = np.array([0, 0, -1, 1, 1])
    assert _crosses(f, same, 1, 2, faced=False) and not _crosses(f, same, 1, 2, faced=True)
    assert not _crosses(f, same, 2, 3, faced=True)
    assert _crosses(f, other, 1, 2, faced=True) and _crosses(f, other, 2, 3, faced=True)
    assert not _crosses(f, other, 0, 1, faced=True) and _crosses(f, other, 3, 2, faced=True)


def test_faced_pieces_keep_a_piece_hung_inside_one_piece():
    f, sv, cut, piece, end = _merge(60.0, (1.0, 0.0), bridged=False)
    piece = piece.copy()
    piece[len(piece) - 30] = -1  # the first hung vertex has no faces; both its neighbours lie on piece 0
    moves = bridge_moves(f, _owners(f, sv), sv, SOMAS, [cut], piece, 0.5, 20_000.0)
    assert moves and _owners(f, sv)[end] == 0  # without faced pieces: a faceless end is a bridge, it moves
    f, sv, cut, _, end = _merge(60.0, (1.0, 0.0), bridged=False)
    assert not bridge_moves(f, _owners(f, sv), sv, SOMAS, [cut], piece, 0.5, 20_000.0, faced=True)
    assert _owners(f, sv)[end] == 1

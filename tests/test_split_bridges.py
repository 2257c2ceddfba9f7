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

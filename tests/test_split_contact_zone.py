"""The contact zone scales with the neurites' calibre at the cut (``SplitParams.contact_radius_mult``); branches
leaving the path near the cut vote at their own branch point (``SplitParams.path_vote_nm``)."""
import numpy as np

from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.split import _assign_sides, _Forest, contact_zone_nm


def test_zone_radius_is_a_multiple_of_the_thicker_calibre_never_below_contact_nm():
    assert SplitParams().contact_radius_mult == 0.0
    assert contact_zone_nm((900.0, 400.0), SplitParams()) == 1500.0
    assert contact_zone_nm((900.0, 400.0), SplitParams(contact_radius_mult=4.0)) == 3600.0
    assert contact_zone_nm((np.nan, 500.0), SplitParams(contact_radius_mult=4.0)) == 2000.0
    assert contact_zone_nm((200.0, 300.0), SplitParams(contact_radius_mult=4.0)) == 1500.0  # floor
    assert contact_zone_nm((np.nan, np.nan), SplitParams(contact_radius_mult=4.0)) == 1500.0


def _owner(p: SplitParams, at_nm: float = 54_000.0, along: float = 1.0) -> str:
    """A straight soma-to-soma path along x (a vertex every 500 nm, radius 1100 nm, cut near 50 µm) and a 20 µm
    side branch leaving it at ``at_nm`` (default 4 µm past the cut, beyond ``crossing_nm``'s arm) at 45° to the
    path, running on along +x (A's direction; ``along`` = 0: straight across the path, no direction to vote)."""
    px = np.arange(0.0, 100_001.0, 500.0)
    m = len(px)
    q = int(np.searchsorted(px, at_nm))
    t = 500.0 * np.arange(1, 41) / np.sqrt(1.0 + along ** 2)
    side = np.stack([px[q] + along * t, t, np.zeros(40)], axis=1)
    x = np.vstack([np.stack([px, 0 * px, 0 * px], axis=1), side])
    f = _Forest(x, [set() for _ in range(len(x))])
    for a in list(range(m - 1)) + list(range(m, len(x) - 1)):
        f.join(a, a + 1)
    f.join(q, m)
    path = list(range(m))
    _assign_sides(f, path, px, int(np.searchsorted(px, 50_000.0)) - 1, np.full(len(x), 1100.0), p)
    return "A" if m + 39 in f.within({path[0]}, np.inf) else "B"


def test_a_thick_contact_reaches_the_branch_only_with_the_calibre_rule():
    assert _owner(SplitParams()) == "B"  # 4 µm from the cut: outside the 1.5 µm zone, stays on B's side
    assert _owner(SplitParams(contact_radius_mult=4.0)) == "A"  # zone 4.4 µm: votes by continuity, joins A
    assert _owner(SplitParams(contact_radius_mult=3.0)) == "B"  # zone 3.3 µm


def test_a_branch_near_the_cut_votes_at_its_own_branch_point_only_when_on():
    assert SplitParams().path_vote_nm == 0.0
    assert _owner(SplitParams(path_vote_nm=5000.0)) == "A"  # 4 µm past the cut, continues A: vote 1.41 > 1.0
    assert _owner(SplitParams(path_vote_nm=3000.0)) == "B"  # beyond the window: keeps its side
    assert _owner(SplitParams(path_vote_nm=5000.0, path_vote_margin=1.5)) == "B"  # vote below the stricter margin
    assert _owner(SplitParams(path_vote_nm=5000.0), at_nm=58_000.0) == "B"  # 8 µm past the cut
    assert _owner(SplitParams(path_vote_nm=5000.0), along=0.0) == "B"  # straight across: no vote, keeps its side

"""Session 24 (``SplitParams.zone_undecided_nm``): an undecided contact-zone branch goes to the soma its long subtree
grows away from (a cell's own branch point chosen as the cut, its sibling leaving sideways)."""
from test_split_side_growth import SOMAS, _owner, _path_with_branch

from neurd_lite.proofread.cuts import SplitParams
from neurd_lite.proofread.growth import undecided_side

# leaves the cut sideways (direction vote ~0: undecided), then grows back past soma A, away from soma B (B's own)
SIBLING = [((0.0, 1.0), 10.0), ((-1.0, 1.0), 70.0)]


def test_undecided_long_sibling_goes_to_the_soma_it_grows_away_from_only_when_on():
    on = SplitParams(zone_undecided_nm=60_000.0)
    assert _owner(SplitParams(), at_um=49.5, segments=SIBLING) == "A"  # off: stays on the side it leaves from
    assert _owner(on, at_um=49.5, segments=SIBLING) == "B"


def test_short_sideways_or_decided_branches_keep_their_side():
    on = SplitParams(zone_undecided_nm=60_000.0)
    assert _owner(on, at_um=49.5, segments=[((0.0, 1.0), 10.0), ((-1.0, 1.0), 30.0)]) == "A"  # reach < 60 µm
    assert _owner(on, at_um=49.5, segments=[((0.0, 1.0), 80.0)]) == "A"  # grows sideways: growth inside .2
    # a branch whose first 10 µm continue A's arm (decided for A by its vote) is not re-judged by its growth
    assert _owner(on, at_um=49.5, segments=[((1.0, 0.05), 10.0), ((-1.0, 1.0), 70.0)]) == "A"


def test_undecided_side_reads_the_whole_subtree():
    f, path, s, k, radius, first = _path_with_branch(49.5, (0.0, 1.0), SIBLING)
    v = path[k]
    assert undecided_side(f, v, first, 0, SOMAS, {path[0], path[-1]}, 60_000.0) == 1
    assert undecided_side(f, v, first, 0, SOMAS, {path[0], path[-1]}, 200_000.0) == 0  # not long enough

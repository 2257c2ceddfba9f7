"""memory.frozen_gc: the objects present at entry are frozen for the block and handed back at the outermost exit;
cycles made inside are still collected; a caller's own freeze is left alone."""
from __future__ import annotations

import gc

from neurd_lite.memory import frozen_gc


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_frozen_gc_nests_and_restores() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_gc():
        outer = gc.get_freeze_count()
        assert outer > 0
        with frozen_gc():  # a nested run (a split re-decomposing its cells) keeps the outer freeze
            assert gc.get_freeze_count() == outer
        assert gc.get_freeze_count() == outer
    assert gc.get_freeze_count() == 0


def test_frozen_gc_collects_cycles_made_inside() -> None:
    with frozen_gc():
        _Cycle()
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0


def test_frozen_gc_leaves_a_callers_freeze_alone() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with frozen_gc():
            assert gc.get_freeze_count() == before
        assert gc.get_freeze_count() == before  # not unfrozen by the block
    finally:
        gc.unfreeze()

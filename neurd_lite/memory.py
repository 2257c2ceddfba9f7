"""Hand a finished stage's freed memory back to the operating system, when that is worth what it costs.

Every page the process gets back from the kernel costs its zeroing on first touch: on the benchmark host
(a virtual machine) about 0.4 s of system CPU per GB, so trimming 100 MB of free heap after a stage that the
next stage allocates again costs ~0.04 s for nothing. :func:`release_memory` therefore trims only when the
free heap is large (``TRIM_ABOVE_BYTES``), which is when the resident set matters: the 5.2M- and 8.9M-face runs.
"""
from __future__ import annotations

import ctypes
import gc
import threading
from contextlib import contextmanager
from typing import Any, Iterator

_LIBC: Any = None
_COLLECT_ABOVE_BYTES = 256 * 2**20  # collect cycles when the resident set grew this much since the last collection
TRIM_ABOVE_BYTES = 256 * 2**20  # malloc_trim only when at least this much of the heap is free (glibc's count)
_rss_after_collect = 0
_FREEZE_LOCK = threading.Lock()
_freeze_depth = 0  # runs inside frozen_gc (nested runs: a split re-decomposes its cells inside the outer run)


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33 and later): sizes in bytes."""

    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _rss_bytes() -> int:
    """Current resident set size (bytes; Linux ``/proc/self/statm``, 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096
    except (OSError, ValueError, IndexError):
        return 0


def _libc() -> Any:
    """glibc through ctypes (False where there is none)."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC


def free_heap_bytes() -> int | None:
    """Bytes of free memory malloc holds in its arenas (glibc ``mallinfo2().fordblks``), None when unknown
    (no glibc or one older than 2.33)."""
    libc = _libc()
    fn = getattr(libc, "mallinfo2", None) if libc else None
    if fn is None:
        return None
    fn.restype = _MallInfo2
    return int(fn().fordblks)


def release_memory() -> None:
    """Hand freed heap pages back to the operating system (glibc ``malloc_trim``; a no-op elsewhere) when more
    than ``TRIM_ABOVE_BYTES`` of the heap is free (always when that cannot be read), so one stage's large
    temporaries do not stay in the resident set under the next stage's. When the resident set grew by more than
    ``_COLLECT_ABOVE_BYTES`` since the last time, garbage cycles are collected first: trimesh objects (a loaded
    file's scene, a soma submesh and its caches) sit in reference cycles that only the cycle collector frees
    (0.86 GB after trimesh read a 5.2M-face PLY), and a full collection costs ~0.1 s in a process with the
    engine's imports, too much to pay after every stage of a small neuron. Memory only: no result depends on it.
    At 1.3M faces the free heap after a stage is 50-120 MB: trimming it after every stage cost ~56k page faults
    (~0.2 GB zeroed again by the next stage) and left the peak resident set unchanged (docs/benchmarks.md
    "Session 11")."""
    global _rss_after_collect
    rss = _rss_bytes()
    if not rss or rss > _rss_after_collect + _COLLECT_ABOVE_BYTES:
        gc.collect()
        _rss_after_collect = -1  # measured after the trim below
    libc = _libc()
    if libc:
        free = free_heap_bytes()
        if free is None or free >= TRIM_ABOVE_BYTES:
            libc.malloc_trim(0)
    now = _rss_bytes()  # the baseline follows the resident set down (the next neuron of a batch worker)
    _rss_after_collect = now if _rss_after_collect < 0 else min(_rss_after_collect, now)


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Inside the block, the objects that existed when it was entered (imported modules, classes, the caller's
    data: ~230k tracked objects after the engine's imports) sit in the cycle collector's permanent generation
    (``gc.freeze``), so a full collection inside the run (``release_memory``'s, when the resident set grew) scans
    only what the run made: on the 1.3M-face real cell the one full collection of the stages (after the
    decimation) took 0.15-0.18 s CPU at load ~5, 0.001 s frozen, and it still collected the run's 33 cycles.
    Everything is handed back (``gc.unfreeze``) when the outermost block exits; garbage cycles that already
    existed at entry are kept until then. A no-op when the caller froze objects itself (``gc.get_freeze_count()
    > 0`` at entry) or turned the collector off. Memory and time only: no result depends on it."""
    global _freeze_depth
    with _FREEZE_LOCK:
        mine = _freeze_depth > 0 or (gc.isenabled() and gc.get_freeze_count() == 0)
        if mine:
            if _freeze_depth == 0:
                gc.freeze()
            _freeze_depth += 1
    try:
        yield
    finally:
        if mine:
            with _FREEZE_LOCK:
                _freeze_depth -= 1
                if _freeze_depth == 0:
                    gc.unfreeze()

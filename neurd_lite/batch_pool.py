"""Worker processes for :func:`neurd_lite.batch.featurize` that survive crashes and enforce limits from outside.

Each worker is a spawned process that runs one neuron at a time, so the supervisor always knows which neuron a
worker holds. The supervisor (the calling process) watches every busy worker:

- **memory**: the worker's resident set size (``/proc/PID/status`` VmRSS, or psutil) is polled every
  ``POLL_S``; above ``max_memory_mb`` the worker is killed and the neuron recorded as a ``MemoryError``. An
  address-space rlimit is not used: native code such as Embree reserves far more address space than it touches
  and segfaults when the reservation fails.
- **time**: the worker raises ``TimeoutError`` itself (SIGALRM) at ``timeout_s``; native code that does not
  return to Python is killed at ``timeout_s * 1.2 + 5`` s and recorded as a ``TimeoutError``.
- **death**: a worker that dies otherwise (OOM killer, segfault, ``kill -9``) is replaced by a fresh process and
  its neuron retried once; a second death records that neuron only. Queued neurons are never affected.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

log = logging.getLogger("neurd_lite.batch")

POLL_S = 0.1
MAX_ATTEMPTS = 2  # a neuron whose worker dies is run at most this many times


def rss_mb(pid: int) -> float | None:
    """Resident set size of process ``pid`` in MiB, None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:  # noqa: BLE001 - psutil absent or the process is gone
        return None


def _worker_main(conn: Any, task: Callable[..., dict[str, Any]]) -> None:
    """Loop of one worker process: receive (item, config), send back ``task(item, config)``; None ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(task(*job))


@dataclass
class _Slot:
    proc: Any = None
    conn: Any = None
    item: Any = None
    started: float = 0.0
    peak_mb: float = 0.0
    killed_for: str | None = None
    served: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class WorkerPool:
    """``workers`` spawned processes running ``task(item, config)`` (see the module docstring)."""

    def __init__(self, workers: int, task: Callable[..., dict[str, Any]], max_memory_mb: float | None = None,
                 timeout_s: float | None = None) -> None:
        import multiprocessing as mp

        self.ctx = mp.get_context("spawn")  # no inherited locks or threads from the parent
        self.task = task
        self.max_memory_mb = max_memory_mb
        self.hard_timeout_s = None if not timeout_s else timeout_s * 1.2 + 5.0
        self.slots = [_Slot() for _ in range(max(1, workers))]
        self.attempts: dict[str, int] = {}
        if max_memory_mb and rss_mb(os.getpid()) is None:
            log.warning("--max-memory-mb: cannot read process memory here (no /proc, no psutil); not enforced")

    def _start(self, slot: _Slot) -> None:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, args=(child, self.task), daemon=True)
        proc.start()
        child.close()
        slot.proc, slot.conn, slot.item, slot.killed_for, slot.served = proc, parent, None, None, 0

    def _kill(self, slot: _Slot, reason: str) -> None:
        slot.killed_for = reason
        if slot.proc is not None and slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join(timeout=5)

    def run(self, items: list[Any], config: Any, on_error: Callable[[Any, dict[str, Any]], dict[str, Any]]
            ) -> Iterator[dict[str, Any]]:
        """Yield one result per item (in completion order). ``on_error(item, err)`` turns a worker death or a
        limit kill into that item's result (it records the error)."""
        from multiprocessing.connection import wait

        queue = deque(items)
        try:
            while queue or any(s.item is not None for s in self.slots):
                for slot in self.slots:
                    if slot.item is None and queue:
                        if slot.proc is None or not slot.proc.is_alive():
                            self._start(slot)
                        slot.item = queue.popleft()
                        self.attempts[slot.item.name] = self.attempts.get(slot.item.name, 0) + 1
                        slot.started, slot.peak_mb = time.monotonic(), 0.0
                        slot.conn.send((slot.item, config))
                busy = [s for s in self.slots if s.item is not None]
                ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=POLL_S)
                for slot in busy:
                    result = self._check(slot, ready, queue, on_error)
                    if result is not None:
                        yield result
        finally:
            self.close()

    def _check(self, slot: _Slot, ready: list[Any], queue: deque, on_error: Callable[..., dict[str, Any]]
               ) -> dict[str, Any] | None:
        """The result of ``slot``'s neuron if it is finished (or failed for good), else None."""
        item = slot.item
        if slot.conn in ready or slot.conn.poll():
            try:
                result = slot.conn.recv()
            except (EOFError, OSError):
                result = None
            if result is not None:
                slot.item = None
                slot.served += 1
                return result
        if slot.proc.is_alive() and slot.killed_for is None:
            self._watch(slot)
            if slot.killed_for is None:
                return None
        slot.proc.join(timeout=5)
        code = slot.proc.exitcode
        reason, slot.item = slot.killed_for, None
        slot.proc, slot.conn = None, None
        if reason == "memory":
            return on_error(item, {"stage": "worker", "error_type": "MemoryError", "message": (
                f"worker memory (resident set) reached {slot.peak_mb:.0f} MiB, above --max-memory-mb "
                f"{self.max_memory_mb:g}; the worker was stopped (raise the limit or use fewer workers)")})
        if reason == "time":
            return on_error(item, {"stage": "worker", "error_type": "TimeoutError", "message": (
                f"exceeded the per-neuron time limit (stopped after {self.hard_timeout_s:.0f} s in native code "
                "that did not return to Python)")})
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if self.attempts.get(item.name, 0) < MAX_ATTEMPTS:
            log.warning("%s: worker process died (%s); retrying it once in a fresh worker", item.mesh, how)
            queue.appendleft(item)
            return None
        return on_error(item, {"stage": "worker", "error_type": "WorkerDied", "message": (
            f"the worker process died ({how}) on this neuron in {self.attempts[item.name]} attempts; "
            "likely killed for memory (OOM killer) or a crash in native code")})

    def _watch(self, slot: _Slot) -> None:
        if self.max_memory_mb:
            mb = rss_mb(slot.proc.pid)
            if mb is not None:
                slot.peak_mb = max(slot.peak_mb, mb)
                if mb > self.max_memory_mb:
                    self._kill(slot, "memory")
                    return
        if self.hard_timeout_s and time.monotonic() - slot.started > self.hard_timeout_s:
            self._kill(slot, "time")

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (after Ctrl-C) are terminated."""
        for slot in self.slots:
            if slot.proc is None:
                continue
            if slot.item is None and slot.proc.is_alive():
                try:
                    slot.conn.send(None)
                except (OSError, ValueError):
                    pass
            else:
                slot.proc.terminate()
        for slot in self.slots:
            if slot.proc is not None:
                slot.proc.join(timeout=10)
                if slot.proc.is_alive():
                    slot.proc.kill()
                    slot.proc.join(timeout=5)
            slot.proc = slot.conn = slot.item = None

"""Repeatable smoothed + refined unions: the union runs on one CPU in a child process (nm).

manifold3d's ``refine`` is parallel (TBB) and not repeatable: two refines of the same smoothed union differ in
vertex order, face order and, at float precision, in vertex positions (the 2.1M-face l5_et 15 moved synapse
macro F1 by ~.009 between two builds). On one thread the result is the same every run, and it is one of the
results the parallel refine gives. TBB sizes its thread pool from the CPU affinity mask when it starts and
manifold3d offers no thread setting, so the refined union runs in a fresh interpreter started with a one-CPU
mask: same parts -> bit-identical output, run after run and process after process. Unrefined unions (the
boolean alone is repeatable) stay in the calling process.

Where CPU affinity cannot be set (not Linux), the union runs in-process and is not guaranteed repeatable.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np

from .meshing import union_parts

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds this neurd_lite


def _one_cpu() -> None:
    """Child side, before exec: restrict the process to the lowest CPU it may use."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def union_one_cpu(parts: list[tuple[np.ndarray, np.ndarray]], origin: np.ndarray,
                  extra: tuple[np.ndarray, np.ndarray] | None, refine: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~.meshing.union_parts` (same arguments and returns, nm) run in a child process pinned to one CPU,
    so that manifold3d's smooth + refine is repeatable. ``refine`` 1 (the boolean alone) runs in-process."""
    if refine <= 1 or not hasattr(os, "sched_setaffinity"):
        return union_parts(parts, origin, extra=extra, refine=refine)
    payload = pickle.dumps((parts, np.asarray(origin), extra, int(refine)), protocol=pickle.HIGHEST_PROTOCOL)
    code = f"import sys; sys.path.insert(0, {_ROOT!r}); from neurd_lite.testing.smooth_refine import _main; _main()"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, preexec_fn=_one_cpu,
                          env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"one-CPU union failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return pickle.loads(done.stdout)


def _main() -> None:
    """Child entry: (parts, origin, extra, refine) pickled on stdin, the union's four arrays pickled to stdout."""
    parts, origin, extra, refine = pickle.loads(sys.stdin.buffer.read())
    out = union_parts(parts, origin, extra=extra, refine=refine)
    sys.stdout.buffer.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()

"""fast-simplification in this process or in a forked child, and the early give-up on a stalling run.

fast-simplification has no pass or time budget; with ``verbose=True`` it prints its face count before every
fifth pass (``iteration N - triangles T threshold X``, C ``printf`` on file descriptor 1). In a forked child that
report goes through a pipe, so the parent can stop a run that is still far above its target at a given pass
(:func:`simplify_forked`). Every failure of that report falls back to the full run.
"""
from __future__ import annotations

import io
import os
import re
import signal

import numpy as np

_REPORT = re.compile(rb"iteration (\d+) - triangles (\d+) threshold ([0-9.eE+-]+)")


def simplify_here(points: np.ndarray, faces: np.ndarray, target: int, agg: int, verbose: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """fast-simplification in this process: (points, faces, collapse list or None when this version has none)."""
    import fast_simplification

    try:
        return fast_simplification.simplify(points, faces, target_count=target, agg=agg, verbose=verbose,
                                            return_collapses=True)
    except TypeError:  # a fast-simplification without return_collapses: the face map is searched for instead
        return (*fast_simplification.simplify(points, faces, target_count=target, agg=agg, verbose=verbose), None)


def _c_stdout_unbuffered() -> bool:
    """Make C's ``stdout`` stream unbuffered (after fd 1 was pointed at the report pipe), so fast-simplification's
    lines arrive as they are printed; False when the stream cannot be found (the report then comes at the end)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    for name in ("stdout", "__stdoutp"):  # glibc / musl, macOS
        try:
            fp = ctypes.c_void_p.in_dll(libc, name)
        except ValueError:
            continue
        libc.fflush(fp)
        return libc.setvbuf(fp, None, 2, 0) == 0  # _IONBF
    return False


FS_LAST_PASS = 99  # fast-simplification 0.2's last pass (100-pass cap); its threshold there: 1e-9 * (99 + 3) ** agg


def stall_foreseen(reports: list[tuple[int, int, float]], from_pass: int, above: float, agg: float) -> bool:
    """True when fast-simplification's face-count reports so far ((pass, faces, threshold) every 5 passes) show a
    run that ends above ``above`` faces, by a conservative extrapolation (checked from pass ``from_pass`` on).

    The slope s of log(faces) against log(threshold) over the last 5 passes, held to the last pass, gives
    faces * (threshold at the last pass / threshold now) ** s. That over-estimates the collapses still to come
    when the slope is flattening, so it is used only then (|s| below the previous 5 passes') and only once the
    run has removed half the faces it started with (past the burst where the threshold first reaches the
    collapse errors; before it the slope steepens). Stalled family pyramids flatten from pass ~25 on (l23 11:
    slope -.21 at pass 25, -.08 at 50, -.02 at 95; ends 1.09x its target)."""
    if len(reports) < 3:
        return False
    (_, n_prev, t_prev), (k, n, t) = reports[-2], reports[-1]
    _, n_prev2, t_prev2 = reports[-3]
    if k < from_pass or n > 0.5 * reports[0][1] or n <= above or min(n, n_prev, n_prev2) <= 0:
        return False
    slope = np.log(n / n_prev) / np.log(t / t_prev)
    slope_before = np.log(n_prev / n_prev2) / np.log(t_prev / t_prev2)
    if not slope < 0 or abs(slope) >= abs(slope_before):
        return False
    t_last = t * ((FS_LAST_PASS + 3) / (k + 3)) ** agg
    return bool(n * (t_last / t) ** slope > above)


def _stalls(report_fd: int, give_up: tuple[int, float, float]) -> bool:
    """Read the child's report until its end; True as soon as :func:`stall_foreseen` (give_up = (from pass,
    faces, agg)) says that the run ends above that many faces."""
    from_pass, above, agg = give_up
    reports: list[tuple[int, int, float]] = []
    with os.fdopen(report_fd, "rb") as fh:
        for line in fh:
            m = _REPORT.search(line)
            if m is None:
                continue
            reports.append((int(m.group(1)), int(m.group(2)), float(m.group(3))))
            if stall_foreseen(reports, from_pass, above, agg):
                return True
    return False


def simplify_forked(points: np.ndarray, faces: np.ndarray, target: int, agg: int,
                    give_up: tuple[int, float, float] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """fast-simplification (points, faces, collapse list or None) in a forked child (POSIX).

    fast-simplification keeps its C++ working copy (~500 bytes per input face) allocated after it returns, for the
    life of the process (1.4 GB at 5.2M faces); run in a child, that memory goes back when the child exits. The
    child gets the arrays by fork (copy-on-write) and sends the small result back through a pipe. Where the child
    fails, it runs here.
    give_up: (from pass, faces, agg): stop the child and return None as soon as its reports foresee a run that
    ends above that many faces (:func:`stall_foreseen`). A run that is not stopped is the same run (only its
    report is read), so it returns what it returns without ``give_up``."""
    r, w = os.pipe()
    rep_r, rep_w = os.pipe() if give_up is not None else (-1, -1)
    pid = os.fork()
    if pid == 0:  # child: simplify, write the arrays, leave without running any Python exit handlers
        code = 1
        try:
            os.close(r)
            verbose = False
            if give_up is not None:
                os.close(rep_r)
                os.dup2(rep_w, 1)
                os.close(rep_w)
                verbose = _c_stdout_unbuffered()
            wv, wf, col = simplify_here(points, faces, target, agg, verbose)
            if give_up is not None:  # end of the report: the parent then reads the result
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
            buf = io.BytesIO()
            np.save(buf, np.asarray(wv, dtype=np.float64))
            np.save(buf, np.asarray(wf, dtype=np.int64))
            np.save(buf, np.asarray(col if col is not None else np.zeros((0, 3)), dtype=np.int64))
            with os.fdopen(w, "wb") as fh:
                fh.write(buf.getvalue())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    if give_up is not None:
        os.close(rep_w)
        if _stalls(rep_r, give_up):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return None
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return simplify_here(points, faces, target, agg)
    buf = io.BytesIO(data)
    wv, wf, col = np.load(buf), np.load(buf), np.load(buf)
    return wv, wf, (col if col.shape[1:] == (2,) else None)

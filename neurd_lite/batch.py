"""Batch featurization of many meshes: parallel, resumable, and every input accounted for.

Layout of ``out_dir``::

    neurons/NAME.h5                 the decomposed Neuron (lossless)
    parts/NAME.*.parquet            that neuron's feature / branch / synapse / dropped-synapse rows
    parts/NAME.done.json            written last: finished (sha256 of mesh, synapse table and parameters)
    parts/NAME.error.json           the neuron failed (file, stage, error type, message)
    features.parquet, branches.parquet, synapses.parquet, dropped_synapses.csv, errors.csv, run_manifest.json

Every input named on the command line is one row of ``features.parquet`` or one row of ``errors.csv``, never
both and never neither (an interrupted run lists the rest as ``not_run`` in the manifest). Results are always
written by the calling process (the client): pool and Dask workers only compute and send their tables back,
so workers need to read the inputs (absolute paths, resolved here) but never write. Every file is written to
a temporary name and renamed; a rerun skips neurons whose done marker matches the inputs' content and the
parameters, recomputes changed ones and retries failed ones. Module layout: ``batch_inputs`` (which files),
``batch_item`` (one neuron), ``batch_pool`` (crash-proof worker processes), this module (the run).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from .batch_inputs import (MESH_SUFFIXES, BatchItem, find_inputs, leading_id, make_items, match_synapses,
                           parse_units_rules, read_pairs, read_segment_ids)
from .batch_item import (DROPPED, DROPPED_COLUMNS, ERROR_COLUMNS, TABLES, BatchConfig, atomic_json, atomic_parquet,
                         compute_item, done_key, is_done, jsonable, process_item, store_result)
from .errors import InputError

__all__ = ["BatchConfig", "BatchInterrupted", "BatchItem", "BatchReport", "MESH_SUFFIXES", "NoInputs", "TABLES",
           "consolidate", "featurize", "find_inputs", "leading_id", "make_items", "match_synapses",
           "parse_units_rules", "process_item"]

log = logging.getLogger("neurd_lite.batch")


@dataclass
class BatchReport:
    """What a run did: names finished now, skipped as already done, failed (with errors.csv rows)."""

    out_dir: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: inputs for which ``synapses=`` was given but no table matched (they run without synapses)
    no_synapses: list[str] = field(default_factory=list)
    #: inputs not run because the run was interrupted (Ctrl-C); a rerun of the same command resumes them
    pending: list[str] = field(default_factory=list)
    interrupted: bool = False
    #: input arguments (paths, folders, globs) that matched no file
    unmatched: list[str] = field(default_factory=list)
    #: synapse rows dropped over the whole output (listed in dropped_synapses.csv)
    dropped_synapse_rows: int = 0

    @property
    def n_finished(self) -> int:
        """Inputs with a result: featurized now or in an earlier run."""
        return len(self.done) + len(self.skipped)

    @property
    def n_total(self) -> int:
        return self.n_finished + len(self.failed) + len(self.pending)


class BatchInterrupted(KeyboardInterrupt):
    """Raised by :func:`featurize` after a Ctrl-C, once pending work is cancelled and the run-level tables,
    ``errors.csv`` and ``run_manifest.json`` are written for what finished; ``report`` says what that was."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__(f"featurize interrupted: {report.n_finished} of {report.n_total} done")
        self.report = report


class NoInputs(InputError):
    """No input argument matched a file; nothing was run or written."""


# ---- running the items -------------------------------------------------------------------------------------
Runner = Iterator[tuple[BatchItem, dict[str, Any]]]


def _run_serial(todo: list[BatchItem], config: BatchConfig, keys: dict[str, Any]) -> Runner:
    for item in todo:
        yield item, process_item(item, config, keys[item.name])


def _run_pool(todo: list[BatchItem], config: BatchConfig, keys: dict[str, Any], workers: int) -> Runner:
    from .batch_pool import WorkerPool

    by_name = {i.name: i for i in todo}
    out = Path(config.out_dir)

    def on_error(item: BatchItem, err: dict[str, Any]) -> dict[str, Any]:
        return {"name": item.name, "ok": False, "file": item.mesh, **err}

    pool = WorkerPool(workers, compute_item, config.max_memory_mb, config.timeout_s)
    for res in pool.run(todo, config, on_error):
        item = by_name[res["name"]]
        yield item, store_result(res, item, out, keys[item.name])


def _worker_error(item: BatchItem, exc: BaseException) -> dict[str, Any]:
    return {"name": item.name, "ok": False, "file": item.mesh, "stage": "worker", "error_type": type(exc).__name__,
            "message": f"the worker running this neuron failed ({exc!r}); a worker killed for memory or a crash"}


def _run_futures(todo: list[BatchItem], config: BatchConfig, keys: dict[str, Any], submit: Callable[..., Any],
                 as_completed: Callable[..., Any]) -> Runner:
    """Results of futures from ``submit(item)`` (any executor or a Dask client), stored by this process."""
    out = Path(config.out_dir)
    futures = {submit(item): item for item in todo}
    try:
        for fut in as_completed(list(futures)):
            item = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker died (Dask: KilledWorker after its retries)
                res = _worker_error(item, exc)
            yield item, store_result(res, item, out, keys[item.name])
    finally:  # Ctrl-C or the caller stopped: drop what has not run (one place)
        for fut in futures:
            fut.cancel()


def _run_dask(todo: list[BatchItem], config: BatchConfig, keys: dict[str, Any], address: str) -> Runner:
    try:
        from distributed import Client, as_completed
    except ImportError as e:  # an InputError, so the command line prints one line, not a traceback
        raise InputError("--dask-scheduler needs the distributed package",
                         hint="pip install 'neurd-lite[dask]'") from e
    with Client(address) as client:
        def submit(item: BatchItem) -> Any:
            tag = keys[item.name]["mesh_sha256"] or "none"
            return client.submit(compute_item, item, config, pure=False, retries=1,
                                 key=f"neurd-lite-{item.name}-{tag[:12]}-{time.time_ns()}")

        yield from _run_futures(todo, config, keys, submit, as_completed)


def _progress(runner: Runner, total: int, show: bool) -> Runner:
    if not show:
        yield from runner
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="neuron", desc="featurize", dynamic_ncols=True) as bar:
        for pair in runner:
            bar.update(1)
            yield pair


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One run at a time per output folder: a second run waits for the first (then resumes from its results)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(out / ".featurize.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log.warning("%s: another featurize run is writing here; waiting for it to finish", out)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---- tables ------------------------------------------------------------------------------------------------
def _concat_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-neuron frames keeping column dtypes: frames without rows (e.g. a neuron without
    synapses, whose part has only the ``neuron`` column) are left out, since concatenating them turns bool
    columns into object (then str in parquet) and int columns into float. Columns present in only some
    non-empty frames still get NaN where missing."""
    rows = [f for f in frames if len(f)]
    if not rows:
        return frames[0] if frames else pd.DataFrame()
    return pd.concat(rows) if len(rows) > 1 else rows[0]


def _replace_csv(path: Path, df: pd.DataFrame) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def consolidate(out_dir: str | os.PathLike, names: list[str]) -> dict[str, int]:
    """Rebuild the run-level tables from the per-neuron parts of ``names`` (in that order): a finished neuron
    (done marker) gives its rows, an unfinished one with an error file one ``errors.csv`` row."""
    out = Path(out_dir)
    parts = out / "parts"
    finished = [n for n in names if (parts / f"{n}.done.json").is_file()]
    counts = {}
    for table in TABLES:
        frames = [pd.read_parquet(p) for n in finished if (p := parts / f"{n}.{table}.parquet").is_file()]
        df = _concat_parts(frames)
        atomic_parquet(out / f"{table}.parquet", df)
        counts[table] = len(df)
    dropped = [pd.read_parquet(p) for n in finished if (p := parts / f"{n}.{DROPPED}.parquet").is_file()]
    dropped_df = pd.concat([d for d in dropped if len(d)] or [pd.DataFrame(columns=DROPPED_COLUMNS)])
    _replace_csv(out / f"{DROPPED}.csv", dropped_df[DROPPED_COLUMNS])
    counts[DROPPED] = len(dropped_df)
    errors = []
    done = set(finished)
    for name in names:
        p = parts / f"{name}.error.json"
        if name not in done and p.is_file():
            e = json.loads(p.read_text())
            errors.append({k: e.get(k, name if k == "name" else None) for k in ERROR_COLUMNS})
    err_df = pd.DataFrame(errors, columns=ERROR_COLUMNS)
    _replace_csv(out / "errors.csv", err_df)
    counts["errors"] = len(err_df)
    return counts


# ---- the run -----------------------------------------------------------------------------------------------
def _runner(todo: list[BatchItem], config: BatchConfig, keys: dict[str, Any], workers: int,
            executor: cf.Executor | None, dask_scheduler: str | None) -> Runner:
    if executor is not None:
        return _run_futures(todo, config, keys, lambda item: executor.submit(compute_item, item, config),
                            cf.as_completed)
    if dask_scheduler:
        return _run_dask(todo, config, keys, dask_scheduler)
    if workers <= 1 and not config.max_memory_mb and not config.timeout_s:
        return _run_serial(todo, config, keys)
    return _run_pool(todo, config, keys, workers)  # a limit with one worker: one watched process


def featurize(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *, synapses: str | None = None,
              units: Any = "nm", synapse_units: Any = None, workers: int = 1, executor: cf.Executor | None = None,
              dask_scheduler: str | None = None, timeout_s: float | None = None,
              max_memory_mb: float | None = None, progress: bool = True, save_neuron: bool = True,
              synapse_manifest: str | os.PathLike | None = None, params: Any = None,
              split: bool = True, segment_ids: str | dict[str, int] | None = None) -> BatchReport:
    """Decompose and featurize every mesh in ``inputs`` into ``out_dir``; see the module docstring.

    ``synapses``: a folder (tables named by the mesh's exact stem), a pattern with ``{stem}`` / ``{id}`` or one
    table; ``synapse_manifest``: a csv with ``mesh, synapses`` columns (see :func:`match_synapses`).
    ``executor`` may be any ``concurrent.futures.Executor`` (e.g. a Dask ``client.get_executor()``); otherwise
    ``workers`` > 1 uses crash-proof worker processes and ``dask_scheduler`` (``tcp://host:port``) a Dask cluster.
    ``timeout_s`` (seconds) and ``max_memory_mb`` (MiB of resident memory per worker) bound each neuron; with
    either limit and one worker the neurons run in one watched worker process. ``units`` is one value for every
    mesh or per-input rules (see :func:`parse_units_rules`); ``synapse_units`` likewise for the synapse tables' positions (None: from each
    table's layout). ``params``: a ``neurd_lite.PipelineParams`` (or its YAML/JSON file) for every neuron; it is
    part of each done marker's key, so other parameters recompute. ``split``: a mesh with several somata (a
    merge) gives one features row, one ``.h5`` (``<name>_soma<k>``) and one ``soma_index`` per soma
    (``nl.split``); False keeps one row per input. ``segment_ids``: "name" (each mesh's leading digits are its
    root id) or a mapping mesh -> root id (default: the manifest's ``segment_id`` column when it has one); synapse
    rows of other neurons are then left out (CAVE tables holding several neurons). Raises :class:`NoInputs` when no input matches a file
    (nothing written).
    """
    if params is not None and not hasattr(params, "to_dict"):
        from .params import PipelineParams  # type: ignore[attr-defined]

        params = PipelineParams.load(params)
    t0 = time.perf_counter()
    inputs = [str(i) for i in inputs]
    found, unmatched = [], []
    for text in inputs:
        hits = find_inputs([text], with_problems=True)
        found.extend(hits)
        if not hits:
            unmatched.append(text)
            log.warning("no mesh files match %r", text)
    if not found:
        raise NoInputs("no input matched; nothing to do", ", ".join(inputs), "check the paths or glob patterns")
    pairs = read_pairs(synapse_manifest) if synapse_manifest else None
    if segment_ids is None and synapse_manifest:
        segment_ids = read_segment_ids(synapse_manifest)
    items = make_items(_dedup(found), synapses, units, synapse_units, pairs, segment_ids)
    out = Path(os.path.abspath(out_dir))
    (out / "parts").mkdir(parents=True, exist_ok=True)
    shared = executor is None and not dask_scheduler
    config = BatchConfig(str(out), timeout_s=timeout_s, max_memory_mb=max_memory_mb, save_neuron=save_neuron,
                         shared_out=shared, params=params, split=split)
    report = BatchReport(out, unmatched=unmatched)
    with _exclusive(out):
        todo = _plan(items, config, report, bool(synapses or pairs), synapses)
        keys = {i.name: done_key(i, config) for i in todo}
        todo = [i for i in todo if not _skip(i, out, keys[i.name], report)]
        log.info("featurize: %d inputs, %d already done, %d to run", len(items), len(report.skipped), len(todo))
        try:
            for item, res in _progress(_runner(todo, config, keys, workers, executor, dask_scheduler), len(todo),
                                       progress and bool(todo)):
                _count(report, item, res)
        except KeyboardInterrupt:
            report.interrupted = True
            seen = set(report.done) | set(report.failed)
            report.pending = [i.name for i in todo if i.name not in seen]
            log.warning("featurize: interrupted; writing the tables for the %d finished neurons", report.n_finished)
        counts = consolidate(out, [i.name for i in items])
        report.dropped_synapse_rows = counts[DROPPED]
        report.seconds = time.perf_counter() - t0
        _write_manifest(out, items, config, units, report, counts, workers, dask_scheduler, synapse_units)
    if report.interrupted:
        raise BatchInterrupted(report)
    return report


def _dedup(found: list[Any]) -> list[Any]:
    """One entry per file (by real path; by absolute path for broken ones), sorted by that path."""
    keyed = {(os.path.realpath(f.path) if f.problem is None else os.path.abspath(f.path)): f for f in found[::-1]}
    return [keyed[k] for k in sorted(keyed)]


def _plan(items: list[BatchItem], config: BatchConfig, report: BatchReport, want_synapses: bool,
          synapses: str | None) -> list[BatchItem]:
    """Items that cannot run go to errors now; the rest are returned. Missing synapse tables are warned about."""
    out = Path(config.out_dir)
    todo = []
    for item in items:
        if item.problem:
            _count(report, item, store_result(compute_item(item, config), item, out, {}))
            continue
        if want_synapses and item.synapses is None:
            report.no_synapses.append(item.name)
            log.warning("%s: no synapse table matches --synapses %r; featurized without synapses", item.mesh,
                        synapses)
        todo.append(item)
    return todo


def _skip(item: BatchItem, out: Path, key: dict[str, Any], report: BatchReport) -> bool:
    if is_done(item, out, key):
        report.skipped.append(item.name)
        return True
    return False


def _count(report: BatchReport, item: BatchItem, res: dict[str, Any]) -> None:
    (report.done if res["ok"] else report.failed).append(item.name)
    if not res["ok"]:
        log.warning("%s failed at %s: %s: %s", item.mesh, res["stage"], res["error_type"], res["message"])


def _write_manifest(out: Path, items: list[BatchItem], config: BatchConfig, units: Any, report: BatchReport,
                    counts: dict[str, int], workers: int, dask_scheduler: str | None,
                    synapse_units: Any = None) -> None:
    """``units`` / ``synapse_units``: the arguments as given to :func:`featurize` (one value or per-input rules;
    each item's resolved units are in ``inputs``)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("neurd-lite", "numpy", "scipy", "trimesh", "meshparty", "networkx", "pandas", "lightgbm"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    stage_times: dict[str, list[float]] = {}
    for item in items:
        p = out / "parts" / f"{item.name}.done.json"
        if p.is_file():
            for stage, sec in json.loads(p.read_text()).get("timings_s", {}).items():
                stage_times.setdefault(stage, []).append(float(sec))
    manifest = {
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(), "platform": platform.platform(), "versions": versions,
        "parameters": {"units": jsonable(units), "synapse_units": jsonable(synapse_units),
                       **{k: v for k, v in asdict(config).items() if k not in ("shared_out", "params")},
                       "params": config.params.to_dict() if hasattr(config.params, "to_dict") else config.params,
                       "workers": workers, "dask_scheduler": dask_scheduler},
        "inputs": [asdict(i) for i in items],
        "unmatched_inputs": report.unmatched,
        "this_run": {"done": len(report.done), "skipped": len(report.skipped), "failed": len(report.failed),
                     "not_run": len(report.pending), "interrupted": report.interrupted,
                     "seconds": round(report.seconds, 2)},
        "inputs_without_synapses": {"count": len(report.no_synapses), "names": report.no_synapses},
        "rows": counts,
        "stage_seconds_median": {k: float(pd.Series(v).median()) for k, v in stage_times.items()},
        "stage_seconds_total": {k: float(sum(v)) for k, v in stage_times.items()},
    }
    atomic_json(out / "run_manifest.json", manifest)


def flag_summary(out_dir: str | os.PathLike, worst: int = 3) -> list[str]:
    """Console lines on the flags in ``out_dir/features.parquet``: how many rows carry each kind of flag (the
    text before its first ':') and the ``worst`` neurons with the most kinds; empty when no row is flagged."""
    path = Path(out_dir) / "features.parquet"
    if not path.is_file():
        return []
    table = pd.read_parquet(path)
    if "flags" not in table.columns:
        return []
    flags = table["flags"].fillna("")
    kinds = flags.map(lambda text: sorted({f.split(":", 1)[0].strip() for f in str(text).split("; ") if f.strip()}))
    counts = pd.Series([k for ks in kinds for k in ks], dtype=object).value_counts()
    if counts.empty:
        return []
    lines = [f"flags in {len(flags)} rows: " + ", ".join(f"{k} {n}" for k, n in counts.items())]
    ranked = kinds.map(len).sort_values(ascending=False, kind="stable")
    for name in ranked.index[:worst]:
        if ranked[name]:
            lines.append(f"  {name}: {', '.join(kinds[name])}")
    lines.append(f"  (each flag's text: the 'flags' column of {path}; meanings in docs/batch.md)")
    return lines


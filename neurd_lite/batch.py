"""Batch featurization of many meshes: parallel, resumable, one failure never stops the batch.

Layout of ``out_dir``::

    neurons/NAME.h5             the decomposed Neuron (lossless)
    parts/NAME.*.parquet        that neuron's feature / branch / synapse rows
    parts/NAME.done.json        written last: the neuron is finished (input fingerprint, timings)
    parts/NAME.error.json       the neuron failed (file, stage, error type, message)
    features.parquet, branches.parquet, synapses.parquet, errors.csv, run_manifest.json

Every file is written to a temporary name and renamed, so a killed run never leaves a half-written file
that a later run reads as finished. Rerunning the same command skips neurons whose ``done.json`` matches
the input file (size and modification time) and retries the failed ones. Workers write into ``out_dir``
directly, so with a Dask cluster it must be on a filesystem the workers share.
"""
from __future__ import annotations

import concurrent.futures as cf
import glob
import hashlib
import json
import logging
import os
import platform
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from .units import parse_units

log = logging.getLogger("neurd_lite.batch")

MESH_SUFFIXES = (".ply", ".obj", ".off", ".stl", ".h5")
TABLES = ("features", "branches", "synapses")


@dataclass(frozen=True)
class BatchItem:
    """One neuron to process: its mesh file, output name, optional synapse table, the mesh's units (as in
    :func:`neurd_lite.units.scale_to_nm`; :func:`make_items` resolves per-input rules into this field) and the
    synapse table's position units (None: from the table layout, see ``neurd_lite.io.synapses``)."""

    mesh: str
    name: str
    synapses: str | None = None
    units: Any = "nm"
    synapse_units: Any = None


@dataclass(frozen=True)
class BatchConfig:
    """Settings shared by every item (mesh units are per item: :attr:`BatchItem.units`)."""

    out_dir: str
    timeout_s: float | None = None
    max_memory_mb: float | None = None
    save_neuron: bool = True
    params: Any = None  # a neurd_lite.PipelineParams for decompose and features (None: defaults)


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

    @property
    def n_total(self) -> int:
        return len(self.done) + len(self.skipped) + len(self.failed) + len(self.pending)


class BatchInterrupted(KeyboardInterrupt):
    """Raised by :func:`featurize` after a Ctrl-C, once pending work is cancelled and the run-level tables,
    ``errors.csv`` and ``run_manifest.json`` are written for what finished; ``report`` says what that was."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__(f"featurize interrupted: {len(report.done) + len(report.skipped)} of "
                         f"{report.n_total} done")
        self.report = report


# ---- inputs ------------------------------------------------------------------------------------------------
def find_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (non-recursive) and glob patterns into a sorted list of mesh files.

    A named file that does not exist is kept, so that it is reported as an error rather than dropped.
    """
    found: dict[str, Path] = {}
    for raw in inputs:
        text = str(raw)
        p = Path(text)
        if p.is_dir():
            paths = [c for c in sorted(p.iterdir()) if c.suffix.lower() in MESH_SUFFIXES and c.is_file()]
        elif any(ch in text for ch in "*?["):
            paths = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
        else:
            paths = [p]
        for q in paths:
            found[str(q.resolve())] = q
    return [found[k] for k in sorted(found)]


def _leading_id(stem: str) -> str:
    return stem.replace(".", "_").split("_")[0]


def match_synapses(mesh: Path, spec: str | None) -> str | None:
    """The synapse table for ``mesh``: ``spec`` is a folder or a pattern with ``{stem}`` / ``{id}``.

    In a folder, the file named like the mesh stem wins, else one whose name starts with the mesh's
    leading id (the part before the first ``_``), e.g. ``864..._synapses.csv`` for ``864..._80k.off``.
    """
    if not spec:
        return None
    stem, ident = mesh.stem, _leading_id(mesh.stem)
    if "{" in spec:
        cand = Path(spec.format(stem=stem, id=ident))
        return str(cand) if cand.is_file() else None
    folder = Path(spec)
    if folder.is_file():
        return str(folder)
    if not folder.is_dir():
        return None
    tables = [c for c in sorted(folder.iterdir()) if c.suffix.lower() in (".csv", ".parquet", ".feather")]
    for c in tables:
        if c.stem == stem:
            return str(c)
    for c in tables:
        if _leading_id(c.stem) == ident:
            return str(c)
    return None


def parse_units_rules(units: Any) -> list[tuple[str, Any]]:
    """Units per input: a single value for all, a ``{glob: units}`` mapping, or a string
    ``"fly/*=8,*.ply=um,*=nm"`` (first matching glob wins; globs match the path or the file name).
    A per-axis voxel size is written with commas after its ``=``: ``"micro/*=4,4,40,*=nm"``. Text values are
    read by :func:`neurd_lite.units.parse_units` (``"8"`` -> 8.0, ``"4,4,40"`` -> a tuple)."""
    if isinstance(units, dict):
        return list(units.items())
    if isinstance(units, str) and "=" in units:
        groups: list[tuple[str, list[str]]] = []
        for part in units.split(","):
            if "=" in part:
                pattern, _, value = part.partition("=")
                groups.append((pattern.strip(), [value.strip()]))
            elif groups:
                groups[-1][1].append(part.strip())  # 4,4,40: the rest of a per-axis voxel size
            else:
                raise ValueError(f"units rule {part!r} has no 'glob=' in {units!r}")
        return [(pattern, parse_units(",".join(values))) for pattern, values in groups]
    return [("*", parse_units(units) if isinstance(units, str) else units)]


def _units_for(path: Path, rules: list[tuple[str, Any]], default: Any = "nm") -> Any:
    import fnmatch

    text = path.as_posix()
    for pattern, value in rules:
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) or \
                fnmatch.fnmatch(text, f"*/{pattern}"):
            return value
    return default


def make_items(meshes: list[Path], synapses: str | None = None, units: Any = "nm",
               synapse_units: Any = None) -> list[BatchItem]:
    """One item per mesh; names are file stems, made unique with a short path hash when stems repeat.
    ``units`` and ``synapse_units`` are one value or per-input rules (:func:`parse_units_rules`); an input no
    synapse rule matches gets None (units from the table layout)."""
    stems = [m.stem for m in meshes]
    rules = parse_units_rules(units)
    syn_rules = parse_units_rules(synapse_units)
    items = []
    for m, stem in zip(meshes, stems):
        name = stem
        if stems.count(stem) > 1:
            name = f"{stem}_{hashlib.sha1(str(m.resolve()).encode()).hexdigest()[:8]}"
        items.append(BatchItem(str(m), name, match_synapses(m, synapses), _units_for(m, rules),
                               _units_for(m, syn_rules, default=None)))
    return items


# ---- atomic files ------------------------------------------------------------------------------------------
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, json.dumps(obj, indent=1, default=str).encode())


def _atomic_parquet(path: Path, df: pd.DataFrame) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    _parquet_safe(df).to_parquet(tmp, index=True)
    os.replace(tmp, path)


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed or non-scalar values become strings (parquet needs one type)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    out.columns = [str(c) for c in out.columns]
    return out


def fingerprint(path: str) -> dict[str, Any]:
    """Size and modification time of an input file (what resume compares)."""
    try:
        st = os.stat(path)
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        return {"size": None, "mtime_ns": None}


def is_done(item: BatchItem, out_dir: Path) -> bool:
    """True when ``item`` finished in an earlier run on the same input file."""
    marker = out_dir / "parts" / f"{item.name}.done.json"
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    same_units = all(info[k] == _jsonable(getattr(item, k)) for k in ("units", "synapse_units") if k in info)
    return info.get("input") == fingerprint(item.mesh) and info.get("synapses") == item.synapses and same_units


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from a done.json (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


# ---- one neuron --------------------------------------------------------------------------------------------
class _Limits:
    """Per-neuron time limit (SIGALRM, main thread on POSIX) and address-space limit (worker processes)."""

    def __init__(self, timeout_s: float | None, max_memory_mb: float | None, in_worker: bool) -> None:
        self.timeout_s = timeout_s
        self.max_memory_mb = max_memory_mb if in_worker else None
        self._old: Any = None

    def __enter__(self) -> "_Limits":
        import signal
        import threading

        if self.max_memory_mb:
            import resource

            limit = int(self.max_memory_mb * 2**20)
            self._old_rlimit = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (limit, self._old_rlimit[1]))
        if self.timeout_s and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
            def _raise(signum: int, frame: Any) -> None:
                raise TimeoutError(f"exceeded the per-neuron time limit of {self.timeout_s:g} s")

            self._old = signal.signal(signal.SIGALRM, _raise)
            signal.setitimer(signal.ITIMER_REAL, float(self.timeout_s))
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self._old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        if self.max_memory_mb:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._old_rlimit)


def _stage_of(exc: BaseException, current: str) -> str:
    return getattr(exc, "stage", None) or current


def process_item(item: BatchItem, config: BatchConfig, in_worker: bool = True) -> dict[str, Any]:
    """Decompose, save and featurize one neuron; returns a small status dict and never raises.

    Results go to ``config.out_dir`` (see module docstring); the ``done.json`` marker is written last.
    """
    from .feature import branch_features, features
    from .pipeline import decompose

    out = Path(config.out_dir)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    stage = "ingest"
    try:
        with _Limits(config.timeout_s, config.max_memory_mb, in_worker):
            if not Path(item.mesh).is_file():
                raise FileNotFoundError(f"{item.mesh}: no such file")
            n = decompose(item.mesh, synapses=item.synapses, units=item.units, name=item.name,
                          synapse_units=item.synapse_units, params=config.params)
            if config.save_neuron:
                stage = "save"
                n.save(out / "neurons" / f"{item.name}.h5")
            stage = "features"
            feats = features(n, params=config.params)
            feats.insert(0, "source_file", item.mesh)
            feats.insert(1, "flags", "; ".join(n.flags))
            branches = branch_features(n, params=config.params)
            branches.insert(0, "neuron", item.name)
            syn = n.synapses.copy()
            syn.insert(0, "neuron", item.name)
            stage = "write"
            for table, df in zip(TABLES, (feats, branches, syn)):
                _atomic_parquet(parts / f"{item.name}.{table}.parquet", df)
    except BaseException as exc:  # noqa: BLE001 - one neuron must never stop the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        err = {"file": item.mesh, "name": item.name, "stage": _stage_of(exc, stage),
               "error_type": type(exc).__name__, "message": str(exc) or repr(exc),
               "traceback": traceback.format_exc(limit=6)}
        _atomic_json(parts / f"{item.name}.error.json", err)
        return {"name": item.name, "ok": False, **err}
    (parts / f"{item.name}.error.json").unlink(missing_ok=True)
    info = {"name": item.name, "input": fingerprint(item.mesh), "synapses": item.synapses,
            "units": _jsonable(item.units), "synapse_units": _jsonable(item.synapse_units),
            "seconds": round(time.perf_counter() - t0, 3), "timings_s": n.provenance.get("timings_s", {}),
            "flags": n.flags}
    _atomic_json(parts / f"{item.name}.done.json", info)
    return {"name": item.name, "ok": True, "seconds": info["seconds"]}


# ---- the run -----------------------------------------------------------------------------------------------
def _executor(workers: int, dask_scheduler: str | None) -> tuple[cf.Executor | None, Any]:
    if dask_scheduler:
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("--dask-scheduler needs the optional extra: pip install 'neurd-lite[dask]'") from e
        client = Client(dask_scheduler)
        return client.get_executor(pure=False), client
    if workers <= 1:
        return None, None
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # no inherited locks/threads from the parent
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx), None


def _run_items(items: list[BatchItem], config: BatchConfig, executor: cf.Executor | None,
               progress: bool) -> Iterator[dict[str, Any]]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), unit="neuron", desc="featurize", dynamic_ncols=True)
    try:
        if executor is None:
            for item in items:
                res = process_item(item, config, in_worker=False)
                if bar is not None:
                    bar.update(1)
                yield res
            return
        futures = {executor.submit(process_item, item, config): item for item in items}
        try:
            yield from _collect(futures, config, bar)
        except BaseException:  # Ctrl-C (or the caller stopped): drop work not started yet
            for fut in futures:
                fut.cancel()
            raise
    finally:
        if bar is not None:
            bar.close()


def _collect(futures: dict[cf.Future, BatchItem], config: BatchConfig, bar: Any) -> Iterator[dict[str, Any]]:
    for fut in cf.as_completed(futures):
        item = futures[fut]
        try:
            res = fut.result()
        except Exception as exc:  # the worker itself died (e.g. killed for memory)
            err = {"file": item.mesh, "name": item.name, "stage": "worker",
                   "error_type": type(exc).__name__,
                   "message": f"worker process failed ({exc!r}); likely out of memory or a crash"}
            _atomic_json(Path(config.out_dir) / "parts" / f"{item.name}.error.json", err)
            res = {"name": item.name, "ok": False, **err}
        if bar is not None:
            bar.update(1)
        yield res


def _stop_pool(executor: cf.Executor) -> None:
    """After Ctrl-C: cancel queued work and end the pool's worker processes now (a running neuron would
    otherwise finish first; its per-neuron outputs are rerun on resume, as they have no done marker)."""
    procs = list((getattr(executor, "_processes", None) or {}).values())  # shutdown() forgets them
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=10)


def _concat_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-neuron frames keeping column dtypes: frames without rows (e.g. a neuron without
    synapses, whose part has only the ``neuron`` column) are left out, since concatenating them turns bool
    columns into object (then str in parquet) and int columns into float. Columns present in only some
    non-empty frames still get NaN where missing."""
    rows = [f for f in frames if len(f)]
    if not rows:
        return frames[0] if frames else pd.DataFrame()
    return pd.concat(rows) if len(rows) > 1 else rows[0]


def consolidate(out_dir: str | os.PathLike, names: list[str]) -> dict[str, int]:
    """Rebuild the run-level tables from the per-neuron parts of ``names`` (in that order)."""
    out = Path(out_dir)
    parts = out / "parts"
    counts = {}
    for table in TABLES:
        frames = [pd.read_parquet(p) for name in names if (p := parts / f"{name}.{table}.parquet").is_file()
                  and (parts / f"{name}.done.json").is_file()]
        df = _concat_parts(frames)
        _atomic_parquet(out / f"{table}.parquet", df)
        counts[table] = len(df)
    errors = []
    for name in names:
        p = parts / f"{name}.error.json"
        if p.is_file() and not (parts / f"{name}.done.json").is_file():
            e = json.loads(p.read_text())
            errors.append({k: e.get(k) for k in ("file", "stage", "error_type", "message")})
    err_df = pd.DataFrame(errors, columns=["file", "stage", "error_type", "message"])
    tmp = out / f"errors.csv.tmp{os.getpid()}"
    err_df.to_csv(tmp, index=False)
    os.replace(tmp, out / "errors.csv")
    counts["errors"] = len(err_df)
    return counts


def featurize(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *, synapses: str | None = None,
              units: Any = "nm", synapse_units: Any = None, workers: int = 1, executor: cf.Executor | None = None,
              dask_scheduler: str | None = None, timeout_s: float | None = None,
              max_memory_mb: float | None = None, progress: bool = True, save_neuron: bool = True,
              params: Any = None) -> BatchReport:
    """Decompose and featurize every mesh in ``inputs`` into ``out_dir``; see the module docstring.

    ``executor`` may be any ``concurrent.futures.Executor`` (e.g. a Dask ``client.get_executor()``);
    otherwise ``workers`` > 1 uses a process pool and ``dask_scheduler`` an existing Dask cluster.
    ``timeout_s`` (seconds) and ``max_memory_mb`` (MiB, worker processes only) bound each neuron.
    ``units`` is one value for every mesh or per-input rules (see :func:`parse_units_rules`);
    ``synapse_units`` likewise for the synapse tables' positions (None: from each table's layout).
    ``params``: a :class:`neurd_lite.PipelineParams` (or a path to its YAML/JSON file) for every neuron; it is
    recorded in ``run_manifest.json`` (outputs of an earlier run with other parameters are not redone).
    """
    if params is not None and not hasattr(params, "to_dict"):
        from .params import PipelineParams

        params = PipelineParams.load(params)
    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    items = make_items(find_inputs(inputs), synapses, units, synapse_units)
    config = BatchConfig(str(out), timeout_s=timeout_s, max_memory_mb=max_memory_mb, save_neuron=save_neuron,
                         params=params)
    report = BatchReport(out)
    if synapses:
        for item in items:
            if item.synapses is None:
                report.no_synapses.append(item.name)
                log.warning("%s: no synapse table matches --synapses %r; featurized without synapses",
                            item.mesh, synapses)
    todo: list[BatchItem] = []
    for item in items:
        if is_done(item, out):
            report.skipped.append(item.name)
        else:
            todo.append(item)
    log.info("featurize: %d inputs, %d already done, %d to run", len(items), len(report.skipped), len(todo))
    own_executor, client = (None, None)
    if executor is None and todo:
        own_executor, client = _executor(workers, dask_scheduler)
    try:
        for res in _run_items(todo, config, executor or own_executor, progress):
            (report.done if res["ok"] else report.failed).append(res["name"])
            if not res["ok"]:
                log.warning("%s failed at %s: %s: %s", res["file"], res["stage"], res["error_type"], res["message"])
    except KeyboardInterrupt:
        report.interrupted = True
        finished = set(report.done) | set(report.failed)
        report.pending = [i.name for i in todo if i.name not in finished]
        log.warning("featurize: interrupted; writing the tables for the %d finished neurons",
                    len(report.done) + len(report.skipped))
    finally:
        if own_executor is not None:
            if report.interrupted and isinstance(own_executor, cf.ProcessPoolExecutor):
                _stop_pool(own_executor)
            else:
                own_executor.shutdown(wait=not report.interrupted, cancel_futures=report.interrupted)
        if client is not None:
            client.close()
    counts = consolidate(out, [i.name for i in items])
    report.seconds = time.perf_counter() - t0
    _write_manifest(out, items, config, units, report, counts, workers, dask_scheduler, synapse_units)
    if report.interrupted:
        raise BatchInterrupted(report)
    return report


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
        "parameters": {"out_dir": config.out_dir, "units": units, "synapse_units": synapse_units,
                       **{k: v for k, v in asdict(config).items() if k != "out_dir"},
                       "workers": workers, "dask_scheduler": dask_scheduler},
        "inputs": [asdict(i) for i in items],
        "this_run": {"done": len(report.done), "skipped": len(report.skipped), "failed": len(report.failed),
                     "not_run": len(report.pending), "interrupted": report.interrupted,
                     "seconds": round(report.seconds, 2)},
        "inputs_without_synapses": {"count": len(report.no_synapses), "names": report.no_synapses},
        "rows": counts,
        "stage_seconds_median": {k: float(pd.Series(v).median()) for k, v in stage_times.items()},
        "stage_seconds_total": {k: float(sum(v)) for k, v in stage_times.items()},
    }
    _atomic_json(out / "run_manifest.json", manifest)

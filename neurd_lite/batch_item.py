"""One neuron of a batch: compute it (anywhere: this process, a pool worker, a Dask worker) and store it (always
on the client, in ``out_dir``).

``compute_item`` returns the neuron's tables in memory and never raises; ``store_result`` writes them as
``parts/NAME.*.parquet`` and the ``done.json`` marker last, or on failure removes any earlier result of that
neuron and writes ``parts/NAME.error.json``. The done marker holds the sha256 of the mesh and synapse table and
of the parameters, so a changed input is recomputed and a broken one replaces the old row with an error.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .batch_inputs import BatchItem

#: per-neuron tables: parts/NAME.<table>.parquet -> OUT/<table>.parquet
TABLES = ("features", "branches", "synapses")
#: per-neuron list of dropped synapse rows: parts/NAME.dropped_synapses.parquet -> OUT/dropped_synapses.csv
DROPPED = "dropped_synapses"
DROPPED_COLUMNS = ["neuron", "synapse_file", "row", "reason"]
ERROR_COLUMNS = ["file", "name", "stage", "error_type", "message"]


@dataclass(frozen=True)
class BatchConfig:
    """Settings shared by every item (mesh units are per item: :attr:`BatchItem.units`). ``shared_out``: the
    computing process may write the neuron .h5 into ``out_dir`` itself (local runs); else it is returned."""

    out_dir: str
    timeout_s: float | None = None
    max_memory_mb: float | None = None
    save_neuron: bool = True
    shared_out: bool = True
    params: Any = None  # a neurd_lite.PipelineParams for decompose and features (None: defaults)
    split: bool = True  # a merge of several somata becomes one row (and one .h5) per soma (nl.split)


# ---- atomic files ------------------------------------------------------------------------------------------
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` via a temporary file and a rename."""
    _atomic_write_bytes(path, json.dumps(obj, indent=1, default=str).encode())


def atomic_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write ``df`` as parquet to ``path`` via a temporary file and a rename."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    parquet_safe(df).to_parquet(tmp, index=True)
    os.replace(tmp, path)


def parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed or non-scalar values become strings (parquet needs one type)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    out.columns = [str(c) for c in out.columns]
    return out


# ---- done markers ------------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists): the one units -> JSON conversion."""
    return json.loads(json.dumps(value, default=str))


def file_sha256(path: str | None) -> str | None:
    """sha256 of a file's bytes (None for no path, ``"unreadable"`` when it cannot be read)."""
    if not path:
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return "unreadable"
    return h.hexdigest()


def done_key(item: BatchItem, config: BatchConfig) -> dict[str, Any]:
    """What a finished result depends on: the inputs' content and every setting that changes the result."""
    from . import __version__

    settings = {k: v for k, v in asdict(config).items() if k not in ("out_dir", "timeout_s", "max_memory_mb",
                                                                      "shared_out", "params")}
    if config.params is not None:
        settings["params"] = config.params.to_dict() if hasattr(config.params, "to_dict") else repr(config.params)
    params = {"units": item.units, "synapse_units": item.synapse_units, "synapses": item.synapses,
              "segment_id": item.segment_id,
              "neurd_lite": __version__, **settings}
    return {"mesh_sha256": file_sha256(item.mesh), "synapses_sha256": file_sha256(item.synapses),
            "parameters_sha256": hashlib.sha256(json.dumps(jsonable(params), sort_keys=True).encode()).hexdigest()}


def is_done(item: BatchItem, out_dir: Path, key: dict[str, Any]) -> bool:
    """True when ``item`` finished in an earlier run on the same input content and parameters."""
    marker = Path(out_dir) / "parts" / f"{item.name}.done.json"
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return info.get("key") == key and all((Path(out_dir) / "parts" / f"{item.name}.{t}.parquet").is_file()
                                          for t in TABLES)


# ---- limits ------------------------------------------------------------------------------------------------
class Limits:
    """Per-neuron time limit. In the main thread SIGALRM raises ``TimeoutError``; in another thread (a Dask
    worker) a timer raises it asynchronously in the running thread. ``fired`` stays True once the limit was
    reached, so a result is never accepted after that even if some code caught the exception."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.fired = False
        self._old: Any = None
        self._timer: threading.Timer | None = None

    def message(self) -> str:
        return f"exceeded the per-neuron time limit of {self.timeout_s:g} s"

    def __enter__(self) -> "Limits":
        import signal

        if not self.timeout_s:
            return self
        if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
            def _raise(signum: int, frame: Any) -> None:
                self.fired = True
                raise TimeoutError(self.message())

            self._old = signal.signal(signal.SIGALRM, _raise)
            signal.setitimer(signal.ITIMER_REAL, float(self.timeout_s))
        else:
            ident = threading.get_ident()

            def _async_raise() -> None:
                self.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(TimeoutError))

            self._timer = threading.Timer(float(self.timeout_s), _async_raise)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self._old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        if self._timer is not None:
            self._timer.cancel()


# ---- compute -----------------------------------------------------------------------------------------------
def _synapse_accounting(item: BatchItem) -> tuple[int, pd.DataFrame]:
    """(rows in the table, one row per dropped synapse row) for ``item``'s synapse table."""
    from .io.synapses import load_synapses

    empty = pd.DataFrame(columns=DROPPED_COLUMNS)
    if not item.synapses:
        return 0, empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pipeline reads the table again and warns there
        table = load_synapses(item.synapses, units=item.synapse_units)
    rows = table.attrs.get("dropped_rows", [])
    dropped = pd.DataFrame({"neuron": item.name, "synapse_file": item.synapses, "row": rows,
                            "reason": "position not a finite number (text, empty or NaN in x/y/z)"},
                           columns=DROPPED_COLUMNS)
    return int(table.attrs.get("rows_in", len(table))), dropped


def _error(item: BatchItem, stage: str, exc: BaseException, limits: Limits | None = None) -> dict[str, Any]:
    timed_out = limits is not None and limits.fired
    return {"name": item.name, "ok": False, "file": item.mesh,
            "stage": getattr(exc, "stage", None) or stage,
            "error_type": "TimeoutError" if timed_out else type(exc).__name__,
            "message": limits.message() if timed_out else (str(exc) or repr(exc)),
            "traceback": traceback.format_exc(limit=6)}


def compute_item(item: BatchItem, config: BatchConfig) -> dict[str, Any]:
    """Decompose and featurize one neuron; returns ``{"ok": True, "tables": {...}, ...}`` or an error dict
    (``file, name, stage, error_type, message``). Never raises except on Ctrl-C."""
    import scipy.spatial  # noqa: F401  # imported before the time limit is armed: an alarm inside an import
    import trimesh  # noqa: F401  # leaves a half-initialised module behind (the ingest stage imports both)

    from .feature import branch_features, features
    from .pipeline import decompose
    from .proofread import split_for_batch

    t0 = time.perf_counter()
    stage = "ingest"
    limits = Limits(config.timeout_s)
    try:
        if item.problem:
            return {"name": item.name, "ok": False, "file": item.mesh, "stage": item.problem_stage,
                    "error_type": "InputError", "message": item.problem}
        with limits:
            if not Path(item.mesh).is_file():
                raise FileNotFoundError(f"{item.mesh}: no such file")
            stage = "synapses"
            rows_in, dropped = _synapse_accounting(item)
            stage = "ingest"
            given = {} if config.params is None else {"params": config.params}
            n = decompose(item.mesh, synapses=item.synapses, units=item.units, name=item.name,
                          synapse_units=item.synapse_units, segment_id=item.segment_id, **given)
            stage = "split"
            cells = split_for_batch(n, decompose, pipeline_params=config.params) if config.split else [n]
            h5: dict[str, bytes | None] = {}
            feats_parts, branch_parts, syn_parts = [], [], []
            for cell in cells:
                if config.save_neuron:
                    stage = "save"
                    h5[cell.name] = _save_neuron(cell, cell.name, config)
                stage = "features"
                f = features(cell, **given)
                f.insert(0, "source_file", item.mesh)
                f.insert(1, "soma_index", int(cell.provenance.get("soma_index", 0)))
                feats_parts.append(f)
                b = branch_features(cell, **given)
                b.insert(0, "neuron", cell.name)
                branch_parts.append(b)
                sy = cell.synapses.copy()
                sy.insert(0, "neuron", cell.name)
                syn_parts.append(sy)
            feats = pd.concat(feats_parts)
            flags = list(n.flags)
            if len(dropped):
                flags.append(f"synapse_rows_dropped: {len(dropped)} of {rows_in} rows of {Path(item.synapses).name} "
                             "have no finite position (listed in dropped_synapses.csv)")
            feats.insert(2, "flags", ["; ".join(flags + [f for f in c.flags if f not in flags]) for c in cells])
            feats.insert(3, "synapse_rows_in", rows_in)
            feats.insert(4, "synapse_rows_dropped", len(dropped))
            branches = pd.concat(branch_parts, ignore_index=True)
            syn = pd.concat(syn_parts, ignore_index=True)
        if limits.fired:  # the alarm went off inside code that caught it: the result cannot be trusted
            raise TimeoutError(limits.message())
    except BaseException as exc:  # noqa: BLE001 - one neuron must never stop the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _error(item, stage, exc, limits)
    return {"name": item.name, "ok": True, "file": item.mesh, "neuron_h5": h5,
            "tables": {"features": feats, "branches": branches, "synapses": syn, DROPPED: dropped},
            "seconds": round(time.perf_counter() - t0, 3), "timings_s": n.provenance.get("timings_s", {}),
            "flags": n.flags}


def _save_neuron(n: Any, name: str, config: BatchConfig) -> bytes | None:
    """Write the neuron .h5 ``name``.h5 into ``out_dir`` (shared) or return its bytes (remote worker)."""
    if config.shared_out:
        n.save(Path(config.out_dir) / "neurons" / f"{name}.h5")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.h5"
        n.save(path)
        return path.read_bytes()


# ---- store (client side) -----------------------------------------------------------------------------------
def _forget(out: Path, name: str) -> None:
    """Remove every earlier result of ``name`` (done marker first, so nothing half-removed looks finished)."""
    parts = out / "parts"
    (parts / f"{name}.done.json").unlink(missing_ok=True)
    for table in (*TABLES, DROPPED):
        (parts / f"{name}.{table}.parquet").unlink(missing_ok=True)


def store_result(result: dict[str, Any], item: BatchItem, out: Path, key: dict[str, Any]) -> dict[str, Any]:
    """Write ``result`` of :func:`compute_item` into ``out`` (module docstring); returns a small status dict."""
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    if not result.get("ok"):
        _forget(out, item.name)
        for old in [out / "neurons" / f"{item.name}.h5", *(out / "neurons").glob(f"{item.name}_soma*.h5")]:
            old.unlink(missing_ok=True)
        err = {k: result.get(k) for k in (*ERROR_COLUMNS, "traceback")}
        err["file"], err["name"] = item.mesh, item.name
        atomic_json(parts / f"{item.name}.error.json", err)
        return {"name": item.name, "ok": False, **{k: err[k] for k in ERROR_COLUMNS}}
    _forget(out, item.name)
    for name, data in (result.get("neuron_h5") or {}).items():
        if data is not None:
            (out / "neurons").mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(out / "neurons" / f"{name}.h5", data)
    for table, df in result["tables"].items():
        atomic_parquet(parts / f"{item.name}.{table}.parquet", df)
    (parts / f"{item.name}.error.json").unlink(missing_ok=True)
    info = {"name": item.name, "key": key, "input": item.mesh, "synapses": item.synapses,
            "units": jsonable(item.units), "synapse_units": jsonable(item.synapse_units),
            "seconds": result.get("seconds"), "timings_s": result.get("timings_s", {}),
            "flags": result.get("flags", [])}
    atomic_json(parts / f"{item.name}.done.json", info)
    return {"name": item.name, "ok": True, "seconds": result.get("seconds")}


def process_item(item: BatchItem, config: BatchConfig, key: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compute ``item`` in this process and store it in ``config.out_dir``; returns the status dict."""
    result = compute_item(item, config)
    return store_result(result, item, Path(config.out_dir), key or done_key(item, config))

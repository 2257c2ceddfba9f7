"""Where the shipped models live and how one is read: LightGBM text (``NAME.txt``) + JSON sidecar
(``NAME.json``); nothing is unpickled. Stage packages keep their own model objects and caches on top."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def sidecar_feature_names(meta: dict[str, Any]) -> list[str]:
    """The sidecar's feature names, whether listed as names or as ``{"name": ..., "unit": ...}`` records."""
    return [f["name"] if isinstance(f, dict) else str(f) for f in meta.get("features", [])]


def json_plain(o: Any) -> Any:
    """``json.dumps`` default for sidecars: numpy arrays and scalars as plain lists and numbers; anything else is
    an error (a sidecar must read back as what was written)."""
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable in a model sidecar")


def write_sidecar(meta: dict[str, Any], directory: str | Path, name: str) -> Path:
    """Write ``directory/NAME.json`` (indent 1, numpy values as plain JSON, trailing newline); returns its path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    side = d / f"{name}.json"
    side.write_text(json.dumps(meta, indent=1, default=json_plain) + "\n")
    return side


def write_booster(booster: Any, meta: dict[str, Any], directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write a shipped model as ``read_booster`` reads it: ``NAME.txt`` (LightGBM text) + ``NAME.json`` (sidecar
    ``meta``); returns both paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    txt = d / f"{name}.txt"
    booster.save_model(str(txt))
    return txt, write_sidecar(meta, d, name)


def read_booster(name: str, directory: str | Path | None, *, what: str, hint: str) -> tuple[Any, dict[str, Any]]:
    """``(lightgbm.Booster, sidecar dict)`` for ``directory/NAME.txt`` + ``NAME.json`` (``directory`` None: the
    package's models folder). Raises InputError naming the folder when a file is missing, the sidecar is not
    JSON, or the two disagree on feature names; ``what`` ("spine-candidate", ...) and ``hint`` go in the error."""
    d = Path(directory) if directory else MODELS_DIR
    txt, side = d / f"{name}.txt", d / f"{name}.json"
    if not txt.is_file() or not side.is_file():
        raise InputError(f"{what} model not found (no {txt.name} + {side.name})", path=d, hint=hint)
    try:
        meta = json.loads(side.read_text())
    except ValueError as err:
        raise InputError(f"model sidecar {side.name} is not valid JSON ({err})", path=side, hint=hint) from err
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(txt))
    if list(booster.feature_name()) != sidecar_feature_names(meta):
        raise InputError("model file and sidecar disagree on feature names", path=txt, hint=hint)
    return booster, meta

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

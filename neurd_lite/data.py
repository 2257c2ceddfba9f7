"""Find real reference datasets named in ``data_manifest.yaml``.

Resolution order for the data root: the ``NEURD_LITE_DATA`` environment variable, then ``../shared/data``
beside the checkout (relative to the manifest's folder), then ``../shared/data`` relative to the working
directory. Every file is checked against its sha256 once per process.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import DataNotFoundError

ENV_VAR = "NEURD_LITE_DATA"
MANIFEST_ENV_VAR = "NEURD_LITE_MANIFEST"
_PACKAGE_DIR = Path(__file__).resolve().parent


def manifest_path() -> Path:
    """Path of ``data_manifest.yaml`` ($NEURD_LITE_MANIFEST, else the repository root)."""
    env = os.environ.get(MANIFEST_ENV_VAR)
    candidates = [Path(env)] if env else []
    candidates += [_PACKAGE_DIR.parent / "data_manifest.yaml", Path.cwd() / "data_manifest.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    raise DataNotFoundError(
        "data_manifest.yaml not found; set NEURD_LITE_MANIFEST to its path or run from a neurd_lite checkout")


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    """The parsed manifest."""
    with open(manifest_path()) as fh:
        return yaml.safe_load(fh)


def data_root() -> Path | None:
    """The first existing data root, or None when no real data is available."""
    env = os.environ.get(ENV_VAR)
    candidates = [Path(env)] if env else []
    try:
        candidates.append(manifest_path().parent / manifest().get("default_root", "../shared/data"))
    except DataNotFoundError:
        pass
    candidates.append(Path.cwd().parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def _file_index() -> dict[str, tuple[str, str]]:
    """Map of relative file path -> (dataset name, sha256)."""
    index = {}
    for name, ds in manifest()["datasets"].items():
        for rel, sha in ds["files"].items():
            index[rel] = (name, sha)
    return index


@lru_cache(maxsize=None)
def _verified(path: str, sha: str) -> bool:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() == sha


def data_path(relpath: str, verify: bool = True) -> Path:
    """Absolute path of a manifest file given its path relative to the data root.

    Raises DataNotFoundError (with what to do) when the root is absent, the file is missing, is not in the
    manifest, or fails its checksum.
    """
    index = _file_index()
    if relpath not in index:
        raise DataNotFoundError(f"{relpath!r} is not listed in {manifest_path()}; add it with its sha256")
    root = data_root()
    if root is None:
        raise DataNotFoundError(
            f"real data not found: set {ENV_VAR} to the folder holding '{relpath.split('/')[0]}/' "
            "or place the shared data at ../shared/data beside the checkout")
    path = root / relpath
    if not path.is_file():
        raise DataNotFoundError(f"{path} is missing (dataset '{index[relpath][0]}' in data_manifest.yaml)")
    if verify and not _verified(str(path), index[relpath][1]):
        raise DataNotFoundError(f"{path} does not match its sha256 in data_manifest.yaml: the file was changed")
    return path


def dataset_files(name: str, verify: bool = True) -> list[Path]:
    """All files of a named dataset, resolved and verified."""
    ds = manifest()["datasets"].get(name)
    if ds is None:
        raise DataNotFoundError(f"no dataset {name!r} in data_manifest.yaml; known: {sorted(manifest()['datasets'])}")
    return [data_path(rel, verify=verify) for rel in ds["files"]]


def available(relpath: str) -> bool:
    """True when the file can be resolved and verified."""
    try:
        data_path(relpath)
        return True
    except DataNotFoundError:
        return False

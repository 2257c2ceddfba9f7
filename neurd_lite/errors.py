"""Exceptions and warnings raised by neurd_lite.

Every error names what is wrong, which file (when there is one) and what to do about it.
"""
from __future__ import annotations


class NeurdLiteError(Exception):
    """Base class of all neurd_lite errors."""


class InputError(NeurdLiteError, ValueError):
    """Input data (a mesh, a table, a skeleton) cannot be used as given."""

    def __init__(self, what: str, path: object = None, hint: str = "") -> None:
        self.what = what
        self.path = None if path is None else str(path)
        self.hint = hint
        msg = what if self.path is None else f"{self.path}: {what}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class DataNotFoundError(NeurdLiteError, FileNotFoundError):
    """A dataset named in data_manifest.yaml could not be found or failed its checksum."""


class StageError(NeurdLiteError, RuntimeError):
    """A pipeline stage failed; ``stage`` names which one."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(f"stage '{stage}' failed: {message}")


class NeurdLiteWarning(UserWarning):
    """A suspicious but usable input (e.g. a mesh whose size suggests wrong units)."""

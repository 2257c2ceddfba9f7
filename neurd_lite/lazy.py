"""Names that load on first use: the module ``__getattr__`` and ``__dir__`` (PEP 562) of every lazy package in
neurd_lite.

A package lists which of its modules defines each public name; the module loads when the name is first read, so
importing the package (or its light ``params`` module) loads no stage code and no heavy library. ``__dir__`` lists
the lazy names too, so tab completion offers them before they load. Static tools (type checkers, IDEs) read the
same names from the package's ``if TYPE_CHECKING:`` imports, which tests/test_lazy.py checks against the table.
Base layer: imports only the standard library, so every layer may use it (docs/layers.md).

    __getattr__ = lazy_getattr(globals(), {".params": ("SpineParams", "SynapseParams"), ".detect": ("detect_spines",)})
    __dir__ = lazy_dir(globals())
"""
from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping


def lazy_getattr(namespace: dict[str, Any], names: Mapping[str, Iterable[str]], submodules: Iterable[str] = (),
                 first: str | None = None, cache: bool = False) -> Callable[[str], Any]:
    """The ``__getattr__`` of the module whose ``globals()`` is ``namespace``.

    names: module -> the public names it defines, the module as ``importlib.import_module`` takes it (a leading
    "." is relative to the module's package). submodules: names read as the package's own submodules
    (``pkg.docs`` before ``pkg.docs`` was imported). first: a module imported before any of ``names`` is read
    (the feature families register themselves when ``feature.api`` loads). cache: keep a loaded name in
    ``namespace`` so later reads skip ``__getattr__``. Any other name raises ``AttributeError`` naming the module.
    The returned function carries the table: ``.names`` (name -> module, read-only) and ``.submodules``.
    """
    module_name = namespace["__name__"]
    package = namespace.get("__package__") or module_name.rpartition(".")[0]
    where = {name: module for module, listed in names.items() for name in listed}
    own = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in where:
            if first is not None:
                importlib.import_module(first, package)
            value = getattr(importlib.import_module(where[name], package), name)
            if cache:
                namespace[name] = value
            return value
        if name in own:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    __getattr__.names = MappingProxyType(where)  # type: ignore[attr-defined]
    __getattr__.submodules = own  # type: ignore[attr-defined]
    return __getattr__


def lazy_dir(namespace: dict[str, Any]) -> Callable[[], list[str]]:
    """The ``__dir__`` of the module whose ``globals()`` is ``namespace`` (its ``__getattr__`` made by
    ``lazy_getattr``): what is already in ``namespace`` plus the public lazy names and submodules, sorted."""

    def __dir__() -> list[str]:
        loader = namespace["__getattr__"]
        lazy = {name for name in (*loader.names, *loader.submodules) if not name.startswith("_")}
        return sorted(set(namespace) | lazy)

    return __dir__

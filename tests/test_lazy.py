"""The first-use name loader (``neurd_lite.lazy``) and the packages that use it: every listed name resolves to
the object its module defines, unknown names raise an AttributeError naming the module, ``dir()`` lists the lazy
names, and the ``if TYPE_CHECKING:`` imports that static tools read name the same objects as the loader's table."""
from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

from neurd_lite.lazy import lazy_dir, lazy_getattr

LAZY_PACKAGES = ["neurd_lite", "neurd_lite.io", "neurd_lite.skeleton", "neurd_lite.compartments", "neurd_lite.spines",
                 "neurd_lite.feature"]


def _fake_module(name: str = "fakepkg") -> types.ModuleType:
    m = types.ModuleType(name)
    m.__package__ = name
    return m


def test_loads_caches_and_refuses():
    m = _fake_module()
    get = lazy_getattr(vars(m), {"json": ("dumps",), "os.path": ("join",)}, submodules=("x",), cache=True)
    import json
    import os.path

    assert get("dumps") is json.dumps and get("join") is os.path.join
    assert vars(m)["dumps"] is json.dumps  # cached in the namespace
    with pytest.raises(AttributeError, match="module 'fakepkg' has no attribute 'nope'"):
        get("nope")


def test_no_cache_and_first_module_loads_before_the_name(monkeypatch):
    m = _fake_module()
    loaded = []
    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, package=None: loaded.append(name) or real(name, package))
    get = lazy_getattr(vars(m), {"json": ("loads",)}, first="string")
    import json

    assert get("loads") is json.loads
    assert "loads" not in vars(m)
    assert loaded == ["string", "json"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves(package):
    m = importlib.import_module(package)
    for name in m.__all__:
        value = getattr(m, name)
        assert value is not None, f"{package}.{name}"
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        getattr(m, "no_such_name")


def test_pipeline_re_exports_the_stages():
    import neurd_lite.pipeline as pipeline
    import neurd_lite.stages as stages

    assert pipeline.stage_spines is stages.stage_spines and pipeline.MESH_STAGES is stages.MESH_STAGES
    with pytest.raises(AttributeError, match="module 'neurd_lite.pipeline' has no attribute 'stage_nope'"):
        pipeline.stage_nope


def test_dir_lists_lazy_names_without_loading_them(monkeypatch):
    m = _fake_module()
    m.here = 1
    m.__getattr__ = lazy_getattr(vars(m), {"json": ("dumps", "_private")}, submodules=("sub",))
    loaded = []
    monkeypatch.setattr(importlib, "import_module", lambda name, package=None: loaded.append(name))
    listed = lazy_dir(vars(m))()
    assert {"dumps", "sub", "here", "__getattr__"} <= set(listed) and "_private" not in listed
    assert listed == sorted(listed) and loaded == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_dir_of_every_lazy_package(package):
    m = importlib.import_module(package)
    loader = m.__getattr__
    assert set(m.__all__) - {"__version__"} <= set(loader.names)  # every public name is lazy
    assert set(loader.names) | set(loader.submodules) | set(vars(m)) == set(dir(m))


def _type_checking_imports(path: Path) -> tuple[dict[str, str], set[str]]:
    """name -> module of the ``from .x import name`` lines under the module-level ``if TYPE_CHECKING:`` of a
    file, and the names of its ``from . import sub`` lines."""
    names: dict[str, str] = {}
    submodules: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for line in node.body:
                assert isinstance(line, ast.ImportFrom) and line.level > 0, ast.unparse(line)
                for alias in line.names:
                    assert alias.asname is None, ast.unparse(line)
                    if line.module is None:
                        submodules.add(alias.name)
                    else:
                        names[alias.name] = "." * line.level + line.module
    return names, submodules


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_type_checking_imports_match_the_lazy_table(package):
    """A name added to the loader table but not to the package's ``if TYPE_CHECKING:`` block (or the other way
    round, or from another module) fails: type checkers and IDEs would see it as Any or as a different object."""
    m = importlib.import_module(package)
    names, submodules = _type_checking_imports(Path(m.__file__))
    assert names == dict(m.__getattr__.names)
    assert submodules == set(m.__getattr__.submodules)

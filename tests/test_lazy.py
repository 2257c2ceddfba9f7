"""The first-use name loader (``neurd_lite.lazy``) and the packages that use it: every listed name resolves to
the object its module defines, unknown names raise an AttributeError naming the module."""
from __future__ import annotations

import importlib
import types

import pytest

from neurd_lite.lazy import lazy_getattr

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

"""neurd_lite.io: readers and writers (meshes, synapse tables, skeletons, the Neuron HDF5 file, read back by
``neurd_lite.load``).

Submodules load on first attribute access so ``import neurd_lite.io`` stays light::

    from neurd_lite.io import load_mesh, load_synapses
"""
from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule of neurd_lite.io
_LAZY = {
    "load_mesh": "meshes",
    "load_precomputed": "meshes",
    "save_meshparty_h5": "meshes",
    "load_synapses": "synapses",
    "load_skeleton": "skeletons",
    "save_neuron": "neuron_h5",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

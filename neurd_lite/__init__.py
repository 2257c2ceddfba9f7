"""neurd_lite: EM-reconstructed neurons to compartment graphs, features and cell types.

Typical use::

    import neurd_lite as nl
    n = nl.decompose("cell.ply", synapses="cell_synapses.csv", units="nm")
    nl.features(n)            # one row of features (µm units in the column names)
    nl.classify(n)            # excitatory/inhibitory and subclass with calibrated probabilities

Heavy modules load on first use, so ``import neurd_lite`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> (module, attribute)
_LAZY = {
    "Neuron": ("neurd_lite.neuron", "Neuron"),
    "Soma": ("neurd_lite.neuron", "Soma"),
    "Skeleton": ("neurd_lite.skeleton.model", "Skeleton"),
    "load": ("neurd_lite.neuron", "load"),
    "decompose": ("neurd_lite.pipeline", "decompose"),
    "PipelineParams": ("neurd_lite.params", "PipelineParams"),
    "label_skeleton": ("neurd_lite.pipeline", "label_skeleton"),
    "load_mesh": ("neurd_lite.io.meshes", "load_mesh"),
    "load_synapses": ("neurd_lite.io.synapses", "load_synapses"),
    "load_skeleton": ("neurd_lite.io.skeletons", "load_skeleton"),
    "features": ("neurd_lite.feature", "features"),
    "branch_features": ("neurd_lite.feature", "branch_features"),
    "classify": ("neurd_lite.celltype", "classify"),
    "classify_perisomatic": ("neurd_lite.celltype", "classify_perisomatic"),
    "featurize": ("neurd_lite.batch", "featurize"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in {"io", "mesh", "skeleton", "compartments", "spines", "feature", "celltype", "testing", "data",
                "viz", "batch", "units", "errors"}:
        return importlib.import_module(f"neurd_lite.{name}")
    raise AttributeError(f"module 'neurd_lite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

"""neurd_lite: EM-reconstructed neurons to compartment graphs, features and cell types.

Typical use::

    import neurd_lite as nl
    n = nl.decompose("cell.ply", synapses="cell_synapses.csv", units="nm")
    nl.features(n)            # one row of features (µm units in the column names)
    nl.classify(n)            # excitatory/inhibitory and subclass with calibrated probabilities

Heavy modules load on first use, so ``import neurd_lite`` stays fast.
"""
from __future__ import annotations

from .lazy import lazy_getattr as _lazy_getattr

__version__ = "0.1.0"

# module -> the public names it defines, loaded on first use and then kept here
_NAMES = {
    ".neuron": ("Neuron", "Soma", "load"),
    ".skeleton.model": ("Skeleton",),
    ".pipeline": ("decompose", "label_skeleton", "split"),
    ".params": ("PipelineParams",),
    ".io.meshes": ("load_mesh",),
    ".io.synapses": ("load_synapses",),
    ".io.skeletons": ("load_skeleton",),
    ".feature": ("features", "branch_features"),
    ".celltype": ("classify", "classify_perisomatic", "classify_dendritic"),
    ".batch": ("featurize",),
}
_SUBMODULES = ("io", "mesh", "skeleton", "compartments", "spines", "feature", "celltype", "testing", "data", "viz",
               "batch", "units", "errors", "proofread")

__all__ = sorted(name for names in _NAMES.values() for name in names) + ["__version__"]
__getattr__ = _lazy_getattr(globals(), _NAMES, _SUBMODULES, cache=True)


def __dir__() -> list[str]:
    return __all__

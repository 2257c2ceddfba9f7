"""neurd_lite: EM-reconstructed neurons to compartment graphs, features and cell types.

Typical use::

    import neurd_lite as nl
    n = nl.decompose("cell.ply", synapses="cell_synapses.csv", units="nm")
    nl.features(n)            # one row of features (µm units in the column names)
    nl.classify(n)            # excitatory/inhibitory and subclass with calibrated probabilities

Heavy modules load on first use, so ``import neurd_lite`` stays fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_dir as _lazy_dir
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
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from . import (batch, celltype, compartments, data, errors, feature, io, mesh, proofread, skeleton, spines,
                   testing, units, viz)
    from .batch import featurize
    from .celltype import classify, classify_dendritic, classify_perisomatic
    from .feature import branch_features, features
    from .io.meshes import load_mesh
    from .io.skeletons import load_skeleton
    from .io.synapses import load_synapses
    from .neuron import Neuron, Soma, load
    from .params import PipelineParams
    from .pipeline import decompose, label_skeleton, split
    from .skeleton.model import Skeleton

"""neurd_lite.io: readers and writers (meshes, synapse tables, skeletons, the Neuron HDF5 file, read back by
``neurd_lite.load``).

Submodules load on first attribute access so ``import neurd_lite.io`` stays light::

    from neurd_lite.io import load_mesh, load_synapses
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_dir as _lazy_dir
from ..lazy import lazy_getattr as _lazy_getattr

# submodule of neurd_lite.io -> the public names it defines
_NAMES = {".meshes": ("load_mesh", "load_precomputed", "save_meshparty_h5"), ".synapses": ("load_synapses",),
          ".skeletons": ("load_skeleton",), ".neuron_h5": ("save_neuron",)}

__all__ = sorted(name for names in _NAMES.values() for name in names)
__getattr__ = _lazy_getattr(globals(), _NAMES)
__dir__ = _lazy_dir(globals())

if TYPE_CHECKING:  # what static tools see; the same names as the table above (tests/test_lazy.py)
    from .meshes import load_mesh, load_precomputed, save_meshparty_h5
    from .neuron_h5 import save_neuron
    from .skeletons import load_skeleton
    from .synapses import load_synapses

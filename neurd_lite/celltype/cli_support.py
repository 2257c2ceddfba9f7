"""``neurd-lite classify``: a mesh or Neuron file -> features -> cell type, as a JSON-ready dict."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError


def load_or_decompose(path: str | Path, synapses: str | None = None, units: Any = "nm",
                      soma: Sequence[float] | None = None, params: Any = None) -> Any:
    """A Neuron from a neurd_lite ``.h5`` file, else by decomposing the mesh (soma in the mesh's units)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path, "check the path")
    if path.suffix.lower() in {".h5", ".hdf5"}:
        import h5py

        with h5py.File(path, "r") as f:
            is_neuron = f.attrs.get("format") == "neurd_lite.neuron"
        if is_neuron:
            from ..neuron import load

            return load(path)
    import numpy as np

    from ..pipeline import decompose
    from ..units import scale_to_nm

    soma_nm = None if soma is None else np.asarray(soma, dtype=float) * scale_to_nm(units)
    return decompose(str(path), synapses=synapses, units=units, soma=soma_nm, name=path.stem, params=params)


def classify_file(path: str | Path, synapses: str | None = None, units: Any = "nm",
                  soma: Sequence[float] | None = None, nucleus: str | None = None, params: Any = None
                  ) -> dict[str, Any]:
    """Decompose (or load), compute features, classify; returns the result with the neuron's name and flags.
    params: a ``PipelineParams`` for decompose and features (None: defaults)."""
    from .predict import classify

    n = load_or_decompose(path, synapses, units, soma, params)
    nucleus_mesh = None
    if nucleus is not None:
        from ..io.meshes import load_mesh

        nucleus_mesh = load_mesh(nucleus, units=units)
    result = classify(n, nucleus=nucleus_mesh, params=params)
    return {"neuron": n.name, "n_somas": len(n.somas), "neuron_flags": list(n.flags), **result.to_dict()}

"""A content key of everything ``features(n)`` reads, so one features row is computed once per Neuron state.

``features(n)`` stores its row in ``n.cache["features_row"]`` with :func:`state_key`; a later call (for example
from ``classify(n)``) with the same arguments on an unchanged Neuron returns a copy of that row. The key hashes
the contents (not the identities) of the mesh, every per-face array, skeleton, somas, graph, synapse and spine
tables, flags, provenance and the call's arguments, so any change, in place or by assignment, misses the cache.
Cost: xxh3-128 over the array buffers when ``xxhash`` is installed (extra ``large``; ~0.02 s per 400 MB), else
sha1 (~0.3 s per 400 MB: ~0.5 s per key at 5M faces).
"""
from __future__ import annotations

import ctypes
import hashlib
from typing import Any

import numpy as np
import pandas as pd

CACHE_KEY = "features_row"


def _object_pointers(a: np.ndarray) -> np.ndarray:
    """The PyObject addresses of an object array, as uint64 (no copy of the objects)."""
    a = np.ascontiguousarray(a)
    if a.size == 0:
        return np.zeros(0, np.uint64)
    return np.ctypeslib.as_array((ctypes.c_uint64 * a.size).from_address(a.ctypes.data)).copy()


def factorize_labels(labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes (F,), uniques) of a per-face label array, as ``pd.factorize``: an object array is factorised by
    element identity (a label array holds references to a few shared strings, ``neuron.label_array``; hashing
    addresses is ~10x faster than hashing 5M strings); equal strings held by different objects then get
    different codes, each listed in ``uniques``, so a mask over codes whose string matches is the same."""
    a = np.asarray(labels).reshape(-1)
    if a.dtype != object or np.dtype(np.uintp).itemsize != 8:
        return pd.factorize(a.astype(object))
    codes, ptr = pd.factorize(_object_pointers(a))
    first = np.empty(len(ptr), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(a) - 1, -1, -1)  # first position of each code
    return codes, a[first]


def _update_array(h: Any, a: Any, keep: list | None = None) -> None:
    """Hash an array's content. Object arrays (string labels) are hashed by the addresses of their elements
    (hashing 5M strings takes seconds); ``keep`` then holds the array, so those objects stay alive while the
    key is in use and equal addresses mean the very same immutable objects."""
    if a is None:
        h.update(b"<none>")
        return
    a = np.asarray(a)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    if a.dtype == object and keep is not None and np.dtype(np.uintp).itemsize == 8:
        keep.append(a)
        h.update(memoryview(_object_pointers(a)))
    elif a.dtype == object:
        h.update(pd.util.hash_array(a.reshape(-1)).tobytes())
    else:
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))


def _update_frame(h: Any, df: Any) -> None:
    if df is None or not isinstance(df, pd.DataFrame):
        h.update(repr(df).encode())
        return
    h.update(repr(list(df.columns)).encode() + repr(df.dtypes.astype(str).tolist()).encode())
    if len(df):
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())


def _update_value(h: Any, x: Any) -> None:
    """Hash a value: arrays by content (``repr`` of a long array is slow and elides its middle), dicts by sorted
    key, lists and tuples element by element, anything else by ``repr``."""
    if isinstance(x, np.ndarray):
        _update_array(h, x)
    elif isinstance(x, dict):
        h.update(b"{")
        for k in sorted(x, key=repr):
            h.update(repr(k).encode())
            _update_value(h, x[k])
        h.update(b"}")
    elif isinstance(x, (list, tuple)):
        h.update(f"{type(x).__name__}{len(x)}(".encode())
        for e in x:
            _update_value(h, e)
        h.update(b")")
    else:
        h.update(repr(x).encode())


def _update_graph(h: Any, g: Any) -> None:
    """Hash a networkx graph: nodes and edges in sorted order with their attributes (:func:`_update_value`)."""
    if g is None:
        h.update(b"<no graph>")
        return
    for node, data in sorted(g.nodes(data=True), key=lambda nd: repr(nd[0])):
        _update_value(h, (node, data))
    h.update(b"|edges|")
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (repr(e[0]), repr(e[1]))):
        _update_value(h, (a, b, data))


def _update_mesh(h: Any, m: Any) -> None:
    if m is None:
        h.update(b"<no mesh>")
    elif isinstance(m, (tuple, list)):
        for part in m:
            _update_array(h, part)
    else:
        _update_array(h, getattr(m, "vertices", None))
        _update_array(h, getattr(m, "faces", None))


def _hasher() -> Any:
    """A fresh content hash: xxh3-128 (``xxhash``, ~10x faster than sha1 on large arrays) or sha1. Keys are only
    compared within one process, so which one is used does not matter beyond speed."""
    try:
        import xxhash
    except ImportError:
        return hashlib.sha1()
    return xxhash.xxh3_128()


def state_key(n: Any, *args: Any) -> tuple[str, list]:
    """(hex digest of the Neuron's content plus ``args`` (the call's nucleus / up / params, by ``repr``), the
    object arrays hashed by address, to be kept alive with the digest)."""
    h = _hasher()
    keep: list = []
    _update_mesh(h, n.mesh)
    for name in ("face_labels", "face_compartment", "face_branch", "face_to_skeleton", "face_spine",
                 "skeleton_labels", "input_faces"):
        _update_array(h, getattr(n, name, None), keep)
    sk = n.skeleton
    if sk is not None:
        _update_array(h, sk.vertices)
        _update_array(h, sk.edges)
        for k in sorted(getattr(sk, "vertex_properties", {}) or {}):
            h.update(str(k).encode())
            _update_array(h, sk.vertex_properties[k])
        h.update(repr(getattr(sk, "root", None)).encode())
    for s in n.somas:
        for part in (s.center_nm, s.faces, s.membrane_faces):
            _update_array(h, part)
        h.update(repr((s.radius_nm, s.method, s.properties)).encode())
    _update_graph(h, n.graph)
    _update_frame(h, n.synapses)
    _update_frame(h, n.spines)
    h.update(repr((n.name, list(n.flags), n.provenance)).encode())
    nuc = getattr(n, "nucleus", None)
    _update_mesh(h, nuc)
    for a in args:
        if hasattr(a, "to_dict"):
            a = a.to_dict()
        if hasattr(a, "vertices") or isinstance(a, tuple) and len(a) == 2 and hasattr(a[0], "shape"):
            _update_mesh(h, a)
        else:
            h.update(repr(a).encode())
    return h.hexdigest(), keep

"""Checks of the parameter dataclasses at construction (every branch of ``nl.PipelineParams`` calls
:func:`check_params` from its ``__post_init__``), so a misspelt option or an impossible number fails when the
tree is built, not minutes later inside a stage, and the error names the parameter, the value and what is allowed.

Numeric fields are checked by the unit in their name unless the class says otherwise: lengths, areas, volumes,
densities, relative sizes, factors, ratios and fractions (``_nm``, ``_um2``, ``_per_um``, ``_rel``, ``_factor``,
``_ratio``, ``_fraction``...) are >= 0, quantiles lie in [0, 1] and cosines in [-1, 1]. None (an optional field
left unset) and booleans pass; a field typed ``bool`` must hold a bool; tuples are checked element by element.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Collection, Mapping

from .errors import InputError

SUFFIX_RANGES = (("_quantile", "[0, 1]"), ("_cos", "[-1, 1]"),
                 (("_nm", "_nm2", "_nm3", "_um", "_um2", "_um3", "_per_um", "_rel", "_factor", "_ratio", "_fraction",
                   "_frac", "_faces", "_voxels"), ">= 0"))


def _bounds(spec: str) -> tuple[float, float, bool, bool]:
    """``">= 0"``, ``"> 0"``, ``"[0, 1]"`` -> (low, high, low inclusive, high inclusive)."""
    s = spec.replace(" ", "")
    if s.startswith(">="):
        return float(s[2:]), math.inf, True, True
    if s.startswith(">"):
        return float(s[1:]), math.inf, False, True
    lo, hi = s[1:-1].split(",")
    return float(lo), float(hi), s[0] == "[", s[-1] == "]"


def _suffix_range(name: str) -> str | None:
    for suffixes, spec in SUFFIX_RANGES:
        if name.endswith(suffixes):
            return spec
    return None


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _in_range(v: object, spec: str) -> bool:
    lo, hi, lo_in, hi_in = _bounds(spec)
    x = float(v)  # type: ignore[arg-type]
    return (lo <= x if lo_in else lo < x) and (x <= hi if hi_in else x < hi)


def _show(values: Collection) -> str:
    return ", ".join(repr(a) for a in values)


def check_params(p: object, choices: Mapping[str, Collection] | None = None,
                 ranges: Mapping[str, str | None] | None = None) -> None:
    """Raise ``InputError`` on the first field of dataclass ``p`` outside what it allows.

    choices: field -> the allowed values (a value must equal one of them; ``1`` is not ``True``). A field whose
    type also admits a number (``DecimateParams.target_faces: int | str | None``) checks a number against its
    range instead. ranges: field -> ``">= 0"``, ``"> 0"`` or ``"[lo, hi]"`` (parentheses for open ends), or
    None for no check; a numeric field not named takes the range of its name's unit suffix (module docstring), if any.
    """
    choices, ranges = choices or {}, ranges or {}
    cls = type(p).__name__
    for f in dataclasses.fields(p):  # type: ignore[arg-type]
        name, v = f.name, getattr(p, f.name)
        # a bool field takes True / False (numpy's too): 0, 1 or "yes" would pass truth tests silently
        numpy_bool = getattr(getattr(v, "dtype", None), "kind", "") == "b"
        if f.type in ("bool", bool) and not isinstance(v, bool) and not numpy_bool:
            raise InputError(f"{cls}.{name} = {v!r}: must be True or False")
        if v is None or (isinstance(v, bool) and name not in choices) or dataclasses.is_dataclass(v):
            continue
        spec = ranges[name] if name in ranges else _suffix_range(name)
        if name in choices and not (_is_number(v) and spec is not None):
            if not any(v == a and isinstance(v, bool) == isinstance(a, bool) for a in choices[name]):
                more = "" if spec is None else f" or a number {spec}"
                raise InputError(f"{cls}.{name} = {v!r}: must be one of {_show(choices[name])}{more}")
            continue
        if spec is None:
            continue
        for x in (v if isinstance(v, tuple) else (v,)):
            if not _is_number(x):
                raise InputError(f"{cls}.{name} = {v!r}: must be a number ({spec})")
            if not _in_range(x, spec):
                raise InputError(f"{cls}.{name} = {v!r}: must be {spec if spec[0] == '>' else 'in ' + spec}")

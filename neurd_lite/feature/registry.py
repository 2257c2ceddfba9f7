"""The feature registry: every feature is declared once with its name, level, unit and definition.

Levels:
- ``neuron``: one value per neuron, ``func(ctx) -> float``.
- ``compartment``: ``func(ctx, group) -> float``, expanded over :data:`COMPARTMENT_GROUPS` into columns named
  ``<group>_<name>`` (the ``neuron`` group has no prefix and covers the whole cell).
- ``branch``: ``func(ctx) -> pandas.Series`` indexed by branch node id (one row per branch of ``n.graph``).

A feature that cannot be computed raises :class:`Missing` with the reason; the caller turns it into NaN and
records the reason in ``df.attrs["missing"]`` (never 0 for missing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

LEVELS = ("branch", "compartment", "neuron")

#: compartment group -> compartments of ``neuron.COMPARTMENTS`` it covers ("neuron" = every non-soma branch).
COMPARTMENT_GROUPS: dict[str, tuple[str, ...]] = {
    "neuron": (),
    "axon": ("axon",),
    "basal": ("basal",),
    "apical": ("apical_shaft", "apical_tuft", "oblique"),
    "dendrite_all": ("basal", "apical_shaft", "apical_tuft", "oblique", "dendrite"),
}

UNIT_SUFFIXES = {"um": "_um", "um2": "_um2", "um3": "_um3", "per_um": "_per_um", "per_um2": "_per_um2",
                 "um3_per_um": "_um3_per_um", "deg": "_deg", "nm": "_nm"}


class Missing(Exception):
    """Raised by a feature function when an input it needs is absent; the message is the reason."""


@dataclass(frozen=True)
class Feature:
    """One registered feature. ``unit`` is ``"1"`` for counts and ratios."""

    name: str
    level: str
    unit: str
    definition: str
    family: str
    func: Callable

    def columns(self) -> list[str]:
        """Output column names (compartment features expand over the compartment groups)."""
        if self.level != "compartment":
            return [self.name]
        return [compartment_column(g, self.name) for g in COMPARTMENT_GROUPS]


def compartment_column(group: str, name: str) -> str:
    """Column of a compartment feature for one group, e.g. ``basal_cable_length_um``."""
    return name if group == "neuron" else f"{group}_{name}"


# the families in the order their features are listed (columns of ``features``, docs/features.md); a family module
# may be imported before the others (``stages`` reads ``feature.spines``), so the order cannot follow import order
FAMILIES = ("morphometry", "perisomatic", "spines", "synapses")


class Registry:
    """Ordered collection of features; names are unique across levels. Listed by family (``FAMILIES``, unknown
    families last), then in registration order within a family, whatever order the family modules loaded in."""

    def __init__(self) -> None:
        self._features: dict[str, Feature] = {}
        self._ordered: list[Feature] | None = None

    def register(self, name: str, level: str, unit: str, definition: str,
                 family: str) -> Callable[[Callable], Callable]:
        """Decorator declaring ``func`` as feature ``name`` (see module docstring for signatures)."""
        if level not in LEVELS:
            raise ValueError(f"feature {name!r}: level must be one of {LEVELS}, got {level!r}")
        suffix = UNIT_SUFFIXES.get(unit)
        if suffix is not None and not name.endswith(suffix):
            raise ValueError(f"feature {name!r} has unit {unit!r}: its name must end with {suffix!r}")

        def deco(func: Callable) -> Callable:
            if name in self._features:
                raise ValueError(f"feature {name!r} registered twice")
            self._features[name] = Feature(name, level, unit, definition, family, func)
            self._ordered = None
            return func

        return deco

    def add(self, feature: Feature) -> None:
        """Register an already-built :class:`Feature` (for features generated in a loop)."""
        self.register(feature.name, feature.level, feature.unit, feature.definition, feature.family)(feature.func)

    def __iter__(self) -> Iterator[Feature]:
        if self._ordered is None:
            rank = {f: i for i, f in enumerate(FAMILIES)}
            self._ordered = sorted(self._features.values(), key=lambda f: rank.get(f.family, len(FAMILIES)))
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._features)

    def __getitem__(self, name: str) -> Feature:
        return self._features[name]

    def __contains__(self, name: object) -> bool:
        return name in self._features

    def at_level(self, *levels: str) -> list[Feature]:
        """Features of the given levels, in the registry's order (by family, then registration)."""
        return [f for f in self if f.level in levels]

    def columns(self, *levels: str) -> list[str]:
        """All output column names of the given levels (default: neuron and compartment)."""
        levels = levels or ("compartment", "neuron")
        return [c for f in self.at_level(*levels) for c in f.columns()]


REGISTRY = Registry()
register = REGISTRY.register

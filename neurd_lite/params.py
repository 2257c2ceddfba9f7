"""One frozen parameter tree for the whole engine: ``nl.PipelineParams``.

Each stage package keeps its small frozen dataclasses in its own light ``params`` module (``mesh/params.py:
DecimateParams``, ..., ``feature/params.py: FeatureParams``, ``model/frame.py: FrameParams``) that imports no
stage code or heavy library, so building the tree is cheap; this module only gathers them, so a
stage never imports the tree (no cycles) and receives its own branch from the pipeline. Units are in the field
names (nm unless the name says µm). ``to_dict`` / ``from_dict`` (strict: an unknown key is an error naming it),
``to_json`` / ``from_json`` and ``save`` / ``load`` (YAML or JSON by suffix) round-trip exactly: tuples come
back as tuples, so ``PipelineParams.from_dict(p.to_dict()) == p``.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compartments.params import CompartmentParams, RefineParams
from .errors import InputError
from .feature.params import FeatureParams
from .mesh.params import DecimateParams, HealParams, SomaParams
from .model.frame import FrameParams
from .model.soma_extent import SomaExtentParams
from .skeleton.params import GraphParams, SkeletonParams
from .spines.params import SpineParams, SynapseParams

OPTIONAL_STAGES = ("compartments", "spines", "refine", "synapses")  # the stages ``PipelineParams.skip`` may name


@dataclass(frozen=True)
class PipelineParams:
    """Parameters of every stage, one field per stage (each sub-dataclass documents its units).

    decimate: working-mesh decimation; heal: linking mesh pieces; soma: soma detection; skeleton: TEASAR and
    soma collapse; graph: branch graph; compartments: axon / apical labelling (``axon``, ``apical`` inside);
    refine: aspiny cells lose their apical; spines: detection (``shaft``, ``headneck`` inside); synapses: synapse
    anchoring (``max_distance_nm`` is the one far-synapse limit) and targets; features: the feature families;
    frame: pia direction ``up`` (None: not given) and the plausible cortical depth range (µm); soma_extent: how
    far a soma reaches in soma radii (skeleton collapse, spine search, soma targets, soma face labels).
    skip: names of optional stages not to run (``"compartments"``, ``"spines"``, ``"refine"``, ``"synapses"``).
    """

    decimate: DecimateParams = field(default_factory=DecimateParams)
    heal: HealParams = field(default_factory=HealParams)
    soma: SomaParams = field(default_factory=SomaParams)
    skeleton: SkeletonParams = field(default_factory=SkeletonParams)
    graph: GraphParams = field(default_factory=GraphParams)
    compartments: CompartmentParams = field(default_factory=CompartmentParams)
    refine: RefineParams = field(default_factory=RefineParams)
    spines: SpineParams = field(default_factory=SpineParams)
    synapses: SynapseParams = field(default_factory=SynapseParams)
    features: FeatureParams = field(default_factory=FeatureParams)
    frame: FrameParams = field(default_factory=FrameParams)
    soma_extent: SomaExtentParams = field(default_factory=SomaExtentParams)
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        wrong = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                 if f.name != "skip" and not isinstance(getattr(self, f.name), f.default_factory)]
        if wrong:  # e.g. spines=False: a stage reading ``params or Defaults()`` would run with its defaults
            raise InputError(f"PipelineParams: {', '.join(wrong)} is not that stage's parameter dataclass",
                             hint="to turn a stage off use skip=('spines',) (optional: " + ", ".join(OPTIONAL_STAGES)
                                  + "); to change a value, PipelineParams.from_dict({'spines': {...}})")
        bad = [s for s in self.skip if s not in OPTIONAL_STAGES]
        if bad:
            raise InputError(f"PipelineParams.skip: {bad} cannot be skipped",
                             hint="only these stages are optional: " + ", ".join(OPTIONAL_STAGES))

    def runs(self, stage: str) -> bool:
        """Whether ``stage`` is to run (not in ``skip``)."""
        return stage not in self.skip

    # ---- round trip ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (tuples kept as tuples; JSON turns them into lists, ``from_dict`` back)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineParams":
        """The tree from a (possibly partial) nested dict; missing keys take their defaults. Strict: an unknown
        key raises ``InputError`` naming it (e.g. ``spines.seed_protrusion``)."""
        return _build(cls, data, "")

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "PipelineParams":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"parameters are not valid JSON: {e}") from e
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write to ``path``: YAML for ``.yaml`` / ``.yml``, else JSON."""
        path = Path(path)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(_plain(self.to_dict()), sort_keys=False))
        else:
            path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PipelineParams":
        """Read a YAML (``.yaml`` / ``.yml``) or JSON parameter file (a partial tree is fine)."""
        path = Path(path)
        if not path.exists():
            raise InputError("parameter file not found", path, hint="give a YAML or JSON file of PipelineParams")
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as e:
                raise InputError(f"parameter file is not valid YAML: {e}", path) from e
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise InputError(f"parameter file is not valid JSON: {e}", path) from e
        try:
            return cls.from_dict(data)
        except InputError as e:
            raise InputError(f"{e.args[0] if e.args else e}", path) from e


def _plain(v: Any) -> Any:
    """Tuples -> lists, recursively (YAML safe_dump writes no tuples)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _build(cls: type, data: Any, where: str) -> Any:
    """Dataclass ``cls`` from ``data`` (a dict), converting nested dataclasses and tuples by the type hints."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise InputError(f"parameters {where or 'root'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in names]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise InputError(f"unknown parameter {key!r} (known in {where or 'the root'}: {sorted(names)})")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except InputError as e:  # a check of the branch's own __post_init__: say where in the tree it sits
        if not where or e.what.startswith("parameters "):
            raise
        raise InputError(f"parameters {where}: {e.what}", hint=e.hint) from e


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the type ``hint`` says: dataclasses from dicts, tuples from lists, floats from ints."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for a in options:  # the first option the value fits
            if _fits(a, value):
                return _convert(a, value, where)
        raise InputError(f"parameter {where!r}: {value!r} is not a {hint}")
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"parameter {where!r}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise InputError(f"parameter {where!r}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(a, v, where) for a, v in zip(args, value))
    if hint is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError as e:
            raise InputError(f"parameter {where!r}: {value!r} is not a number") from e
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if hint in (int, bool, str) and not isinstance(value, hint):
        raise InputError(f"parameter {where!r}: {value!r} is not a {hint.__name__}")
    return value


def _fits(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, (dict, hint))
    if origin is tuple:
        return isinstance(value, (list, tuple))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (bool, str):
        return isinstance(value, hint)
    return True

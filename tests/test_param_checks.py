"""Every branch of the parameter tree checks its options and numeric ranges at construction (``neurd_lite.checks``)."""
from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

from neurd_lite.checks import check_params
from neurd_lite.errors import InputError
from neurd_lite.feature.params import WidthParams
from neurd_lite.mesh.decimate import DecimateParams
from neurd_lite.params import PipelineParams
from neurd_lite.skeleton.skeletonizer import SkeletonParams
from neurd_lite.spines.params import SpineParams
from neurd_lite.spines.shaft import ShaftParams
from neurd_lite.spines.synapses import SynapseParams


def _tree_classes() -> list[type]:
    out, todo = [], [PipelineParams]
    while todo:
        cls = todo.pop()
        out.append(cls)
        hints = typing.get_type_hints(cls)
        todo += [hints[f.name] for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])
                 and hints[f.name] not in out + todo]
    return out


def test_every_branch_checks_itself_at_construction():
    """Each dataclass of the tree with fields of its own has a ``__post_init__`` (a new branch without one fails
    here; ``FeatureParams`` only gathers sub-dataclasses)."""
    def own_fields(c: type) -> list[str]:
        hints = typing.get_type_hints(c)
        return [f.name for f in dataclasses.fields(c) if not dataclasses.is_dataclass(hints[f.name])]

    missing = [c.__name__ for c in _tree_classes() if own_fields(c) and "__post_init__" not in vars(c)]
    assert missing == []
    assert len(_tree_classes()) >= 20


def test_defaults_pass():
    PipelineParams()
    PipelineParams.from_dict(PipelineParams().to_dict())


@pytest.mark.parametrize("make, words", [
    (lambda: SpineParams(model_skirt="stalk"), ["SpineParams.model_skirt", "'stalk'", "'stalked', 'all', 'off'"]),
    (lambda: WidthParams(sample="center"), ["WidthParams.sample", "'center'", "'corners', 'centres', 'surface'"]),
    (lambda: SpineParams(candidate_filter="learned"), ["candidate_filter", "'rules', 'model', 'pool'"]),
    (lambda: SpineParams(vertex_feature_set="ring"), ["vertex_feature_set", "'rings', 'balls'"]),
    (lambda: SpineParams(extend_level="planar"), ["extend_level", "'plane', 'median'"]),
    (lambda: SpineParams(refit_scale="min"), ["refit_scale", "'refit', 'max', 'base'"]),
    (lambda: ShaftParams(local_radius_mode="min"), ["local_radius_mode", "'max', 'local'"]),
    (lambda: SynapseParams(soma_by="rule"), ["SynapseParams.soma_by", "'rules', 'model'"]),
    (lambda: SynapseParams(target_model="synapse_target_v2"), ["target_model", "'synapse_target_profile'"]),
    (lambda: SkeletonParams(backend="kimimaro"), ["SkeletonParams.backend", "'teasar'"]),
    (lambda: DecimateParams(target_faces="many"), ["target_faces", "'auto' or a number >= 1"]),
])
def test_unknown_option_names_parameter_value_and_choices(make, words):
    with pytest.raises(InputError) as e:
        make()
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("make, words", [
    (lambda: SpineParams(relief_quantile=1.5), ["SpineParams.relief_quantile = 1.5", "in [0, 1]"]),
    (lambda: SpineParams(link_nm=-1.0), ["SpineParams.link_nm = -1.0", ">= 0"]),
    (lambda: SpineParams(extend_ring_nm=(300.0, -2.0)), ["extend_ring_nm", ">= 0"]),
    (lambda: SpineParams(angular_bins=0), ["angular_bins = 0", ">= 1"]),
    (lambda: SpineParams(vertex_threshold=2.0), ["vertex_threshold", "[0, 1]"]),
    (lambda: ShaftParams(facing_cos=1.5), ["facing_cos", "[-1, 1]"]),
    (lambda: ShaftParams(sample_spacing_nm=0.0), ["sample_spacing_nm", "> 0"]),
    (lambda: DecimateParams(target_faces=0), ["target_faces = 0", ">= 1"]),
    (lambda: SpineParams(max_length_nm="4000"), ["max_length_nm", "must be a number"]),
    (lambda: SpineParams(relief_quantile=float("nan")), ["relief_quantile = nan"]),
])
def test_out_of_range_number_names_parameter_value_and_range(make, words):
    with pytest.raises(InputError) as e:
        make()
    for w in words:
        assert w in str(e.value)


def test_the_tree_checks_on_load_and_replace():
    with pytest.raises(InputError, match="parameters spines: SpineParams.model_skirt = 'none'"):
        PipelineParams.from_dict({"spines": {"model_skirt": "none"}})
    with pytest.raises(InputError, match=r"^parameters spines.shaft: ShaftParams.radius_quantile = 2.0"):
        PipelineParams.from_dict({"spines": {"shaft": {"radius_quantile": 2}}})
    with pytest.raises(InputError, match="sample"):
        dataclasses.replace(WidthParams(), sample="median")


def test_accepted_values():
    """Booleans are not numbers or 1, None leaves an optional field unset, numpy numbers count, inf is a size."""
    assert SpineParams(centre_skeleton=True).centre_skeleton is True
    with pytest.raises(InputError, match="centre_skeleton = 1"):
        SpineParams(centre_skeleton=1)
    assert SpineParams(rejected_level_quantile=None, max_length_nm=np.inf).rejected_level_quantile is None
    assert DecimateParams(target_faces=np.int64(5000)).target_faces == 5000
    assert DecimateParams(target_faces=None).target_faces is None


def test_helper_reads_unit_suffixes():
    @dataclasses.dataclass(frozen=True)
    class P:
        a_nm: float = 1.0
        b_quantile: float = 0.5
        c: float = -3.0  # no unit suffix: unchecked
        d_um: float = -1.0

        def __post_init__(self) -> None:
            check_params(self, ranges={"d_um": None})

    P()
    with pytest.raises(InputError, match=r"P.a_nm = -1.0: must be >= 0"):
        P(a_nm=-1.0)
    with pytest.raises(InputError, match=r"P.b_quantile = 2: must be in \[0, 1\]"):
        P(b_quantile=2)


def test_every_bool_field_refuses_a_number():
    """A field typed ``bool`` anywhere in the tree refuses 1 (it would pass truth tests silently) and takes numpy's
    bool."""
    checked = 0
    for cls in _tree_classes():
        for f in dataclasses.fields(cls):
            if typing.get_type_hints(cls)[f.name] is not bool:
                continue
            with pytest.raises(InputError, match=f"{cls.__name__}.{f.name} = 1: must be True or False"):
                cls(**{f.name: 1})
            assert getattr(cls(**{f.name: np.bool_(True)}), f.name)
            checked += 1
    assert checked > 10

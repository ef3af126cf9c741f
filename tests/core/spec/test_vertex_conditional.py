"""Vertex's conditional parameters: parsed into children that name their parent, each mistake
a 400 naming its field, and only active parameters suggested and passed to the trainer."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vertex_parse import EXAMPLES, JOB, JSON, _paths

from hpdash.core.runner.command import build_argv
from hpdash.core.spec import SpecError
from hpdash.core.spec.conditions import active_names
from hpdash.core.spec.stored import definition_from_json, definition_to_json
from hpdash.core.spec.vertex import parse_tuning_job
from hpdash.core.suggest import PENDING, Observation, get_suggester, suggest_active

PARAMS: list[dict[str, Any]] = [
    {"parameterId": "model", "categoricalValueSpec": {"values": ["linear", "mlp", "cnn"]},
     "conditionalParameterSpecs": [
         {"parentCategoricalValues": {"values": ["mlp", "cnn"]},
          "parameterSpec": {"parameterId": "layers", "integerValueSpec": {
              "minValue": "1", "maxValue": "3"},
              "conditionalParameterSpecs": [
                  {"parentIntValues": {"values": ["2", "3"]},
                   "parameterSpec": {"parameterId": "skip", "categoricalValueSpec": {
                       "values": ["yes", "no"]}}}]}},
         {"parentCategoricalValues": {"values": ["linear"]},
          "parameterSpec": {"parameterId": "l2", "discreteValueSpec": {
              "values": [0.0, 0.1]}}}]},
    {"parameterId": "lr", "discreteValueSpec": {"values": [0.01, 0.1]}}]


def job(params: list[dict[str, Any]], algorithm: int = 0) -> dict[str, Any]:
    body = copy.deepcopy(JOB)
    body["studySpec"]["parameters"] = copy.deepcopy(params)
    body["studySpec"]["algorithm"] = algorithm
    return body


def violations(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        parse_tuning_job(body)
    return {v.field: v.description for v in caught.value.violations}


def test_children_follow_their_parent_and_name_the_values_that_activate_them():
    parsed = parse_tuning_job(job(PARAMS))
    hp = parsed.definition.hyperparameters
    assert [(p.name, p.parent, p.parent_values) for p in hp.params] == [
        ("model", None, ()), ("layers", "model", ("mlp", "cnn")), ("skip", "layers", (2, 3)),
        ("l2", "model", ("linear",)), ("lr", None, ())]
    assert definition_from_json(definition_to_json(parsed.definition)) == parsed.definition
    echoed = parsed.request["studySpec"]["parameters"][0]["conditionalParameterSpecs"]
    assert echoed[0]["parameterSpec"]["conditionalParameterSpecs"][0]["parameterSpec"][
        "parameterId"] == "skip"
    assert active_names(hp, {"model": "cnn", "layers": 1, "skip": "no", "l2": 0.1}) == {
        "model", "layers", "lr"}


CHILD = "studySpec.parameters[0].conditionalParameterSpecs"


@pytest.mark.parametrize(("change", "field"), [
    (lambda ps: ps[0]["conditionalParameterSpecs"][0].update(
        parentIntValues={"values": ["1"]}), f"{CHILD}[0]"),
    (lambda ps: ps[0]["conditionalParameterSpecs"][0].update(
        parentCategoricalValues={"values": ["rnn"]}),
     f"{CHILD}[0].parentCategoricalValues.values[0]"),
    (lambda ps: ps[0]["conditionalParameterSpecs"][1].update(
        parentIntValues={"values": ["1"]}, parentCategoricalValues=None) or ps[0][
        "conditionalParameterSpecs"][1].pop("parentCategoricalValues"),
     f"{CHILD}[1].parentIntValues"),
    (lambda ps: ps[0]["conditionalParameterSpecs"][0]["parameterSpec"]["integerValueSpec"]
     .update(minValue="5"),
     f"{CHILD}[0].parameterSpec.integerValueSpec.minValue"),
    (lambda ps: ps[0]["conditionalParameterSpecs"][1]["parameterSpec"].update(
        parameterId="lr"), "studySpec.parameters[1].parameterId"),
    (lambda ps: ps[0]["conditionalParameterSpecs"][0].pop("parameterSpec"),
     f"{CHILD}[0].parameterSpec"),
    (lambda ps: ps[1].update(conditionalParameterSpecs=[
        {"parentDiscreteValues": {"values": [0.5]},
         "parameterSpec": {"parameterId": "m", "discreteValueSpec": {"values": [1]}}}]),
     "studySpec.parameters[1].conditionalParameterSpecs[0].parentDiscreteValues.values[0]"),
])
def test_a_mistake_in_a_conditional_parameter_is_named_by_its_path(change, field):
    params = copy.deepcopy(PARAMS)
    change(params)
    found = violations(job(params))
    assert field in found, found


def test_a_double_parameter_cannot_be_a_parent():
    params = [{"parameterId": "x", "doubleValueSpec": {"maxValue": 1},
               "conditionalParameterSpecs": [
                   {"parentDiscreteValues": {"values": [0.5]},
                    "parameterSpec": {"parameterId": "y", "discreteValueSpec": {
                        "values": [1]}}}]}]
    found = violations(job(params))
    assert "cannot be a parent" in found[
        "studySpec.parameters[0].conditionalParameterSpecs[0].parentDiscreteValues"]


@pytest.mark.parametrize("algorithm", ["ALGORITHM_UNSPECIFIED", "RANDOM_SEARCH"])
def test_only_active_parameters_are_suggested(algorithm):
    hp = parse_tuning_job(job(PARAMS)).definition.hyperparameters
    history: list[Observation] = []
    for _ in range(8):
        for p in suggest_active(get_suggester(algorithm), hp, history, 2, 3):
            assert set(p) == active_names(hp, p), p
            history.append(Observation(p, PENDING))
    models = {p.params["model"] for p in history}
    assert len(models) >= 2


def test_a_grid_runs_each_active_configuration_once():
    hp = parse_tuning_job(job(PARAMS, algorithm=2)).definition.hyperparameters
    history: list[Observation] = []
    while points := suggest_active(get_suggester("GRID_SEARCH"), hp, history, 3, 1):
        history += [Observation(p, PENDING) for p in points]
    configs = [tuple(sorted(o.params.items())) for o in history]
    # linear: 2 l2 x 2 lr; mlp, cnn: (1 layer + 2 layers x 2 skips) x 2 lr each
    assert len(configs) == len(set(configs)) == 2 * 2 + 2 * (1 + 2 * 2) * 2


def test_the_trainer_is_given_only_the_active_parameters():
    hp = parse_tuning_job(job(PARAMS)).definition.hyperparameters
    argv = build_argv("py", "t.task", args=["--a=1"], trial_dir=None, spec=hp,
                      params={"model": "linear", "l2": 0.1, "lr": 0.01})
    assert argv == ["py", "-m", "t.task", "--a=1", "--model=linear", "--l2=0.1", "--lr=0.01"]


def test_a_name_used_twice_is_named_where_it_was_first_used():
    params = copy.deepcopy(PARAMS)
    params[0]["conditionalParameterSpecs"][1]["parameterSpec"]["parameterId"] = "lr"
    found = violations(job(params))
    assert f"{CHILD}[1].parameterSpec" in found["studySpec.parameters[1].parameterId"]


COND_JOB = job(PARAMS)  # with two metrics and a stopping config, fuzzed alike
COND_JOB["studySpec"]["metrics"].append({"metricId": "latency", "goal": 2})
COND_JOB["studySpec"]["studyStoppingConfig"] = {
    "maxNumTrialsNoProgress": 5, "maxDurationNoProgress": "600s", "minNumTrials": 2,
    "maximumRuntimeConstraint": {"endTime": "2026-12-07T08:00:00Z"}, "shouldStopAsap": True}
COND_PATHS = [p for p in _paths(COND_JOB) if "studySpec" in p and len(p) > 2]


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(COND_PATHS), JSON), min_size=1, max_size=3))
def test_any_corrupted_study_spec_parses_or_raises_spec_error_only(changes):
    body = copy.deepcopy(COND_JOB)
    for path, value in changes:
        target: Any = body
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        parse_tuning_job(body)
    except SpecError as exc:
        assert exc.violations and all(v.field and v.description for v in exc.violations)

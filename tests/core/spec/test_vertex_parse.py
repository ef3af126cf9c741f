"""The Vertex parser: whatever a client sends, a typed job or a ``SpecError`` naming Vertex
field paths (property-based), and the proto3 JSON details the SDK relies on."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hpdash.core.spec import SpecError
from hpdash.core.spec.stored import definition_from_json, definition_to_json
from hpdash.core.spec.vertex import parse_custom_job, parse_tuning_job

EXAMPLES = int(os.environ.get("HPDASH_HYPOTHESIS_EXAMPLES", 250))

POOL: dict[str, Any] = {
    "machineSpec": {"machineType": "n1-standard-4", "acceleratorType": 5,
                    "acceleratorCount": 1},
    "replicaCount": "1",
    "pythonPackageSpec": {"executorImageUri": "img", "packageUris": ["/srv/t.tar.gz"],
                          "pythonModule": "trainer.task", "args": ["--a=1"],
                          "env": [{"name": "A", "value": "b"}]}}
JOB: dict[str, Any] = {
    "displayName": "t", "maxTrialCount": 4, "parallelTrialCount": 2, "labels": {"k": "v"},
    "studySpec": {"metrics": [{"metricId": "acc", "goal": "MAXIMIZE"}], "parameters": [
        {"parameterId": "lr", "doubleValueSpec": {"minValue": 1e-4, "maxValue": 0.1,
                                                  "defaultValue": 0.01}, "scaleType": 2},
        {"parameterId": "n", "integerValueSpec": {"minValue": "1", "maxValue": "8"}},
        {"parameterId": "opt", "categoricalValueSpec": {"values": ["a", "b"]}},
        {"parameterId": "u", "discreteValueSpec": {"values": [16, 32]}}],
        "medianAutomatedStoppingSpec": {}},
    "trialJobSpec": {"workerPoolSpecs": [POOL], "scheduling": {"timeout": "60s"},
                     "baseOutputDirectory": {"outputUriPrefix": "file:///srv/out"}}}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["", "0", "1e9", "NaN", "gs://b/x", "/abs", "MAXIMIZE", "x\x00y"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6) | st.sampled_from(["minValue", "values", "parameterId"]), inner,
        max_size=3),
    max_leaves=10)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(JOB)[1:]


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3))
@example(changes=[(("studySpec", "metrics"), True)])  # found once: a TypeError, not a 400
def test_any_corrupted_job_parses_or_raises_spec_error_only(changes):
    job = copy.deepcopy(JOB)
    for path, value in changes:
        target: Any = job
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    for parse in (parse_tuning_job, parse_custom_job):
        try:
            parse(job)
        except SpecError as exc:
            assert exc.violations and all(v.field and v.description for v in exc.violations)


def test_the_valid_job_parses_with_enums_as_numbers_or_names():
    job = parse_tuning_job(JOB)
    hp = job.definition.hyperparameters
    assert hp.enable_early_stopping and hp.param("lr").is_log
    assert job.definition.gpus.count == 1 and job.definition.gpus.type == "NVIDIA_TESLA_T4"
    assert job.request["trialJobSpec"]["workerPoolSpecs"][0]["machineSpec"][
        "acceleratorType"] == "NVIDIA_TESLA_T4"


@pytest.mark.parametrize(("change", "field"), [
    ({"studySpec": {**JOB["studySpec"], "parameters": [
        {"parameterId": "x", "doubleValueSpec": {"minValue": 2, "maxValue": 1}}]}},
     "studySpec.parameters[0].doubleValueSpec.minValue"),
    ({"studySpec": {**JOB["studySpec"], "parameters": [
        {"parameterId": "x", "doubleValueSpec": {"maxValue": 1, "defaultValue": 3}}]}},
     "studySpec.parameters[0].doubleValueSpec.defaultValue"),
    ({"studySpec": {**JOB["studySpec"], "parameters": [
        {"parameterId": "x", "categoricalValueSpec": {"values": ["a", "a"]}}]}},
     "studySpec.parameters[0].categoricalValueSpec.values[1]"),
    ({"studySpec": {**JOB["studySpec"], "parameters": [
        {"parameterId": "bad name", "discreteValueSpec": {"values": [1]}}]}},
     "studySpec.parameters[0].parameterId"),
    ({"studySpec": {**JOB["studySpec"], "algorithm": 2}},
     "studySpec.parameters[0].doubleValueSpec"),
    ({"studySpec": {**JOB["studySpec"], "studyStoppingConfig": {"maxNumTrials": 0}}},
     "studySpec.studyStoppingConfig.maxNumTrials"),
    ({"studySpec": {**JOB["studySpec"], "studyStoppingConfig": {
        "minimumRuntimeConstraint": {"maxDuration": "60s", "endTime": "2026-12-07T08:00:00Z"}}}},
     "studySpec.studyStoppingConfig.minimumRuntimeConstraint"),
    ({"studySpec": {**JOB["studySpec"],
                    "decayCurveStoppingSpec": {"useElapsedDuration": True}}},
     "studySpec.decayCurveStoppingSpec.useElapsedDuration"),
    ({"trialJobSpec": {"workerPoolSpecs": [{**POOL, "replicaCount": "3"}]}},
     "trialJobSpec.workerPoolSpecs[0].replicaCount"),
    ({"trialJobSpec": {"workerPoolSpecs": [{**POOL, "machineSpec": {"acceleratorType": 6,
                                                                    "acceleratorCount": 8}}]}},
     "trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorType"),
    ({"maxFailedTrialCount": 9}, "maxFailedTrialCount"),
    ({"studySpec": {**JOB["studySpec"], "metrics": [
        {"metricId": "acc", "goal": 1}, {"metricId": "acc", "goal": 2}]}},
     "studySpec.metrics[1].metricId"),
    ({"studySpec": {**JOB["studySpec"], "metrics": [
        {"metricId": "acc", "goal": 1}, {"metricId": "loss"}]}},
     "studySpec.metrics[1].goal"),
    ({"studySpec": {**JOB["studySpec"], "metrics": [
        {"metricId": f"m{i}", "goal": 1} for i in range(11)]}},
     "studySpec.metrics"),
    ({"trialJobSpec": {"workerPoolSpecs": [{**POOL, "containerSpec": {"imageUri": "i"}}]}},
     "trialJobSpec.workerPoolSpecs[0].containerSpec"),
    ({"trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"command": ["python3"]}}]}},
     "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri"),
    ({"trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {"imageUri": "Not An Image"}}]}},
     "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri"),
])
def test_a_mistake_is_named_by_its_vertex_path(change, field):
    with pytest.raises(SpecError) as caught:
        parse_tuning_job({**JOB, **change})
    assert field in [v.field for v in caught.value.violations], caught.value.violations


def test_a_container_spec_runs_its_image_with_command_then_args_then_parameters():
    """As Vertex runs a containerSpec: the image's entrypoint or ``command``, ``args``, then
    ``--name=value`` for each parameter; no ``--job-dir`` (the AIP_* directories instead)."""
    from pathlib import Path

    from hpdash.core.layout import DataLayout
    from hpdash.core.runner.plan import plan_trial

    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1",
            "containerSpec": {"imageUri": "gcr.io/my-proj/trainer:v1", "command": ["python3"],
                              "args": ["-m", "trainer.task"], "env": [{"name": "A",
                                                                      "value": "b"}]}}
    definition = parse_tuning_job({**JOB, "trialJobSpec": {**JOB["trialJobSpec"],
                                                           "workerPoolSpecs": [pool]}}).definition
    assert definition.image is not None and definition.package is None
    assert definition.image.image_uri == "gcr.io/my-proj/trainer:v1"
    assert definition_from_json(definition_to_json(definition)) == definition
    plan = plan_trial(training=definition, layout=DataLayout(Path("/data")), project="p",
                      job_id="j", trial_id=3, params={"lr": 0.05}, python="/unused",
                      base_env={"PATH": "/bin"})
    assert plan.container and plan.entrypoint == ("python3",)
    assert plan.argv == ("gcr.io/my-proj/trainer:v1", "-m", "trainer.task", "--lr=0.05")
    assert plan.env["A"] == "b" and plan.env["AIP_CHECKPOINT_DIR"] == "/srv/out/3/checkpoints/"


def test_ml_v1_words_do_not_leak_into_vertex_messages():
    body = {**JOB, "studySpec": {**JOB["studySpec"], "parameters": [
        {"parameterId": "x", "categoricalValueSpec": {"values": []}}]}}
    with pytest.raises(SpecError) as caught:
        parse_tuning_job(body)
    text = str(caught.value)
    assert "categoricalValues" not in text and "parameterName" not in text


def test_several_metrics_make_a_multi_objective_study_that_survives_storage():
    body = {**JOB, "studySpec": {**JOB["studySpec"], "metrics": [
        {"metricId": "acc", "goal": 1}, {"metricId": "latency", "goal": "MINIMIZE"}]}}
    definition = parse_tuning_job(body).definition
    hp = definition.hyperparameters
    assert [(m.tag, m.maximize) for m in hp.metrics] == [("acc", True), ("latency", False)]
    assert hp.multi_objective and hp.metric_tag == "acc" and hp.goal == "MAXIMIZE"
    assert definition_from_json(definition_to_json(definition)) == definition
    assert not parse_tuning_job(JOB).definition.hyperparameters.multi_objective

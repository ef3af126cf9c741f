"""Every field the Vertex front door emits is in Vertex AI's own v1 protos, with its documented
JSON type: each answer is parsed by protobuf's strict JSON parser (unknown fields refused)
into the message the SDK would read it as."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone
from google.cloud.aiplatform_v1.types import (
    CustomJob,
    HyperparameterTuningJob,
    ListCustomJobsResponse,
    ListHyperparameterTuningJobsResponse,
)
from google.longrunning import operations_pb2
from google.protobuf import json_format
from test_vertex_jobs import CUSTOM, TUNING, pool, post, tuning_body

from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Measurement, Trial

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]


def strict(answer: dict[str, Any], message: Any) -> Any:
    """The answer parsed as ``message`` (a proto-plus class); raises on any undocumented
    field or mistyped value."""
    return json_format.Parse(json.dumps(answer), message.pb()(), ignore_unknown_fields=False)


def _trials(job: Job) -> None:
    now = timezone.now()
    states = [TrialState.SUCCEEDED, TrialState.FAILED, TrialState.CANCELLED,
              TrialState.RUNNING, TrialState.QUEUED]
    for i, state in enumerate(states, start=1):
        trial = Trial.objects.create(
            job=job, trial_id=i, state=state,
            params={"lr": 0.01, "layers": 2, "opt": "adam", "units": 32.0},
            final_value=0.5 if state == TrialState.SUCCEEDED else None, final_step=2,
            failure_reason="exit status 3" if state == TrialState.FAILED else "",
            start_time=now if state != TrialState.QUEUED else None,
            end_time=now + dt.timedelta(seconds=3) if state.is_final else None)
        for step in (1, 2):
            Measurement.objects.create(trial=trial, step=step, value=0.25 * step,
                                       reported_at=now)


def test_a_tuning_job_in_every_state_with_every_kind_of_trial_is_vertex_json(
        client, vauth, package):
    created = post(client, vauth, TUNING, tuning_body(package)).json()
    strict(created, HyperparameterTuningJob)
    job = Job.objects.get(job_id=created["name"].rsplit("/", 1)[1])
    _trials(job)
    url = f"/v1/{created['name']}"
    for state in JobState:
        Job.objects.filter(pk=job.pk).update(state=state, error_message="why", start_time=(
            timezone.now()), end_time=timezone.now() if state.is_final else None)
        answer = client.get(url, **vauth).json()
        parsed = strict(answer, HyperparameterTuningJob)
        assert len(parsed.trials) == 5
    assert [t["state"] for t in answer["trials"]] == [
        "SUCCEEDED", "INFEASIBLE", "INFEASIBLE", "ACTIVE", "REQUESTED"]
    assert answer["trials"][0]["finalMeasurement"] == {
        "stepCount": "2", "metrics": [{"metricId": "accuracy", "value": 0.5}]}
    listed = client.get(TUNING, **vauth).json()
    strict(listed, ListHyperparameterTuningJobsResponse)
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    op = client.delete(url, **vauth).json()
    json_format.Parse(json.dumps(op), operations_pb2.Operation(), ignore_unknown_fields=False)


def test_a_custom_job_is_vertex_json(client, vauth, package):
    body = {"displayName": "once", "labels": {"a": "b"},
            "jobSpec": {"workerPoolSpecs": [pool(package)], "scheduling": {"timeout": "60s"},
                        "baseOutputDirectory": {"outputUriPrefix": str(package) + ".out"}}}
    created = post(client, vauth, CUSTOM, body).json()
    strict(created, CustomJob)
    listed = client.get(CUSTOM, {"pageSize": "1"}, **vauth).json()
    strict(listed, ListCustomJobsResponse)


def test_a_study_with_every_studyspec_feature_echoes_as_vertex_json(client, vauth, package):
    """Two metrics, a conditional parameter, a stopping spec, the study stopping config,
    observation noise and an output directory: the job, a trial whose child parameter is
    inactive (left out, as Vertex does) and the optimal trials all parse strictly."""
    from google.cloud.aiplatform_v1.types import ListOptimalTrialsResponse

    body = tuning_body(package)
    spec = body["studySpec"]
    spec["metrics"].append({"metricId": "latency", "goal": 2})
    spec["parameters"][2]["conditionalParameterSpecs"] = [
        {"parentCategoricalValues": {"values": ["adam"]},
         "parameterSpec": {"parameterId": "beta", "doubleValueSpec": {
             "minValue": 0.8, "maxValue": 0.99, "defaultValue": 0.9}}}]
    spec["medianAutomatedStoppingSpec"] = {}
    spec["studyStoppingConfig"] = {"maxNumTrialsNoProgress": 5, "minNumTrials": 2}
    spec["observationNoise"] = 2
    body["trialJobSpec"]["baseOutputDirectory"] = {"outputUriPrefix": str(package) + ".out"}
    created = post(client, vauth, TUNING, body)
    assert created.status_code == 200, created.content
    strict(created.json(), HyperparameterTuningJob)
    echoed = created.json()["studySpec"]
    assert echoed["parameters"][2]["conditionalParameterSpecs"][0]["parameterSpec"][
        "parameterId"] == "beta"
    job = Job.objects.get(job_id=created.json()["name"].rsplit("/", 1)[1])
    now = timezone.now()
    for tid, opt in ((1, "sgd"), (2, "adam")):
        trial = Trial.objects.create(
            job=job, trial_id=tid, state=TrialState.SUCCEEDED, final_value=0.5 + tid / 10,
            final_step=1, start_time=now, end_time=now,
            params={"lr": 0.01, "layers": 2, "opt": opt, "units": 32.0,
                    **({"beta": 0.9} if opt == "adam" else {})})
        Measurement.objects.create(trial=trial, step=1, value=0.5 + tid / 10, reported_at=now)
        Measurement.objects.create(trial=trial, step=1, metric=1, value=10.0 * tid,
                                   reported_at=now)
    url = f"/v1/{created.json()['name']}"
    answer = client.get(url, **vauth).json()
    strict(answer, HyperparameterTuningJob)
    by_id = {t["id"]: t for t in answer["trials"]}
    assert [p["parameterId"] for p in by_id["1"]["parameters"]] == [
        "lr", "layers", "opt", "units"]  # beta inactive: not there
    assert {"parameterId": "beta", "value": 0.9} in by_id["2"]["parameters"]
    optimal = client.post(f"{url}:listOptimalTrials", **vauth).json()
    strict(optimal, ListOptimalTrialsResponse)
    assert sorted(t["id"] for t in optimal["optimalTrials"]) == ["1", "2"]

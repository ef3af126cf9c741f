"""A study with several metrics through the Vertex front door: each measurement and the final
one carry every metric, the Pareto-optimal trials are listed, and what the suggester learns
holds every metric."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone
from google.cloud.aiplatform_v1.types import HyperparameterTuningJob, ListOptimalTrialsResponse
from google.protobuf import json_format
from test_vertex_jobs import TUNING, post, tuning_body

from hpdash.core.runner.metrics import Measurement as Reported
from hpdash.core.states import ObservationState, TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.trials import job_history
from hpdash.services.trials import trial_add_measurements

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

# trial id: per step (accuracy ↑, latency ↓); the final step is the last one (LAST)
CURVES = {1: [(0.5, 30.0), (0.7, 40.0)],   # final (0.7, 40): Pareto
          2: [(0.6, 20.0), (0.65, 25.0)],  # final (0.65, 25): Pareto
          3: [(0.4, 50.0), (0.6, 45.0)],   # final (0.6, 45): dominated by 1
          4: [(0.9, 10.0)]}                # reports accuracy only: no final measurement


def _two_metric_job(client, vauth, package) -> dict[str, Any]:
    body = tuning_body(package)
    body["studySpec"]["metrics"].append({"metricId": "latency", "goal": 2})
    body["studySpec"]["measurementSelectionType"] = 1  # LAST
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 200, resp.content
    return dict(resp.json())


def _run_trials(job: Job) -> None:
    now = timezone.now()
    for tid, steps in CURVES.items():
        trial = Trial.objects.create(job=job, trial_id=tid, state=TrialState.RUNNING,
                                     params={"lr": 0.01, "layers": tid, "opt": "sgd",
                                             "units": 16.0}, start_time=now)
        for step, (acc, latency) in enumerate(steps, start=1):
            reported = [Reported(step, acc, 1000.0 + step)]
            if tid != 4:
                reported.append(Reported(step, latency, 1000.0 + step, metric=1))
            assert trial_add_measurements(trial=trial, measurements=reported,
                                          source="hypertune")
        state = TrialState.SUCCEEDED if tid != 4 else TrialState.FAILED
        Trial.objects.filter(pk=trial.pk).update(state=state,
                                                 end_time=now + dt.timedelta(seconds=5))


def test_every_measurement_and_the_final_one_carry_every_metric(client, vauth, package):
    created = _two_metric_job(client, vauth, package)
    job = Job.objects.get(job_id=created["name"].rsplit("/", 1)[1])
    _run_trials(job)
    answer = client.get(f"/v1/{created['name']}", **vauth).json()
    parsed = json_format.Parse(json.dumps(answer), HyperparameterTuningJob.pb()(),
                               ignore_unknown_fields=False)
    assert len(parsed.trials) == 4
    first = answer["trials"][0]
    assert first["measurements"] == [
        {"stepCount": "1", "metrics": [{"metricId": "accuracy", "value": 0.5},
                                       {"metricId": "latency", "value": 30.0}]},
        {"stepCount": "2", "metrics": [{"metricId": "accuracy", "value": 0.7},
                                       {"metricId": "latency", "value": 40.0}]}]
    # the final step follows the first metric; latency is its value at that step
    assert first["finalMeasurement"] == first["measurements"][1]
    assert answer["trials"][1]["finalMeasurement"]["metrics"] == [
        {"metricId": "accuracy", "value": 0.65}, {"metricId": "latency", "value": 25.0}]


def test_the_pareto_optimal_trials_are_listed(client, vauth, package):
    created = _two_metric_job(client, vauth, package)
    job = Job.objects.get(job_id=created["name"].rsplit("/", 1)[1])
    _run_trials(job)
    optimal = client.post(f"/v1/{created['name']}:listOptimalTrials", **vauth)
    assert optimal.status_code == 200, optimal.content
    json_format.Parse(optimal.content, ListOptimalTrialsResponse.pb()(),
                      ignore_unknown_fields=False)  # Vertex's own message, strictly
    trials = optimal.json()["optimalTrials"]
    assert [t["id"] for t in trials] == ["1", "2"]
    assert trials[0]["finalMeasurement"]["metrics"][1] == {"metricId": "latency", "value": 40.0}


def test_the_suggester_learns_every_metric_of_each_trial(client, vauth, package):
    created = _two_metric_job(client, vauth, package)
    job = Job.objects.get(job_id=created["name"].rsplit("/", 1)[1])
    _run_trials(job)
    history = job_history(job)
    assert [(o.state, o.values) for o in history] == [
        (ObservationState.SUCCEEDED, (0.7, 40.0)), (ObservationState.SUCCEEDED, (0.65, 25.0)),
        (ObservationState.SUCCEEDED, (0.6, 45.0)), (ObservationState.FAILED, ())]

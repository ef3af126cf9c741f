"""A Vertex study with a studyStoppingConfig stops starting trials once it makes no progress,
and the job says why."""

from __future__ import annotations

import pytest
from test_vertex_jobs import TUNING, post, tuning_body

from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Trial
from hpdash.ops import queue
from hpdash.services.scheduling import job_advance
from hpdash.services.trials import TrialOutcome, trial_finish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]


@pytest.fixture
def recorded(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, a: None)
    monkeypatch.setattr(queue, "dequeue_trials", lambda pairs: None)


def _create(client, vauth, package, stopping) -> Job:
    body = tuning_body(package)
    body["maxTrialCount"], body["parallelTrialCount"] = 20, 1
    body["studySpec"]["studyStoppingConfig"] = stopping
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 200, resp.content
    assert resp.json()["studySpec"]["studyStoppingConfig"] == stopping
    return Job.objects.get(job_id=resp.json()["name"].rsplit("/", 1)[1])


def _finish(trial: Trial, value: float) -> None:
    Trial.objects.filter(pk=trial.pk).update(state=TrialState.RUNNING, final_value=value,
                                             final_step=1)
    trial_finish(trial=trial, outcome=TrialOutcome(TrialState.SUCCEEDED))
    job_advance(trial.job_id)


def test_no_progress_in_three_trials_ends_the_study_with_the_reason(
        client, vauth, package, recorded, django_capture_on_commit_callbacks):
    job = _create(client, vauth, package, {"maxNumTrialsNoProgress": 3, "minNumTrials": 2})
    values = iter([0.5, 0.8, 0.7, 0.6, 0.79, 0.9])
    with django_capture_on_commit_callbacks(execute=True):
        job_advance(job.pk)
        while (queued := job.trials.filter(state=TrialState.QUEUED).first()) is not None:
            _finish(queued, next(values))
    job.refresh_from_db()
    assert job.trials.count() == 5  # 0.8 was the last progress, then 3 without
    assert job.state == JobState.SUCCEEDED
    assert "did not improve in the last 3 trials" in job.error_message


def test_a_mistake_in_the_stopping_config_is_a_400_naming_it(client, vauth, package):
    body = tuning_body(package)
    body["studySpec"]["studyStoppingConfig"] = {
        "maxDurationNoProgress": "an hour", "minNumTrials": 5, "maxNumTrials": 3,
        "maximumRuntimeConstraint": {"endTime": "tomorrow"}}
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 400
    fields = {v["field"] for v in resp.json()["error"]["details"][0]["fieldViolations"]}
    assert fields == {"studySpec.studyStoppingConfig.maxDurationNoProgress",
                      "studySpec.studyStoppingConfig.maximumRuntimeConstraint.endTime"}
    body["studySpec"]["studyStoppingConfig"] = {"minNumTrials": 5, "maxNumTrials": 3}
    resp = post(client, vauth, TUNING, body)
    fields = {v["field"] for v in resp.json()["error"]["details"][0]["fieldViolations"]}
    assert fields == {"studySpec.studyStoppingConfig.minNumTrials"}

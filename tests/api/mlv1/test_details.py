"""hpdash's one extension method, ``…/jobs/J:hpdashDetails``: the ml v1 Job exactly as
``jobs.get`` answers it, and each FAILED trial's reason and the last lines of its log, bounded
whatever the job.  ``jobs.get`` itself stays exactly Google's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from hpdash.core.layout import DataLayout
from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.trial_failures import MAX_REASON_CHARS, MAX_REPORTED_FAILURES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

JOB = {"jobId": "j1", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "goal": "MAXIMIZE", "maxTrials": 40,
    "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}


@pytest.fixture
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def job(client, auth) -> Job:
    resp = client.post("/v1/projects/p/jobs", data=json.dumps(JOB),
                       content_type="application/json", **auth)
    assert resp.status_code == 200, resp.json()
    row = Job.objects.get(job_id="j1")
    Job.objects.filter(pk=row.pk).update(state=JobState.FAILED)
    return row


def _trial(job: Job, tid: int, state: TrialState, **kw) -> Trial:
    now = timezone.now()
    return Trial.objects.create(job=job, trial_id=tid, state=state, params={"x": 1},
                                start_time=now, end_time=now, **kw)


def _log(data_dir: Path, tid: int, text: str) -> None:
    path = DataLayout(data_dir).trial_log("p", "j1", tid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _trials(client, auth) -> list[dict[str, Any]]:
    """The trials of ``jobs.get``, best first, each with its ``failure`` from
    ``:hpdashDetails`` (when it has one)."""
    got = client.get("/v1/projects/p/jobs/j1", **auth)
    details = client.get("/v1/projects/p/jobs/j1:hpdashDetails", **auth)
    assert got.status_code == details.status_code == 200
    assert details.json()["job"] == got.json(), "the extension carries the Job as jobs.get does"
    failures = {t["trialId"]: t["failure"] for t in details.json()["trials"] if "failure" in t}
    return [{**t, **({"failure": failures[t["trialId"]]} if t["trialId"] in failures else {})}
            for t in got.json()["trainingOutput"]["trials"]]


def test_a_failed_trial_carries_its_reason_and_log_tail_in_the_extension_only(
        client, auth, job, data_dir):
    _trial(job, 1, TrialState.SUCCEEDED, final_value=0.5, final_step=3)
    _trial(job, 2, TrialState.FAILED, failure_reason="exit code 1")
    _log(data_dir, 2, "[hpdash] trial 2 attempt 1\nloading\nTraceback (most recent call last):\n"
                      "ValueError: bad shape\n[hpdash] trial 2 FAILED: exit code 1\n")
    resource = client.get("/v1/projects/p/jobs/j1", **auth).json()
    assert "bad shape" not in json.dumps(resource), "jobs.get is exactly Google's Job"
    ok, failed = _trials(client, auth)
    assert "failure" not in ok
    assert failed["trialId"] == "2"
    assert failed["failure"] == {
        "reason": "exit code 1",
        "logTail": "loading\nTraceback (most recent call last):\nValueError: bad shape"}


def test_a_failed_trial_without_a_log_still_has_its_reason(client, auth, job, data_dir):
    _trial(job, 1, TrialState.FAILED, failure_reason="metric was nan")
    [t] = _trials(client, auth)
    assert t["failure"] == {"reason": "metric was nan"}


def test_the_extension_is_bounded_to_the_latest_failures_and_short_reasons(
        client, auth, job, data_dir):
    n = MAX_REPORTED_FAILURES + 5
    for tid in range(1, n + 1):
        _trial(job, tid, TrialState.FAILED, failure_reason="x" * 10_000)
        _log(data_dir, tid, "".join(f"line {i}\n" for i in range(1000)))
    trials = _trials(client, auth)
    marked = {int(t["trialId"]) for t in trials if "failure" in t}
    assert marked == set(range(n - MAX_REPORTED_FAILURES + 1, n + 1))
    extension = trials[-1]["failure"]
    assert len(extension["reason"]) == MAX_REASON_CHARS
    assert extension["logTail"].splitlines() == [f"line {i}" for i in range(995, 1000)]


def test_cancelled_trials_get_no_failure_extension(client, auth, job, data_dir):
    _trial(job, 1, TrialState.CANCELLED, failure_reason="job failed")
    [t] = _trials(client, auth)
    assert "failure" not in t

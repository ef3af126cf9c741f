"""A study: a job with the jobs it resumes and that resume it, in one history."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from support import job_row

from hpdash.core.states import JobState, TrialState
from hpdash.models import Trial

HP = {"goal": "MINIMIZE", "hyperparameterMetricTag": "loss", "maxTrials": 6, "params": [
    {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1},
    {"parameterName": "y", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


def _with_trials(job, values):
    for i, v in enumerate(values, 1):
        Trial.objects.create(job=job, trial_id=i, state=TrialState.SUCCEEDED, final_value=v,
                             final_step=1, params={"x": v / 10, "y": 1 - v / 10},
                             start_time=timezone.now(), end_time=timezone.now())
    return job


@pytest.fixture
def chain(client, staff):
    first = _with_trials(job_row("first", HP, state=JobState.SUCCEEDED), [5, 4, 6])
    second = _with_trials(job_row("second", HP, state=JobState.SUCCEEDED, previous_job=first),
                          [3, 7])
    third = _with_trials(job_row("third", HP, previous_job=second), [2])
    job_row("other", HP)
    client.force_login(staff)
    return first, second, third


def test_the_study_shows_every_job_of_the_chain_and_one_history(client, chain):
    html = client.get("/projects/p/jobs/second/study").content.decode()
    assert "3 jobs, 6 trials" in html
    for job_id in ("first", "second", "third"):
        assert f"/projects/p/jobs/{job_id}/" in html
    assert "/projects/p/jobs/other/" not in html
    figures = json.loads(html.split('<script id="figures" type="application/json">')[1]
                         .split("</script>")[0])
    history = figures["history"]
    by_job = {t["name"]: t for t in history["data"]}
    assert by_job["first"]["x"] == [1, 2, 3] and by_job["second"]["x"] == [4, 5]
    assert by_job["third"]["x"] == [6]
    assert by_job["best so far"]["y"] == [5, 4, 3, 2]  # minimising, across the jobs
    assert figures["importance"]["data"], "six succeeded trials: enough for importance"
    edf = {t["name"]: t for t in figures["edf"]["data"]}
    assert edf["first"]["x"] == [4, 5, 6] and edf["first"]["y"] == [1 / 3, 2 / 3, 1.0]
    assert edf["third"]["x"] == [2] and edf["third"]["y"] == [1.0]


def test_each_job_of_a_chain_links_to_its_study(client, chain):
    assert 'id="study-link"' in client.get("/projects/p/jobs/first/").content.decode()
    assert 'id="study-link"' in client.get("/projects/p/jobs/third/").content.decode()
    assert 'id="study-link"' not in client.get("/projects/p/jobs/other/").content.decode()

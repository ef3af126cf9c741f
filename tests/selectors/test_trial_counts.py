"""Trial counts by state, and progress: the job list, the job page and the admin agree."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from support import job_row

from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.jobs import jobs_overview
from hpdash.selectors.trial_counts import TrialCounts, trial_counts

pytestmark = pytest.mark.django_db

HP = {"goal": "MINIMIZE", "maxTrials": 8, "params": [
    {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}
STATES = [TrialState.SUCCEEDED, TrialState.SUCCEEDED, TrialState.FAILED, TrialState.CANCELLED,
          TrialState.RUNNING, TrialState.RUNNING, TrialState.QUEUED]


@pytest.fixture
def job() -> Job:
    job = job_row("counted", {**HP, "hyperparameterMetricTag": "loss", "maxParallelTrials": 2})
    for tid, state in enumerate(STATES, 1):
        Trial.objects.create(job=job, trial_id=tid, state=state, params={"x": 0.5},
                             final_value=0.3 if tid == 1 else 0.1 * tid,
                             start_time=timezone.now())
    return job


def test_a_job_counts_its_trials_in_every_state(job):
    counts = trial_counts(job)
    assert counts.by_state == {TrialState.SUCCEEDED: 2, TrialState.FAILED: 1,
                               TrialState.CANCELLED: 1, TrialState.RUNNING: 2,
                               TrialState.QUEUED: 1}
    assert (counts.finished, counts.running, counts.active) == (4, 2, 3)
    assert counts.progress_pct(job.max_trials) == 50


def test_the_job_list_reads_the_same_counts_and_the_best_value_in_one_query(
        job, django_assert_num_queries):
    staff = User.objects.create_user("s", is_staff=True)
    with django_assert_num_queries(1):
        listed = list(jobs_overview(user=staff))
        counts = trial_counts(listed[0])
    assert counts == trial_counts(job)
    # Minimize: the lowest final metric of the succeeded trials (the running 0.5 is not final).
    assert getattr(listed[0], "best_value") == pytest.approx(0.2)  # noqa: B009 - annotated


def test_the_job_list_page_shows_progress_and_running_trials(client, job):
    client.force_login(User.objects.create_user("s", is_staff=True))
    html = client.get("/").content.decode()
    assert re.search(r'value="50"[^>]*title="4 of 8 finished"', html)
    assert "4/8 · 2 running" in html


def test_progress_is_zero_without_a_trial_limit_and_never_passes_100():
    counts = TrialCounts({state: 0 for state in TrialState} | {TrialState.SUCCEEDED: 12})
    assert counts.progress_pct(0) == 0
    assert counts.progress_pct(10) == 100
    assert counts.progress_pct(24) == 50


def test_the_admin_lists_progress_and_summarises_trials_by_state(client, job):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    assert "4/8" in client.get("/admin/hpdash/job/").content.decode()
    html = client.get(f"/admin/hpdash/job/{job.pk}/change/").content.decode()
    assert "CANCELLED 1, FAILED 1, QUEUED 1, RUNNING 2, SUCCEEDED 2" in html

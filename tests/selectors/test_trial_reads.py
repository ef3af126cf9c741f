"""Best first, one definition: the API's trial list, the job page's table and best trial, and
the charts all rank a job's trials the same way."""

from __future__ import annotations

import pytest
from django.utils import timezone
from support import job_row

from hpdash.core.states import TrialState
from hpdash.dashboard.charts import _rank
from hpdash.models import Job, Measurement, Trial
from hpdash.selectors.trial_points import trial_points
from hpdash.selectors.trial_table import TrialFilter, best_trials, filtered_trials
from hpdash.selectors.trials import (
    metric_order,
    rank_trials,
    trial_get,
    trial_measurements_so_far,
    trials_and_measurements_count,
    trials_by_id,
    trials_recent,
)

pytestmark = pytest.mark.django_db

HP = {"goal": "MAXIMIZE", "maxTrials": 10, "params": [
    {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


def make_job(goal: str) -> Job:
    job = job_row(f"j_{goal}", {**HP, "goal": goal}, metric_tag="acc")
    rows = [  # id, state, final value (a running or failed trial's is its latest, not final)
        (1, TrialState.SUCCEEDED, 0.5), (2, TrialState.RUNNING, 0.99),
        (3, TrialState.SUCCEEDED, 0.7), (4, TrialState.FAILED, 0.01),
        (5, TrialState.SUCCEEDED, 0.5), (6, TrialState.QUEUED, None),
        (7, TrialState.SUCCEEDED, 0.2)]
    for tid, state, value in rows:
        Trial.objects.create(job=job, trial_id=tid, state=state, params={"x": 0.1},
                             final_value=value, start_time=timezone.now())
    return job


@pytest.mark.parametrize(("goal", "expected"), [
    ("MAXIMIZE", [3, 1, 5, 7, 2, 4, 6]), ("MINIMIZE", [7, 1, 5, 3, 2, 4, 6])])
def test_every_ranking_puts_the_best_final_metric_first_and_unfinished_trials_last(
        goal, expected):
    job = make_job(goal)
    trials = list(job.trials.all())
    assert [t.trial_id for t in rank_trials(trials, job.maximize)] == expected
    in_db = job.trials.order_by(*metric_order(maximize=job.maximize))
    assert list(in_db.values_list("trial_id", flat=True)) == expected
    table = filtered_trials(job, TrialFilter())
    assert list(table.values_list("trial_id", flat=True)) == expected
    charted = [p.trial_id for p in _rank(trial_points(job.trials.all()), job.maximize)]
    assert charted == expected[:4]  # the charts plot only trials with a final metric
    assert best_trials(job).recommended == expected[0]


def test_worst_first_still_puts_trials_without_a_final_metric_last():
    job = make_job("MAXIMIZE")
    worst = job.trials.order_by(*metric_order(maximize=True, best_first=False))
    assert list(worst.values_list("trial_id", flat=True)) == [7, 1, 5, 3, 2, 4, 6]


def test_a_job_finds_only_its_own_trials_by_id():
    mine, other = make_job("MAXIMIZE"), make_job("MINIMIZE")
    assert trial_get(job=mine, trial_id=3) == mine.trials.get(trial_id=3)
    assert trial_get(job=mine, trial_id=99) is None
    assert [t.job_id for t in trials_by_id(job=other, trial_ids=[5, 1, 99])] == [other.pk] * 2
    assert [t.trial_id for t in trials_by_id(job=other, trial_ids=[5, 1, 99])] == [1, 5]


def test_the_latest_trials_come_newest_first_with_what_the_admin_shows():
    job = make_job("MAXIMIZE")
    recent = trials_recent(job=job, limit=2)
    assert [(r.trial_id, r.state) for r in recent] == [(7, "SUCCEEDED"), (6, "QUEUED")]


def test_a_trial_reports_how_many_measurements_it_has_and_its_latest():
    job = make_job("MAXIMIZE")
    trial = job.trials.get(trial_id=2)
    assert trial_measurements_so_far(trial=trial) == (0, None)
    now = timezone.now()
    for step, value in [(1, 0.5), (2, 0.7)]:
        Measurement.objects.create(trial=trial, step=step, value=value, reported_at=now)
    assert trial_measurements_so_far(trial=trial) == (2, (2, 0.7))
    assert trials_and_measurements_count(jobs=[job]) == (7, 2)

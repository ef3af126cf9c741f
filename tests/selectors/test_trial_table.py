"""Which trials a filter matches, in which order, and the best trial with ties."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from support import job_row

from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.trial_table import (
    ParamCondition,
    TrialFilter,
    TrialSort,
    best_trials,
    filtered_trials,
)

pytestmark = pytest.mark.django_db

HP = {"goal": "MAXIMIZE", "maxTrials": 10, "params": [
    {"parameterName": "hidden-units", "type": "INTEGER", "minValue": 8, "maxValue": 64},
    {"parameterName": "learning_rate", "type": "DOUBLE", "minValue": 0.001, "maxValue": 1,
     "scaleType": "UNIT_LOG_SCALE"},
    {"parameterName": "opt", "type": "CATEGORICAL", "categoricalValues": ["adam", "sgd"]}]}


@pytest.fixture
def job() -> Job:
    job = job_row("j", HP, metric_tag="acc")
    t0 = timezone.now()
    rows = [  # id, units, lr, opt, value, step, seconds
        (1, 8, 0.01, "adam", 0.90, 100, 50), (2, 20, 0.1, "sgd", 0.95, 100, 80),
        (3, 8, 0.1, "adam", 0.95, 100, 30), (4, 64, 0.5, "sgd", 0.80, 50, 20),
        (5, 32, 0.001, "adam", 0.95, 80, 30)]
    for tid, units, lr, opt, value, step, secs in rows:
        Trial.objects.create(job=job, trial_id=tid, state=TrialState.SUCCEEDED, params={
            "hidden-units": units, "learning_rate": lr, "opt": opt}, final_value=value,
            final_step=step, start_time=t0, end_time=t0 + dt.timedelta(seconds=secs))
    Trial.objects.create(job=job, trial_id=6, state=TrialState.FAILED, params={
        "hidden-units": 9, "learning_rate": 0.2, "opt": "sgd"}, failure_reason="exit code 3")
    return job


def ids(job: Job, where: TrialFilter | None = None, order: TrialSort | None = None
        ) -> list[int]:
    return list(filtered_trials(job, where or TrialFilter(), order)
                .values_list("trial_id", flat=True))


def test_the_default_order_is_best_first_with_failed_trials_last(job):
    assert ids(job) == [2, 3, 5, 1, 4, 6]


def test_filters_by_metric_step_state_and_parameters(job):
    assert ids(job, TrialFilter(metric_gte=0.93)) == [2, 3, 5]
    assert ids(job, TrialFilter(step_lte=80)) == [5, 4]
    assert ids(job, TrialFilter(state=TrialState.FAILED)) == [6]
    assert ids(job, TrialFilter(params=(ParamCondition("hidden-units", "gte", 20),
                                        ParamCondition("hidden-units", "lte", 40)))) == [2, 5]
    assert ids(job, TrialFilter(params=(ParamCondition("learning_rate", "lte", 0.01),))) == [
        5, 1]
    assert ids(job, TrialFilter(params=(ParamCondition("opt", "eq", "sgd"),))) == [2, 4, 6]
    assert ids(job, TrialFilter(params=(ParamCondition("hidden-units", "eq", 8),))) == [3, 1]


def test_a_bound_on_the_metric_matches_only_trials_with_a_final_metric(job):
    Trial.objects.filter(trial_id=6).update(final_value=0.99)  # its latest, before it failed
    assert ids(job, TrialFilter(metric_gte=0.93)) == [2, 3, 5]


def test_sorting_by_any_column_in_both_directions(job):
    assert ids(job, order=TrialSort("trial", descending=False)) == [1, 2, 3, 4, 5, 6]
    assert ids(job, order=TrialSort("trial")) == [6, 5, 4, 3, 2, 1]
    assert ids(job, order=TrialSort("metric", descending=False))[:2] == [4, 1]
    assert ids(job, order=TrialSort("param.learning_rate", descending=False,
                                    param="learning_rate"))[:2] == [5, 1]
    assert ids(job, order=TrialSort("duration", descending=False))[:1] == [4]


def test_ties_are_all_best_and_the_cheapest_is_recommended(job):
    best = best_trials(job)
    assert best.value == 0.95 and best.tied == {2, 3, 5}
    # 3 and 5 both took 30 s: fewer steps wins (the seed: the cheaper configuration).
    assert best.recommended == 5


def test_a_job_without_successful_trials_has_no_best(job):
    Trial.objects.filter(job=job).update(state=TrialState.FAILED)
    assert best_trials(job).recommended is None

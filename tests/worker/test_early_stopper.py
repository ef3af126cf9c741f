"""The worker's early stopper against the database: a trial's own length when its ``epochs``
decide it (issue 24, rough edge 17)."""

from __future__ import annotations

import math

import pytest
from django.utils import timezone
from support import job_row

from hpdash.core.states import StopReason, TrialState
from hpdash.models import Job, Measurement, Trial
from hpdash.worker.trial_runner import EarlyStopper

pytestmark = pytest.mark.django_db

HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 10,
         "enableTrialEarlyStopping": True,
         "params": [{"parameterName": "epochs", "type": "DISCRETE", "discreteValues": [10, 30]},
                    {"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                     "maxValue": 1}]}


def finished(job: Job, trial_id: int, epochs: int, lr: float, q: float, tau: float) -> None:
    trial = Trial.objects.create(job=job, trial_id=trial_id, params={"epochs": epochs, "lr": lr},
                                 state=TrialState.SUCCEEDED, final_step=epochs)
    now = timezone.now()
    Measurement.objects.bulk_create(
        Measurement(trial=trial, step=t, value=q * (1 - math.exp(-t / tau)), reported_at=now)
        for t in range(1, epochs + 1))


def test_a_trial_whose_epochs_give_it_10_steps_is_judged_over_its_own_10_steps():
    job = job_row("j", HYPER)
    finished(job, 1, 30, 0.1, 0.9, 3.0)
    finished(job, 2, 30, 0.2, 0.9, 3.5)
    finished(job, 3, 10, 0.3, 0.8, 2.0)
    finished(job, 4, 10, 0.4, 0.8, 2.5)
    running = Trial.objects.create(job=job, trial_id=5, params={"epochs": 10, "lr": 0.5},
                                   state=TrialState.RUNNING)
    stopper = EarlyStopper(running)
    # +0.05 a step: 0.35 at step 6, at most 0.55 at its step 10, short of the best, 0.9 (over
    # 30 steps its trend would pass it, and the trial ran on).
    climbing = [(t, 0.05 + 0.05 * t) for t in range(1, 7)]
    assert stopper.check(climbing, refresh=True) is StopReason.STOPPED_EARLY
    assert "its own end at step 10 (where the full trials with epochs=10 ended)" in (
        stopper.detail)
    assert "30-step" not in stopper.detail


def test_a_trial_of_30_epochs_is_judged_over_30_steps():
    job = job_row("j", HYPER)
    for i, (epochs, q) in enumerate([(30, 0.9), (30, 0.9), (10, 0.8), (10, 0.8)], start=1):
        finished(job, i, epochs, i / 10, q, 3.0)
    running = Trial.objects.create(job=job, trial_id=5, params={"epochs": 30, "lr": 0.5},
                                   state=TrialState.RUNNING)
    stopper = EarlyStopper(running)
    assert stopper.check([(t, 0.05 + 0.05 * t) for t in range(1, 7)], refresh=True) is None
    assert stopper.length is not None and stopper.length.steps == 30

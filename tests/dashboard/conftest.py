"""Fixtures for the dashboard's tests: a staff user and seeded demo jobs."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.utils import timezone

from hpdash.core.spec.stored import definition_to_json
from hpdash.core.spec.types import MetricSpec
from hpdash.core.states import TrialState
from hpdash.models import Job, Measurement


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def seeded(db) -> Callable[..., Job]:
    """``seeded(n, job_id=...)``: a finished demo job with ``n`` trials (manage.py
    seed_demo_job: learning_rate, hidden_units, dropout, optimizer; 3 steps each)."""

    def make(n: int, job_id: str = "demo", steps: int = 3) -> Job:
        call_command("seed_demo_job", project="demo", job_id=job_id, trials=n, steps=steps,
                     stdout=io.StringIO())
        return Job.objects.get(project__name="demo", job_id=job_id)

    return make


@pytest.fixture
def two_metric_job(seeded):
    """The demo job (12 trials, accuracy maximised) given a second metric, ``latency_ms``
    (minimised), reported at every step: it grows with accuracy, a real trade-off."""
    job = seeded(12)
    definition = job.definition
    hp = dataclasses.replace(definition.hyperparameters,
                             more_metrics=(MetricSpec("latency_ms", "MINIMIZE"),))
    job.definition_json = definition_to_json(dataclasses.replace(definition,
                                                                 hyperparameters=hp))
    job.save()
    now = timezone.now()
    for t in job.trials.filter(state=TrialState.SUCCEEDED):
        for m in t.measurements.filter(metric=0).exclude(step=t.final_step):
            Measurement.objects.create(trial=t, step=m.step, metric=1, reported_at=now,
                                       value=round(1000 * m.value + 50, 3))
        Measurement.objects.create(trial=t, step=t.final_step, metric=1, reported_at=now,
                                   value=round(1000 * t.final_value + t.trial_id % 3, 3))
    return Job.objects.get(pk=job.pk)  # its spec read afresh

"""Fixtures for the dashboard's tests: a staff user and seeded demo jobs."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command

from hpdash.models import Job


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

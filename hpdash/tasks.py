"""RQ entry points: thin, ids in, re-fetch, call a service."""

from __future__ import annotations

from django.db import close_old_connections


def advance_job(job_pk: int) -> None:
    from hpdash import services

    close_old_connections()
    try:
        services.job_advance(job_pk)
    finally:
        close_old_connections()


def run_trial(trial_pk: int, attempt: int) -> None:
    from hpdash import execution

    close_old_connections()
    try:
        execution.trial_execute(trial_pk, attempt)
    finally:
        close_old_connections()

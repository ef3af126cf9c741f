"""RQ entry points: thin, ids in, re-fetch, call a service."""

from __future__ import annotations

from django.db import close_old_connections, connections

from hpdash.services.scheduling import job_advance
from hpdash.worker import trial_runner


def _release_connections() -> None:
    """``close_old_connections()``, except that a healthy SQLite connection is kept from one
    task to the next: reopening it (and re-running its PRAGMAs) costs ~1 ms per task and buys
    nothing for a local file.  Connections to a database server still follow
    ``CONN_MAX_AGE``, and a connection that saw errors is still checked and dropped."""
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite":
            conn.close_at = None
    close_old_connections()


def advance_job(job_pk: int) -> None:
    _release_connections()
    try:
        job_advance(job_pk)
    finally:
        _release_connections()


def run_trial(trial_pk: int, attempt: int) -> None:
    _release_connections()
    try:
        trial_runner.trial_execute(trial_pk, attempt)
    finally:
        _release_connections()

"""Trial writes made by the worker that runs a trial: claim, measurements, heartbeats,
outcome, re-queue."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from hpdash.core.runner.metrics import Measurement as ReportedMeasurement
from hpdash.models import Measurement, State, Trial
from hpdash.worker import queue

log = logging.getLogger(__name__)


def trial_start(trial_pk: int, attempt: int, worker: str) -> Trial | None:
    """Claim a queued trial for this worker.  Returns None when it must not run (cancelled,
    already taken, job over)."""
    with transaction.atomic():
        trial = (Trial.objects.select_for_update().select_related("job")
                 .filter(pk=trial_pk).first())
        if trial is None or trial.state != State.QUEUED or trial.attempt != attempt:
            return None
        job = trial.job
        now = timezone.now()
        if job.is_terminal or job.state == State.CANCELLING:
            trial.state = State.CANCELLED
            trial.end_time = now
            trial.save(update_fields=["state", "end_time"])
            return None
        trial.state = State.RUNNING
        trial.start_time = now
        trial.heartbeat_time = now
        trial.worker = worker
        trial.save(update_fields=["state", "start_time", "heartbeat_time", "worker"])
        if job.state == State.QUEUED:
            job.state = State.RUNNING
            job.start_time = now
            job.save(update_fields=["state", "start_time", "update_time"])
    return trial


def trial_add_measurements(trial: Trial, reported: Sequence[ReportedMeasurement],
                           source: str = "hypertune") -> None:
    now = timezone.now()
    rows = [
        Measurement(
            trial=trial, step=m.step, value=m.value, source=source,
            reported_at=(dt.datetime.fromtimestamp(m.timestamp, tz=dt.UTC)
                         if m.timestamp else now),
        )
        for m in reported
    ]
    with transaction.atomic():
        Measurement.objects.bulk_create(rows)
        updates: dict[str, Any] = {"heartbeat_time": now}
        if reported:
            last = reported[-1]
            updates.update(final_value=last.value, final_step=last.step)
        Trial.objects.filter(pk=trial.pk).update(**updates)


def trial_heartbeat(trial: Trial, pid: int | None = None) -> None:
    updates: dict[str, Any] = {"heartbeat_time": timezone.now()}
    if pid is not None:
        updates["pid"] = pid
    Trial.objects.filter(pk=trial.pk).update(**updates)


def trial_finish(trial: Trial, state: str, reason: str = "", *,
                 stopped_early: bool = False) -> None:
    """Record a trial's outcome (the caller then advances its job)."""
    with transaction.atomic():
        Trial.objects.filter(pk=trial.pk).update(
            state=state, failure_reason=reason[:10000], end_time=timezone.now(),
            is_stopped_early=stopped_early, pid=None,
        )


def trial_requeue(trial: Trial) -> None:
    """Put an interrupted trial (its worker shut down mid-run) back in the queue: it restarts
    from scratch as a new attempt; its partial measurements are dropped."""
    with transaction.atomic():
        t = Trial.objects.select_for_update().get(pk=trial.pk)
        if t.state != State.RUNNING:
            return
        t.measurements.all().delete()
        t.state = State.QUEUED
        t.attempt += 1
        t.queued_time = timezone.now()
        t.start_time = None
        t.final_value = None
        t.final_step = None
        t.pid = None
        t.save()
        pk, attempt = t.pk, t.attempt
        transaction.on_commit(lambda: queue.enqueue_trial(pk, attempt))

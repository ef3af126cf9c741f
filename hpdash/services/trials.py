"""Trial writes made by the worker that runs a trial: claim, measurements, heartbeats, outcome,
re-queue.

Every write after the claim is *guarded*: it names the trial and the attempt the worker claimed
and applies only while that attempt is RUNNING
(:meth:`hpdash.models.TrialQuerySet.running_attempt`).  Each returns whether it applied.  A
worker that stalled past the heartbeat timeout (a suspended VM, a long database lock) finds its
trial re-queued as a new attempt, or settled with its job: its writes are then dropped and
logged, and it stops its trainer (see :mod:`hpdash.worker.trial_runner`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, F, FloatField, Q, Value, When
from django.utils import timezone

from hpdash.core.gpus import GpuMachine
from hpdash.core.runner.metrics import Measurement as ReportedMeasurement
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.models import Measurement, Trial
from hpdash.ops import queue
from hpdash.services.gpus import GpusBusy, gpu_lease, gpu_trials_wake

log = logging.getLogger(__name__)

FAILURE_REASON_MAX_CHARS = 10_000
SOURCE_MAX_CHARS: int = Measurement._meta.get_field("source").max_length or 0


@dataclass(frozen=True)
class TrialOutcome:
    """How an attempt ended: its final state, why hpdash stopped it (if it did), and a cause
    users can act on (for FAILED and CANCELLED trials)."""

    state: TrialState
    stop_reason: StopReason | None = None
    failure_reason: str = ""


def trial_start(*, trial_pk: int, attempt: int, worker: str,
                machine: GpuMachine | None = None) -> Trial | None:
    """Claim a queued trial for this worker, with the GPUs it asks for on ``machine``.
    Returns None when it must not run (cancelled, already taken, another attempt, job over).
    Raises :class:`~hpdash.services.gpus.GpusBusy` when too few of the machine's GPUs are
    free: the trial stays QUEUED, and its ``waiting`` says why."""
    try:
        return _claim(trial_pk, attempt, worker, machine or GpuMachine(host=""))
    except GpusBusy as busy:
        Trial.objects.filter(pk=trial_pk, attempt=attempt, state=TrialState.QUEUED).update(
            waiting=str(busy)[:500])
        raise


def _claim(trial_pk: int, attempt: int, worker: str, machine: GpuMachine) -> Trial | None:
    with transaction.atomic():
        trial = (Trial.objects.select_for_update().select_related("job")
                 .filter(pk=trial_pk).first())
        if trial is None or trial.state != TrialState.QUEUED or trial.attempt != attempt:
            return None
        job = trial.job
        now = timezone.now()
        if job.is_terminal or job.state == JobState.CANCELLING:
            trial.state = TrialState.CANCELLED
            trial.stop_reason = StopReason.CANCELLED
            trial.end_time = now
            trial.save(update_fields=["state", "stop_reason", "end_time"])
            return None
        trial.gpus = gpu_lease(trial=trial, machine=machine, request=job.definition.gpus)
        trial.gpu_host = machine.host if trial.gpus else ""
        trial.state = TrialState.RUNNING
        trial.start_time = now
        trial.heartbeat_time = now
        trial.worker = worker
        trial.waiting = ""
        trial.save(update_fields=["state", "start_time", "heartbeat_time", "worker", "gpus",
                                  "gpu_host", "waiting"])
        if job.state == JobState.QUEUED:
            job.state = JobState.RUNNING
            job.start_time = now
            job.save(update_fields=["state", "start_time", "update_time"])
    return trial


def _dropped(trial: Trial, what: str) -> bool:
    log.warning("%s attempt %s is no longer running: its %s was dropped", trial, trial.attempt,
                what)
    return False


def _final_updates(trial: Trial, measurements: Sequence[ReportedMeasurement]
                   ) -> dict[str, Any]:
    """The trial's final value so far: the latest measurement, or with the spec's
    ``measurement_selection`` BEST the best one yet in the goal's direction (the earliest of
    equal ones), decided in the one UPDATE so that no two writes race."""
    spec = trial.job.spec
    if spec.measurement_selection != "BEST":
        last = measurements[-1]
        return {"final_value": last.value, "final_step": last.step}
    pick = max if spec.maximize else min
    best = pick(measurements, key=lambda m: m.value)
    worse = "final_value__lt" if spec.maximize else "final_value__gt"
    better = Q(final_value__isnull=True) | Q(**{worse: best.value})
    # Both expressions read the row as it was before the UPDATE.
    return {"final_value": Case(When(better, then=Value(best.value)), default=F("final_value"),
                                output_field=FloatField()),
            "final_step": Case(When(better, then=Value(best.step)), default=F("final_step"),
                               output_field=BigIntegerField())}


def trial_add_measurements(*, trial: Trial, measurements: Sequence[ReportedMeasurement],
                           source: str) -> bool:
    """Store measurements of the running attempt (and its latest value as the trial's final
    value so far).  False, and nothing stored, when the attempt no longer runs."""
    now = timezone.now()
    # A TensorBoard run's name is a path of any length; the source names it as far as it fits.
    source = source[:SOURCE_MAX_CHARS]
    updates: dict[str, Any] = {"heartbeat_time": now}
    primary = [m for m in measurements if m.metric == 0]  # the final step follows the first
    if primary:
        updates.update(_final_updates(trial, primary))
    with transaction.atomic():
        if not Trial.objects.running_attempt(trial.pk, trial.attempt).update(**updates):
            return _dropped(trial, f"{len(measurements)} measurements")
        if trial.attempt and measurements:
            # A re-run that resumed from a checkpoint reports from where it resumed: what an
            # earlier attempt reported from that step on is replaced, so each step is kept once.
            Measurement.objects.filter(
                trial=trial, source=source, attempt__lt=trial.attempt,
                step__gte=min(m.step for m in measurements)).delete()
        Measurement.objects.bulk_create([
            Measurement(
                trial=trial, step=m.step, value=m.value, source=source, attempt=trial.attempt,
                metric=m.metric,
                reported_at=(dt.datetime.fromtimestamp(m.timestamp, tz=dt.UTC)
                             if m.timestamp else now),
            )
            for m in measurements
        ])
    return True


def trial_heartbeat(*, trial: Trial, pid: int | None = None) -> bool:
    """Mark the running attempt alive (and record its trainer's pid).  False when it no longer
    runs: the worker must stop its trainer."""
    updates: dict[str, Any] = {"heartbeat_time": timezone.now()}
    if pid is not None:
        updates["pid"] = pid
    if not Trial.objects.running_attempt(trial.pk, trial.attempt).update(**updates):
        return _dropped(trial, "heartbeat")
    return True


def trial_finish(*, trial: Trial, outcome: TrialOutcome) -> bool:
    """Record how the running attempt ended.  The caller then advances the job
    (:func:`hpdash.services.scheduling.job_advance`).  False when the attempt no longer runs
    (its outcome is not this trial's any more)."""
    applied = Trial.objects.running_attempt(trial.pk, trial.attempt).update(
        state=outcome.state,
        stop_reason=outcome.stop_reason or "",
        is_stopped_early=outcome.stop_reason is StopReason.STOPPED_EARLY,
        failure_reason=outcome.failure_reason[:FAILURE_REASON_MAX_CHARS],
        end_time=timezone.now(), pid=None,
    )
    if not applied:
        return _dropped(trial, f"outcome ({outcome.state})")
    if trial.gpus:
        gpu_trials_wake()
    return True


def trial_requeue(*, trial: Trial) -> bool:
    """Put a running attempt back in the queue (its worker shut down mid-run, or stopped
    sending heartbeats) as a new attempt.  Its measurements are kept until the re-run reports
    the same steps (:func:`trial_add_measurements`): a trainer that resumes from its checkpoint
    keeps its curve's beginning.  False when that attempt was not running any more."""
    with transaction.atomic():
        t = (Trial.objects.select_for_update()
             .filter(pk=trial.pk, attempt=trial.attempt, state=TrialState.RUNNING).first())
        if t is None:
            return False
        t.state = TrialState.QUEUED
        t.attempt += 1
        t.queued_time = timezone.now()
        t.start_time = None
        t.final_value = None
        t.final_step = None
        t.pid = None
        t.save(update_fields=["state", "attempt", "queued_time", "start_time", "final_value",
                              "final_step", "pid"])  # not the note people may be writing
        pk, attempt = t.pk, t.attempt
        transaction.on_commit(lambda: queue.enqueue_trial(pk, attempt))
        if t.gpus:
            gpu_trials_wake()
    return True

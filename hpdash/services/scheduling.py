"""Scheduling: move a job forward (settle its state, start as many trials as its limits
allow), and put back work that a dead worker or a restarted Redis lost."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from hpdash.core.policy import TrialResult, job_failure_reason
from hpdash.core.suggest import get_suggester
from hpdash.models import ACTIVE_TRIAL_STATES, Job, State, Trial
from hpdash.selectors.trials import job_history
from hpdash.services import trials
from hpdash.worker import queue

log = logging.getLogger(__name__)


def finish_job(job: Job, state: str, message: str = "") -> None:
    job.state = state
    job.end_time = timezone.now()
    if message:
        job.error_message = message
    job.save(update_fields=["state", "end_time", "error_message", "update_time"])


def cancel_queued_trials(job: Job, reason: str) -> None:
    queued = list(job.trials.filter(state=State.QUEUED))
    now = timezone.now()
    for t in queued:
        t.state = State.CANCELLED
        t.end_time = now
        t.failure_reason = reason
        t.save(update_fields=["state", "end_time", "failure_reason"])
    pairs = [(t.pk, t.attempt) for t in queued]
    if pairs:
        transaction.on_commit(lambda: queue.dequeue_trials(pairs))


def job_advance(job_pk: int) -> None:
    """Move a job forward: settle its state and start as many trials as its limits allow.

    Runs in one transaction holding the job's row lock (SQLite: the database write lock), so
    workers racing on the same job never start more than ``maxTrials`` trials or more than
    ``maxParallelTrials`` at once."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_pk).first()
        if job is None or job.is_terminal:
            return
        trials = list(job.trials.order_by("trial_id"))
        active = [t for t in trials if t.state in ACTIVE_TRIAL_STATES]
        if job.state == State.CANCELLING:
            cancel_queued_trials(job, "job cancelled")
            if not any(t.state == State.RUNNING for t in active):
                finish_job(job, State.CANCELLED)
            return
        finished = sorted((t for t in trials if t.end_time and t.state in (
            State.SUCCEEDED, State.FAILED)), key=lambda t: (t.end_time, t.trial_id))
        reason = job_failure_reason(
            [TrialResult(t.trial_id, t.state, t.failure_reason) for t in finished],
            max_trials=job.max_trials, max_failed_trials=job.max_failed_trials,
        )
        if reason:
            cancel_queued_trials(job, "job failed")
            finish_job(job, State.FAILED, reason)  # running trials see it and stop
            log.info("%s failed: %s", job, reason)
            return
        room = min(job.max_parallel_trials - len(active), job.max_trials - len(trials))
        created: list[Trial] = []
        exhausted = False
        if room > 0:
            spec = job.spec
            history = job_history(job)
            points = get_suggester(job.algorithm).suggest(spec, history, room, job.seed)
            exhausted = len(points) < room
            next_id = (trials[-1].trial_id if trials else 0) + 1
            for offset, params in enumerate(points):
                created.append(Trial.objects.create(
                    job=job, trial_id=next_id + offset, params=params, state=State.QUEUED))
        if not active and not created and (len(trials) >= job.max_trials or exhausted):
            if any(t.state == State.SUCCEEDED for t in trials):
                finish_job(job, State.SUCCEEDED)
            else:
                finish_job(job, State.FAILED, "Failing job: no trial succeeded")
            log.info("%s finished: %s", job, job.state)
            return
        pairs = [(t.pk, t.attempt) for t in created]
        if pairs:
            transaction.on_commit(lambda: _enqueue_trials(pairs))


def _enqueue_trials(pairs: list[tuple[int, int]]) -> None:
    for pk, attempt in pairs:
        queue.enqueue_trial(pk, attempt)


def queue_reconcile(min_age_seconds: float) -> list[str]:
    """Put back work that Redis lost (restarted without its last writes, or down when work was
    enqueued): QUEUED trials whose attempt is not in Redis are enqueued again, and unfinished
    jobs with nothing queued or running are advanced again.  Returns what it did."""
    cutoff = timezone.now() - dt.timedelta(seconds=min_age_seconds)
    done: list[str] = []
    for trial in Trial.objects.filter(state=State.QUEUED, queued_time__lt=cutoff):
        if not queue.trial_is_queued(trial.pk, trial.attempt):
            queue.enqueue_trial(trial.pk, trial.attempt)
            done.append(f"re-enqueued {trial}")
    idle = (Job.objects.exclude(state__in=[State.SUCCEEDED, State.FAILED, State.CANCELLED])
            .filter(update_time__lt=cutoff)
            .exclude(trials__state__in=ACTIVE_TRIAL_STATES))
    for job in idle:
        queue.enqueue_advance(job.pk)
        done.append(f"advanced {job}")
    return done


def trials_requeue_stale(max_age_seconds: float) -> list[Trial]:
    """Re-queue RUNNING trials whose worker stopped sending heartbeats (it died: SIGKILL,
    machine lost).  A trial of a job that is over is settled as CANCELLED instead."""
    cutoff = timezone.now() - dt.timedelta(seconds=max_age_seconds)
    stale = list(Trial.objects.select_related("job")
                 .filter(state=State.RUNNING, heartbeat_time__lt=cutoff))
    for trial in stale:
        if trial.job.is_terminal or trial.job.state == State.CANCELLING:
            trials.trial_finish(trial, State.CANCELLED, "worker lost")
            job_advance(trial.job_id)
        else:
            trials.trial_requeue(trial)
    return stale

"""Scheduling: move a job forward (settle its state, start as many trials as its limits
allow), and put back work that a dead worker or a restarted Redis lost."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hpdash.core.policy import TrialResult, job_failure_reason
from hpdash.core.states import (
    ACTIVE_TRIAL_STATES,
    FINAL_JOB_STATES,
    JobState,
    StopReason,
    TrialState,
)
from hpdash.core.suggest import get_suggester, suggest_active, with_defaults
from hpdash.models import Job, Trial
from hpdash.ops import queue
from hpdash.selectors.trials import job_history
from hpdash.services import trials
from hpdash.services.study_stopping import study_stop_reason

log = logging.getLogger(__name__)


def finish_job(*, job: Job, state: JobState, message: str = "") -> None:
    """Put a job in a final state.  Its trials are final already: the callers settle them in
    the same transaction, so a job is never shown final while a trial of it runs."""
    job.state = state
    job.end_time = timezone.now()
    if message:
        job.error_message = message
    job.save(update_fields=["state", "end_time", "error_message", "update_time"])


def _settle_trials(job: Job, states: Sequence[TrialState], reason: StopReason,
                   cause: str) -> None:
    """End the job's trials in ``states`` as CANCELLED.  Queued work is taken out of Redis;
    a running attempt's worker finds its next write refused and stops its trainer."""
    settled = list(job.trials.filter(state__in=states).values_list("pk", "attempt"))
    if not settled:
        return
    job.trials.filter(pk__in=[pk for pk, _ in settled]).update(
        state=TrialState.CANCELLED, stop_reason=reason, failure_reason=cause,
        end_time=timezone.now(), pid=None)
    pairs = [(pk, attempt) for pk, attempt in settled]
    transaction.on_commit(lambda: queue.dequeue_trials(pairs))


def cancel_queued_trials(*, job: Job, reason: StopReason, cause: str) -> None:
    _settle_trials(job, [TrialState.QUEUED], reason, cause)


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
        if job.state == JobState.CANCELLING:
            _advance_cancelling(job, trials)
        elif not _fail_if_policy_says(job, trials):
            _start_or_finish(job, trials)


def _advance_cancelling(job: Job, trials: list[Trial]) -> None:
    cancel_queued_trials(job=job, reason=StopReason.CANCELLED, cause="job cancelled")
    if not any(t.state == TrialState.RUNNING for t in trials):
        finish_job(job=job, state=JobState.CANCELLED)


def _fail_if_policy_says(job: Job, trials: list[Trial]) -> bool:
    finished = sorted((t for t in trials if t.end_time and t.state in (
        TrialState.SUCCEEDED, TrialState.FAILED)), key=lambda t: (t.end_time, t.trial_id))
    reason = job_failure_reason(
        [TrialResult(t.trial_id, TrialState(t.state), t.failure_reason) for t in finished],
        max_trials=job.max_trials, max_failed_trials=job.max_failed_trials,
    )
    if not reason:
        return False
    _settle_trials(job, [TrialState.QUEUED, TrialState.RUNNING], StopReason.JOB_FAILED,
                   "job failed")
    finish_job(job=job, state=JobState.FAILED, message=reason)
    log.info("%s failed: %s", job, reason)
    return True


def _start_or_finish(job: Job, trials: list[Trial]) -> None:
    active = [t for t in trials if t.state in ACTIVE_TRIAL_STATES]
    stopped = study_stop_reason(job, trials)
    if stopped:  # the study starts nothing more (studyStoppingConfig)
        active = _stop_study(job, active, stopped)
    room = min(job.max_parallel_trials - len(active), job.max_trials - len(trials))
    if stopped:
        room = 0
    created: list[Trial] = []
    exhausted = False
    if room > 0:
        suggester = get_suggester(job.algorithm, bayes_engine=settings.HPDASH.bayes_engine)
        history = job_history(job)
        points = with_defaults(job.spec, history,
                               suggest_active(suggester, job.spec, history, room, job.seed))
        exhausted = len(points) < room
        next_id = (trials[-1].trial_id if trials else 0) + 1
        created = [Trial.objects.create(job=job, trial_id=next_id + offset, params=params,
                                        state=TrialState.QUEUED)
                   for offset, params in enumerate(points)]
    if not active and not created and (len(trials) >= job.max_trials or exhausted or stopped):
        if any(t.state == TrialState.SUCCEEDED for t in trials):
            finish_job(job=job, state=JobState.SUCCEEDED,
                       message=f"Study stopped early: {stopped}." if stopped else "")
        else:
            finish_job(job=job, state=JobState.FAILED, message="Failing job: no trial succeeded")
        log.info("%s finished: %s", job, job.state)
        return
    pairs = [(t.pk, t.attempt) for t in created]
    if pairs:
        transaction.on_commit(lambda: _enqueue_trials(pairs))


def _stop_study(job: Job, active: list[Trial], reason: str) -> list[Trial]:
    """Cancel the stopped study's queued trials (and, with ``shouldStopAsap``, its running
    ones); returns the trials still active."""
    rule = job.spec.study_stopping
    asap = rule is not None and rule.stop_asap
    states = [TrialState.QUEUED, TrialState.RUNNING] if asap else [TrialState.QUEUED]
    _settle_trials(job, states, StopReason.CANCELLED, f"study stopped: {reason}")
    return [t for t in active if t.state not in states]


def _enqueue_trials(pairs: list[tuple[int, int]]) -> None:
    for pk, attempt in pairs:
        queue.enqueue_trial(pk, attempt)


def queue_reconcile(min_age_seconds: float) -> list[str]:
    """Put back work that Redis lost (restarted without its last writes, or down when work was
    enqueued): QUEUED trials whose attempt is not in Redis are enqueued again, and unfinished
    jobs with nothing queued or running are advanced again.  Returns what it did."""
    cutoff = timezone.now() - dt.timedelta(seconds=min_age_seconds)
    done: list[str] = []
    # A trial that gave up waiting for GPUs is tried again at once (it is known not queued).
    for trial in Trial.objects.filter(Q(queued_time__lt=cutoff) | ~Q(waiting=""),
                                      state=TrialState.QUEUED):
        if not queue.trial_is_queued(trial.pk, trial.attempt):
            queue.enqueue_trial(trial.pk, trial.attempt)
            if not trial.waiting:  # a GPU wait is said on the job page, not every 10 s here
                done.append(f"re-enqueued {trial}")
    idle = (Job.objects.exclude(state__in=FINAL_JOB_STATES)
            .filter(update_time__lt=cutoff)
            .exclude(trials__state__in=ACTIVE_TRIAL_STATES))
    for job in idle:
        queue.enqueue_advance(job.pk)
        done.append(f"advanced {job}")
    # A study that stops its running trials when time is up is looked at while they run.
    for job in Job.objects.exclude(state__in=FINAL_JOB_STATES).filter(family="vertex"):
        rule = job.spec.study_stopping
        if rule is not None and rule.stop_asap and rule.has_deadline:
            queue.enqueue_advance(job.pk)
    return done


def trials_requeue_stale(max_age_seconds: float) -> list[Trial]:
    """Re-queue RUNNING trials whose worker stopped sending heartbeats (it died: SIGKILL,
    machine lost).  A trial of a job that is over is settled as CANCELLED instead."""
    cutoff = timezone.now() - dt.timedelta(seconds=max_age_seconds)
    stale = list(Trial.objects.select_related("job")
                 .filter(state=TrialState.RUNNING, heartbeat_time__lt=cutoff))
    for trial in stale:
        if trial.job.is_terminal or trial.job.state == JobState.CANCELLING:
            outcome = trials.TrialOutcome(TrialState.CANCELLED, StopReason.CANCELLED,
                                          "worker lost")
            if trials.trial_finish(trial=trial, outcome=outcome):
                job_advance(trial.job_id)
        else:
            trials.trial_requeue(trial=trial)
    return stale

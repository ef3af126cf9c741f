"""Write side: every workflow that changes jobs and trials.  Views, the API, admin actions and
tasks call these; nothing else changes a job's state."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hpdash import access, queue
from hpdash.models import ACTIVE_TRIAL_STATES, Job, Measurement, State, Trial
from hpdash.policy import TrialResult, job_failure_reason
from hpdash.runner.metrics import Measurement as ReportedMeasurement
from hpdash.runner.packages import local_path
from hpdash.selectors import job_history
from hpdash.spec import FieldViolation, HyperparameterSpec, SpecError, parse_job
from hpdash.suggest import get_suggester

log = logging.getLogger(__name__)

HP_PATH = "trainingInput.hyperparameters"


class AlreadyExists(Exception):
    pass


class FailedPrecondition(Exception):
    pass


class PermissionDenied(SpecError):
    """The owner may not create jobs in this project.  A :class:`SpecError` on the field
    ``project``, so that forms show it like any other error; the API answers 403."""

    def __init__(self, reason: str) -> None:
        super().__init__([FieldViolation("project", reason)])
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _new_etag() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode()


def _outside_allowed(uri: str) -> str | None:
    """Why a local path may not be used (None if it may): it must resolve, symlinks followed,
    inside one of ``HPDASH_ALLOWED_PATHS``, and may not contain ``..``."""
    path = local_path(uri)
    if ".." in path.split("/"):
        return f"{uri} contains '..': give the path without parent-directory steps"
    real = os.path.realpath(path)
    allowed = settings.HPDASH["ALLOWED_PATHS"]
    if any(real == root or real.startswith(root.rstrip("/") + "/") for root in allowed):
        return None
    return (f"{uri} is outside the directories this server allows "
            f"(HPDASH_ALLOWED_PATHS: {', '.join(allowed)})")


def _check_local_paths(training_input: dict[str, Any]) -> list[FieldViolation]:
    violations = []
    for i, uri in enumerate(training_input.get("packageUris") or []):
        field = f"trainingInput.packageUris[{i}]"
        why = _outside_allowed(uri)
        if why:
            violations.append(FieldViolation(field, why))
        elif not os.path.exists(local_path(uri)):
            violations.append(FieldViolation(field, f"package {uri} does not exist"))
    if training_input.get("jobDir"):
        why = _outside_allowed(training_input["jobDir"])
        if why:
            violations.append(FieldViolation("trainingInput.jobDir", why))
    return violations


_RESUMED_FIELDS = ("goal", "hyperparameterMetricTag", "params", "algorithm")


def _resume_from(project: str, hp: dict[str, Any], mine: HyperparameterSpec) -> Job:
    """Fill in goal, params, metric tag and algorithm from the job being resumed (seed:
    "Resuming a completed job") and return that job.  The previous job may have SUCCEEDED,
    FAILED or been CANCELLED; it must be finished.  Fields the user gives must agree with it."""
    prev_id = hp["resumePreviousJobId"]
    prev = Job.objects.filter(project=project, job_id=prev_id).first()
    if prev is None:
        raise SpecError([FieldViolation(f"{HP_PATH}.resumePreviousJobId",
                                        f"no job {prev_id!r} in project {project!r}")])
    if not prev.is_terminal:
        raise SpecError([FieldViolation(
            f"{HP_PATH}.resumePreviousJobId",
            f"job {prev_id!r} is {prev.state}: only a finished job can be resumed")])
    theirs = prev.spec
    pairs = {"goal": (mine.goal, theirs.goal),
             "hyperparameterMetricTag": (mine.metric_tag, theirs.metric_tag),
             "params": (mine.params, theirs.params),
             "algorithm": (mine.algorithm, theirs.algorithm)}
    contradictions = [
        FieldViolation(f"{HP_PATH}.{key}",
                       f"{key} differs from job {prev_id!r}, which this job resumes: a resumed "
                       f"job reuses the previous job's {key} (leave it out)")
        for key, (a, b) in pairs.items() if key in hp and a != b
    ]
    if contradictions:
        raise SpecError(contradictions)
    prev_hp = prev.training_input["hyperparameters"]
    for key in _RESUMED_FIELDS:
        if key in prev_hp:
            hp[key] = prev_hp[key]
    return prev


def job_create(project: str, data: Any, owner: Any = None) -> Job:
    """Validate a Job resource with the one spec parser and store it QUEUED.  With an
    ``owner``, checks that they may create jobs in ``project`` (see :mod:`hpdash.access`).

    Raises :class:`SpecError` (with every violation) or :class:`AlreadyExists`."""
    spec = parse_job(data)
    if owner is not None:
        denied = access.claim_for_create(owner, project)
        if denied:
            raise PermissionDenied(denied)
    raw = dict(spec.training_input.raw)
    violations = _check_local_paths(raw)
    if violations:
        raise SpecError(violations)
    hp = dict(raw["hyperparameters"])
    previous = None
    if spec.training_input.hyperparameters.resume_previous_job_id:
        previous = _resume_from(project, hp, spec.training_input.hyperparameters)
        raw["hyperparameters"] = hp
        # Re-validate the merged spec so the stored job is as valid as any other.
        spec = parse_job({**data, "trainingInput": raw})
    hps = spec.training_input.hyperparameters
    assert spec.job_id is not None
    try:
        with transaction.atomic():
            if Job.objects.filter(project=project, job_id=spec.job_id).exists():
                raise AlreadyExists(spec.job_id)
            job = Job.objects.create(
                project=project,
                job_id=spec.job_id,
                owner=owner,
                labels=spec.labels,
                training_input=raw,
                goal=hps.goal,
                metric_tag=hps.metric_tag,
                algorithm=hps.algorithm,
                max_trials=hps.max_trials,
                max_parallel_trials=hps.max_parallel_trials,
                max_failed_trials=hps.max_failed_trials,
                seed=secrets.randbits(31),
                etag=_new_etag(),
                previous_job=previous,
            )
            transaction.on_commit(lambda: queue.enqueue_advance(job.pk))
    except IntegrityError as exc:  # lost a race with an identical create
        raise AlreadyExists(spec.job_id) from exc
    log.info("created %s", job)
    return job


def _finish_job(job: Job, state: str, message: str = "") -> None:
    job.state = state
    job.end_time = timezone.now()
    if message:
        job.error_message = message
    job.save(update_fields=["state", "end_time", "error_message", "update_time"])


def _cancel_queued_trials(job: Job, reason: str) -> None:
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
            _cancel_queued_trials(job, "job cancelled")
            if not any(t.state == State.RUNNING for t in active):
                _finish_job(job, State.CANCELLED)
            return
        finished = sorted((t for t in trials if t.end_time and t.state in (
            State.SUCCEEDED, State.FAILED)), key=lambda t: (t.end_time, t.trial_id))
        reason = job_failure_reason(
            [TrialResult(t.trial_id, t.state, t.failure_reason) for t in finished],
            max_trials=job.max_trials, max_failed_trials=job.max_failed_trials,
        )
        if reason:
            _cancel_queued_trials(job, "job failed")
            _finish_job(job, State.FAILED, reason)  # running trials see it and stop
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
                _finish_job(job, State.SUCCEEDED)
            else:
                _finish_job(job, State.FAILED, "Failing job: no trial succeeded")
            log.info("%s finished: %s", job, job.state)
            return
        pairs = [(t.pk, t.attempt) for t in created]
        if pairs:
            transaction.on_commit(lambda: _enqueue_trials(pairs))


def _enqueue_trials(pairs: list[tuple[int, int]]) -> None:
    for pk, attempt in pairs:
        queue.enqueue_trial(pk, attempt)


def job_cancel(job: Job, by: str = "") -> Job:
    """Cancel a job: QUEUED work is dropped, running trials are stopped by their workers
    (SIGTERM to the trial's process group, SIGKILL after a grace period) within a poll
    interval; the job goes CANCELLING → CANCELLED.  Raises :class:`FailedPrecondition` for a
    finished job."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_terminal:
            raise FailedPrecondition(
                f"Job {job.job_id} is already {job.state} and cannot be cancelled.")
        if job.state != State.CANCELLING:
            who = f" by {by}" if by else ""
            job.state = State.CANCELLING
            job.error_message = (
                f"Job cancelled{who} at {timezone.now().strftime('%Y-%m-%dT%H:%M:%SZ')}.")
            job.save(update_fields=["state", "error_message", "update_time"])
        _cancel_queued_trials(job, "job cancelled")
        if not job.trials.filter(state=State.RUNNING).exists():
            _finish_job(job, State.CANCELLED)
    return job


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
    """Record a trial's outcome, then advance its job (in this worker, no queue round-trip)."""
    with transaction.atomic():
        Trial.objects.filter(pk=trial.pk).update(
            state=state, failure_reason=reason[:10000], end_time=timezone.now(),
            is_stopped_early=stopped_early, pid=None,
        )
    job_advance(trial.job_id)


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
            trial_finish(trial, State.CANCELLED, "worker lost")
        else:
            trial_requeue(trial)
    return stale


class EtagMismatch(Exception):
    """``jobs.patch`` with an etag that is not the job's current one (ABORTED)."""


def job_update_labels(job: Job, labels: Any, etag: str | None = None) -> Job:
    """Replace a job's labels (``jobs.patch``) and give it a new etag.

    ``labels`` is validated with the one spec parser (raises :class:`SpecError` naming
    ``labels.KEY``).  With ``etag`` given, it must equal the job's current etag, checked under
    the job's row lock, else :class:`EtagMismatch` is raised and nothing changes."""
    from hpdash.spec.parse import parse_labels  # not re-exported by hpdash.spec

    clean = parse_labels(labels)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if etag is not None and etag != locked.etag:
            raise EtagMismatch(
                f"The etag {etag!r} does not match the current etag of job {locked.job_id}: "
                "it was changed since you read it; fetch the job again and retry.")
        locked.labels = clean
        locked.etag = _new_etag()
        locked.save(update_fields=["labels", "etag", "update_time"])
    log.info("updated the labels of %s", locked)
    return locked

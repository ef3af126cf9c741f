"""The producer side of the work queue, the only module that enqueues with django-rq/RQ (the
services call it; the consumer is :mod:`hpdash.worker.worker`).  Every enqueue names its RQ job
id, so a job is never queued twice by accident and queued work can be found again (to cancel
it)."""

from __future__ import annotations

import logging
import os

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.queue import Queue
from rq.worker import Worker as RQWorker

log = logging.getLogger(__name__)

QUEUE = "default"


_queues: dict[tuple[int, str], Queue] = {}


def _queue() -> Queue:
    """The queue, with one Redis connection pool per process (``get_queue`` builds a new
    client, hence a new connection, on every call: ~1.5 ms per enqueue).  redis-py reconnects
    a pooled connection that Redis dropped (a restart) by itself."""
    key = (os.getpid(), str(settings.RQ_QUEUES[QUEUE].get("URL", "")))
    queue = _queues.get(key)
    if queue is None:
        queue = _queues[key] = django_rq.get_queue(QUEUE)
    return queue


def trial_rq_id(trial_pk: int, attempt: int) -> str:
    return f"hpdash-trial-{trial_pk}-{attempt}"


def enqueue_advance(job_pk: int) -> None:
    """Ask a worker to schedule trials of a job (idempotent: safe to enqueue twice).

    Like every enqueue here it never raises: if Redis is down the work is logged as lost and
    ``services.scheduling.queue_reconcile`` (run by ``make run`` every few seconds) puts it
    back later, from the database, which is the truth."""
    try:
        _queue().enqueue(
            "hpdash.worker.tasks.advance_job", job_pk, job_id=f"hpdash-advance-{job_pk}",
            result_ttl=0, failure_ttl=24 * 3600,
        )
    except RedisError:
        log.warning("Redis unavailable: advancing job %s is left to the reconciler", job_pk)


def enqueue_trial(trial_pk: int, attempt: int) -> None:
    try:
        _queue().enqueue(
            "hpdash.worker.tasks.run_trial", trial_pk, attempt,
            job_id=trial_rq_id(trial_pk, attempt),
            job_timeout=-1, result_ttl=0, failure_ttl=24 * 3600,
        )
    except RedisError:
        log.warning("Redis unavailable: trial %s is left to the reconciler", trial_pk)


def trial_is_queued(trial_pk: int, attempt: int) -> bool:
    """Whether Redis still holds the work for this trial attempt (waiting or being run).
    Raises ``RedisError`` when Redis cannot be asked."""
    queue = _queue()
    try:
        job = RQJob.fetch(trial_rq_id(trial_pk, attempt), connection=queue.connection)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in (
        JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def dequeue_trials(trials: list[tuple[int, int]]) -> None:
    """Remove queued trial work (``(trial_pk, attempt)`` pairs) that has not started yet.  Work
    that a worker already took is stopped by the runner, which polls the database; it is left
    in Redis (deleting it under the worker made RQ log a traceback when the work ended)."""
    queue = _queue()
    for trial_pk, attempt in trials:
        rq_id = trial_rq_id(trial_pk, attempt)
        try:
            queue.remove(rq_id)
            job = RQJob.fetch(rq_id, connection=queue.connection)
            if job.get_status(refresh=False) != JobStatus.STARTED:
                job.delete()
        except NoSuchJobError:
            pass
        except Exception:
            log.warning("could not remove %s from the queue", rq_id, exc_info=True)


def live_worker_hosts() -> set[str] | None:
    """The machines with a live worker (RQ's registry: a worker killed without warning stays
    listed until its registration expires, ~7 minutes), or None when Redis cannot be asked."""
    try:
        return {w.hostname for w in RQWorker.all(connection=_queue().connection) if w.hostname}
    except RedisError:
        return None

"""Dropping queued trial work: what has not started goes, what a worker took stays."""

from __future__ import annotations

import fakeredis
import pytest
from rq import Queue
from rq.job import Job as RQJob
from rq.job import JobStatus

from hpdash.ops import queue


@pytest.fixture
def q(monkeypatch) -> Queue:
    fake = Queue(queue.QUEUE, connection=fakeredis.FakeStrictRedis())
    monkeypatch.setattr(queue, "_queue", lambda: fake)
    return fake


def test_queued_work_is_dropped_and_work_a_worker_took_is_left_to_it(q: Queue):
    queue.enqueue_trial(1, 0)
    queue.enqueue_trial(2, 0)
    started = RQJob.fetch(queue.trial_rq_id(2, 0), connection=q.connection)
    started.set_status(JobStatus.STARTED)
    queue.dequeue_trials([(1, 0), (2, 0), (3, 0)])  # 3 was never queued
    assert not queue.trial_is_queued(1, 0)
    assert queue.trial_is_queued(2, 0), "its worker ends it and reads its status afterwards"
    assert RQJob.exists(queue.trial_rq_id(2, 0), connection=q.connection)

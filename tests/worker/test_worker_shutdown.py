"""An idle worker that is told to stop leaves RQ's command channel at once (issues 20 and 24:
now and then Ctrl-C on an idle `make run` waited 25 s for one worker, then killed it)."""

from __future__ import annotations

import threading
import time
from typing import Any

import fakeredis
from rq import SimpleWorker

from hpdash.worker.worker import Worker


def _subscribed_worker() -> Any:
    """Our worker class, subscribed to its command channel by RQ's own code (its pub/sub
    thread running), without the start-up work that needs a database."""
    worker: Any = Worker.__new__(Worker)
    SimpleWorker.__init__(worker, ["default"], connection=fakeredis.FakeStrictRedis())
    worker.subscribe()
    return worker


def _thread_reads_the_reply_first(worker: Any) -> None:
    """The interleaving that hung: the pub/sub thread handles the UNSUBSCRIBE reply before
    the stopping worker stops it (it then waits 60 s for a new subscription)."""
    pubsub = worker.pubsub
    send = pubsub.unsubscribe

    def unsubscribe_then_let_the_thread_read(*args: Any) -> Any:
        result = send(*args)
        deadline = time.monotonic() + 5
        while pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)
        return result

    pubsub.unsubscribe = unsubscribe_then_let_the_thread_read


def _seconds_to_leave(worker: Any, leave: Any) -> float:
    started = time.monotonic()
    done = threading.Thread(target=leave, daemon=True)
    done.start()
    done.join(timeout=10)
    return time.monotonic() - started


def test_a_stopping_worker_leaves_its_command_channel_at_once():
    worker = _subscribed_worker()
    _thread_reads_the_reply_first(worker)
    assert _seconds_to_leave(worker, worker.unsubscribe) < 3
    assert not worker.pubsub_thread.is_alive()


"""The RQ worker class hpdash runs
(``manage.py rqworker --worker-class hpdash.worker.worker.Worker``).

A :class:`rq.SimpleWorker`: jobs run in the worker process itself instead of a freshly spawned
interpreter per job (RQ 3 spawns one for every job, which would add the cost of importing
Django to every trial).

Shutdown: the first SIGTERM or SIGINT (``make run`` stopping) sets :data:`SHUTDOWN`; the
running trial sees it at its next poll, stops its trainer's process group, is re-queued and
returns normally, and the worker then exits: no traceback.  A second signal is RQ's cold
shutdown (``SystemExit`` inside the trial, which still re-queues it).
"""

from __future__ import annotations

import threading
from types import FrameType

from rq import SimpleWorker

# Set when this worker process has been asked to stop.
SHUTDOWN = threading.Event()


class Worker(SimpleWorker):
    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        SHUTDOWN.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq is untyped here

"""The RQ worker class hpdash runs
(``manage.py rqworker --worker-class hpdash.worker.worker.Worker``).

A :class:`rq.SimpleWorker`: jobs run in the worker process itself instead of a freshly spawned
interpreter per job (RQ 3 spawns one for every job, which would add the cost of importing
Django to every trial).

Shutdown: the first SIGTERM or SIGINT (``make run`` stopping) sets :data:`SHUTDOWN`; the
running trial sees it at its next poll, has its executor stop the trainer, is re-queued and
returns normally, and the worker then exits: no traceback.  A second signal is RQ's cold
shutdown (``SystemExit`` inside the trial, which still re-queues it).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from types import FrameType
from typing import Any

from rq import SimpleWorker

from hpdash.ops.gpus import this_machine
from hpdash.services.gpus import gpu_host_register
from hpdash.worker.executors import executors_start

log = logging.getLogger(__name__)

# Set when this worker process has been asked to stop.
SHUTDOWN = threading.Event()


class Worker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Named after its machine (RQ's default is a random hex string), as trials record it.
        kwargs["name"] = kwargs.get("name") or f"{socket.gethostname()}.{os.getpid()}"
        super().__init__(*args, **kwargs)
        # The local executor makes this worker the reaper of its trainers' orphans, and ends
        # what trainers of a worker that died on this machine left running.
        executors_start()
        # This machine's GPUs, for leases and for telling users what the deployment has.
        machine = gpu_host_register(machine=this_machine()).devices
        log.info("GPUs on this machine: %s", ",".join(machine) if machine else "none")

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        SHUTDOWN.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq is untyped here

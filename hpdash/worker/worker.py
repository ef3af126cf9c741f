"""The RQ worker class hpdash runs
(``manage.py rqworker --worker-class hpdash.worker.worker.Worker``).

A :class:`rq.SimpleWorker`: jobs run in the worker process itself instead of a freshly spawned
interpreter per job (RQ 3 spawns one for every job, which would add the cost of importing
Django to every trial).

Shutdown: the first SIGTERM or SIGINT (``make run`` stopping) sets :data:`SHUTDOWN`; the
running trial sees it at its next poll, has its executor stop the trainer, is re-queued and
returns normally, and the worker then exits: no traceback.  A second signal is RQ's cold
shutdown (``SystemExit`` inside the trial, which still re-queues it).  An idle worker exits at
once (see :meth:`Worker.unsubscribe`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from types import FrameType
from typing import Any

import redis
from rq import SimpleWorker

from hpdash.ops.exiting import skip_final_collection
from hpdash.ops.gpus import this_machine
from hpdash.services.containers import container_host_report
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
        # Whether and with which images it runs trials in containers, for job create to know.
        report = container_host_report(full=True)
        log.info("containers: %s%s", report["problem"] or f"{len(report['images'])} images",
                 "" if report["problem"] or not machine else
                 "; CDI specs for the GPUs: " + ("found" if report["cdi_gpus"] else
                                                  "none (run nvidia-ctk cdi generate "
                                                  "--output=/etc/cdi/nvidia.yaml)"))

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        SHUTDOWN.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq is untyped here

    def unsubscribe(self) -> None:
        """Leave the worker's command channel without waiting for it.

        RQ 3.0 sends UNSUBSCRIBE and only then stops its pub/sub thread, and redis-py 8's
        ``stop()`` waits for that thread.  When the thread reads the confirmation first, it
        finds itself subscribed to nothing and, still told to run, waits up to 60 s (its
        ``sleep_time``) for a subscription that never comes; the stopping worker waited with it
        and ``make run`` killed it after its patience (issues 20 and 24: Ctrl-C took 25 s, now
        and then).  Telling the thread to stop first makes it end as soon as the confirmation
        arrives; the wait is bounded, as Redis may be gone."""
        thread, pubsub = self.pubsub_thread, self.pubsub
        if thread is None or pubsub is None:
            return
        log.debug("worker %s: leaving its command channel", self.name)
        try:
            thread.stop(timeout=0)  # clears its run flag; join(0) does not wait
        except TypeError:  # redis-py < 8: stop() takes no timeout and never waits
            thread.stop()
        try:
            pubsub.unsubscribe()
        except redis.exceptions.RedisError:
            pass  # the connection is gone: nothing to leave, the thread ends on its error
        thread.join(timeout=1)
        pubsub.close()

    def teardown(self) -> None:
        super().teardown()  # type: ignore[no-untyped-call]  # rq is untyped here
        skip_final_collection()  # the worker process exits next

"""The RQ worker class hpdash runs
(``manage.py rqworker --worker-class hpdash.worker.worker.Worker``).

A :class:`rq.SimpleWorker`: jobs run in the worker process itself instead of a freshly spawned
interpreter per job (RQ 3 spawns one for every job, which would add the cost of importing
Django to every trial).  A cold shutdown (a second SIGTERM/SIGINT) raises ``SystemExit`` inside
the running trial: the runner then kills the trainer's process group and re-queues the trial.
"""

from rq import SimpleWorker


class Worker(SimpleWorker):
    pass

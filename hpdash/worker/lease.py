"""Fencing: a worker that cannot renew its trial's lease stops the trainer before the lease
expires, so that no superseded trainer still runs when the trial is re-queued.

A RUNNING attempt is a lease renewed by its heartbeat (``Trial.heartbeat_time``, written about
once a second).  The reconciler re-queues a trial whose heartbeat is older than
``HPDASH_HEARTBEAT_TIMEOUT`` (default 60 s).  A :class:`LeaseWatch` thread beside the trial's
poll loop stops the trainer once no heartbeat has been recorded for :func:`fence_after` seconds
(the timeout, less the trainer's stop grace, less :data:`FENCE_MARGIN`), even while the poll
loop itself is stuck in a database call that does not return.  With the defaults (60 s, 10 s
grace) that is at 45 s: SIGTERM then, SIGKILL by 55 s, five seconds before the trial can be
re-queued.  The attempt then records nothing; the trial runs again.

A worker process that is frozen altogether (SIGSTOP, a suspended VM) cannot fence itself: its
trainer runs on until the worker wakes, finds its attempt superseded at its first write and
stops it; every write it makes is refused (see :mod:`hpdash.services.trials`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FENCE_MARGIN = 5.0  # seconds between the trainer's last possible moment and the lease's end
CHECK_EVERY = 0.5


def fence_after(heartbeat_timeout: float, stop_grace: float) -> float:
    """Seconds without a recorded heartbeat after which the trainer is stopped.  Never less
    than a third of the timeout: a grace period close to the timeout leaves less margin (the
    README says so) rather than stopping trainers at the first slow write."""
    return max(heartbeat_timeout - stop_grace - FENCE_MARGIN, heartbeat_timeout / 3)


class LeaseWatch:
    """Calls ``stop`` (once, from its own thread) when :meth:`renewed` has not been called
    for ``after`` seconds; :attr:`fenced` tells whether it did."""

    def __init__(self, after: float, stop: Callable[[], object]) -> None:
        self.after = after
        self._stop = stop
        self._renewed_at = time.monotonic()
        self.fenced = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lease-watch", daemon=True)

    def __enter__(self) -> LeaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._thread.join()

    def renewed(self) -> None:
        self._renewed_at = time.monotonic()

    @property
    def silent_for(self) -> float:
        return time.monotonic() - self._renewed_at

    def _watch(self) -> None:
        while not self._closed.wait(CHECK_EVERY):
            if self.silent_for > self.after:
                self.fenced.set()
                log.warning("no heartbeat recorded for %.0f s: stopping the trainer before its "
                            "lease ends", self.silent_for)
                try:
                    self._stop()
                except Exception:  # the poll loop sees the trainer end either way
                    log.exception("stopping a fenced trainer failed")
                return

"""A worker machine sends each trial's log to the server while the trial runs.

On a worker machine (``make worker`` with ``HPDASH_SERVER_URL`` and ``HPDASH_WORKER_KEY``) a
trial's log is written to the machine's own data dir, a cache; :class:`LogShipper` reads what
this attempt appended and POSTs it to ``/workers/v1/trials/<pk>/log`` (see
:mod:`hpdash.api.workers.views`) at every poll of the trial, and everything left when the
attempt ends.  The server holds the record: the dashboard, the API and the failure tail read it
there.  A failed send is retried at the next poll (the offsets make a resend harmless); an
attempt the server says was superseded sends nothing more.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
TIMEOUT = 5.0


class LogShipper:
    def __init__(self, path: Path, *, trial_pk: int, attempt: int, server_url: str,
                 key: str) -> None:
        self.path = path
        self.url = f"{server_url}/workers/v1/trials/{trial_pk}/log"
        self.attempt, self.key = attempt, key
        # This attempt's output starts where the machine's copy of the log ends now (an earlier
        # attempt that ran here wrote before it).
        self.start = _size(path)
        self.sent = 0
        self.done = False
        self.failing = False

    def ship(self, *, final: bool = False) -> None:
        """Send what was appended since the last call; ``final``: everything, retrying a few
        times (the attempt is ending)."""
        tries = 3 if final else 1
        while not self.done:
            chunk = self._read()
            if not chunk:
                return
            if not self._post(chunk):
                tries -= 1
                if tries <= 0:
                    return
                time.sleep(1.0)

    def _read(self) -> bytes:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return b""
        try:
            return os.pread(fd, CHUNK, self.start + self.sent)
        finally:
            os.close(fd)

    def _post(self, chunk: bytes) -> bool:
        # S310: the server URL is the administrator's http(s) setting (checked in config).
        request = urllib.request.Request(self.url, data=chunk, method="POST", headers={  # noqa: S310
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/octet-stream",
            "X-Hpdash-Attempt": str(self.attempt), "X-Hpdash-Offset": str(self.sent)})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                self.sent = int(json.load(answer)["received"])
        except urllib.error.HTTPError as exc:
            expected = _expected(exc)
            if exc.code != 409:
                return self._failed(f"HTTP {exc.code}")
            if expected is None:
                self.done = True  # superseded: this attempt's output is not the record
            else:
                self.sent = expected  # the server lacks bytes before this chunk: resend them
            return True
        except (OSError, ValueError, KeyError) as exc:
            return self._failed(str(exc))
        if self.failing:
            log.info("sending trial logs to %s works again", self.url)
            self.failing = False
        return True

    def _failed(self, why: str) -> bool:
        if not self.failing:  # once per outage, not at every poll
            log.warning("cannot send a trial log to %s (%s); retrying", self.url, why)
            self.failing = True
        return False


def _expected(exc: urllib.error.HTTPError) -> int | None:
    try:
        value = json.load(exc)["expected"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(value) if isinstance(value, int) else None


def _size(path: Path) -> int:
    try:
        return os.lstat(path).st_size
    except FileNotFoundError:
        return 0


def shipper_for(path: Path, *, trial_pk: int, attempt: int) -> LogShipper | None:
    """The trial's shipper on a worker machine that sends its logs; None elsewhere."""
    cfg = settings.HPDASH
    if not cfg.server_url:
        return None
    return LogShipper(path, trial_pk=trial_pk, attempt=attempt, server_url=cfg.server_url,
                      key=cfg.worker_key)

"""Trial logs sent by worker machines: the server keeps the record in its own data dir.

A worker machine (``make worker`` with ``HPDASH_SERVER_URL``) runs a trial with its log in its
own data dir, a cache, and sends what it appends to the server in chunks, each with the attempt
and the offset in that attempt's output (:mod:`hpdash.worker.log_shipper`).  The server appends
each new byte once, in order, to the trial's log where the dashboard, the API and the failure
tail read it: a chunk resent after a lost answer is skipped, a chunk from the future is refused
with the offset expected, and a superseded attempt (the trial was re-queued) writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import transaction

from hpdash.core.layout import DataLayout
from hpdash.models import Trial, TrialLogShipment


class LogRefused(Exception):
    """A chunk the server will not append; ``expected`` is the offset it wants next (None when
    the attempt may send nothing more)."""

    def __init__(self, message: str, expected: int | None) -> None:
        super().__init__(message)
        self.expected = expected


def _append(path: Path, data: bytes, cap: int) -> None:
    """Append to the log at ``path`` (never through a link) while it is below ``cap`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        room = cap - os.fstat(fd).st_size
        if room > 0:
            os.write(fd, data[:room])
    finally:
        os.close(fd)


def trial_log_append(*, trial_pk: int, attempt: int, offset: int, data: bytes) -> int:
    """Append ``data`` (bytes ``offset…`` of attempt ``attempt``'s log) to the trial's log;
    returns how many bytes of the attempt the server now holds."""
    with transaction.atomic():
        trial = Trial.objects.select_for_update().select_related("job").filter(
            pk=trial_pk).first()
        if trial is None:
            raise LogRefused(f"no trial {trial_pk}", None)
        if attempt != trial.attempt:
            raise LogRefused(f"attempt {attempt} of {trial} was superseded (the trial is at "
                             f"attempt {trial.attempt})", None)
        shipment, _ = TrialLogShipment.objects.get_or_create(trial=trial, attempt=attempt)
        if offset > shipment.received:
            raise LogRefused(f"a gap: the server holds {shipment.received} bytes of attempt "
                             f"{attempt}", shipment.received)
        new = data[shipment.received - offset:]
        log = DataLayout(Path(settings.DATA_DIR)).trial_log(
            trial.job.project_id, trial.job.job_id, trial.trial_id)
        if new:
            _append(log, new, settings.HPDASH.trial_log_max_bytes)
        # Bytes past the cap are acknowledged (and dropped), as a local trial's are.
        shipment.received += len(new)
        shipment.save(update_fields=["received"])
        return shipment.received

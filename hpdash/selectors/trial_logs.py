"""Reading a trial's log (``<data>/jobs/<project>/<jobId>/trials/<id>/trainer.log``) for the
dashboard and the API, never through a link: a file or folder under ``jobs/`` that is not
hpdash's own regular file reads as missing (see :mod:`hpdash.core.runner.safe_files`).
Callers have already checked that the user may see the job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.runner import safe_files
from hpdash.models import Job

# The most one API call returns (``:hpdashTrialLog``); a client asks again from nextOffset.
MAX_CHUNK_BYTES = 1024 * 1024


def open_log(path: Path) -> BinaryIO:
    """The log at ``path`` (under ``<data>/jobs``), open for reading.  Raises ``OSError``
    (``FileNotFoundError`` when there is none yet)."""
    jobs = DataLayout(Path(settings.DATA_DIR)).root / "jobs"
    try:
        rel = path.relative_to(jobs)
    except ValueError:
        raise FileNotFoundError(f"{path} is not a trial log") from None
    return os.fdopen(safe_files.open_regular(jobs, rel), "rb")


def trial_log_path(job: Job, trial_id: int) -> Path:
    return DataLayout(Path(settings.DATA_DIR)).trial_log(job.project_id, job.job_id, trial_id)


def log_chunk(job: Job, trial_id: int, offset: int, limit: int = MAX_CHUNK_BYTES
              ) -> tuple[bytes, int, int]:
    """(bytes of the trial's log from ``offset``, the offset to ask from next, its size now).
    At most ``limit`` bytes, cut after the last complete line when there is one (a client
    never sees half a line it will see again).  A log rewritten shorter than ``offset`` is
    read from its start.  No log yet: nothing, from 0."""
    try:
        with open_log(trial_log_path(job, trial_id)) as f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:
                offset = 0
            data = os.pread(f.fileno(), min(limit, MAX_CHUNK_BYTES), offset)
    except OSError:
        return b"", 0, 0
    if offset + len(data) < size or not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        if cut >= 0:
            data = data[:cut + 1]
    return data, offset + len(data), size

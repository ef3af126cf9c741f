"""Why a trial failed, in full: the last lines its program wrote (stderr and stdout share the
trial's log) shown next to "exit code 1" on the job and trial pages."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.models import Job

TAIL_LINES = 5
TAIL_READ_BYTES = 4096


def log_tail_lines(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines the trainer wrote, leaving out hpdash's own ``[hpdash] …``
    lines; reads at most the last 4 KiB of the log."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - TAIL_READ_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("[hpdash]")]
    return "\n".join(kept[-lines:])


def failure_tails(job: Job, trial_ids: Iterable[int]) -> dict[int, str]:
    """{trial id: the last lines of its log} for these (failed) trials of ``job``; a caller
    has already checked that the user may see the job."""
    layout = DataLayout(settings.DATA_DIR)
    out = {}
    for tid in trial_ids:
        tail = log_tail_lines(layout.trial_log(job.project_id, job.job_id, tid))
        if tail:
            out[tid] = tail
    return out

"""Why a trial failed, in full: the last lines its program wrote (stderr and stdout share the
trial's log) shown next to "exit code 1" on the job and trial pages, and given to API clients
by hpdash's extension method (``…/jobs/JOB:hpdashDetails``, see :func:`recent_failures`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.states import TrialState
from hpdash.models import Job
from hpdash.selectors.trial_logs import open_log

TAIL_LINES = 5
TAIL_READ_BYTES = 4096
# The API's failure extension stays small whatever the job: the latest this many failed
# trials, each with its reason cut to this many characters and its log's last TAIL_LINES
# lines (from at most TAIL_READ_BYTES).
MAX_REPORTED_FAILURES = 20
MAX_REASON_CHARS = 500


def log_tail_lines(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines the trainer wrote, leaving out hpdash's own ``[hpdash] …``
    lines; reads at most the last 4 KiB of the log."""
    try:
        with open_log(path) as f:
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


class _FailedRow(Protocol):
    @property
    def trial_id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def failure_reason(self) -> str: ...


def recent_failures(job: Job, trials: Sequence[_FailedRow]) -> dict[int, dict[str, str]]:
    """{trial id: ``{"reason": "exit code 1", "logTail": "<last lines>"}``} for the latest
    :data:`MAX_REPORTED_FAILURES` FAILED trials among ``trials`` (empty values left out); a
    caller has already checked that the user may see the job."""
    failed = sorted((t for t in trials if t.state == TrialState.FAILED),
                    key=lambda t: t.trial_id, reverse=True)[:MAX_REPORTED_FAILURES]
    tails = failure_tails(job, [t.trial_id for t in failed])
    out: dict[int, dict[str, str]] = {}
    for t in failed:
        entry = {"reason": t.failure_reason[:MAX_REASON_CHARS],
                 "logTail": tails.get(t.trial_id, "")}
        out[t.trial_id] = {k: v for k, v in entry.items() if v}
    return out

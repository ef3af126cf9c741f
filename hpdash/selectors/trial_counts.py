"""How many of a job's trials are in each state, and how far the job is: the one place the job
list, the job page and the admin count trials.  A caller reached the jobs through
:mod:`hpdash.selectors.jobs` (scoped by user) or is the admin (staff)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from hpdash.core.states import ACTIVE_TRIAL_STATES, FINAL_TRIAL_STATES, TrialState
from hpdash.models import Job

# One annotation per state, on the job: trials_queued, trials_running, …
_FIELDS = {state: f"trials_{state.lower()}" for state in TrialState}


def _annotations() -> dict[str, Any]:
    return {name: Count("trials", filter=Q(trials__state=state))
            for state, name in _FIELDS.items()}


@dataclass(frozen=True)
class TrialCounts:
    """A job's trials by state (every state, zero included)."""

    by_state: Mapping[TrialState, int]

    @property
    def finished(self) -> int:
        return sum(n for state, n in self.by_state.items() if state in FINAL_TRIAL_STATES)

    @property
    def running(self) -> int:
        return self.by_state[TrialState.RUNNING]

    @property
    def active(self) -> int:
        """Queued or running: the job's trials may still change."""
        return sum(n for state, n in self.by_state.items() if state in ACTIVE_TRIAL_STATES)

    def progress_pct(self, max_trials: int) -> int:
        """Finished trials as a percentage of ``max_trials`` (0 when there is no limit to
        measure against), at most 100."""
        if max_trials <= 0:
            return 0
        return min(100, round(100 * self.finished / max_trials))


def jobs_with_trial_counts(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """``jobs``, each counting its trials in every state (read them with
    :func:`trial_counts`): one query for a page of jobs."""
    return jobs.annotate(**_annotations())


def trial_counts(job: Job) -> TrialCounts:
    """``job``'s trials by state: read off the job when it came from
    :func:`jobs_with_trial_counts`, else counted now (one query)."""
    if all(hasattr(job, name) for name in _FIELDS.values()):
        row: Mapping[str, Any] = {name: getattr(job, name) for name in _FIELDS.values()}
    else:
        row = (Job.objects.filter(pk=job.pk).annotate(**_annotations())
               .values(*_FIELDS.values()).get())
    return TrialCounts({state: row[name] for state, name in _FIELDS.items()})

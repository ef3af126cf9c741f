"""Read side: trial histories for the suggesters and ranked trial lists for the API."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from hpdash.core.suggest import Observation
from hpdash.models import ACTIVE_TRIAL_STATES, Job, State, Trial


def trial_observations(trials: Iterable[Trial]) -> list[Observation]:
    """What the suggesters learn from: results of finished trials, pending ones as taken."""
    out: list[Observation] = []
    for t in trials:
        if t.state == State.SUCCEEDED and t.final_value is not None:
            out.append(Observation(params=t.params, state="SUCCEEDED", value=t.final_value))
        elif t.state in ACTIVE_TRIAL_STATES:
            out.append(Observation(params=t.params, state="PENDING"))
        elif t.state == State.FAILED:
            out.append(Observation(params=t.params, state="FAILED"))
        # CANCELLED trials taught nothing and are not "taken": they may be suggested again.
    return out


def job_history(job: Job) -> list[Observation]:
    """The job's own trials, after every finished trial of the job it resumes (if any)."""
    chain: list[Observation] = []
    if job.previous_job_id:
        prev = Job.objects.get(pk=job.previous_job_id)
        chain = [o for o in job_history(prev) if o.state != "PENDING"]
    # Only the columns the suggesters learn from: this runs before every suggestion.
    trials = job.trials.order_by("trial_id").only("trial_id", "state", "final_value", "params")
    return chain + trial_observations(trials)


def rank_trials(trials: Sequence[Trial], maximize: bool) -> list[Trial]:
    """Best first; trials without a final metric (not SUCCEEDED) last; ties by trial id."""

    def key(t: Trial) -> tuple[int, float, int]:
        if (t.state != State.SUCCEEDED or t.final_value is None
                or not math.isfinite(t.final_value)):
            return (1, 0.0, t.trial_id)
        return (0, -t.final_value if maximize else t.final_value, t.trial_id)

    return sorted(trials, key=key)

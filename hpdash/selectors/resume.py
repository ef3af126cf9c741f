"""What a resumed job inherits, for the new-job form's advice and its read-only summary."""

from __future__ import annotations

from hpdash.core.states import ObservationState
from hpdash.models import Job
from hpdash.selectors.trials import job_history


def resume_history_count(previous: Job) -> int:
    """Finished trials a job resuming ``previous`` learns from: ``previous``'s and those of the
    jobs it resumed in turn (what :func:`hpdash.selectors.trials.job_history` feeds the
    suggester); a caller reached ``previous`` through ``job_get`` for its user."""
    return sum(1 for o in job_history(previous) if o.state != ObservationState.PENDING)

"""The scheduler's view of Vertex's ``studyStoppingConfig``: reads a job's ended trials and
asks :func:`hpdash.core.study_stopping.stop_reason` whether the study stops now."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from hpdash.core.states import TrialState
from hpdash.core.study_stopping import Ended, stop_reason
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import final_values


def study_stop_reason(job: Job, trials: Sequence[Trial]) -> str | None:
    """Why the job's study stops now, or None (always None without a studyStoppingConfig)."""
    spec = job.spec
    if spec.study_stopping is None:
        return None
    done = sorted((t for t in trials if t.end_time and t.state in (
        TrialState.SUCCEEDED, TrialState.FAILED)), key=lambda t: (t.end_time, t.trial_id))
    ok = {t.pk for t in done if t.state == TrialState.SUCCEEDED and t.final_value is not None}
    values = (final_values(spec=spec, trials=job.trials.filter(
        state=TrialState.SUCCEEDED, final_value__isnull=False)) if spec.multi_objective
              else {t.pk: (t.final_value,) for t in done if t.pk in ok})
    ended = []
    for t in done:
        v = values.get(t.pk)
        full = None if v is None or None in v else tuple(x for x in v if x is not None)
        assert t.end_time is not None
        ended.append(Ended(t.end_time, full))
    return stop_reason(spec.study_stopping, ended=ended, created=len(trials),
                       started=job.start_time, now=timezone.now(),
                       maximize=[m.maximize for m in spec.metrics])

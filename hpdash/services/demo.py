"""Demo writes: a finished job with synthetic trials and measurements, for demos, screenshots
and scale tests (``manage.py seed_demo_job`` makes up the trials; this stores them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from hpdash.core.spec import NewJob
from hpdash.core.spec.stored import definition_to_json
from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Measurement, Project, Trial

# A demo trial starts this long after the one before it, and reports a step this often.
TRIAL_SPACING = dt.timedelta(seconds=30)
STEP_TIME = dt.timedelta(seconds=1.5)


class DemoJobExists(Exception):
    pass


@dataclass(frozen=True)
class DemoTrial:
    params: dict[str, Any]
    curve: Sequence[tuple[int, float]]  # (step, value), at least one; the last is final
    stopped_early: bool = False
    # A multi-objective study's other metrics' curves, in the spec's order (at the same steps)
    more: Sequence[Sequence[tuple[int, float]]] = ()


def demo_job_create(*, project: str, spec: NewJob, trials: Sequence[DemoTrial], seed: int
                    ) -> tuple[Job, int]:
    """Store ``spec`` as a SUCCEEDED job of ``project`` (created without members if new) whose
    SUCCEEDED trials, numbered from 1, report ``trials``' curves, started ``TRIAL_SPACING``
    apart and ending now.  Returns the job and how many measurements were stored; raises
    :class:`DemoJobExists` when the project already has a job with this id."""
    assert spec.job_id is not None
    hps = spec.definition.hyperparameters
    start = timezone.now() - TRIAL_SPACING * len(trials)
    with transaction.atomic():
        if Job.objects.filter(project__name=project, job_id=spec.job_id).exists():
            raise DemoJobExists(f"job {spec.job_id} already exists in {project}")
        project_row, _ = Project.objects.get_or_create(name=project)
        job = Job.objects.create(
            project=project_row, job_id=spec.job_id,
            definition_json=definition_to_json(spec.definition), request=dict(spec.request),
            goal=hps.goal, metric_tag=hps.metric_tag, algorithm=hps.algorithm,
            max_trials=hps.max_trials, max_parallel_trials=hps.max_parallel_trials, seed=seed,
            state=JobState.SUCCEEDED, start_time=start,
            end_time=start + TRIAL_SPACING * len(trials), etag="ZGVtbw==")
        starts = [start + TRIAL_SPACING * i for i in range(len(trials))]
        Trial.objects.bulk_create([
            Trial(job=job, trial_id=i, state=TrialState.SUCCEEDED, params=t.params,
                  final_value=t.curve[-1][1], final_step=t.curve[-1][0],
                  is_stopped_early=t.stopped_early, start_time=t0,
                  end_time=t0 + STEP_TIME * len(t.curve))
            for i, (t, t0) in enumerate(zip(trials, starts, strict=True), 1)], batch_size=1000)
        saved = dict(job.trials.values_list("trial_id", "pk"))
        rows = [Measurement(trial_id=saved[i], step=s, value=v, metric=j,
                            reported_at=t0 + STEP_TIME * s)
                for i, (t, t0) in enumerate(zip(trials, starts, strict=True), 1)
                for j, curve in enumerate((t.curve, *t.more))
                for s, v in curve]
        Measurement.objects.bulk_create(rows, batch_size=5000)
    return job, len(rows)

"""The ml v1 JSON representation of jobs and trials (proto3 JSON mapping: int64 as strings,
RFC 3339 UTC times, unset fields omitted)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from django.db.models import QuerySet

from hpdash.core.gpus import gpu_request
from hpdash.core.spec.space import format_value
from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.gpus import gpu_wait_reason
from hpdash.selectors.trial_failures import recent_failures
from hpdash.selectors.trials import rank_trials


def rfc3339(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _drop_unset(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


class TrialRow(NamedTuple):
    """The fields of a trial that its resource shows, read with ``values_list``: building
    10,000 ``Trial`` instances (every column, six datetimes each) costs more than the rest of a
    ``jobs.get`` put together.  Has the ``Trial`` attributes :func:`trial_resource` and
    :func:`hpdash.selectors.rank_trials` read."""

    trial_id: int
    state: str
    params: dict[str, Any]
    final_value: float | None
    final_step: int | None
    is_stopped_early: bool
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    failure_reason: str
    pk: int


def trial_rows(trials: QuerySet[Trial]) -> list[TrialRow]:
    """``trials`` (in their order) as :class:`TrialRow` tuples."""
    return [TrialRow._make(r) for r in trials.values_list(*TrialRow._fields)]


def metric_resource(step: int, value: float) -> dict[str, Any]:
    """ml v1's ``HyperparameterMetric``: int64 ``trainingStep`` as a string."""
    return {"trainingStep": str(step), "objectiveValue": value}


def trial_resource(job: Job, trial: Trial | TrialRow,
                   failure: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``HyperparameterOutput``; ``failure`` (a FAILED trial's reason and log tail, only
    when the client asked for it) goes into the ``hpdashFailure`` extension field."""
    spec = job.spec
    hyperparameters = {
        p.name: format_value(p, trial.params[p.name]) for p in spec.params if p.name in trial.params
    }
    out: dict[str, Any] = {
        "trialId": str(trial.trial_id),
        "hyperparameters": hyperparameters,
        "startTime": rfc3339(trial.start_time),
        "endTime": rfc3339(trial.end_time),
        "state": trial.state,
    }
    # Only a finished, successful trial has a final metric (a running trial's latest value is
    # not final; a failed trial's is not trusted).
    if trial.final_value is not None and trial.state == TrialState.SUCCEEDED:
        out["finalMetric"] = metric_resource(trial.final_step or 0, trial.final_value)
    if trial.is_stopped_early:
        out["isTrialStoppedEarly"] = True
    if failure:
        out["hpdashFailure"] = failure
    return _drop_unset(out)


def job_resource(job: Job, trials: Sequence[Trial | TrialRow] | None = None, *,
                 failures: bool = False) -> dict[str, Any]:
    """The ml v1 ``Job``, trials best first. ``failures``: add hpdash's ``hpdashFailure``
    extension (``{"reason", "logTail"}``) to the latest FAILED trials — only when the client
    asks (``?hpdashFailures=true``), so by default a response holds exactly the discovery
    doc's fields; Google's clients would ignore the extra field anyway."""
    if trials is None:
        trials = trial_rows(job.trials.all())
    found = recent_failures(job, trials) if failures else {}
    ranked = rank_trials(cast(Sequence[Trial], trials), job.maximize)
    completed = sum(1 for t in trials if t.state == TrialState.SUCCEEDED)
    output = _drop_unset({
        "completedTrialCount": str(completed) if completed else None,
        "trials": [trial_resource(job, t, found.get(t.trial_id)) for t in ranked],
        "isHyperparameterTuningJob": True,
        "hyperparameterMetricTag": job.metric_tag,
    })
    return _drop_unset({
        "jobId": job.job_id,
        "labels": job.labels or None,
        "trainingInput": job.training_input,
        "createTime": rfc3339(job.create_time),
        "startTime": rfc3339(job.start_time),
        "endTime": rfc3339(job.end_time),
        "state": job.state,
        "errorMessage": job.error_message,
        "trainingOutput": output,
        "etag": job.etag,
    })


def job_details(job: Job) -> dict[str, Any]:
    """hpdash's extension (``:hpdashDetails``): camelCase like the rest of the API."""
    request = gpu_request(job.training_input)
    trials = [_drop_unset({"trialId": str(t.trial_id), "gpus": list(t.gpus) or None,
                           "gpuHost": t.gpu_host or None, "waiting": t.waiting or None})
              for t in job.trials.order_by("trial_id")]
    return _drop_unset({
        "gpusPerTrial": request.count,
        "acceleratorType": request.type or None,
        "waiting": gpu_wait_reason(job) or None,
        "trials": trials,
    })

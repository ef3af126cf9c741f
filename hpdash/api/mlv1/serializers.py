"""The ml v1 JSON representation of jobs and trials (proto3 JSON mapping: int64 as strings,
RFC 3339 UTC times, unset fields omitted)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from hpdash.api.common.filtering import Columns
from hpdash.core.listfilter import Catalogue
from hpdash.core.spec.parse import training_input_fields
from hpdash.core.spec.space import format_value
from hpdash.core.spec.types import ParameterSpec
from hpdash.core.states import FILTER_STATES, TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.trials import TrialRow, rank_trials, trial_rows

# What jobs.list's filter can name (the trainingInput tree from the parser's own schema, so
# that a typo such as trainingInput.scaletier is reported instead of matching nothing) ...
JOB_FILTER = Catalogue(
    strings=("jobId", "state", "errorMessage"), times=("createTime", "startTime", "endTime"),
    maps=("labels",),
    objects={"trainingInput": (training_input_fields(), "trainingInput.scaleTier=BASIC")},
    states=FILTER_STATES, resource="job", example="jobId:census* AND state=FAILED")
# ... and which of those the database can narrow down.
JOB_COLUMNS = Columns(
    text={"jobId": "job_id", "state": "state", "errorMessage": "error_message"},
    times={"createTime": "create_time", "startTime": "start_time", "endTime": "end_time"})


def rfc3339(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _drop_unset(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def metric_resource(step: int, value: float) -> dict[str, Any]:
    """ml v1's ``HyperparameterMetric``: int64 ``trainingStep`` as a string."""
    return {"trainingStep": str(step), "objectiveValue": value}


def trial_resource(job: Job, trial: Trial | TrialRow) -> dict[str, Any]:
    """One ``HyperparameterOutput``."""
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
    return _drop_unset(out)


def job_resource(job: Job, trials: Sequence[Trial | TrialRow] | None = None) -> dict[str, Any]:
    """The ml v1 ``Job``, trials best first: exactly the discovery document's fields."""
    if trials is None:
        trials = trial_rows(job.trials.all())
    ranked = rank_trials(cast(Sequence[Trial], trials), job.maximize)
    completed = sum(1 for t in trials if t.state == TrialState.SUCCEEDED)
    output = _drop_unset({
        "completedTrialCount": str(completed) if completed else None,
        "trials": [trial_resource(job, t) for t in ranked],
        "isHyperparameterTuningJob": True,
        "hyperparameterMetricTag": job.metric_tag,
    })
    return _drop_unset({
        "jobId": job.job_id,
        "labels": job.labels or None,
        "trainingInput": training_input(job),
        "createTime": rfc3339(job.create_time),
        "startTime": rfc3339(job.start_time),
        "endTime": rfc3339(job.end_time),
        "state": job.state,
        "errorMessage": job.error_message,
        "trainingOutput": output,
        "etag": job.etag,
    })


# What a resumed job takes from the job it resumes (hpdash.services.jobs), in ml v1's words.
_RESUMED_KEYS = ("goal", "hyperparameterMetricTag", "params", "algorithm")


def training_input(job: Job, depth: int = 0) -> dict[str, Any]:
    """The ``trainingInput`` as it was sent; a resumed job's shows the goal, metric tag, params
    and algorithm it took from the job it resumes (as that job shows them), so a client sees
    what the job runs with."""
    if job.family != "mlv1":
        return typed_training_input(job)
    sent: dict[str, Any] = job.request["trainingInput"]
    hp = sent.get("hyperparameters") or {}
    previous = job.previous_job
    if previous is None or previous.family != job.family or depth > 100:
        return sent
    theirs = training_input(previous, depth + 1).get("hyperparameters") or {}
    taken = {k: theirs[k] for k in _RESUMED_KEYS if k in theirs and k not in hp}
    return {**sent, "hyperparameters": {**hp, **taken}} if taken else sent


def _param(p: ParameterSpec) -> dict[str, Any]:
    return _drop_unset({
        "parameterName": p.name, "type": p.type, "minValue": p.min_value,
        "maxValue": p.max_value, "categoricalValues": list(p.categorical_values),
        "discreteValues": list(p.discrete_values),
        "scaleType": p.scale_type if p.scale_type != "NONE" else None})


def typed_training_input(job: Job) -> dict[str, Any]:
    """A job created through another family (Vertex AI) in ml v1's words, read from the typed
    job: what it runs, as ml v1 would have asked for it (the CLI and ml v1 clients list and
    read every job)."""
    d = job.definition
    hp = d.hyperparameters
    package, image = d.package, d.image
    return _drop_unset({
        "pythonModule": package.module if package else None,
        "packageUris": list(package.package_uris) if package else None,
        "masterConfig": _drop_unset({
            "imageUri": image.image_uri, "containerCommand": list(image.command) or None,
            "containerArgs": list(image.args) or None}) if image else None,
        "args": list(d.args),
        "scheduling": {"maxRunningTime":
                       f"{d.max_running_seconds:.9f}".rstrip("0").rstrip(".") + "s"},
        "hyperparameters": _drop_unset({
            "goal": hp.goal, "hyperparameterMetricTag": hp.metric_tag,
            "maxTrials": hp.max_trials, "maxParallelTrials": hp.max_parallel_trials,
            "maxFailedTrials": hp.max_failed_trials or None,
            "enableTrialEarlyStopping": hp.enable_early_stopping or None,
            "algorithm": hp.algorithm, "params": [_param(p) for p in hp.params]}),
    })


def job_details(job: Job, *, waiting: str, trials: Sequence[Trial],
                failures: dict[int, dict[str, str]]) -> dict[str, Any]:
    """hpdash's extension (``:hpdashDetails``) beside the Job, camelCase like the rest of the
    API: why queued trials wait, each trial's GPUs and, for the latest failed trials,
    ``failure`` (``{"reason", "logTail"}``)."""
    request = job.definition.gpus
    rows = [_drop_unset({"trialId": str(t.trial_id), "gpus": list(t.gpus) or None,
                         "gpuHost": t.gpu_host or None, "waiting": t.waiting or None,
                         "failure": failures.get(t.trial_id)})
            for t in trials]
    return _drop_unset({
        "gpusPerTrial": request.count,
        "acceleratorType": request.type or None,
        "waiting": waiting or None,
        "trials": rows,
    })

"""The Vertex AI v1 JSON of ``HyperparameterTuningJob``, ``CustomJob`` and ``Trial`` (proto3
JSON: lowerCamelCase, enums by name, int64 as strings, RFC 3339 UTC times, unset fields
omitted), built from hpdash's job and trial rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hpdash.api.common.filtering import Columns
from hpdash.api.mlv1.serializers import rfc3339
from hpdash.core.listfilter import Catalogue
from hpdash.core.spec import HyperparameterSpec
from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import FinalValues, Step

# The two collections, by their URL names, and what a list answers them in.
TUNING_JOBS = "hyperparameterTuningJobs"
CUSTOM_JOBS = "customJobs"

JOB_STATES = {
    JobState.QUEUED: "JOB_STATE_QUEUED", JobState.PREPARING: "JOB_STATE_PENDING",
    JobState.RUNNING: "JOB_STATE_RUNNING", JobState.SUCCEEDED: "JOB_STATE_SUCCEEDED",
    JobState.FAILED: "JOB_STATE_FAILED", JobState.CANCELLING: "JOB_STATE_CANCELLING",
    JobState.CANCELLED: "JOB_STATE_CANCELLED",
}
# google.rpc.Code of a job's ``error``: CANCELLED (1), as Vertex sets on cancel; a failed job's
# cause is its trials' (INTERNAL, 13, as a training failure reads on Vertex).
_ERROR_CODES = {JobState.CANCELLED: 1, JobState.FAILED: 13}

# What the list filter names (AIP-160 with Vertex's snake_case field names) ...
JOB_FILTER = Catalogue(
    strings=("display_name", "state"),
    times=("create_time", "start_time", "end_time", "update_time"),
    maps=("labels",), states=("JOB_STATE_UNSPECIFIED", *JOB_STATES.values()),
    resource="job", example='display_name="my-job" AND state=JOB_STATE_SUCCEEDED')
# ... and which of those the database narrows down.
JOB_COLUMNS = Columns(text={}, times={"create_time": "create_time",
                                      "start_time": "start_time", "end_time": "end_time"})


def _drop_unset(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def resource_name(job: Job) -> str:
    return (f"projects/{job.project_id}/locations/{job.request['location']}/"
            f"{job.request['collection']}/{job.job_id}")


def filter_view(job: Job) -> dict[str, Any]:
    """The fields the list filter reads, by its names."""
    return _drop_unset({
        "display_name": job.request["body"].get("displayName"),
        "state": JOB_STATES[JobState(job.state)], "labels": job.labels or None,
        "create_time": rfc3339(job.create_time), "start_time": rfc3339(job.start_time),
        "end_time": rfc3339(job.end_time), "update_time": rfc3339(job.update_time),
    })


def _common(job: Job) -> dict[str, Any]:
    state = JobState(job.state)
    code = _ERROR_CODES.get(state)
    return {
        "state": JOB_STATES[state],
        "createTime": rfc3339(job.create_time), "startTime": rfc3339(job.start_time),
        "endTime": rfc3339(job.end_time), "updateTime": rfc3339(job.update_time),
        "error": {"code": code, "message": job.error_message} if code else None,
        "labels": job.labels or None,
    }


def _trial_state(trial: Trial, job_state: JobState) -> str:
    """Vertex's ``Trial.State``: a trial hpdash failed or cancelled is INFEASIBLE (Vertex has
    no other ending but SUCCEEDED), a running one of a cancelling job is STOPPING."""
    state = TrialState(trial.state)
    if state == TrialState.QUEUED:
        return "REQUESTED"
    if state == TrialState.RUNNING:
        return "STOPPING" if job_state == JobState.CANCELLING else "ACTIVE"
    return "SUCCEEDED" if state == TrialState.SUCCEEDED else "INFEASIBLE"


def _measurement(spec: HyperparameterSpec, step: int, values: Mapping[int, float | None]
                 ) -> dict[str, Any]:
    """One ``Measurement``: its step and each metric reported there, in the spec's order."""
    tags = [m.tag for m in spec.metrics]
    return {"stepCount": str(step),
            "metrics": [{"metricId": tags[i], "value": values[i]} for i in sorted(values)
                        if i < len(tags) and values[i] is not None]}


def trial_resource(job: Job, trial: Trial, steps: Sequence[Step],
                   final: FinalValues | None = None) -> dict[str, Any]:
    """One ``Trial``: ``measurements`` are every step reported (each with the metrics reported
    there), ``finalMeasurement`` the one the spec selects (a succeeded trial's only), with
    every metric's value (``final``; by default the first metric's ``final_value``)."""
    spec = job.spec
    state = _trial_state(trial, JobState(job.state))
    reason = None
    if state == "INFEASIBLE":
        reason = trial.failure_reason or f"the trial was {trial.state.lower()}"
    measured = None
    if trial.state == TrialState.SUCCEEDED and trial.final_value is not None:
        values = final if final is not None else (trial.final_value,)
        measured = _measurement(spec, trial.final_step or 0, dict(enumerate(values)))
    return _drop_unset({
        "id": str(trial.trial_id), "state": state,
        "parameters": [{"parameterId": p.name, "value": trial.params[p.name]}
                       for p in spec.params if p.name in trial.params],
        "finalMeasurement": measured,
        "measurements": [_measurement(spec, step, values) for step, values in steps],
        "startTime": rfc3339(trial.start_time), "endTime": rfc3339(trial.end_time),
        "infeasibleReason": reason,
    })


def job_resource(job: Job, trials: Iterable[Trial] = (),
                 steps: dict[int, list[Step]] | None = None,
                 finals: dict[int, FinalValues] | None = None) -> dict[str, Any]:
    """A ``HyperparameterTuningJob`` (with its trials) or a ``CustomJob``, as created.
    ``steps`` and ``finals`` by trial pk (:mod:`hpdash.selectors.objectives`)."""
    body = job.request["body"]
    out = {"name": resource_name(job), **body, **_common(job)}
    if job.request["collection"] == TUNING_JOBS:
        out["trials"] = [trial_resource(job, t, (steps or {}).get(t.pk, ()),
                                        (finals or {}).get(t.pk)) for t in trials]
    return _drop_unset(out)

"""Vertex AI ``hyperparameterTuningJobs`` and ``customJobs``: each method a short view (parse,
call a service or selector, render); authentication and the error envelope come from
:func:`hpdash.api.common.request.endpoint`, as for ml v1.

A job answers here only if it was created here, in this collection and location: an ml v1
job (or a custom job asked for as a tuning job) is NOT_FOUND, with a message saying where it
lives.  (ml v1 answers for every job: it is hpdash's own API, which the CLI and the dashboard
speak.)"""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from hpdash.api.common import filtering
from hpdash.api.common.errors import ApiError
from hpdash.api.common.pagination import page_size, page_token, rows_after
from hpdash.api.common.request import ApiRequest, endpoint
from hpdash.api.vertex.serializers import (
    JOB_COLUMNS,
    JOB_FILTER,
    TUNING_JOBS,
    filter_view,
    job_resource,
    resource_name,
    trial_resource,
)
from hpdash.core import listfilter
from hpdash.core.spec.vertex import parse_custom_job, parse_tuning_job
from hpdash.models import Job
from hpdash.selectors.jobs import job_get, jobs_in_project
from hpdash.selectors.objectives import final_values, metric_steps, pareto_trial_ids
from hpdash.services.jobs import AlreadyExists, job_cancel, job_create, job_delete

_LOCATION = re.compile(r"[a-z][a-z0-9-]{0,62}")
_EMPTY = {"@type": "type.googleapis.com/google.protobuf.Empty"}


def _check_location(location: str) -> None:
    if not _LOCATION.fullmatch(location):
        raise ApiError("INVALID_ARGUMENT", f"Invalid location {location!r}.", [
            ("parent", "the location is a region name such as us-central1")])


def _job(api: ApiRequest, location: str, collection: str, job_id: str) -> Job:
    _check_location(location)
    job = job_get(user=api.user, project=api.project, job_id=job_id)
    name = f"projects/{api.project}/locations/{location}/{collection}/{job_id}"
    if job is None:
        raise ApiError("NOT_FOUND", f"The resource '{name}' was not found.")
    if job.family != "vertex":
        raise ApiError("NOT_FOUND", f"The resource '{name}' was not found: job {job_id} was "
                       f"created through the ml v1 API; read it at "
                       f"/v1/projects/{api.project}/jobs/{job_id}.")
    if resource_name(job) != name:
        raise ApiError("NOT_FOUND", f"The resource '{name}' was not found: job {job_id} is "
                       f"{resource_name(job)}.")
    return job


def _render(job: Job) -> dict[str, Any]:
    trials = list(job.trials.order_by("trial_id"))
    pks = [t.pk for t in trials]
    finals = (final_values(spec=job.spec, trials=job.trials.all())
              if job.spec.multi_objective else None)
    return job_resource(job, trials, metric_steps(pks), finals)


@endpoint(creates=True)
def jobs_create(api: ApiRequest, location: str, collection: str) -> dict[str, Any]:
    _check_location(location)
    parse = parse_tuning_job if collection == TUNING_JOBS else parse_custom_job
    spec = parse(api.json(), gcs_root=settings.HPDASH.gcs_root)
    spec = dataclasses.replace(spec, request={
        "location": location, "collection": collection, "body": dict(spec.request)})
    for _ in range(5):
        # Vertex's ids are numbers; ml v1's start with a letter, so the two never collide.
        job_id = str(10**17 + secrets.randbelow(9 * 10**17))
        try:
            job = job_create(project=api.project, owner=api.user,
                             spec=dataclasses.replace(spec, job_id=job_id))
        except AlreadyExists:
            continue
        return job_resource(job)
    raise ApiError("INTERNAL", "Could not choose a free job id; try again.")


def _listed(api: ApiRequest, collection: str, location: str) -> QuerySet[Job]:
    return jobs_in_project(user=api.user, project=api.project).filter(
        family="vertex", request__collection=collection, request__location=location)


@endpoint()
def jobs_list(api: ApiRequest, location: str, collection: str) -> dict[str, Any]:
    """Newest first (by ``createTime``, then id), ``pageSize`` at most 100."""
    _check_location(location)
    filter_text = api.query("filter")
    expr = filtering.list_filter(filter_text, JOB_FILTER)
    size = page_size(api.query("pageSize"))
    rows = _listed(api, collection, location)
    token = api.query("pageToken")
    if token:
        rows = rows.filter(rows_after(token, filter_text))
    found: list[Job] = []
    for candidate in rows.filter(filtering.to_q(expr, JOB_COLUMNS)).iterator(chunk_size=200):
        if expr is None or listfilter.matches(expr, filter_view(candidate)):
            found.append(candidate)
            if len(found) > size:
                break
    page = found[:size]
    body: dict[str, Any] = {}
    if page:
        body[collection] = [_render(j) for j in page]
    if len(found) > size:
        body["nextPageToken"] = page_token(page[-1], filter_text)
    return body


@endpoint()
def jobs_get(api: ApiRequest, location: str, collection: str, job_id: str) -> dict[str, Any]:
    return _render(_job(api, location, collection, job_id))


@endpoint()
def jobs_optimal_trials(api: ApiRequest, location: str, collection: str, job_id: str
                        ) -> dict[str, Any]:
    """``:listOptimalTrials``: the tuning job's Pareto-optimal trials (of a single-metric job,
    its best ones), in the shape of Vertex's ``ListOptimalTrialsResponse`` (Vertex serves it
    for a Vizier study; hpdash for a tuning job, whose resource has no field for it)."""
    job = _job(api, location, collection, job_id)
    if collection != TUNING_JOBS:
        raise ApiError("INVALID_ARGUMENT", "listOptimalTrials is a hyperparameterTuningJobs "
                       "method: a CustomJob runs no trials to compare.")
    optimal = pareto_trial_ids(job)
    trials = list(job.trials.filter(trial_id__in=optimal).order_by("trial_id"))
    pks = [t.pk for t in trials]
    finals = final_values(spec=job.spec, trials=pks)
    steps = metric_steps(pks)
    return {"optimalTrials": [trial_resource(job, t, steps[t.pk], finals[t.pk])
                              for t in trials]} if trials else {}


@endpoint()
def jobs_cancel(api: ApiRequest, location: str, collection: str, job_id: str
                ) -> dict[str, Any]:
    """``:cancel`` answers Empty (not an operation); the job goes CANCELLING → CANCELLED."""
    if not api.has_perm("hpdash.cancel_job"):
        raise ApiError("PERMISSION_DENIED", "Cancelling jobs needs the 'hpdash.cancel_job' "
                       "permission.")
    job_cancel(job=_job(api, location, collection, job_id), by=api.user.get_username())
    return {}


@endpoint()
def jobs_delete(api: ApiRequest, location: str, collection: str, job_id: str
                ) -> dict[str, Any]:
    """A finished job is deleted at once: the Operation is ``done`` with an Empty
    ``response`` (the SDK raises on a done operation without one)."""
    if not api.has_perm("hpdash.delete_job"):
        raise ApiError("PERMISSION_DENIED", "Deleting jobs needs the 'hpdash.delete_job' "
                       "permission.")
    job = _job(api, location, collection, job_id)
    name = resource_name(job)
    job_delete(job=job)
    return {"name": f"{name}/operations/{secrets.randbelow(10**18)}", "done": True,
            "response": _EMPTY}

"""ml v1 ``projects.jobs``: each method a short view (parse, call a service or selector, render);
authentication and the error envelope come from :func:`hpdash.api.common.request.endpoint`."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from hpdash.api.common import filtering
from hpdash.api.common.errors import ApiError, error
from hpdash.api.common.pagination import page_size, page_token, rows_after
from hpdash.api.common.request import ApiRequest, endpoint
from hpdash.api.mlv1.serializers import JOB_COLUMNS, JOB_FILTER, job_details, job_resource
from hpdash.core import listfilter
from hpdash.core.spec import parse_job
from hpdash.models import Job
from hpdash.selectors.containers import container_machines
from hpdash.selectors.gpus import gpu_wait_reason
from hpdash.selectors.jobs import job_get, jobs_in_project
from hpdash.selectors.trial_failures import recent_failures
from hpdash.selectors.trial_logs import log_chunk
from hpdash.services.jobs import AlreadyExists, job_cancel, job_create, job_update_labels

_PATCHABLE = ("labels", "etag")


def _job(api: ApiRequest, job_id: str) -> Job:
    job = job_get(user=api.user, project=api.project, job_id=job_id)
    if job is None:
        raise ApiError("NOT_FOUND", f"Job 'projects/{api.project}/jobs/{job_id}' was not found.")
    return job


@endpoint(creates=True)
def jobs_create(api: ApiRequest) -> dict[str, Any]:
    spec = parse_job(api.json())
    try:
        job = job_create(project=api.project, spec=spec, owner=api.user)
    except AlreadyExists:
        msg = "A job with this id already exists."
        raise ApiError("ALREADY_EXISTS", f"Field: job.job_id Error: {msg}",
                       [("job.job_id", msg)]) from None
    return job_resource(job, [])


@endpoint()
def jobs_list(api: ApiRequest) -> dict[str, Any]:
    filter_text = api.query("filter")
    expr = filtering.list_filter(filter_text, JOB_FILTER)
    size = page_size(api.query("pageSize"))
    rows = jobs_in_project(user=api.user, project=api.project)
    token = api.query("pageToken")
    if token:
        rows = rows.filter(rows_after(token, filter_text))
    if expr is None:
        found = list(rows[:size + 1])
    else:
        # The database narrows the rows down; the filter itself decides, one row at a time
        # (no trials needed: nothing filterable is in trainingOutput).
        found = []
        for candidate in rows.filter(filtering.to_q(expr, JOB_COLUMNS)).iterator(chunk_size=200):
            if listfilter.matches(expr, job_resource(candidate, [])):
                found.append(candidate)
                if len(found) > size:
                    break
    page = found[:size]
    prefetch_related_objects(page, "trials")
    body: dict[str, Any] = {}
    if page:
        body["jobs"] = [job_resource(j, list(j.trials.all())) for j in page]
    if len(found) > size:
        body["nextPageToken"] = page_token(page[-1], filter_text)
    return body


@endpoint()
def jobs_get(api: ApiRequest, job_id: str) -> dict[str, Any]:
    return job_resource(_job(api, job_id))


@endpoint()
def jobs_cancel(api: ApiRequest, job_id: str) -> dict[str, Any]:
    if not api.has_perm("hpdash.cancel_job"):
        raise ApiError("PERMISSION_DENIED", "Cancelling jobs needs the 'hpdash.cancel_job' "
                       "permission.")
    job_cancel(job=_job(api, job_id), by=api.user.get_username())
    return {}


@endpoint()
def jobs_patch(api: ApiRequest, job_id: str) -> dict[str, Any]:
    """``jobs.patch``: replace the labels; with ``etag`` in ``updateMask``, only if the body's
    etag is the job's current one (Google's documented rule; an etag in the body without
    ``etag`` in the mask is ignored, as gcloud sends ``updateMask=labels``)."""
    if not api.has_perm("hpdash.change_job"):
        raise ApiError("PERMISSION_DENIED", "Changing labels needs the 'hpdash.change_job' "
                       "permission.")
    mask = [p.strip() for p in api.query("updateMask").split(",") if p.strip()]
    if not mask:
        raise ApiError("INVALID_ARGUMENT", "updateMask is required: only labels can be updated "
                       "(updateMask=labels, or labels,etag to check the etag).",
                       [("updateMask", "required; use labels or labels,etag")])
    unsupported = [p for p in mask if p not in _PATCHABLE]
    if unsupported or "labels" not in mask:
        what = (f"cannot update {', '.join(unsupported)}" if unsupported
                else "updates nothing without labels")
        raise ApiError("INVALID_ARGUMENT", f"updateMask {what}: the only supported update "
                       "masks are labels and etag.",
                       [("updateMask", f"{what}; use labels or labels,etag")])
    data = api.json_object("Job")
    etag = None
    if "etag" in mask:
        etag = data.get("etag")
        if not isinstance(etag, str) or not etag:
            raise ApiError("INVALID_ARGUMENT", "updateMask includes etag but the body has none.",
                           [("etag", "send the job's current etag (from jobs.get), or leave "
                                     "etag out of updateMask")])
    labels = data.get("labels")
    job = job_update_labels(job=_job(api, job_id), labels={} if labels is None else labels,
                            etag=etag)
    return job_resource(job)


@endpoint()
def jobs_details(api: ApiRequest, job_id: str) -> dict[str, Any]:
    """hpdash's one extension: ``GET …/jobs/JOB:hpdashDetails`` answers the ``Job`` exactly as
    ``jobs.get`` does, and what hpdash knows beyond it (why queued trials wait, each trial's
    GPUs, failed trials' reasons and last log lines).  The CLI's ``describe`` reads it;
    Google's clients never call it."""
    job = _job(api, job_id)
    trials = list(job.trials.order_by("trial_id"))
    return {"job": job_resource(job), **job_details(
        job, waiting=gpu_wait_reason(job), trials=trials,
        failures=recent_failures(job, trials))}


@endpoint()
def jobs_trial_log(api: ApiRequest, job_id: str) -> dict[str, Any]:
    """hpdash's log extension: ``GET …/jobs/JOB:hpdashTrialLog?trialId=N&offset=K`` answers
    ``{"trialId", "offset", "nextOffset", "size", "content"}``: the trial's log from byte
    ``offset`` (at most 1 MiB, whole lines), so that ``hpdash jobs stream-logs`` follows it
    for any user who may see the job, without reading the server's data dir."""
    job = _job(api, job_id)
    trial_id = _non_negative(api, "trialId", required=True)
    offset = _non_negative(api, "offset")
    if not job.trials.filter(trial_id=trial_id).exists():
        raise ApiError("NOT_FOUND", f"Job {job_id!r} has no trial {trial_id}.")
    data, next_offset, size = log_chunk(job, trial_id, offset)
    return {"trialId": str(trial_id), "offset": str(next_offset - len(data)),
            "nextOffset": str(next_offset), "size": str(size),
            "content": data.decode("utf-8", errors="replace")}


@endpoint()
def images_list(api: ApiRequest) -> dict[str, Any]:
    """hpdash's images extension: ``GET /v1/projects/P:hpdashImages`` answers, for each worker
    machine as it last reported, whether it runs containers (or why not), the registries it
    pulls from and the images it has (``hpdash images``).  Any member of the project may ask:
    a job there may name any of them."""
    return {"machines": container_machines()}


def _non_negative(api: ApiRequest, name: str, *, required: bool = False) -> int:
    raw = api.query(name)
    if not raw and not required:
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError("INVALID_ARGUMENT", f"{name} must be a non-negative integer.",
                       [(name, f"must be a non-negative integer, got {raw[:40]!r}")])
    return int(raw)


@csrf_exempt
def not_found(request: HttpRequest, **_: str) -> HttpResponse:
    return error("NOT_FOUND", f"No API method at /{request.path.lstrip('/')}.")

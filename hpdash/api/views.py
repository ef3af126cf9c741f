"""REST surface compatible with ml v1 ``projects.jobs`` (create, get, list, cancel, patch).

Errors use Google's envelope ``{"error": {"code", "message", "status", "details"}}``; every
call needs ``Authorization: Bearer <token>`` (see ``manage.py create_api_token``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hpdash.api import filtering
from hpdash.api.auth import user_from_request
from hpdash.api.errors import error, spec_error
from hpdash.api.pagination import page_after, page_token
from hpdash.api.serializers import job_details, job_resource
from hpdash.core import listfilter
from hpdash.core.spec import SpecError
from hpdash.core.spec.parse import PROJECT_PATTERN
from hpdash.models import Job
from hpdash.selectors import access
from hpdash.selectors.jobs import job_get, jobs_in_project
from hpdash.services.jobs import (
    AlreadyExists,
    EtagMismatch,
    FailedPrecondition,
    PermissionDenied,
    job_cancel,
    job_create,
    job_update_labels,
)

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_PATCHABLE = ("labels", "etag")


def _endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Authenticate, validate the project name, and turn any surprise into the envelope."""

    @csrf_exempt
    def wrapper(request: HttpRequest, project: str, **kwargs: Any) -> HttpResponse:
        user = user_from_request(request)
        if user is None:
            return error("UNAUTHENTICATED",
                         "Request is missing a valid API token: send 'Authorization: Bearer "
                         "<token>' (create one with 'manage.py create_api_token USER').")
        if not PROJECT_PATTERN.fullmatch(project):
            return error("INVALID_ARGUMENT", f"Invalid project name {project!r}.",
                         [("parent", "project names are letters, digits, '.', '_' and '-'")])
        request.user = user  # type: ignore[assignment]
        creating = request.method == "POST" and "job_id" not in kwargs
        if not creating and not access.can_view(user, project):
            return error("PERMISSION_DENIED", f"Permission denied on project {project!r}: you "
                         "are not a member (ask an administrator: Admin → Projects).")
        try:
            return view(request, project, **kwargs)
        except RequestDataTooBig:
            return error("INVALID_ARGUMENT", "Request body is larger than 1 MiB.")
        except Exception:
            log.exception("API error")
            return error("INTERNAL", "Internal error; see the server log.")

    return wrapper



def _get_job(request: HttpRequest, project: str, job_id: str) -> Job | None:
    return job_get(user=request.user, project=project, job_id=job_id)


def _not_found(project: str, job_id: str) -> JsonResponse:
    return error("NOT_FOUND", f"Job 'projects/{project}/jobs/{job_id}' was not found.")


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (``json`` would keep the last of two silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    """The request's JSON body, or the 400 to answer with."""
    try:
        return json.loads(request.body or b"{}", object_pairs_hook=_unique_keys), None
    except DuplicateKey as exc:
        return None, error("INVALID_ARGUMENT", f"Invalid JSON payload received. Duplicate key "
                           f"{exc.key!r}: each key may appear once in an object.",
                           [(exc.key, "appears more than once in the same object")])
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: 400
        return None, error("INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}",
                           [("job", "the request body is not valid JSON")])


@_endpoint
def jobs(request: HttpRequest, project: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, project)
    if request.method == "GET":
        return _list(request, project)
    return error("UNIMPLEMENTED", f"Method {request.method} is not supported here.")


def _create(request: HttpRequest, project: str) -> HttpResponse:
    data, bad = _json_body(request)
    if bad is not None:
        return bad
    try:
        job = job_create(project=project, data=data, owner=request.user)
    except PermissionDenied as exc:
        return error("PERMISSION_DENIED", f"Permission denied on project {project!r}: {exc}.")
    except SpecError as exc:
        return spec_error(exc)
    except AlreadyExists:
        msg = "A job with this id already exists."
        return error("ALREADY_EXISTS", f"Field: job.job_id Error: {msg}", [("job.job_id", msg)])
    return JsonResponse(job_resource(job, []))


def _list(request: HttpRequest, project: str) -> HttpResponse:
    filter_text = request.GET.get("filter", "")
    try:
        expr = listfilter.parse_filter(filter_text)
    except listfilter.FilterError as exc:
        return error("INVALID_ARGUMENT", f"Invalid filter: {exc}", [("filter", str(exc))])
    try:
        size = int(request.GET.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return error("INVALID_ARGUMENT", "pageSize must be an integer.",
                     [("pageSize", "must be an integer")])
    if size < 0:
        return error("INVALID_ARGUMENT", "pageSize must not be negative.",
                     [("pageSize", "must not be negative")])
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    rows = jobs_in_project(user=request.user, project=project)
    token = request.GET.get("pageToken", "")
    if token:
        after = page_after(token, filter_text)
        if after is None:
            return error("INVALID_ARGUMENT", "Invalid pageToken.", [(
                "pageToken", "not a nextPageToken of this list (with the same filter)")])
        rows = rows.filter(after)
    if expr is None:
        found = list(rows[:size + 1])
    else:
        # The database narrows the rows down; the filter itself decides, one row at a time
        # (no trials needed: nothing filterable is in trainingOutput).
        found = []
        for candidate in rows.filter(filtering.to_q(expr)).iterator(chunk_size=200):
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
    return JsonResponse(body)


@_endpoint
def job(request: HttpRequest, project: str, job_id: str, verb: str | None = None
        ) -> HttpResponse:
    if verb == ":cancel":
        if request.method != "POST":
            return error("UNIMPLEMENTED", "Use POST for :cancel.")
        if not request.user.has_perm("hpdash.cancel_job"):
            return error("PERMISSION_DENIED", "Cancelling jobs needs the 'hpdash.cancel_job' "
                         "permission.")
        job = _get_job(request, project, job_id)
        if job is None:
            return _not_found(project, job_id)
        try:
            job_cancel(job=job, by=request.user.get_username())
        except FailedPrecondition as exc:
            return error("FAILED_PRECONDITION", str(exc))
        return JsonResponse({})
    if verb == ":hpdashDetails":
        return _details(request, project, job_id)
    if verb:
        return error("NOT_FOUND", f"Unknown method {verb[1:]!r}.")
    if request.method == "PATCH":
        return _patch(request, project, job_id)
    if request.method != "GET":
        return error("UNIMPLEMENTED", f"Method {request.method} is not supported here.")
    job = _get_job(request, project, job_id)
    if job is None:
        return _not_found(project, job_id)
    # hpdash's extension: failed trials' reasons and log tails (the CLI's describe asks).
    failures = request.GET.get("hpdashFailures", "").lower() in ("true", "1")
    return JsonResponse(job_resource(job, failures=failures))


def _details(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    """``GET …/jobs/JOB:hpdashDetails``: what hpdash knows beyond the ml v1 Job resource (which
    stays exactly Google's): why queued trials wait, and each trial's GPUs.  The CLI's
    ``describe`` reads it; Google's clients never call it."""
    if request.method != "GET":
        return error("UNIMPLEMENTED", "Use GET for :hpdashDetails.")
    job = _get_job(request, project, job_id)
    if job is None:
        return _not_found(project, job_id)
    return JsonResponse(job_details(job))


def _patch(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    """``jobs.patch``: replace the labels; with ``etag`` in ``updateMask``, only if the body's
    etag is the job's current one (Google's documented rule; an etag in the body without
    ``etag`` in the mask is ignored, as gcloud sends ``updateMask=labels``)."""
    if not request.user.has_perm("hpdash.change_job"):
        return error("PERMISSION_DENIED", "Changing labels needs the 'hpdash.change_job' "
                     "permission.")
    mask = [p.strip() for p in request.GET.get("updateMask", "").split(",") if p.strip()]
    if not mask:
        return error("INVALID_ARGUMENT", "updateMask is required: only labels can be updated "
                     "(updateMask=labels, or labels,etag to check the etag).",
                     [("updateMask", "required; use labels or labels,etag")])
    unsupported = [p for p in mask if p not in _PATCHABLE]
    if unsupported or "labels" not in mask:
        what = (f"cannot update {', '.join(unsupported)}" if unsupported
                else "updates nothing without labels")
        return error("INVALID_ARGUMENT", f"updateMask {what}: the only supported update masks "
                     "are labels and etag.", [("updateMask", f"{what}; use labels or labels,etag")])
    data, bad = _json_body(request)
    if bad is not None:
        return bad
    if not isinstance(data, dict):
        return error("INVALID_ARGUMENT", "The request body must be a Job object.",
                     [("job", "must be a JSON object")])
    etag = None
    if "etag" in mask:
        etag = data.get("etag")
        if not isinstance(etag, str) or not etag:
            return error("INVALID_ARGUMENT", "updateMask includes etag but the body has none.",
                         [("etag", "send the job's current etag (from jobs.get), or leave etag "
                                   "out of updateMask")])
    job = _get_job(request, project, job_id)
    if job is None:
        return _not_found(project, job_id)
    labels = data.get("labels")
    try:
        job = job_update_labels(job=job, labels={} if labels is None else labels, etag=etag)
    except SpecError as exc:
        return spec_error(exc)
    except EtagMismatch as exc:
        return error("ABORTED", str(exc), [("etag", "does not match the job's current etag")])
    return JsonResponse(job_resource(job))


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error("NOT_FOUND", f"No API method at /{request.path.lstrip('/')}.")

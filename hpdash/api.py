"""REST surface compatible with ml v1 ``projects.jobs`` (create, get, list, cancel).

Errors use Google's envelope ``{"error": {"code", "message", "status", "details"}}``; every
call needs ``Authorization: Bearer <token>`` (see ``manage.py create_api_token``)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hpdash import services
from hpdash.auth import user_from_request
from hpdash.models import Job
from hpdash.resources import job_resource
from hpdash.spec import SpecError

log = logging.getLogger(__name__)

_HTTP = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
}
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def error(status: str, message: str, violations: list[tuple[str, str]] | None = None,
          ) -> JsonResponse:
    body: dict[str, Any] = {"code": _HTTP[status], "message": message, "status": status}
    if violations:
        body["details"] = [{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": f, "description": d} for f, d in violations],
        }]
    resp = JsonResponse({"error": body}, status=_HTTP[status])
    if status == "UNAUTHENTICATED":
        resp["WWW-Authenticate"] = 'Bearer realm="hpdash"'
    return resp


def _spec_error(exc: SpecError) -> JsonResponse:
    return error("INVALID_ARGUMENT", str(exc),
                 [(v.field, v.description) for v in exc.violations])


def _endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Authenticate, validate the project name, and turn any surprise into the envelope."""

    @csrf_exempt
    def wrapper(request: HttpRequest, project: str, **kwargs: Any) -> HttpResponse:
        user = user_from_request(request)
        if user is None:
            return error("UNAUTHENTICATED",
                         "Request is missing a valid API token: send 'Authorization: Bearer "
                         "<token>' (create one with 'manage.py create_api_token USER').")
        if not _PROJECT_RE.match(project):
            return error("INVALID_ARGUMENT", f"Invalid project name {project!r}.",
                         [("parent", "project names are letters, digits, '.', '_' and '-'")])
        request.user = user  # type: ignore[assignment]
        try:
            return view(request, project, **kwargs)
        except RequestDataTooBig:
            return error("INVALID_ARGUMENT", "Request body is larger than 1 MiB.")
        except Exception:  # noqa: BLE001 - the API never answers with a traceback
            log.exception("API error")
            return error("INTERNAL", "Internal error; see the server log.")

    return wrapper



def _get_job(project: str, job_id: str) -> Job | None:
    return Job.objects.filter(project=project, job_id=job_id).first()


def _not_found(project: str, job_id: str) -> JsonResponse:
    return error("NOT_FOUND", f"Job 'projects/{project}/jobs/{job_id}' was not found.")


@_endpoint
def jobs(request: HttpRequest, project: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, project)
    if request.method == "GET":
        return _list(request, project)
    return error("UNIMPLEMENTED", f"Method {request.method} is not supported here.")


def _create(request: HttpRequest, project: str) -> HttpResponse:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        return error("INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}",
                     [("job", "the request body is not valid JSON")])
    try:
        job = services.job_create(project, data, owner=request.user)
    except SpecError as exc:
        return _spec_error(exc)
    except services.AlreadyExists:
        msg = "A job with this id already exists."
        return error("ALREADY_EXISTS", f"Field: job.job_id Error: {msg}", [("job.job_id", msg)])
    return JsonResponse(job_resource(job, []))


def _page_offset(token: str) -> int | None:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith("o:") or not raw[2:].isdigit():
        return None
    return int(raw[2:])


def _list(request: HttpRequest, project: str) -> HttpResponse:
    if request.GET.get("filter"):
        return error("INVALID_ARGUMENT", "filter is not supported by this server version.",
                     [("filter", "not supported yet")])
    try:
        size = int(request.GET.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return error("INVALID_ARGUMENT", "pageSize must be an integer.",
                     [("pageSize", "must be an integer")])
    if size < 0:
        return error("INVALID_ARGUMENT", "pageSize must not be negative.",
                     [("pageSize", "must not be negative")])
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = _page_offset(request.GET.get("pageToken", ""))
    if offset is None:
        return error("INVALID_ARGUMENT", "Invalid pageToken.", [("pageToken", "invalid")])
    rows = list(Job.objects.filter(project=project)
                .prefetch_related("trials")[offset:offset + size + 1])
    body: dict[str, Any] = {}
    if rows[:size]:
        body["jobs"] = [job_resource(j, list(j.trials.all())) for j in rows[:size]]
    if len(rows) > size:
        body["nextPageToken"] = base64.urlsafe_b64encode(
            f"o:{offset + size}".encode()).decode().rstrip("=")
    return JsonResponse(body)


@_endpoint
def job(request: HttpRequest, project: str, job_id: str, verb: str | None = None
        ) -> HttpResponse:
    if verb == ":cancel":
        if request.method != "POST":
            return error("UNIMPLEMENTED", "Use POST for :cancel.")
        job = _get_job(project, job_id)
        if job is None:
            return _not_found(project, job_id)
        try:
            services.job_cancel(job, by=request.user.get_username())  # type: ignore[union-attr]
        except services.FailedPrecondition as exc:
            return error("FAILED_PRECONDITION", str(exc))
        return JsonResponse({})
    if verb:
        return error("NOT_FOUND", f"Unknown method {verb[1:]!r}.")
    if request.method != "GET":
        return error("UNIMPLEMENTED", f"Method {request.method} is not supported here.")
    job = _get_job(project, job_id)
    if job is None:
        return _not_found(project, job_id)
    return JsonResponse(job_resource(job))


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error("NOT_FOUND", f"No API method at /{request.path.lstrip('/')}.")

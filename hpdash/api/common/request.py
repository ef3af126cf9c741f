"""The typed API request and the one ``endpoint`` decorator every API view goes through.

A view takes an :class:`ApiRequest` (who asks, for which project, the HTTP request) and returns
a JSON-able dict or raises; :func:`endpoint` authenticates, checks the project, and maps every
exception to Google's envelope in one place (:func:`api_error_for`), as DRF's exception handler
does, instead of an ``except`` ladder in each view."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hpdash.api.common.auth import user_from_request
from hpdash.api.common.errors import ApiError, error, spec_error
from hpdash.core.spec import SpecError
from hpdash.core.spec.parse import PROJECT_PATTERN
from hpdash.selectors import access
from hpdash.services.jobs import EtagMismatch, FailedPrecondition, PermissionDenied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiRequest:
    http: HttpRequest
    user: AbstractBaseUser
    project: str

    def query(self, name: str, default: str = "") -> str:
        return self.http.GET.get(name, default)

    def has_perm(self, perm: str) -> bool:
        return bool(self.user.has_perm(perm))  # type: ignore[attr-defined]

    def json(self) -> Any:
        """The body as JSON; a duplicate key or text that is not JSON is INVALID_ARGUMENT."""
        try:
            return json.loads(self.http.body or b"{}", object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            raise ApiError("INVALID_ARGUMENT", f"Invalid JSON payload received. Duplicate key "
                           f"{exc.key!r}: each key may appear once in an object.",
                           [(exc.key, "appears more than once in the same object")]) from None
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: 400
            raise ApiError("INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}",
                           [("job", "the request body is not valid JSON")]) from None

    def json_object(self, what: str) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ApiError("INVALID_ARGUMENT", f"The request body must be a {what} object.",
                           [("job", "must be a JSON object")])
        return data


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (``json`` would keep the last of two silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def api_error_for(exc: Exception, project: str) -> ApiError | None:
    """The one exception mapping: what each exception a view or a service raises answers
    (None: an unexpected one, answered INTERNAL and logged)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PermissionDenied):  # before SpecError, which it also is
        return ApiError("PERMISSION_DENIED", f"Permission denied on project {project!r}: {exc}.")
    if isinstance(exc, SpecError):
        return spec_error(exc)
    if isinstance(exc, FailedPrecondition):
        return ApiError("FAILED_PRECONDITION", str(exc))
    if isinstance(exc, EtagMismatch):
        return ApiError("ABORTED", str(exc), [("etag", "does not match the job's current etag")])
    if isinstance(exc, RequestDataTooBig):
        return ApiError("INVALID_ARGUMENT", "Request body is larger than 1 MiB.")
    return None


View = Callable[..., dict[str, Any] | HttpResponse]
_ASK_FOR_CREDENTIALS = (
    "Request is missing a valid API token: send 'Authorization: Bearer <token>' (create one "
    "with 'manage.py create_api_token USER').")


def endpoint(*, creates: bool = False) -> Callable[[View], Callable[..., HttpResponse]]:
    """An API view.  ``creates``: the view creates in the project, whose membership the service
    checks (a project may not exist yet); otherwise the user must be able to see the project."""

    def decorate(view: View) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, project: str, **kwargs: Any) -> HttpResponse:
            user = user_from_request(request)
            if user is None:
                return error("UNAUTHENTICATED", _ASK_FOR_CREDENTIALS)
            if not PROJECT_PATTERN.fullmatch(project):
                return error("INVALID_ARGUMENT", f"Invalid project name {project!r}.", [
                    ("parent", "project names are letters, digits, '.', '_' and '-'")])
            request.user = user  # type: ignore[assignment]
            if not creates and not access.can_view(user, project):
                return error("PERMISSION_DENIED", f"Permission denied on project {project!r}: "
                             "you are not a member (ask an administrator: Admin → Projects).")
            try:
                result = view(ApiRequest(http=request, user=user, project=project), **kwargs)
            except Exception as exc:
                answer = api_error_for(exc, project)
                if answer is None:
                    log.exception("API error")
                    return error("INTERNAL", "Internal error; see the server log.")
                return answer.response()
            return result if isinstance(result, HttpResponse) else JsonResponse(result)

        return wrapper

    return decorate


def methods(**views: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """One URL's views by HTTP method (``methods(GET=jobs_list, POST=jobs_create)``); any other
    method is UNIMPLEMENTED, in the envelope (to an authenticated caller)."""

    @csrf_exempt
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        view = views.get(request.method or "")
        if view is None:
            if user_from_request(request) is None:
                return error("UNAUTHENTICATED", _ASK_FOR_CREDENTIALS)
            return error("UNIMPLEMENTED", f"Method {request.method} is not supported here; use "
                         f"{' or '.join(views)}.")
        return view(request, *args, **kwargs)

    return dispatch

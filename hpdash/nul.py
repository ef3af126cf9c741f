"""No URL path or query string holding a NUL character reaches a view: PostgreSQL refuses one
in a query (a 500 there), and no job name, project, filter or page parameter can hold one.
Such a request is answered 400, before the session, the login throttle (which records the
path) or any view reads it: in Google's error envelope under the APIs (naming the field, as
every other INVALID_ARGUMENT does), as Django's plain "Bad Request" page elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.views.defaults import bad_request

from hpdash.api.common.errors import error

NUL = "\x00"
# Where the API families live (hpdash/urls.py): every path under them answers in the envelope.
API_PREFIXES = ("/v1/", "/workers/v1/")


def nul_field(request: HttpRequest) -> str | None:
    """The name of the first URL part or query parameter holding a NUL character, or None."""
    if NUL in request.path_info:
        try:
            kwargs = resolve(request.path_info).kwargs
        except Resolver404:
            kwargs = {}
        return next((name for name, value in kwargs.items()
                     if isinstance(value, str) and NUL in value), "name")
    for key, values in request.GET.lists():
        if NUL in key:
            return "query"
        if any(NUL in value for value in values):
            return key
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        field = nul_field(request)
        if field is None:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIXES):
            return error("INVALID_ARGUMENT", f"{field} contains a NUL character.",
                         [(field, "must not contain NUL characters")])
        response: HttpResponse = bad_request(request, ValueError("NUL character"))
        return response

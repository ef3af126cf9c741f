"""The Content-Security-Policy header: django-csp's middleware, with the directives that
settings.HPDASH_CSP_PREFIX_REPLACE replaces on the pages under a URL prefix."""

from __future__ import annotations

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        for prefix, replace in settings.HPDASH_CSP_PREFIX_REPLACE.items():
            if request.path_info.startswith(prefix):
                parts.replace = {**replace, **(parts.replace or {})}  # a view's own wins
        return parts

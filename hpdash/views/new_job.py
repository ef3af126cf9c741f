"""The new-job form (being built)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse


@login_required
@permission_required("hpdash.add_job", raise_exception=True)
def job_new(request: HttpRequest) -> HttpResponse:
    return HttpResponse("not yet")

"""What every dashboard view shares."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from hpdash.models import Job
from hpdash.selectors.jobs import job_get


def job_or_404(request: HttpRequest, project: str, job_id: str) -> Job:
    """The job, if this user may see its project (else 404: nothing to see here)."""
    job = job_get(user=request.user, project=project, job_id=job_id)
    if job is None:
        raise Http404("no such job")
    return job

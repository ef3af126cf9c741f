"""What every dashboard view shares."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest

from hpdash.core.layout import DataLayout
from hpdash.models import Job, Trial
from hpdash.selectors.jobs import job_get
from hpdash.selectors.trials import trial_get


def job_or_404(request: HttpRequest, project: str, job_id: str) -> Job:
    """The job, if this user may see its project (else 404: nothing to see here)."""
    job = job_get(user=request.user, project=project, job_id=job_id)
    if job is None:
        raise Http404("no such job")
    return job


def trial_or_404(request: HttpRequest, project: str, job_id: str, trial_id: int
                 ) -> tuple[Job, Trial, Path]:
    """The trial of a job this user may see, and where its log is."""
    job = job_or_404(request, project, job_id)
    trial = trial_get(job=job, trial_id=trial_id)
    if trial is None:
        raise Http404("no such trial")
    log = DataLayout(Path(settings.DATA_DIR)).trial_log(job.project_id, job.job_id,
                                                       trial.trial_id)
    return job, trial, log

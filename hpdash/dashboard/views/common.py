"""What every dashboard view shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest

from hpdash.core.layout import DataLayout
from hpdash.dashboard import charts
from hpdash.models import Job, Trial
from hpdash.selectors.jobs import job_get
from hpdash.selectors.trials import job_curves, trial_get


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


def curves_by_metric(job: Job, trials: list[Trial], title: str
                     ) -> dict[str, Any] | list[dict[str, Any]]:
    """The curves of these trials: one figure, or, for a study with several metrics, a list
    of one per metric (``title: <tag>``, each on its own scale), which a page draws into
    ``chart-<key>-<i>``."""
    ids = [t.trial_id for t in trials]
    stopped = [t.trial_id for t in trials if t.is_stopped_early]
    metrics = job.spec.metrics
    if len(metrics) == 1:
        return charts.curves_figure(job_curves(job=job, trial_ids=ids), stopped, job.metric_tag,
                                    title=title)
    return [charts.curves_figure(job_curves(job=job, trial_ids=ids, metric=i), stopped, m.tag,
                                 title=f"{title}: {m.tag}")
            for i, m in enumerate(metrics)]

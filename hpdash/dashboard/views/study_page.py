"""The study page: a job with the jobs it resumes and that resume it, as one history."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hpdash.dashboard import charts, insight
from hpdash.dashboard.numbers import display_number, full_number
from hpdash.dashboard.views.common import job_or_404
from hpdash.selectors.study import study_jobs
from hpdash.selectors.trial_counts import trial_counts
from hpdash.selectors.trial_points import trial_points
from hpdash.selectors.trial_table import best_trials


@login_required
def job_study(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = job_or_404(request, project, job_id)
    jobs = study_jobs(job=job)
    groups = [(j.job_id, trial_points(j.trials.all())) for j in jobs]
    everything = [p for _, points in groups for p in points]
    weights = insight.importances(everything, job.spec, job.maximize)
    succeeded = sum(1 for p in everything if p.value is not None)
    figures = {"history": charts.study_history_figure(groups, job.maximize, job.metric_tag),
               "importance": insight.importance_figure(weights, succeeded),
               "edf": charts.edf_figure(groups, job.maximize, job.metric_tag)}
    rows = []
    for j, (_, points) in zip(jobs, groups, strict=True):
        best = best_trials(j).value
        rows.append({"job": j, "trials": len(points), "finished": trial_counts(j).finished,
                     "best": display_number(best), "best_full": full_number(best),
                     "current": j.pk == job.pk})
    return render(request, "hpdash/job_study.html", {
        "job": job, "rows": rows, "trials": len(everything),
        "figures": charts.as_text(figures)})

"""Job list, job page, trial page, compare, export and cancel."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from hpdash.core.layout import DataLayout
from hpdash.core.spec.space import format_value
from hpdash.core.states import ACTIVE_TRIAL_STATES, FINAL_TRIAL_STATES, JobState, TrialState
from hpdash.dashboard import charts, exports
from hpdash.models import Job, Trial
from hpdash.selectors import access
from hpdash.selectors.jobs import job_get
from hpdash.selectors.trial_table import TIE_RULE, best_trials, filtered_trials, parse_filter
from hpdash.services import jobs as job_services

PAGE_SIZE = 50
JOB_STATES = [s.value for s in JobState]
TRIAL_STATES = [s.value for s in TrialState]
LOG_TAIL_BYTES = 64 * 1024


def _job(request: HttpRequest, project: str, job_id: str) -> Job:
    """The job, if this user may see its project (else 404: nothing to see here)."""
    job = job_get(user=request.user, project=project, job_id=job_id)
    if job is None:
        raise Http404("no such job")
    return job


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = access.visible_jobs(request.user).select_related("owner").annotate(
        finished=Count("trials", filter=Q(trials__state__in=FINAL_TRIAL_STATES)),
        running=Count("trials", filter=Q(trials__state=TrialState.RUNNING)),
        best_max=Max("trials__final_value", filter=Q(trials__state=TrialState.SUCCEEDED)),
        best_min=Min("trials__final_value", filter=Q(trials__state=TrialState.SUCCEEDED)),
    ).order_by("-create_time", "-id")  # Meta.ordering is not applied to GROUP BY queries
    state = request.GET.get("state", "")
    if state in JOB_STATES:
        jobs = jobs.filter(state=state)
    search = request.GET.get("q", "").strip()
    if search:
        jobs = jobs.filter(job_id__icontains=search)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for j in page:
        a: Any = j  # annotated with finished, running, best_max, best_min
        rows.append({"job": j, "best": a.best_max if j.maximize else a.best_min,
                     "pct": min(100, round(100 * a.finished / j.max_trials))})
    live = any(not r["job"].is_terminal for r in rows)
    template = "hpdash/_job_rows.html" if request.GET.get("fragment") else "hpdash/job_list.html"
    return render(request, template, {"page": page, "rows": rows, "live": live, "state": state,
                                      "q": search, "states": JOB_STATES})


def _trial_rows(job: Job, trials: list[Trial], best: Any) -> list[dict[str, Any]]:
    params = job.spec.params
    # The trial page's URL and the id as text, built here: {% url %} and a localized int
    # per cell cost the 50-row table a third of its rendering time.
    base = reverse("trial-detail", args=(job.project_id, job.job_id, 0))[:-2]
    return [{
        "t": t,
        "id": str(t.trial_id),
        "url": f"{base}{t.trial_id}/",
        "params": [format_value(p, t.params[p.name]) if p.name in t.params else ""
                   for p in params],
        "is_best": t.trial_id in best.tied,
        "is_recommended": t.trial_id == best.recommended,
        "duration": getattr(t, "duration", None),
    } for t in trials]


@login_required
def job_detail(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = _job(request, project, job_id)
    spec = job.spec
    flt = parse_filter(request.GET, spec)
    trials_qs = filtered_trials(job, flt)
    page = Paginator(trials_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    best = best_trials(job)
    counts = dict(job.trials.values_list("state").annotate(n=Count("id")).values_list(
        "state", "n"))
    finished = sum(counts.get(s, 0) for s in FINAL_TRIAL_STATES)
    figures, n_slices = charts.job_figures_script(
        job, spec, q=flt.q, filter_key=tuple(sorted(flt.active.items())),
        best_ids=sorted(best.tied), recommended=best.recommended,
        settled_version=_settled_version(job, counts))
    context = {
        "job": job, "spec": spec, "page": page, "flt": flt, "best": best, "tie_rule": TIE_RULE,
        "rows": _trial_rows(job, list(page), best), "counts": counts, "finished": finished,
        "running": counts.get(TrialState.RUNNING, 0),
        "pct": min(100, round(100 * finished / job.max_trials)) if job.max_trials else 0,
        "figures_script": figures, "slice_charts": [f"chart-slices-{i}" for i in range(n_slices)],
        "states": TRIAL_STATES, "live": not job.is_terminal,
        "spec_json": json.dumps(job.training_input, indent=2),
        "matched": page.paginator.count, "filter_keys": _filter_keys(spec),
        "can_cancel": request.user.has_perm("hpdash.cancel_job") and not job.is_terminal,
    }
    template = "hpdash/_job_live.html" if request.GET.get("fragment") else "hpdash/job_detail.html"
    return render(request, template, context)


def _settled_version(job: Job, counts: dict[str, int]) -> tuple[Any, ...] | None:
    """None while the job's trials may change, else a value that changes whenever they do: a
    finished job with no queued or running trial is settled, and the last write to any of its
    trials (a start, a measurement, a heartbeat, an end) moves a heartbeat or an end time."""
    if not job.is_terminal or any(counts.get(s) for s in ACTIVE_TRIAL_STATES):
        return None
    marks = job.trials.aggregate(heartbeat=Max("heartbeat_time"), end=Max("end_time"))
    return (job.state, job.update_time, tuple(sorted(counts.items())), marks["heartbeat"],
            marks["end"])


def _filter_keys(spec: Any) -> list[dict[str, Any]]:
    return [{"name": p.name, "categorical": p.type == "CATEGORICAL",
             "choices": list(p.categorical_values)} for p in spec.params]


@login_required
@require_POST
@permission_required("hpdash.cancel_job", raise_exception=True)
def job_cancel(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = _job(request, project, job_id)
    try:
        job_services.job_cancel(job=job, by=request.user.get_username())
        messages.success(request, f"Cancelling {job.job_id}: its running trials are being "
                                  "stopped.")
    except job_services.FailedPrecondition as exc:
        messages.warning(request, str(exc))
    return redirect("job-detail", project=project, job_id=job_id)


def _selected_ids(request: HttpRequest) -> list[int]:
    raw = request.GET.getlist("trials") or request.GET.get("trials", "").split(",")
    ids = []
    for chunk in raw:
        for part in chunk.split(","):
            if part.strip().isdigit():
                ids.append(int(part))
    return sorted(set(ids))[:20]


@login_required
def job_compare(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = _job(request, project, job_id)
    ids = _selected_ids(request)
    trials = list(job.trials.filter(trial_id__in=ids).order_by("trial_id"))
    if len(trials) < 2:
        messages.warning(request, "Select at least two trials to compare.")
        return redirect("job-detail", project=project, job_id=job_id)
    spec = job.spec
    rows = []
    for p in spec.params:
        values = [format_value(p, t.params[p.name]) for t in trials]
        rows.append({"name": p.name, "values": values, "differs": len(set(values)) > 1})
    curves = charts.gather_curves(job.trials.all(), [t.trial_id for t in trials])
    figure = charts.curves_figure(curves, [t.trial_id for t in trials if t.is_stopped_early],
                                  job.metric_tag, title="Learning curves, overlaid")
    return render(request, "hpdash/job_compare.html", {
        "job": job, "trials": trials, "rows": rows, "figures": {"compare": figure}})


@login_required
def job_export(request: HttpRequest, project: str, job_id: str, fmt: str) -> HttpResponse:
    job = _job(request, project, job_id)
    if fmt not in exports.FORMATS:
        raise Http404("export as trials.csv or trials.json")
    flt = parse_filter(request.GET, job.spec)
    if flt.errors:
        return HttpResponseBadRequest("; ".join(f"{k}: {v}" for k, v in flt.errors.items()))
    return exports.trials_export(job, filtered_trials(job, flt), fmt)


@login_required
def trial_detail(request: HttpRequest, project: str, job_id: str, trial_id: int
                 ) -> HttpResponse:
    job = _job(request, project, job_id)
    trial = get_object_or_404(job.trials, trial_id=trial_id)
    spec = job.spec
    params = [(p.name, format_value(p, trial.params[p.name])) for p in spec.params
              if p.name in trial.params]
    curves = charts.gather_curves(job.trials.all(), [trial.trial_id])
    figure = charts.curves_figure(curves, [trial.trial_id] if trial.is_stopped_early else [],
                                  job.metric_tag, title="Measurements")
    path = DataLayout(settings.DATA_DIR).trial_log(job.project_id, job.job_id, trial.trial_id)
    tail, truncated = "", False
    if path.exists():
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size > LOG_TAIL_BYTES:
                f.seek(size - LOG_TAIL_BYTES)
                truncated = True
            tail = f.read().decode("utf-8", errors="replace")
    n_measurements = trial.measurements.count()
    return render(request, "hpdash/trial_detail.html", {
        "job": job, "trial": trial, "params": params, "figures": {"measurements": figure},
        "log_tail": tail, "log_truncated": truncated, "has_log": path.exists(),
        "n_measurements": n_measurements, "live": trial.state in ACTIVE_TRIAL_STATES,
    })


@login_required
def trial_log(request: HttpRequest, project: str, job_id: str, trial_id: int
              ) -> FileResponse:
    job = _job(request, project, job_id)
    trial = get_object_or_404(job.trials, trial_id=trial_id)
    path = DataLayout(settings.DATA_DIR).trial_log(job.project_id, job.job_id, trial.trial_id)
    if not path.exists():
        raise Http404("this trial has no log yet")
    return FileResponse(open(path, "rb"), as_attachment=True,
                        filename=f"{job.job_id}-trial-{trial.trial_id}.log",
                        content_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Content-Length": str(os.path.getsize(path))})

"""Job list, compare, export, cancel and the log download; the job page and the trial page
live in ``job_page`` and ``trial_page`` (re-exported here, where the URLs name them)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hpdash.core.spec import SpecError
from hpdash.core.spec.space import format_value
from hpdash.core.states import JobState, TrialState
from hpdash.dashboard import charts, exports
from hpdash.dashboard.numbers import display_number, display_param, full_number
from hpdash.dashboard.trial_table import parse_filter
from hpdash.dashboard.views.common import curves_by_metric, job_or_404, trial_or_404
from hpdash.dashboard.views.job_page import job_detail
from hpdash.dashboard.views.trial_page import trial_detail
from hpdash.selectors.jobs import jobs_overview
from hpdash.selectors.objectives import final_values
from hpdash.selectors.trial_counts import trial_counts
from hpdash.selectors.trial_logs import open_log
from hpdash.selectors.trial_table import filtered_trials
from hpdash.selectors.trials import trials_by_id
from hpdash.services import jobs as job_services
from hpdash.services import notes as note_services

__all__ = ["job_cancel", "job_compare", "job_detail", "job_export", "job_list", "trial_detail",
           "trial_log"]  # job_detail and trial_detail live in their own modules

PAGE_SIZE = 50
JOB_STATES = [s.value for s in JobState]


_job = job_or_404  # the short name the views below use


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    search = request.GET.get("q", "").strip()
    label_text = request.GET.get("label", "").strip()
    label = parse_label_filter(label_text)
    if label_text and label is None:
        messages.error(request, f"Label filter {label_text!r}: give a label key, or key=value "
                                "(keys and values are lower-case letters, digits, '_' and '-').")
    jobs = jobs_overview(user=request.user, state=state if state in JOB_STATES else "",
                         search=search, label=label)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for j in page:
        counts = trial_counts(j)
        rows.append({"job": j, "counts": counts, "best": getattr(j, "best_value", None),
                     "pct": counts.progress_pct(j.max_trials)})
    live = any(not j.is_terminal for j in page)
    template = "hpdash/_job_rows.html" if request.GET.get("fragment") else "hpdash/job_list.html"
    return render(request, template, {"page": page, "rows": rows, "live": live, "state": state,
                                      "q": search, "label": label_text if label else "",
                                      "states": JOB_STATES})


_LABEL_FILTER = re.compile(r"([a-z][a-z0-9_-]{0,62})(?:=([a-z0-9_-]{0,63}))?")


def parse_label_filter(text: str) -> tuple[str, str | None] | None:
    """``team`` → ``("team", None)``, ``team=vision`` → ``("team", "vision")``; None for ""
    or text that is no label (Google's label rules)."""
    m = _LABEL_FILTER.fullmatch(text)
    return (m.group(1), m.group(2)) if m else None


@login_required
@require_POST
@permission_required("hpdash.change_job", raise_exception=True)
def job_note(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = _job(request, project, job_id)
    _save_note(request, lambda text: note_services.job_note_set(job=job, text=text))
    return redirect("job-detail", project=project, job_id=job_id)


@login_required
@require_POST
@permission_required("hpdash.change_job", raise_exception=True)
def trial_note(request: HttpRequest, project: str, job_id: str, trial_id: int) -> HttpResponse:
    _, trial, _ = trial_or_404(request, project, job_id, trial_id)
    _save_note(request, lambda text: note_services.trial_note_set(trial=trial, text=text))
    return redirect("trial-detail", project=project, job_id=job_id, trial_id=trial_id)


def _save_note(request: HttpRequest, save: Callable[[str], object]) -> None:
    """Saves the posted note; one the service refuses (too long) is said on the page the
    view returns to, and the note stays as it was."""
    try:
        save(request.POST.get("note", ""))
    except SpecError as exc:
        messages.error(request, exc.violations[0].description)


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
    trials = trials_by_id(job=job, trial_ids=_selected_ids(request))
    if len(trials) < 2:
        messages.warning(request, "Select at least two trials to compare.")
        return redirect("job-detail", project=project, job_id=job_id)
    spec = job.spec
    rows = []
    for p in spec.params:
        # what the trainer got ("" for an inactive conditional parameter: nothing)
        values = [format_value(p, t.params[p.name]) if p.name in t.params else ""
                  for t in trials]
        shown = [display_param(p, t.params[p.name]) if p.name in t.params else ""
                 for t in trials]
        rows.append({"name": p.name, "values": list(zip(shown, values, strict=True)),
                     "differs": len(set(values)) > 1})
    finals = final_values(spec=spec, trials=[t.pk for t in trials])
    metric_rows = []
    for j, m in enumerate(spec.metrics):
        cells = []
        for t in trials:  # a final value once the trial succeeded
            v = finals[t.pk][j] if t.state == TrialState.SUCCEEDED and t.pk in finals else None
            cells.append(("", "") if v is None else (display_number(v), full_number(v)))
        metric_rows.append({"tag": m.tag, "values": cells})
    figure = curves_by_metric(job, trials, "Learning curves, overlaid")
    return render(request, "hpdash/job_compare.html", {
        "job": job, "trials": trials, "rows": rows, "metric_rows": metric_rows,
        "metric_charts": range(len(spec.metrics)) if spec.multi_objective else (),
        "figures": charts.as_text({"compare": figure})})


@login_required
def job_export(request: HttpRequest, project: str, job_id: str, fmt: str) -> HttpResponse:
    job = _job(request, project, job_id)
    if fmt not in exports.FORMATS:
        raise Http404("export as trials.csv or trials.json")
    flt = parse_filter(request.GET, job.spec)
    if flt.errors:
        return HttpResponseBadRequest("; ".join(f"{k}: {v}" for k, v in flt.errors.items()))
    return exports.trials_export(job, filtered_trials(job, flt.where, flt.order, flt.metric),
                                 fmt)


@login_required
def trial_log(request: HttpRequest, project: str, job_id: str, trial_id: int
              ) -> FileResponse:
    job, trial, path = trial_or_404(request, project, job_id, trial_id)
    try:  # never through a link under jobs/: such a log reads as missing
        log = open_log(path)
    except OSError:
        raise Http404("this trial has no log yet") from None
    return FileResponse(log, as_attachment=True,
                        filename=f"{job.job_id}-trial-{trial.trial_id}.log",
                        content_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Content-Length": str(os.fstat(log.fileno()).st_size)})

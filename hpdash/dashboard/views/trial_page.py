"""The trial page, and its live update (``?format=live&offset=N``): while the trial runs the
page polls a small JSON delta with the log's new bytes since ``offset`` (the page follows
the tail), the latest metric and the measurements chart when it changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from hpdash.core.states import ACTIVE_TRIAL_STATES, TrialState
from hpdash.dashboard import charts
from hpdash.dashboard.numbers import display_number, display_param, full_number
from hpdash.dashboard.views.common import curves_by_metric, trial_or_404
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import final_values
from hpdash.selectors.trial_failures import log_tail_lines
from hpdash.selectors.trial_logs import open_log
from hpdash.selectors.trials import trial_measurements_so_far

LOG_TAIL_BYTES = 64 * 1024


@login_required
def trial_detail(request: HttpRequest, project: str, job_id: str, trial_id: int
                 ) -> HttpResponse:
    job, trial, path = trial_or_404(request, project, job_id, trial_id)
    if request.GET.get("format") == "live":
        return _live_json(request, job, trial, path)
    tail, offset, truncated = _read_log(path, None)
    context = _summary_context(job, trial, path)
    spec = job.spec
    context.update({
        "params": [(p.name, display_param(p, trial.params[p.name]), repr(trial.params[p.name]))
                   for p in spec.params if p.name in trial.params],
        "figures": charts.as_text({"measurements": _figure(job, trial)}), "log_tail": tail,
        "metric_charts": range(len(spec.metrics)) if spec.multi_objective else (),
        "log_offset": offset, "log_truncated": truncated, "has_log": path.exists(),
        "note_url": reverse("trial-note", args=[job.project_id, job.job_id, trial.trial_id]),
    })
    return render(request, "hpdash/trial_detail.html", context)


def _figure(job: Job, trial: Trial) -> dict[str, Any] | list[dict[str, Any]]:
    return curves_by_metric(job, [trial], "Measurements")


def _summary_context(job: Job, trial: Trial, path: Path) -> dict[str, Any]:
    so_far = trial_measurements_so_far(trial=trial)
    latest = so_far.latest
    failed = trial.state == TrialState.FAILED
    return {
        "job": job, "trial": trial, "live": trial.state in ACTIVE_TRIAL_STATES,
        "n_measurements": so_far.reported,
        "value": display_number(trial.final_value), "value_full": full_number(trial.final_value),
        "latest": None if latest is None else {"step": latest[0], "value": display_number(
            latest[1]), "full": full_number(latest[1])},
        "stderr_tail": log_tail_lines(path) if failed else "",
        "more_metrics": _more_metrics(job, trial),
    }


def _more_metrics(job: Job, trial: Trial) -> list[dict[str, str]]:
    """A multi-objective study's other metrics at the trial's final step (final once it
    succeeded, latest meanwhile; "" if not reported yet)."""
    spec = job.spec
    if not spec.multi_objective:
        return []
    values = final_values(spec=spec, trials=[trial.pk]).get(trial.pk, ())
    return [{"tag": m.tag, "value": display_number(v), "full": full_number(v)}
            for m, v in zip(spec.more_metrics, values[1:], strict=False)]


def _read_log(path: Path, offset: int | None) -> tuple[str, int, bool]:
    """The log from ``offset`` (None: its last 64 KiB) to its end, the new end offset, and
    whether the start was cut off (at most 64 KiB per answer, the newest)."""
    try:
        with open_log(path) as f:
            size = f.seek(0, 2)
            start = size - LOG_TAIL_BYTES if offset is None else offset
            start = max(0, min(start, size), size - LOG_TAIL_BYTES)
            f.seek(start)
            return f.read().decode("utf-8", errors="replace"), size, start > (offset or 0)
    except OSError:
        return "", 0, False


def _live_json(request: HttpRequest, job: Job, trial: Trial, path: Path) -> JsonResponse:
    raw = request.GET.get("offset", "")
    text, offset, cut = _read_log(path, int(raw) if raw.isdigit() else 0)
    context = _summary_context(job, trial, path)
    count = request.GET.get("measurements", "")
    return JsonResponse({
        "state": trial.state, "live": context["live"], "log": text, "offset": offset,
        "log_cut": cut,
        "summary": render_to_string("hpdash/_trial_summary.html", context, request),
        "figure": (_figure(job, trial) if count != str(context["n_measurements"]) else None),
        "measurements": context["n_measurements"],
    })

"""The job page, and its live update: ``?format=live`` (a small JSON delta the page polls
every 3 s while the job runs), ``?format=figures`` (the charts' data, fetched only when
the trials behind them changed) and ``?format=contour&x=<param>&y=<param>`` (the contour of
two parameters the user picked)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.states import JobState, TrialState
from hpdash.dashboard import figures, insight
from hpdash.dashboard.numbers import display_duration, display_number, display_param, full_number
from hpdash.dashboard.trial_table import TableQuery, parse_filter
from hpdash.dashboard.views.common import job_or_404
from hpdash.models import Job, Trial
from hpdash.selectors.gpus import gpu_wait_reason
from hpdash.selectors.objectives import final_values, pareto_trial_ids
from hpdash.selectors.study import jobs_resuming
from hpdash.selectors.trial_counts import TrialCounts, trial_counts
from hpdash.selectors.trial_failures import failure_tails
from hpdash.selectors.trial_table import TIE_RULE, Best, best_trials, filtered_trials
from hpdash.selectors.trials import stopping_savings, trials_changed_at

PAGE_SIZE = 50
TRIAL_STATES = [s.value for s in TrialState]


@login_required
def job_detail(request: HttpRequest, project: str, job_id: str) -> HttpResponse:
    job = job_or_404(request, project, job_id)
    spec = job.spec
    flt = parse_filter(request.GET, spec)
    fmt = request.GET.get("format", "")
    if fmt == "figures":
        return HttpResponse(_figures(job, spec, flt, trial_counts(job))[0],
                            content_type="application/json")
    if fmt == "contour":
        return HttpResponse(figures.contour_json(job, spec, flt.where, request.GET.get("x", ""),
                                                 request.GET.get("y", ""), flt.metric),
                            content_type="application/json")
    context = _live_context(request, job, spec, flt)
    if fmt == "live":
        return _live_json(request, context)
    figures_text, n_slices = _figures(job, spec, flt, context["counts"])
    context.update({
        "spec": spec, "tie_rule": TIE_RULE, "states": TRIAL_STATES, "filter_keys": _filter_keys(
            spec),
        "figures_json": figures_text,
        "slice_charts": [f"chart-slices-{i}" for i in range(n_slices)],
        "param_names": [p.name for p in spec.params], "importance_method": insight.METHOD,
        "metric_filters": [{"tag": m.tag, **{op: (f"metric.{m.tag}__{op}",
                                                  flt.given.get(f"metric.{m.tag}__{op}", ""))
                                             for op in ("gte", "lte")}}
                           for m in spec.more_metrics],
        "metric_links": _metric_links(spec, flt),
        "spec_json": json.dumps(job.request, indent=2),
        "may_cancel": request.user.has_perm("hpdash.cancel_job"),
        "note_url": reverse("job-note", args=[job.project_id, job.job_id]),
    })
    return render(request, "hpdash/job_detail.html", context)


def _live_context(request: HttpRequest, job: Job, spec: HyperparameterSpec, flt: TableQuery
                  ) -> dict[str, Any]:
    """What the live parts of the page show: the summary and this page of the table."""
    page = Paginator(filtered_trials(job, flt.where, flt.order, flt.metric), PAGE_SIZE).get_page(
        request.GET.get("page"))
    best = best_trials(job, flt.metric)
    counts = trial_counts(job)
    savings = stopping_savings(job=job) if job.spec.enable_early_stopping else None
    return {
        "job": job, "flt": flt, "page": page, "best": best, "counts": counts,
        "shown_metric": spec.metrics[flt.metric],
        "finished": counts.finished, "running": counts.running,
        "pct": counts.progress_pct(job.max_trials),
        "best_display": display_number(best.value), "best_full": full_number(best.value),
        "rows": _trial_rows(job, spec, list(page), best), "matched": page.paginator.count,
        "page_links": _page_links(page), "tie_rule": TIE_RULE, "live": not job.is_terminal,
        "can_cancel": request.user.has_perm("hpdash.cancel_job") and _cancellable(job),
        "figures_version": _figures_version(job, counts),
        "columns": _columns(job, spec, flt), "page_query": _query(flt, "page") + "page=",
        "live_query": _query(flt),
        "gpus": job.definition.gpus.describe(),
        "resumed_by": jobs_resuming(job=job),
        "savings": savings, "saved_time": display_duration(savings.seconds_saved) if savings
        else "",
        "gpu_waiting": "" if job.is_terminal else gpu_wait_reason(job),
    }


def _query(flt: TableQuery, drop: str = "") -> str:
    """The page's query string (filters and sort), ready for one more ``key=value``."""
    text = flt.querystring(**({drop: ""} if drop else {}))
    return f"{text}&" if text else ""


def _metric_links(spec: HyperparameterSpec, flt: TableQuery) -> list[dict[str, Any]]:
    """A multi-objective study's metric picker: a link per metric (``?metric=<tag>``, the
    filters and sort kept), the shown one marked.  None for a single-metric job."""
    if not spec.multi_objective:
        return []
    return [{"tag": m.tag, "goal": m.goal.lower(), "current": j == flt.metric,
             "query": flt.querystring(metric=m.tag)} for j, m in enumerate(spec.metrics)]


def _columns(job: Job, spec: HyperparameterSpec, flt: TableQuery) -> list[dict[str, str]]:
    """The sortable columns' headers: a click sorts by the column, a second click reverses;
    the metric sorts best first on the first click whatever the goal.  The metric column that
    sorts is the one shown (``?metric=``); a multi-objective study's others do not (the table
    is paged in the database, by one metric)."""
    current = flt.sort or "-metric"
    cols = [("trial", "Trial", ""), *(("metric" if j == flt.metric else "", m.tag, "num")
                                      for j, m in enumerate(spec.metrics)),
            ("step", "Step", "num"), *((f"param.{p.name}", p.name, "num") for p in spec.params),
            ("duration", "Wall time", "num")]
    out = []
    for key, label, cls in cols:
        if not key:
            out.append({"key": "", "label": label, "cls": cls, "arrow": "", "aria": "",
                        "query": ""})
            continue
        first = f"-{key}" if key == "metric" else key
        following = key if current == f"-{key}" else f"-{key}" if current == key else first
        arrow = "▼" if current == f"-{key}" else "▲" if current == key else ""
        out.append({"key": key, "label": label, "cls": cls, "arrow": arrow,
                    "aria": "descending" if arrow == "▼" else "ascending",
                    "query": flt.querystring(sort=following)})
    return out


def _cancellable(job: Job) -> bool:
    return not job.is_terminal and job.state != JobState.CANCELLING


def _live_json(request: HttpRequest, context: dict[str, Any]) -> JsonResponse:
    """The delta: unchanged → just the version; else the summary and the table (this page's
    rows, already rendered), the state for the badge and the Cancel button, and the figures'
    version (the page fetches ``?format=figures`` when it moves)."""
    summary = render_to_string("hpdash/_job_summary.html", context, request)
    table = render_to_string("hpdash/_trial_table.html", context, request)
    job = context["job"]
    version = hashlib.sha1(  # noqa: S324 - a change detector, not a secret
        "\0".join((summary, table, context["figures_version"],
                   str(context["can_cancel"]))).encode()).hexdigest()[:16]
    if request.GET.get("since") == version:
        return JsonResponse({"version": version, "changed": False})
    return JsonResponse({
        "version": version, "changed": True, "state": job.state, "live": context["live"],
        "can_cancel": context["can_cancel"], "summary": summary, "table": table,
        "figures_version": context["figures_version"],
    })


def _figures_version(job: Job, counts: TrialCounts) -> str:
    """Moves whenever a figure could: a trial starts, reports, ends (its heartbeat or end
    time moves), or the job's state changes."""
    raw = repr((job.state, sorted(counts.by_state.items()), *trials_changed_at(job=job)))
    return hashlib.sha1(raw.encode()).hexdigest()[:16]  # noqa: S324 - not a secret


def _figures(job: Job, spec: HyperparameterSpec, flt: TableQuery, counts: TrialCounts
             ) -> tuple[str, int]:
    best = best_trials(job, flt.metric)
    return figures.job_figures_json(
        job, spec, where=flt.where, active=flt.active,
        best_ids=sorted(best.tied), recommended=best.recommended,
        settled_version=_settled_version(job, counts), metric=flt.metric)


def _settled_version(job: Job, counts: TrialCounts) -> tuple[Any, ...] | None:
    """None while the job's trials may change, else a value that changes whenever they do: a
    finished job with no queued or running trial is settled, and the last write to any of its
    trials (a start, a measurement, a heartbeat, an end) moves a heartbeat or an end time."""
    if not job.is_terminal or counts.active:
        return None
    return (job.state, job.update_time, tuple(sorted(counts.by_state.items())),
            *trials_changed_at(job=job))


def _trial_rows(job: Job, spec: HyperparameterSpec, trials: list[Trial], best: Best
                ) -> list[dict[str, Any]]:
    params = spec.params
    tails = failure_tails(job, [t.trial_id for t in trials if t.state == TrialState.FAILED])
    # The trial page's URL and the id as text, built here: {% url %} and a localized int
    # per cell cost the 50-row table a third of its rendering time.
    base = reverse("trial-detail", args=(job.project_id, job.job_id, 0))[:-2]
    multi = spec.multi_objective
    finals = final_values(spec=spec, trials=[t.pk for t in trials]) if multi else {}
    front = pareto_trial_ids(job) if multi else frozenset()
    return [{
        "t": t,
        "id": str(t.trial_id),
        "url": f"{base}{t.trial_id}/",
        "value": display_number(t.final_value), "value_full": full_number(t.final_value),
        "params": [(display_param(p, t.params[p.name]), repr(t.params[p.name]))
                   if p.name in t.params else ("", "") for p in params],
        # A multi-objective study has no one best trial: its Pareto-optimal ones are marked.
        "is_best": t.trial_id in best.tied and not multi,
        "is_recommended": t.trial_id == best.recommended and not multi,
        "is_pareto": t.trial_id in front,
        "more": [(display_number(v), full_number(v))
                 for v in finals.get(t.pk, (None,) * len(spec.metrics))[1:]],
        "duration": getattr(t, "duration", None),
        "stderr_tail": tails.get(t.trial_id, ""),
    } for t in trials]


def _page_links(page: Page[Trial]) -> list[int | None]:
    """Page numbers to link: the first two, the last two and two each side of the current
    one; None marks a gap (shown as …)."""
    n, cur = page.paginator.num_pages, page.number
    wanted = sorted({1, 2, n - 1, n, *range(cur - 2, cur + 3)} & set(range(1, n + 1)))
    out: list[int | None] = []
    prev = 0
    for i in wanted:
        if i - prev > 1:
            out.append(None)
        out.append(i)
        prev = i
    return out


def _filter_keys(spec: HyperparameterSpec) -> list[dict[str, Any]]:
    return [{"name": p.name, "categorical": p.type == "CATEGORICAL",
             "choices": list(p.categorical_values)} for p in spec.params]

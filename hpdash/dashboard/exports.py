"""The job page's downloads: its (filtered) trials as ``trials.csv`` or ``trials.json``.

``trials.json`` holds each trial as the API shows it, plus ``allMetrics``: every measurement
the trial reported, in step order, as ml v1 ``HyperparameterMetric`` objects
(``{"trainingStep": "16", "objectiveValue": 0.93}``), and the notes people wrote on the job and
its trials (``note``, when there is one).  The CSV holds one row per trial with its final
metric (a multi-objective study: every metric, a column each; the JSON has them in
``finalMetrics``, by tag) and its note.  Both follow the page's filters and sort, the metric sort
by the metric the page shows (``?metric=``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse

# The JSON download promises each trial as the API shows it: the one place that shape lives.
from hpdash.api.mlv1.serializers import metric_resource, trial_resource
from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import final_values
from hpdash.selectors.trials import trial_curves, trial_rows

FORMATS = ("csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run: text that starts like a formula (``= + - @``, tab,
    CR) gets a leading ``'``, as OWASP advises; numbers, negative ones too, stay numbers."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def _note(text: str) -> dict[str, str]:
    return {"note": text} if text else {}


def trials_export(job: Job, trials: QuerySet[Trial], fmt: str) -> HttpResponse:
    rows = trial_rows(trials)
    spec = job.spec
    tags = [m.tag for m in spec.metrics]
    # A multi-objective study's other metrics (final values, SUCCEEDED trials only).
    more = final_values(spec=spec, trials=[r.pk for r in rows]) if spec.multi_objective else {}

    def others(t: Any) -> list[float | None]:
        values = more.get(t.pk, ()) if t.state == TrialState.SUCCEEDED else ()
        return [values[j] if j < len(values) else None for j in range(1, len(tags))]

    if fmt == "json":
        curves = trial_curves(r.pk for r in rows)
        resp: HttpResponse = JsonResponse({"jobId": job.job_id, **_note(job.note), "trials": [
            {**trial_resource(job, r),
             "allMetrics": [metric_resource(step, value) for step, value in curves[r.pk]],
             **({"finalMetrics": {tag: v for tag, v in zip(
                 tags, (r.final_value, *others(r)), strict=True) if v is not None}}
                if spec.multi_objective and r.state == TrialState.SUCCEEDED else {}),
             **_note(r.note)}
            for r in rows]})
    else:
        out = io.StringIO()
        names = [p.name for p in spec.params]
        w = csv.writer(out)
        w.writerow([csv_cell(c) for c in ("trialId", "state", *tags, "step", *names,
                                           "stoppedEarly", "startTime", "endTime", "failure",
                                           "note")])
        for t in rows:
            r = trial_resource(job, t)
            fm = r.get("finalMetric", {})
            w.writerow([csv_cell(c) for c in (
                t.trial_id, t.state, fm.get("objectiveValue", ""),
                *("" if v is None else v for v in others(t)), fm.get("trainingStep", ""),
                *(r["hyperparameters"].get(n, "") for n in names), t.is_stopped_early,
                r.get("startTime", ""), r.get("endTime", ""), t.failure_reason, t.note)])
        resp = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{job.job_id}-trials.{fmt}"'
    return resp

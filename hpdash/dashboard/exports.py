"""The job page's downloads: its (filtered) trials as ``trials.csv`` or ``trials.json``.

``trials.json`` holds each trial as the API shows it, plus ``allMetrics``: every measurement
the trial reported, in step order, as ml v1 ``HyperparameterMetric`` objects
(``{"trainingStep": "16", "objectiveValue": 0.93}``), and the notes people wrote on the job and
its trials (``note``, when there is one).  The CSV holds one row per trial with its final
metric and its note.
"""

from __future__ import annotations

import csv
import io

from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse

# The JSON download promises each trial as the API shows it: the one place that shape lives.
from hpdash.api.mlv1.serializers import metric_resource, trial_resource
from hpdash.models import Job, Trial
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
    if fmt == "json":
        curves = trial_curves(r.pk for r in rows)
        resp: HttpResponse = JsonResponse({"jobId": job.job_id, **_note(job.note), "trials": [
            {**trial_resource(job, r),
             "allMetrics": [metric_resource(step, value) for step, value in curves[r.pk]],
             **_note(r.note)}
            for r in rows]})
    else:
        out = io.StringIO()
        names = [p.name for p in job.spec.params]
        w = csv.writer(out)
        w.writerow([csv_cell(c) for c in ("trialId", "state", job.metric_tag, "step", *names,
                                           "stoppedEarly", "startTime", "endTime", "failure",
                                           "note")])
        for t in rows:
            r = trial_resource(job, t)
            fm = r.get("finalMetric", {})
            w.writerow([csv_cell(c) for c in (
                t.trial_id, t.state, fm.get("objectiveValue", ""), fm.get("trainingStep", ""),
                *(r["hyperparameters"].get(n, "") for n in names), t.is_stopped_early,
                r.get("startTime", ""), r.get("endTime", ""), t.failure_reason, t.note)])
        resp = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{job.job_id}-trials.{fmt}"'
    return resp

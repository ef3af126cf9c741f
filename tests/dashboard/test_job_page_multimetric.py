"""The job page of a study with several metrics: a column per metric, and the Pareto-optimal
trials marked (no single "best" trial)."""

from __future__ import annotations

import json
import re

from hpdash.core.pareto import pareto_optimal
from hpdash.core.states import TrialState
from hpdash.models import Measurement

PAGE = "/projects/demo/jobs/demo/"


def test_each_metric_has_a_column_and_the_pareto_trials_are_marked(client, staff,
                                                                    two_metric_job):
    client.force_login(staff)
    html = client.get(PAGE).content.decode()
    assert re.search(r"<th[^>]*>latency_ms</th>", html)
    done = list(two_metric_job.trials.filter(state=TrialState.SUCCEEDED))
    latency = {m.trial.trial_id: m.value
               for m in Measurement.objects.filter(trial__in=done, metric=1)}
    points = [(t.final_value, latency[t.trial_id]) for t in done]
    flags = pareto_optimal(points, [two_metric_job.maximize, False])
    optimal = {t.trial_id for t, ok in zip(done, flags, strict=True) if ok}
    assert 1 < len(optimal) < len(done)
    rows = re.findall(r'<tr class="trial-row([^"]*)" data-trial="(\d+)">(.*?)</tr>', html, re.S)
    marked = {int(tid) for cls, tid, _ in rows if "is-pareto" in cls}
    assert marked == optimal
    assert all("is-best" not in cls and ">best<" not in body for cls, _, body in rows)
    shown = dict((int(tid), body) for _, tid, body in rows)
    some = next(iter(optimal))
    assert f'title="{latency[some]!r}"' in shown[some] or str(latency[some]) in shown[some]


def test_the_pareto_chart_plots_every_trial_and_highlights_the_front(client, staff,
                                                                     two_metric_job, seeded):
    client.force_login(staff)
    figures = json.loads(client.get(PAGE, {"format": "figures"}).content)
    dominated, front = figures["pareto"]["data"]
    optimal = {int(t) for t in front["text"]}
    done = two_metric_job.trials.filter(state=TrialState.SUCCEEDED)
    assert optimal | {int(t) for t in dominated["text"]} == {t.trial_id for t in done}
    table = client.get(PAGE).content.decode()
    marked = {int(tid) for cls, tid in re.findall(
        r'<tr class="trial-row([^"]*)" data-trial="(\d+)"', table) if "is-pareto" in cls}
    assert optimal == marked and 'id="chart-pareto"' in table
    # staircase order: along the first metric
    assert front["x"] == sorted(front["x"])
    seeded(5, job_id="single")
    single = json.loads(client.get("/projects/demo/jobs/single/", {"format": "figures"}).content)
    assert "pareto" not in single


def test_the_table_and_charts_filter_by_every_metric(client, staff, two_metric_job):
    client.force_login(staff)
    done = list(two_metric_job.trials.filter(state=TrialState.SUCCEEDED))
    latency = {m.trial.trial_id: m.value
               for m in Measurement.objects.filter(trial__in=done, metric=1)}
    cut = sorted(latency.values())[len(latency) // 2]
    html = client.get(PAGE, {"metric.latency_ms__lte": str(cut)}).content.decode()
    shown = {int(t) for t in re.findall(r'<tr class="trial-row[^"]*" data-trial="(\d+)"', html)}
    assert shown == {tid for tid, v in latency.items() if v <= cut}
    assert 'name="metric.latency_ms__lte" size="8" value="' + str(cut) in html
    figures = json.loads(client.get(PAGE, {"format": "figures",
                                           "metric.latency_ms__gte": str(cut)}).content)
    plotted = {int(t) for trace in figures["pareto"]["data"] for t in trace["text"]}
    assert plotted == {tid for tid, v in latency.items() if v >= cut}
    bad = client.get(PAGE, {"metric.nope__gte": "1", "metric.latency_ms__gte": "x"})
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "no other metric" in text and "is not a number" in text


def test_a_trial_page_shows_every_metric(client, staff, two_metric_job):
    client.force_login(staff)
    trial = two_metric_job.trials.filter(state=TrialState.SUCCEEDED).first()
    latency = Measurement.objects.get(trial=trial, metric=1, step=trial.final_step).value
    html = client.get(f"{PAGE}trials/{trial.trial_id}/").content.decode()
    assert re.search(r"<dt>latency_ms</dt><dd class=\"trial-more-metric\"><span title=\""
                     + re.escape(repr(latency)), html), html[:2000]

"""A multi-objective study's job page shows one metric at a time in its single-metric charts,
best trial and table sort: the first by default, another with ``?metric=<tag>``, each with its
own goal (the ``two_metric_job`` fixture: accuracy maximised, latency_ms minimised)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re

from hpdash.core.states import TrialState
from hpdash.dashboard import figures
from hpdash.models import Measurement
from hpdash.selectors.trial_table import TrialFilter, TrialSort, best_trials, filtered_trials

PAGE = "/projects/demo/jobs/demo/"


def _finals(job) -> dict[int, tuple[float, float]]:
    """trial id -> (accuracy, latency_ms) of the SUCCEEDED trials."""
    out = {}
    for t in job.trials.filter(state=TrialState.SUCCEEDED):
        latency = Measurement.objects.get(trial=t, metric=1, step=t.final_step).value
        out[t.trial_id] = (t.final_value, latency)
    return out


def _argbest(finals: dict[int, tuple[float, float]], j: int, maximize: bool) -> int:
    pick = max if maximize else min
    return pick(finals, key=lambda tid: finals[tid][j])


def test_each_metric_has_its_own_best_trial_in_its_own_goals_direction(two_metric_job):
    finals = _finals(two_metric_job)
    most_accurate, fastest = _argbest(finals, 0, True), _argbest(finals, 1, False)
    assert most_accurate != fastest  # latency grows with accuracy
    assert best_trials(two_metric_job).recommended == most_accurate
    best = best_trials(two_metric_job, 1)
    assert best.recommended == fastest and best.value == finals[fastest][1]
    ranked = list(filtered_trials(two_metric_job, TrialFilter(), TrialSort(), 1)
                  .values_list("trial_id", flat=True))
    assert ranked[: len(finals)] == sorted(finals, key=lambda tid: (finals[tid][1], tid))
    worst_first = filtered_trials(two_metric_job, TrialFilter(),
                                  TrialSort(descending=False), 1).first()
    assert worst_first is not None and worst_first.trial_id == _argbest(finals, 1, True)


def test_the_single_metric_figures_follow_the_chosen_metric_and_its_goal(two_metric_job):
    job, spec = two_metric_job, two_metric_job.spec
    finals = _finals(job)
    for metric, maximize in ((0, True), (1, False)):
        best = best_trials(job, metric)
        out = figures.job_figures(job, spec, TrialFilter(), best.tied, best.recommended,
                                  metric=metric)
        tag = spec.metrics[metric].tag
        history = out["history"]
        assert history["layout"]["yaxis"]["title"]["text"] == tag
        best_so_far = history["data"][1]["y"]
        # the running best only improves, in the metric's own direction, to the best value
        steps = list(itertools.pairwise(best_so_far))
        assert all((b >= a) if maximize else (b <= a) for a, b in steps)
        assert best_so_far[-1] == finals[_argbest(finals, metric, maximize)][metric]
        assert out["curves"]["layout"]["yaxis"]["title"]["text"] == tag
        widest = [t["name"] for t in out["curves"]["data"] if t["line"]["width"] == 3]
        assert widest == [f"trial {best.recommended}"]
        assert out["parallel"]["layout"]["meta"]["brush"][-1]["key"] == (
            "metric" if metric == 0 else "metric.latency_ms")
        assert out["slices"][0]["layout"]["yaxis"]["title"]["text"] == tag
    latency_curves = figures.job_figures(job, spec, TrialFilter(), (), None, metric=1)["curves"]
    assert min(v for t in latency_curves["data"] for v in t["y"]) >= 50  # latency, not accuracy


def test_the_page_shows_the_picked_metric_and_keeps_filters_and_sort(client, staff,
                                                                      two_metric_job):
    client.force_login(staff)
    finals = _finals(two_metric_job)
    fastest = _argbest(finals, 1, False)
    html = client.get(PAGE, {"metric": "latency_ms", "state": "SUCCEEDED",
                             "sort": "-metric"}).content.decode()
    assert "Best latency_ms (minimize)" in html
    assert re.search(r"<dd id=\"best-value\"><span title=\"[^\"]*\">[^<]*</span> · trial "
                     rf"<a href=\"[^\"]*\">{fastest}</a>", html)
    found = re.search(r'<nav[^>]*id="metric-picker".*?</nav>', html, re.S)
    assert found, "no metric picker"
    picker = found.group(0)
    links = dict((tag, href) for href, tag in re.findall(
        r'<a class="btn[^"]*" href="\?([^"]*)" data-metric="([^"]+)"', picker))
    assert set(links) == {"accuracy", "latency_ms"}
    for tag, href in links.items():
        assert "state=SUCCEEDED" in href and "sort=-metric" in href and f"metric={tag}" in href
    assert re.search(r'data-metric="latency_ms" aria-current="true"', picker)
    # the table: best latency first, the latency column is the one that sorts
    rows = re.findall(r'<tr class="trial-row[^"]*" data-trial="(\d+)"', html)
    assert int(rows[0]) == fastest
    sortable = re.findall(r'data-sort="metric"[^>]*>([^<▼▲]+)', html)
    assert [s.strip() for s in sortable] == ["latency_ms"]
    assert 'name="metric" value="latency_ms"' in html  # the filter form keeps it
    # the charts' data, fetched by the page with the same query
    assert 'data-figures-url="?state=SUCCEEDED&amp;sort=-metric&amp;metric=latency_ms&amp;' \
           'format=figures"' in html
    data = json.loads(client.get(PAGE, {"metric": "latency_ms", "format": "figures"}).content)
    assert data["history"]["layout"]["yaxis"]["title"]["text"] == "latency_ms"
    contour = json.loads(client.get(PAGE, {"metric": "latency_ms", "format": "contour",
                                           "x": "learning_rate", "y": "dropout"}).content)
    assert "latency_ms" in json.dumps(contour["contour"]["data"][0].get("colorbar", {}))


def test_an_unknown_metric_is_named_on_the_page_and_the_first_is_shown(client, staff,
                                                                        two_metric_job):
    client.force_login(staff)
    response = client.get(PAGE, {"metric": "<b>nope</b>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<b>nope</b>" not in html
    assert re.search(r'id="metric-error">this job has no metric &#x27;&lt;b&gt;nope&lt;/b&gt;'
                     r"&#x27; \(its metrics: accuracy, latency_ms\); showing accuracy<", html)
    assert "Best accuracy (maximize)" in html
    export = client.get(PAGE + "trials.csv", {"metric": "nope"})
    assert export.status_code == 400 and b"metric: this job has no metric" in export.content


def test_the_exports_carry_every_metric_sorted_by_the_picked_one(client, staff, two_metric_job):
    client.force_login(staff)
    finals = _finals(two_metric_job)
    text = client.get(PAGE + "trials.csv", {"metric": "latency_ms",
                                            "state": "SUCCEEDED"}).content.decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["trialId"]) for r in table] == sorted(finals, key=lambda t: (finals[t][1], t))
    assert all(float(r["latency_ms"]) == finals[int(r["trialId"])][1] for r in table)
    assert all(float(r["accuracy"]) == finals[int(r["trialId"])][0] for r in table)
    data = json.loads(client.get(PAGE + "trials.json", {"metric": "latency_ms",
                                                        "state": "SUCCEEDED"}).content)
    first = data["trials"][0]
    assert int(first["trialId"]) == _argbest(finals, 1, False)
    assert first["finalMetrics"] == dict(zip(("accuracy", "latency_ms"),
                                             finals[int(first["trialId"])], strict=True))


def test_a_single_metric_job_has_no_picker(client, staff, seeded):
    seeded(4)
    client.force_login(staff)
    html = client.get(PAGE).content.decode()
    assert 'id="metric-picker"' not in html and "Best accuracy (maximize)" in html
    header = next(csv.reader(io.StringIO(client.get(PAGE + "trials.csv").content.decode())))
    assert header[:4] == ["trialId", "state", "accuracy", "step"]


def test_the_history_rings_the_pareto_optimal_trials_whichever_metric_is_shown(two_metric_job,
                                                                              seeded):
    from hpdash.selectors.objectives import pareto_trial_ids

    job, spec = two_metric_job, two_metric_job.spec
    front = pareto_trial_ids(job)
    finals = _finals(job)
    assert 1 < len(front) < len(finals)
    for metric in (0, 1):
        history = figures.job_figures(job, spec, TrialFilter(), (), None,
                                      metric=metric)["history"]
        ringed = next(t for t in history["data"] if t["name"] == "Pareto-optimal")
        assert set(ringed["x"]) == front
        assert ringed["y"] == [finals[tid][metric] for tid in ringed["x"]]
    single = seeded(5, job_id="single")
    history = figures.job_figures(single, single.spec, TrialFilter(), (), None)["history"]
    assert [t["name"] for t in history["data"]] == ["trial", "best so far"]


def test_compare_shows_every_metric_and_overlays_each_metrics_curves(client, staff,
                                                                     two_metric_job):
    from hpdash.dashboard.numbers import display_number
    from hpdash.selectors.objectives import final_values

    client.force_login(staff)
    html = client.get(PAGE + "compare?trials=1&trials=2").content.decode()
    trials = [two_metric_job.trials.get(trial_id=i) for i in (1, 2)]
    finals = final_values(spec=two_metric_job.spec, trials=[t.pk for t in trials])
    for t in trials:
        latency = finals[t.pk][1]
        assert f'<span title="{latency!r}">{display_number(latency)}</span>' in html
    assert '<th>latency_ms</th>' in html and 'id="chart-compare-1"' in html
    found = re.search(r'<script id="figures" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found is not None
    figures = json.loads(found.group(1))["compare"]
    assert [f["layout"]["yaxis"]["title"]["text"] for f in figures] == ["accuracy",
                                                                         "latency_ms"]

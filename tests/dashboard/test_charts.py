"""The chart builders: pure functions from plain values to Plotly figure dicts."""

from __future__ import annotations

import json

import pytest

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.dashboard import charts
from hpdash.selectors.trial_points import Point

SPEC = HyperparameterSpec(params=(
    ParameterSpec("lr", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("units", "INTEGER", 8, 256),
    ParameterSpec("opt", "CATEGORICAL", categorical_values=("adam", "sgd")),
))


def pts(n: int, **kw) -> list[Point]:
    return [Point(i, kw.get("state", "SUCCEEDED"), (i * 37 % 101) / 100, 10,
                  {"lr": 10 ** -(i % 4), "units": 8 + i % 200, "opt": ("adam", "sgd")[i % 2]},
                  i % 5 == 0) for i in range(1, n + 1)]


def test_best_so_far_steps_follow_the_goal_and_extend_to_the_last_trial():
    p = [Point(1, "SUCCEEDED", 0.5, 1, {}, False), Point(2, "SUCCEEDED", 0.3, 1, {}, False),
         Point(3, "SUCCEEDED", 0.7, 1, {}, False), Point(4, "FAILED", None, None, {}, False)]
    assert charts.best_so_far(p, maximize=True) == ([1, 3, 4], [0.5, 0.7, 0.7])
    assert charts.best_so_far(p, maximize=False) == ([1, 2, 4], [0.5, 0.3, 0.3])


def test_history_keeps_every_improvement_and_the_best_when_it_samples():
    points = pts(10_000)
    fig = charts.history_figure(points, True, "acc", best_ids=[42])
    trials = fig["data"][0]
    assert len(trials["x"]) <= charts.MAX_POINTS
    bx, _ = charts.best_so_far(points, True)
    assert set(bx[:-1]) <= set(trials["x"]) and 42 in trials["x"]
    assert "2000 shown" in fig["layout"]["title"]["text"]
    assert len(json.dumps(fig)) < 200_000  # small whatever the job's size


def test_parallel_coordinates_map_categories_and_label_log_axes_in_real_units():
    fig = charts.parallel_figure(pts(20), SPEC, True, "acc")
    dims = {d["label"]: d for d in fig["data"][0]["dimensions"]}
    assert set(dims) == {"lr (log scale)", "units", "opt", "acc"}
    assert dims["opt"]["ticktext"] == ["adam", "sgd"] and set(dims["opt"]["values"]) == {0, 1}
    lr = dims["lr (log scale)"]
    assert all(-4 <= v <= 0 for v in lr["values"])
    assert all(not t.startswith("-") for t in lr["ticktext"])  # 0.001, not -3
    assert [float(t) for t in lr["ticktext"]] == pytest.approx([10 ** v for v in lr["tickvals"]])


def test_log_ticks_are_labelled_in_real_units():
    assert charts.log_ticks(-3, -2)["ticktext"] == ["0.001", "0.002", "0.005", "0.01"]
    # Wider ranges: powers of ten only, so the labels never crowd.
    assert charts.log_ticks(-4, -0.5)["ticktext"] == ["0.0001", "0.001", "0.01", "0.1"]
    assert len(charts.parallel_figure(pts(5000), SPEC, True, "acc")["data"][0]["line"][
        "color"]) == charts.MAX_LINES


def test_slices_put_log_params_on_a_log_axis_and_categories_on_a_category_axis():
    figs = charts.slice_figures(pts(30), SPEC, True, "acc")
    assert [f["layout"]["xaxis"].get("type") for f in figs] == ["log", None, "category"]


def test_curves_mark_stopped_trials_and_downsample_long_curves():
    curves = {1: [(s, s / 1000) for s in range(1000)], 2: [(1, 0.1), (2, 0.2)], 3: []}
    fig = charts.curves_figure(curves, stopped=[2], metric="acc", best=[1])
    by_name = {d["name"]: d for d in fig["data"]}
    assert set(by_name) == {"trial 1", "trial 2 (stopped early)"}
    assert len(by_name["trial 1"]["x"]) <= charts.MAX_CURVE_POINTS + 1
    assert by_name["trial 1"]["x"][-1] == 999  # the last point survives downsampling
    assert by_name["trial 2 (stopped early)"]["line"]["dash"] == "dot"
    assert by_name["trial 2 (stopped early)"]["marker"]["symbol"][-1] == "x"


def test_curve_selection_prefers_requested_best_and_running_trials():
    points = pts(100)
    points[50] = Point(51, "RUNNING", None, 3, points[50].params, False)
    ids = charts.curve_trial_ids(points, True, extra=[77])
    assert ids[0] == 77 and 51 in ids and len(ids) == charts.MAX_CURVES


def test_sampling_is_reproducible_and_keeps_order():
    items = list(range(1000))
    a = charts.sample(items, 100, keep=[999])
    assert a == charts.sample(items, 100, keep=[999]) and a == sorted(a) and 999 in a
    assert len(a) == 100


def test_user_strings_reach_plotly_as_text_never_as_html():
    """Plotly renders <a>, <b> and <br> in labels and hover text: a categorical value or a
    metric tag like '<a href=...>' must show as those characters, not become a link."""
    link = '<a href="http://evil.example">click</a>'
    hover = "trial %{x}<br>" + charts.plain(link) + "<extra></extra>"
    figure = {"data": [{"type": "scatter", "x": [1], "y": [2], "text": [link],
                        "hovertemplate": hover}],
              "layout": {"xaxis": {"ticktext": [link, "plain"]}}}
    out = json.loads(charts.figures_json({"f": figure}))["f"]
    assert out["data"][0]["text"] == ["&lt;a href=\"http://evil.example\"&gt;click&lt;/a&gt;"]
    assert out["layout"]["xaxis"]["ticktext"][1] == "plain"
    template = out["data"][0]["hovertemplate"]
    assert template.startswith("trial %{x}<br>") and "<a " not in template


def test_the_timeline_draws_each_started_trial_as_a_bar_coloured_by_its_state():
    import datetime as dt

    from hpdash.dashboard.charts import timeline_figure
    from hpdash.selectors.trial_points import Span

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    spans = [Span(1, "SUCCEEDED", t0, t0 + dt.timedelta(seconds=30), False),
             Span(2, "SUCCEEDED", t0, t0 + dt.timedelta(seconds=10), True),
             Span(3, "RUNNING", t0 + dt.timedelta(seconds=10), None, False)]
    fig = timeline_figure(spans, now=t0 + dt.timedelta(seconds=50))
    by_name = {trace["name"]: trace for trace in fig["data"]}
    assert set(by_name) == {"succeeded", "running"}
    assert by_name["succeeded"]["y"] == [1, 2]
    assert by_name["succeeded"]["x"] == [30_000, 10_000]
    assert by_name["succeeded"]["marker"]["pattern"]["shape"] == ["", "/"]  # stopped early
    assert by_name["running"]["x"] == [40_000]  # until now
    assert by_name["running"]["base"] == [(t0 + dt.timedelta(seconds=10)).isoformat()]
    assert fig["layout"]["xaxis"]["type"] == "date"
    empty = timeline_figure([], now=t0)
    assert empty["data"] == [] and "No trial has started yet" in str(empty["layout"])


def test_the_timeline_of_10000_trials_draws_500_bars_and_every_running_one():
    import datetime as dt

    from hpdash.dashboard.charts import MAX_BARS, timeline_figure
    from hpdash.selectors.trial_points import Span

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    spans = [Span(i, "SUCCEEDED", t0 + dt.timedelta(seconds=i), t0 + dt.timedelta(seconds=i + 9),
                  False) for i in range(1, 9_991)]
    spans += [Span(i, "RUNNING", t0 + dt.timedelta(seconds=i), None, False)
              for i in range(9_991, 10_001)]
    fig = timeline_figure(spans, now=t0 + dt.timedelta(seconds=10_010))
    assert MAX_BARS == 500 and sum(len(trace["y"]) for trace in fig["data"]) == 500
    running = next(trace for trace in fig["data"] if trace["name"] == "running")
    assert running["y"] == list(range(9_991, 10_001))
    assert "(10000 trials, 500 shown;" in fig["layout"]["title"]["text"]

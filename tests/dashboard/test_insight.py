"""Parameter importance, the contour of two parameters and brushing's filter ranges."""

from __future__ import annotations

import json
import math
import random

import pytest

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.dashboard import charts, insight
from hpdash.selectors.trial_points import Point

SPEC = HyperparameterSpec(goal="MAXIMIZE", metric_tag="acc", max_trials=100, params=(
    ParameterSpec(name="lr", type="DOUBLE", min_value=1e-4, max_value=1.0,
                  scale_type="UNIT_LOG_SCALE"),
    ParameterSpec(name="noise", type="DOUBLE", min_value=0.0, max_value=1.0),
    ParameterSpec(name="opt", type="CATEGORICAL", categorical_values=("adam", "sgd")),
))


def points(n: int) -> list[Point]:
    rng = random.Random(1)
    out = []
    for i in range(1, n + 1):
        lr = 10 ** rng.uniform(-4, 0)
        params = {"lr": lr, "noise": rng.random(), "opt": rng.choice(["adam", "sgd"])}
        value = -abs(math.log10(lr) + 2) + rng.gauss(0, 0.01)
        out.append(Point(i, "SUCCEEDED", value, 10, params, False))
    return out


def test_importance_sums_to_one_and_finds_the_parameter_that_matters():
    weights = insight.importances(points(200), SPEC, True)
    assert weights is not None and sum(weights.values()) == pytest.approx(1)
    assert max(weights, key=lambda name: weights[name]) == "lr" and weights["lr"] > 0.8
    fig = insight.importance_figure(weights, 200)
    assert fig["data"][0]["y"][-1] == "lr"  # the bar on top
    assert "random forest" in fig["layout"]["title"]["text"]


def test_importance_needs_a_few_trials_and_says_so():
    assert insight.importances(points(3), SPEC, True) is None
    fig = insight.importance_figure(None, 3)
    assert "at least 5" in fig["layout"]["annotations"][0]["text"]


def test_the_contour_interpolates_on_a_grid_with_log_axes_in_real_units():
    fig = insight.contour_figure(points(100), SPEC, True, "acc", x_name="lr", y_name="opt")
    contour, dots = fig["data"]
    assert contour["type"] == "contour" and len(contour["z"]) == insight.GRID
    assert len(dots["x"]) == 100
    assert "0.001" in fig["layout"]["xaxis"]["ticktext"]
    assert fig["layout"]["yaxis"]["ticktext"] == ["adam", "sgd"]
    assert insight.default_pair(SPEC, {"lr": 0.7, "noise": 0.1, "opt": 0.2}) == ("lr", "opt")


def test_the_contour_surface_reaches_the_trials_at_the_edges_of_the_range():
    fig = insight.contour_figure(points(60), SPEC, True, "acc", x_name="lr", y_name="noise")
    contour, dots = fig["data"]
    assert min(contour["x"]) <= min(dots["x"]) and max(dots["x"]) <= max(contour["x"])
    assert min(contour["y"]) <= min(dots["y"]) and max(dots["y"]) <= max(contour["y"])


def test_the_parallel_plot_shows_the_filter_as_brushes_and_names_each_axis_filter():
    fig = charts.parallel_figure(points(50), SPEC, True, "acc", {
        "param.lr__gte": "0.001", "param.lr__lte": "0.1", "param.opt": "sgd",
        "metric__gte": "-1"})
    dims = {d["label"]: d for d in fig["data"][0]["dimensions"]}
    assert dims["lr (log scale)"]["constraintrange"] == pytest.approx([-3, -1])
    assert dims["opt"]["constraintrange"] == [0.75, 1.25]
    assert dims["acc"]["constraintrange"][0] == -1
    assert [b["key"] for b in fig["layout"]["meta"]["brush"]] == [
        "param.lr", "param.noise", "param.opt", "metric"]


@pytest.mark.django_db
def test_the_job_page_carries_importance_and_a_contour_of_any_two_parameters(client, staff,
                                                                            seeded):
    seeded(40)
    client.force_login(staff)
    page = "/projects/demo/jobs/demo/"
    html = client.get(page).content.decode()
    assert 'id="chart-importance"' in html and "mean decrease in impurity" in html
    figures = json.loads(client.get(page, {"format": "figures"}).content)
    assert figures["importance"]["data"][0]["type"] == "bar"
    contour = json.loads(client.get(page, {"format": "contour", "x": "dropout",
                                           "y": "hidden_units"}).content)["contour"]
    assert contour["layout"]["meta"] == {"x": "dropout", "y": "hidden_units"}


def test_importance_counts_trials_without_their_inactive_conditional_parameters():
    spec = HyperparameterSpec(goal="MAXIMIZE", metric_tag="acc", max_trials=100, params=(
        ParameterSpec(name="opt", type="CATEGORICAL", categorical_values=("adam", "sgd")),
        ParameterSpec(name="momentum", type="DOUBLE", min_value=0.0, max_value=1.0,
                      parent="opt", parent_values=("sgd",)),
        ParameterSpec(name="beta", type="INTEGER", min_value=1, max_value=9,
                      parent="opt", parent_values=("adam",)),
        ParameterSpec(name="noise", type="DOUBLE", min_value=0.0, max_value=1.0),
    ))
    rng = random.Random(2)
    pts = []
    for i in range(1, 41):
        params: dict[str, object] = {"opt": "adam" if i % 2 else "sgd", "noise": rng.random()}
        value = 0.5 + rng.gauss(0, 0.001)
        if params["opt"] == "adam":
            params["beta"] = rng.randint(1, 9)
        else:
            momentum = rng.random()
            params["momentum"] = momentum
            value = momentum  # only sgd's momentum matters
        pts.append(Point(i, "SUCCEEDED", value, 10, params, False))
    weights = insight.importances(pts, spec, True)
    assert weights is not None  # no trial has every parameter: none is left out
    assert max(weights, key=lambda name: weights[name]) == "momentum"
    assert weights["noise"] < 0.2

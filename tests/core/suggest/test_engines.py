"""The engine named by the caller (the server's HPDASH_BAYES_ENGINE, read by the settings:
tests/ops/test_config.py) is the implementation behind ALGORITHM_UNSPECIFIED."""

from __future__ import annotations

import math

import pytest

from hpdash.core.spec.space import point_key
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import DEFAULT_ENGINE, SUGGESTERS, Observation, get_suggester
from hpdash.core.suggest.base import Point
from hpdash.core.suggest.engines import ENGINES, BayesSuggester
from hpdash.core.suggest.skopt_engine import SkoptSuggester, skopt_dimensions

BAYES = SUGGESTERS["ALGORITHM_UNSPECIFIED"]

SPEC = HyperparameterSpec(
    params=(
        ParameterSpec("lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE"),
        ParameterSpec("momentum", "DOUBLE", 0.5, 0.999, scale_type="UNIT_REVERSE_LOG_SCALE"),
        ParameterSpec("units", "INTEGER", 8, 512, scale_type="UNIT_LOG_SCALE"),
        ParameterSpec("layers", "INTEGER", 1, 6),
        ParameterSpec("batch", "DISCRETE", discrete_values=(16.0, 64.0, 256.0, 1024.0)),
        ParameterSpec("cell", "CATEGORICAL", categorical_values=("lstm", "gru", "rnn")),
        ParameterSpec("fixed", "INTEGER", 3, 3),
    ),
    goal="MAXIMIZE",
)


def loss(point: Point) -> float:
    v = -((math.log10(float(point["lr"])) + 2.5) ** 2) - (float(point["momentum"]) - 0.9) ** 2
    v -= (math.log2(float(point["units"])) - 6) ** 2 / 10 + abs(int(point["layers"]) - 3) / 5
    return v + {"lstm": 0.3, "gru": 0.2, "rnn": 0.0}[str(point["cell"])]


def history(n: int) -> list[Observation]:
    points = SUGGESTERS["RANDOM_SEARCH"].suggest(SPEC, [], n, seed=2)
    out = [Observation(p, "SUCCEEDED", loss(p)) for p in points[:-2]]
    return out + [Observation(points[-2], "FAILED"), Observation(points[-1], "PENDING")]


def assert_in_bounds(point: Point) -> None:
    for p in SPEC.params:
        v = point[p.name]
        if p.type == "CATEGORICAL":
            assert v in p.categorical_values
        elif p.type == "DISCRETE":
            assert type(v) is float and v in p.discrete_values
        else:
            assert type(v) is (int if p.type == "INTEGER" else float)
            assert p.min_value is not None and p.max_value is not None
            assert p.min_value <= v <= p.max_value


def test_the_default_engine_is_hpdashs_own():
    assert DEFAULT_ENGINE == "hpdash"
    assert BAYES == get_suggester("ALGORITHM_UNSPECIFIED") == BayesSuggester("hpdash")


def test_a_bad_engine_name_is_a_value_error_naming_the_engines():
    with pytest.raises(ValueError, match="'spearmint'.*hpdash, skopt"):
        get_suggester("ALGORITHM_UNSPECIFIED", bayes_engine="spearmint")


def test_the_core_reads_no_environment(monkeypatch):
    monkeypatch.setenv("HPDASH_BAYES_ENGINE", "skopt")
    assert get_suggester("ALGORITHM_UNSPECIFIED") == BayesSuggester("hpdash")


def test_the_skopt_engine_is_selectable_and_suggests_new_in_bounds_points():
    bayes = get_suggester("ALGORITHM_UNSPECIFIED", bayes_engine="skopt")
    assert bayes == BayesSuggester("skopt")
    hist = history(14)
    points = bayes.suggest(SPEC, hist, 4, seed=5)
    assert len(points) == 4
    keys = {point_key(SPEC, p) for p in points}
    assert len(keys) == 4 and not keys & {point_key(SPEC, o.params) for o in hist}
    for point in points:
        assert_in_bounds(point)
        assert point["fixed"] == 3
    assert points == SkoptSuggester().suggest(SPEC, hist, 4, seed=5)  # reproducible
    assert points != ENGINES["hpdash"].suggest(SPEC, hist, 4, seed=5)


def test_the_skopt_engine_learns_from_the_history():
    spec = HyperparameterSpec(params=(ParameterSpec("x", "DOUBLE", 0.0, 1.0),), goal="MINIMIZE")
    hist = [Observation({"x": x}, "SUCCEEDED", (x - 0.3) ** 2)
            for x in (0.05, 0.5, 0.95, 0.7, 0.15, 0.85, 0.4, 0.6, 0.25, 0.75)]
    points = SkoptSuggester().suggest(spec, hist, 1, seed=1)
    assert abs(float(points[0]["x"]) - 0.3) < 0.15


def test_the_skopt_space_is_built_from_skopt_dimensions():
    from skopt.space import Categorical, Integer, Real

    dims = skopt_dimensions(SPEC)
    assert [type(d) for d in dims] == [Real, Real, Integer, Integer, Real, Categorical]
    assert dims[0].prior == "log-uniform" and dims[2].prior == "log-uniform"
    assert (dims[1].low, dims[1].high) == (0.0, 1.0)  # reverse log: its unit coordinate

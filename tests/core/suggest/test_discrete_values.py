"""DISCRETE values are a list the user wants tried: every value comes up equally often."""

from __future__ import annotations

from collections import Counter

import pytest

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import SUGGESTERS, Observation

LEARNING_RATES = (0.0001, 0.001, 0.01)


def spec_with(scale: str) -> HyperparameterSpec:
    return HyperparameterSpec(
        params=(
            ParameterSpec("lr", "DISCRETE", discrete_values=LEARNING_RATES, scale_type=scale),
            ParameterSpec("dropout", "DOUBLE", 0.0, 0.5),
            ParameterSpec("units", "INTEGER", 8, 512, scale_type="UNIT_LOG_SCALE"),
        ),
        goal="MAXIMIZE",
    )


@pytest.mark.parametrize("scale", ["UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "NONE"])
def test_the_initial_design_tries_every_discrete_value_about_equally_often(scale):
    spec = spec_with(scale)
    counts: Counter[float] = Counter()
    for seed in range(60):  # 60 jobs, their first 5 trials (the Bayes initial design)
        points = SUGGESTERS["ALGORITHM_UNSPECIFIED"].suggest(spec, [], 5, seed)
        counts.update(float(p["lr"]) for p in points)
    assert set(counts) == set(LEARNING_RATES)
    for value in LEARNING_RATES:
        assert 70 <= counts[value] <= 130, counts  # 100 expected of 300


def test_a_linear_discrete_list_spanning_orders_of_magnitude_tries_its_smallest_value_early():
    # The report that started this: 0.0001 never came up in 20 trials on the linear scale.
    spec = spec_with("UNIT_LINEAR_SCALE")
    for seed in range(10):
        points = SUGGESTERS["ALGORITHM_UNSPECIFIED"].suggest(spec, [], 10, seed)
        assert 0.0001 in {p["lr"] for p in points}, seed


def test_random_search_draws_every_discrete_value_about_equally_often():
    spec = spec_with("UNIT_LINEAR_SCALE")
    points = SUGGESTERS["RANDOM_SEARCH"].suggest(spec, [], 600, seed=4)
    counts = Counter(float(p["lr"]) for p in points)
    for value in LEARNING_RATES:
        assert 150 <= counts[value] <= 250, counts


def test_the_bayes_model_still_proposes_the_discrete_value_it_learned_is_best():
    spec = spec_with("UNIT_LINEAR_SCALE")
    points = SUGGESTERS["RANDOM_SEARCH"].suggest(spec, [], 15, seed=1)
    history = [
        Observation(p, "SUCCEEDED", 1.0 if p["lr"] == 0.0001 else 0.0) for p in points
    ]
    assert any(p["lr"] == 0.0001 for p in points)
    nxt = SUGGESTERS["ALGORITHM_UNSPECIFIED"].suggest(spec, history, 4, seed=1)
    assert sum(p["lr"] == 0.0001 for p in nxt) >= 3

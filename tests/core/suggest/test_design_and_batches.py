"""Issue 23's mechanisms of the default suggester: the design follows the job's maxTrials."""

from __future__ import annotations

import dataclasses
import math

import pytest

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import SUGGESTERS, Observation
from hpdash.core.suggest.base import Point
from hpdash.core.suggest.bayes import n_initial

BAYES = SUGGESTERS["ALGORITHM_UNSPECIFIED"]

FIVE = HyperparameterSpec(
    params=(
        ParameterSpec("lr", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"),
        ParameterSpec("dropout", "DOUBLE", 0.0, 0.5),
        ParameterSpec("momentum", "DOUBLE", 0.5, 0.99),
        ParameterSpec("layers", "INTEGER", 1, 9),
        ParameterSpec("cell", "CATEGORICAL", categorical_values=("lstm", "gru", "rnn")),
    ),
    goal="MINIMIZE",
)


def loss(p: Point) -> float:
    return (math.log10(float(p["lr"])) + 2) ** 2 + float(p["dropout"]) + float(p["layers"]) / 9


def test_a_job_of_10_trials_runs_3_design_points_and_a_job_of_50_runs_d_plus_1():
    short = dataclasses.replace(FIVE, max_trials=10)
    long = dataclasses.replace(FIVE, max_trials=50)
    design = BAYES.suggest(long, [], 8, seed=4)
    assert BAYES.suggest(short, [], 8, seed=4) == design  # the same space-filling sequence
    done = [Observation(p, "SUCCEEDED", loss(p)) for p in design[:3]]
    # After 3 results the short job asks the model; the long one carries on with its design
    # until d + 1 = 6 trials have finished.
    (short_next,) = BAYES.suggest(short, done, 1, seed=4)
    assert short_next not in design
    assert BAYES.suggest(long, done, 1, seed=4) == [design[3]]
    done6 = [Observation(p, "SUCCEEDED", loss(p)) for p in design[:6]]
    assert BAYES.suggest(long, done6, 1, seed=4) != [design[6]]


@pytest.mark.parametrize("d", [1, 2, 5, 9, 14])
def test_the_design_never_takes_more_than_a_quarter_of_a_short_job(d: int):
    """At least 3 design points, at most a quarter of maxTrials (rounded up) when that is
    more, never more than clamp(d + 1, 5, 10), and never fewer for a longer job."""
    spec = HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(d)))
    full = min(max(d + 1, 5), 10)
    counts = [n_initial(dataclasses.replace(spec, max_trials=m)) for m in range(1, 201)]
    for m, count in enumerate(counts, start=1):
        assert 3 <= count <= full
        assert count <= max(3, math.ceil(m / 4))
    assert counts == sorted(counts)
    assert counts[10 - 1] == 3 and counts[-1] == full

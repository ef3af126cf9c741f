"""A multi-objective study on the default engine: random scalarisations of its metrics."""

from __future__ import annotations

import numpy as np

from hpdash.core.pareto import pareto_optimal
from hpdash.core.spec.types import HyperparameterSpec, MetricSpec, ParameterSpec
from hpdash.core.suggest import SUCCEEDED, Observation, get_suggester
from hpdash.core.suggest.multiobjective import scalarise, scaled_losses

SPEC = HyperparameterSpec(
    params=(ParameterSpec("x", "DOUBLE", 0.0, 1.0), ParameterSpec("y", "DOUBLE", 0.0, 1.0)),
    goal="MINIMIZE", metric_tag="f1", more_metrics=(MetricSpec("f2", "MINIMIZE"),),
    max_trials=40)


def objectives(p: dict[str, float]) -> tuple[float, float]:
    # Two conflicting objectives: the front is y = 0, x anywhere in [0, 1].
    x, y = float(p["x"]), float(p["y"])
    return x + y, (1 - x) + y


def run(n: int, seed: int) -> list[Observation]:
    suggester = get_suggester("ALGORITHM_UNSPECIFIED")
    history: list[Observation] = []
    while len(history) < n:
        for p in suggester.suggest(SPEC, history, 2, seed):
            f = objectives(p)  # type: ignore[arg-type]
            history.append(Observation(dict(p), SUCCEEDED, f[0], f))
    return history


def test_a_point_better_on_every_metric_scores_better_under_any_weights():
    history = [Observation({"x": 0.1, "y": 0.1}, SUCCEEDED, 0.2, (0.2, 1.0)),
               Observation({"x": 0.2, "y": 0.3}, SUCCEEDED, 0.5, (0.5, 1.1)),
               Observation({"x": 0.9, "y": 0.0}, SUCCEEDED, 0.9, (0.9, 0.1))]
    losses = scaled_losses(SPEC, history)
    for w in np.random.default_rng(0).dirichlet([1, 1], size=50):
        s = scalarise(losses, w)
        assert s[0] < s[1]


def test_it_spreads_its_trials_along_the_front_not_one_end_and_is_reproducible():
    history = run(30, seed=4)
    assert run(30, seed=4) == history
    values = [o.values for o in history]
    front = [v for v, ok in zip(values, pareto_optimal(values, [False, False]), strict=True)
             if ok]
    xs = sorted(float(o.params["x"]) for o in history[12:] if float(o.params["y"]) < 0.2)
    # Model-guided trials go near the front (y small) and along it: both halves of x.
    assert len(xs) >= 8, xs
    assert xs[0] < 0.4 and xs[-1] > 0.6, xs
    assert len(front) >= 5

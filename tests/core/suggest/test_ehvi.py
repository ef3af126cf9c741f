"""Expected hypervolume improvement for several metrics (hpdash.core.suggest.ehvi): the
hypervolume arithmetic by hand and against hpdash.core.pareto, the closed form against Monte
Carlo, and the suggester's determinism, validity and batch diversity."""

from __future__ import annotations

import math

import numpy as np

from hpdash.core.pareto import hypervolume
from hpdash.core.spec.space import point_key
from hpdash.core.spec.types import HyperparameterSpec, MetricSpec, ParameterSpec
from hpdash.core.suggest import PENDING, SUCCEEDED, Observation, Point, get_suggester
from hpdash.core.suggest.bayes import BATCH_GAP, Encoder
from hpdash.core.suggest.ehvi import (
    EHVISuggester,
    expected_hvi,
    hvi,
    improvement_cells,
    nondominated,
)
from hpdash.core.suggest.engines import BayesSuggester

FRONT = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
REF = np.array([4.0, 4.0])

MIXED = HyperparameterSpec(
    params=(ParameterSpec("lr", "DOUBLE", 1e-4, 1e-1, scale_type="UNIT_LOG_SCALE"),
            ParameterSpec("units", "INTEGER", 8, 256),
            ParameterSpec("drop", "DISCRETE", discrete_values=(0.0, 0.1, 0.3, 0.5)),
            ParameterSpec("opt", "CATEGORICAL", categorical_values=("adam", "sgd", "rms"))),
    goal="MAXIMIZE", metric_tag="acc", more_metrics=(MetricSpec("latency", "MINIMIZE"),),
    max_trials=40)


def test_the_2d_improvement_matches_a_hand_computed_value():
    lo, hi = improvement_cells(FRONT, REF)
    # [1.5, 4]^2 is 6.25; the front already dominates 5 of it (a 2x2 square and two 0.5 strips).
    assert hvi(np.array([[1.5, 1.5]]), lo, hi)[0] == 1.25
    assert hvi(np.array([[2.5, 2.5], [4.5, 0.0]]), lo, hi).tolist() == [0.0, 0.0]
    assert hvi(np.array([[0.0, 0.0]]), lo, hi)[0] == 16.0 - 6.0


def test_the_improvement_is_the_hypervolume_gain_in_3d():
    rng = np.random.default_rng(1)
    Y = rng.random((12, 3))
    front = Y[nondominated(Y)]
    ref = np.ones(3) * 1.1
    lo, hi = improvement_cells(front, ref)
    points = rng.random((20, 3))
    base = hypervolume(front.tolist(), ref.tolist(), [False] * 3)
    for y, got in zip(points, hvi(points, lo, hi), strict=True):
        want = hypervolume([*front.tolist(), y.tolist()], ref.tolist(), [False] * 3) - base
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def test_the_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(2)
    lo, hi = improvement_cells(FRONT, REF)
    mean, sd = np.array([[1.8, 2.1], [0.5, 3.5]]), np.array([[0.4, 0.7], [0.3, 0.2]])
    exact = expected_hvi(mean, sd, lo, hi)
    for i in range(2):
        draws = mean[i] + sd[i] * rng.standard_normal((200_000, 2))
        mc = hvi(draws, lo, hi).mean()
        assert math.isclose(exact[i], mc, rel_tol=0.02), (exact[i], mc)


def test_a_point_dominating_the_front_is_worth_more_than_a_dominated_one():
    lo, hi = improvement_cells(FRONT, REF)
    sd = np.full((2, 2), 0.3)
    better, worse = expected_hvi(np.array([[0.8, 0.8], [2.5, 2.5]]), sd, lo, hi)
    assert better > worse > 0


def run(spec: HyperparameterSpec, n_trials: int, seed: int, batch: int = 1
        ) -> list[Observation]:
    def f(p: Point) -> tuple[float, float]:
        lr, drop = math.log10(float(p["lr"])), float(p["drop"])
        acc = -((lr + 2.5) ** 2) - drop + (0.3 if p["opt"] == "adam" else 0.0)
        return acc, float(p["units"]) / 256 + drop

    suggester = get_suggester("ALGORITHM_UNSPECIFIED")
    history: list[Observation] = []
    while len(history) < n_trials:
        for p in suggester.suggest(spec, history, batch, seed):
            v = f(p)
            history.append(Observation(dict(p), SUCCEEDED, v[0], v))
    return history


def test_it_is_deterministic_per_seed_and_returns_distinct_valid_points():
    history = run(MIXED, 14, seed=3)
    assert run(MIXED, 14, seed=3) == history
    s = EHVISuggester()
    points = s.suggest(MIXED, history, 5, seed=3)
    assert points == s.suggest(MIXED, history, 5, seed=3)
    assert points != s.suggest(MIXED, history, 5, seed=4)
    keys = {point_key(MIXED, p) for p in points}
    assert len(points) == 5 and len(keys) == 5
    assert not keys & {point_key(MIXED, o.params) for o in history}
    for p in points:
        assert 1e-4 <= float(p["lr"]) <= 1e-1
        assert isinstance(p["units"], int) and 8 <= p["units"] <= 256
        assert p["drop"] in (0.0, 0.1, 0.3, 0.5) and p["opt"] in ("adam", "sgd", "rms")


def test_a_batch_of_4_is_diverse_and_avoids_running_trials():
    history = run(MIXED, 12, seed=5)
    running = EHVISuggester().suggest(MIXED, history, 1, seed=5)
    history.append(Observation(dict(running[0]), PENDING))
    batch = EHVISuggester().suggest(MIXED, history, 4, seed=5)
    enc = Encoder(MIXED)
    X = np.array([enc.encode(p) for p in [*batch, running[0]]])
    assert len(batch) == 4
    for i in range(len(X)):
        for j in range(i):
            assert np.max(np.abs(X[i] - X[j])) > BATCH_GAP


def test_the_default_searches_several_metrics_by_ehvi_and_skopt_by_scalarisation():
    history = run(MIXED, 14, seed=6)
    assert (BayesSuggester().suggest(MIXED, history, 2, 6)
            == EHVISuggester().suggest(MIXED, history, 2, 6))
    old = BayesSuggester(multi_objective="scalarised").suggest(MIXED, history, 2, 6)
    assert old != EHVISuggester().suggest(MIXED, history, 2, 6)

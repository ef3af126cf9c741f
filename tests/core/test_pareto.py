"""The Pareto front and hypervolume of a multi-objective study."""

from __future__ import annotations

import itertools
import random

import pytest

from hpdash.core.pareto import dominates, hypervolume, pareto_optimal


def test_the_front_is_the_trials_no_other_beats_on_every_metric():
    # accuracy (max), latency (min)
    points = [(0.9, 50.0), (0.8, 20.0), (0.85, 60.0), (0.7, 10.0), (0.9, 50.0), (0.6, 30.0)]
    assert pareto_optimal(points, [True, False]) == [True, True, False, True, True, False]


def test_the_front_agrees_with_the_definition_on_random_points():
    rng = random.Random(3)
    for _ in range(30):
        points = [(rng.randint(0, 5), rng.randint(0, 5), rng.random()) for _ in range(25)]
        maximize = [rng.random() < 0.5 for _ in range(3)]
        expected = [not any(dominates(q, p, maximize) for q in points) for p in points]
        assert pareto_optimal(points, maximize) == expected


def test_hypervolume_of_two_metrics_is_the_area_of_the_staircase():
    front = [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]  # both minimised, reference (4, 4)
    assert hypervolume(front, (4.0, 4.0), [False, False]) == pytest.approx(6.0)
    # a dominated point and one beyond the reference add nothing
    more = [*front, (3.0, 3.0), (5.0, 0.0)]
    assert hypervolume(more, (4.0, 4.0), [False, False]) == pytest.approx(6.0)
    # maximised the other way round
    flipped = [(-a, -b) for a, b in front]
    assert hypervolume(flipped, (-4.0, -4.0), [True, True]) == pytest.approx(6.0)


def test_hypervolume_in_three_dimensions_matches_a_grid_count():
    rng = random.Random(5)
    points = [tuple(rng.randint(0, 5) for _ in range(3)) for _ in range(8)]
    ref = (6, 6, 6)
    cells = sum(1 for c in itertools.product(range(6), repeat=3)
                if any(all(p[i] <= c[i] for i in range(3)) for p in points))
    assert hypervolume(points, ref, [False] * 3) == pytest.approx(cells)

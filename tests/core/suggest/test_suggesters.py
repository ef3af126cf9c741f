"""Behaviour of the registered suggesters as a job runner sees it."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest

from hpdash.core.spec.space import iter_space, point_key, space_size, to_unit
from hpdash.core.spec.types import ALGORITHMS, HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import SUGGESTERS, Observation, get_suggester
from hpdash.core.suggest.base import Point
from hpdash.core.suggest.bayes import n_initial

BAYES = SUGGESTERS["ALGORITHM_UNSPECIFIED"]
RANDOM = SUGGESTERS["RANDOM_SEARCH"]
GRID = SUGGESTERS["GRID_SEARCH"]

GRIDABLE_PARAMS = (
    ParameterSpec("units", "INTEGER", 1, 1000, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("batch", "DISCRETE", discrete_values=(16.0, 32.0, 64.0, 128.0)),
    ParameterSpec("cell", "CATEGORICAL", categorical_values=("lstm", "gru", "rnn")),
    ParameterSpec("layers", "INTEGER", 2, 2),  # min == max: fixed
)
CONTINUOUS_PARAMS = (
    ParameterSpec("momentum", "DOUBLE", 0.5, 0.999, scale_type="UNIT_REVERSE_LOG_SCALE"),
    ParameterSpec("dropout", "DOUBLE", 0.0, 0.5, scale_type="UNIT_LINEAR_SCALE"),
    ParameterSpec("clip", "DOUBLE", 1.0, 1.0),  # fixed
)


def spec_for(algorithm: str, goal: str = "MAXIMIZE") -> HyperparameterSpec:
    """A mixed space of every parameter type (grid search: no DOUBLE)."""
    params = GRIDABLE_PARAMS if algorithm == "GRID_SEARCH" else GRIDABLE_PARAMS + CONTINUOUS_PARAMS
    return HyperparameterSpec(params=params, goal=goal, algorithm=algorithm, max_trials=50)


def score(point: Point) -> float:
    v = -((math.log10(float(point["units"])) - 2) ** 2) - abs(float(point["batch"]) - 64) / 64
    v += {"lstm": 0.3, "gru": 0.2, "rnn": 0.0}[str(point["cell"])]
    if "dropout" in point:
        v -= (float(point["dropout"]) - 0.1) ** 2
    return v


def mixed_history(spec: HyperparameterSpec, size: int, seed: int = 99) -> list[Observation]:
    """``size`` distinct trials: mostly succeeded, some failed, the last two still pending."""
    points = RANDOM.suggest(spec, [], size, seed)
    history = []
    for i, p in enumerate(points):
        if i >= size - 2:
            history.append(Observation(p, "PENDING"))
        elif i % 5 == 3:
            history.append(Observation(p, "FAILED"))
        else:
            history.append(Observation(p, "SUCCEEDED", score(p)))
    return history


def assert_feasible(spec: HyperparameterSpec, point: Point) -> None:
    assert set(point) == {p.name for p in spec.params}
    for p in spec.params:
        v = point[p.name]
        if p.type == "CATEGORICAL":
            assert type(v) is str and v in p.categorical_values
        elif p.type == "DISCRETE":
            assert type(v) is float and v in p.discrete_values
        else:
            assert p.min_value is not None and p.max_value is not None
            assert type(v) is (int if p.type == "INTEGER" else float)
            assert p.min_value <= v <= p.max_value


# --------------------------------------------------------------------------- registry


def test_every_ml_v1_algorithm_has_a_registered_suggester():
    assert set(SUGGESTERS) == set(ALGORITHMS)
    for name in ALGORITHMS:
        assert get_suggester(name) == SUGGESTERS[name]


def test_an_unknown_algorithm_is_a_key_error():
    with pytest.raises(KeyError, match="GAUSSIAN_PROCESS_BANDIT"):
        get_suggester("GAUSSIAN_PROCESS_BANDIT")


def test_the_suggest_package_imports_without_django():
    code = (
        "import sys, hpdash.core.suggest\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("history_size", [0, 12], ids=["fresh job", "job with history"])
@pytest.mark.parametrize("algorithm", sorted(SUGGESTERS))
def test_every_algorithm_returns_n_new_feasible_reproducible_points(algorithm, history_size):
    spec = spec_for(algorithm)
    suggester = get_suggester(algorithm)
    history = mixed_history(spec, history_size)
    if algorithm == "ALGORITHM_UNSPECIFIED" and history_size:
        assert history_size >= n_initial(spec)  # the Gaussian-process path is exercised

    points = suggester.suggest(spec, history, 4, seed=3)

    assert len(points) == 4
    for point in points:
        assert_feasible(spec, point)
    keys = [point_key(spec, p) for p in points]
    assert len(set(keys)) == 4
    assert not set(keys) & {point_key(spec, o.params) for o in history}
    assert suggester.suggest(spec, history, 4, seed=3) == points
    longer = history + [Observation(points[0], "PENDING")]
    assert suggester.suggest(spec, longer, 1, seed=3)[0] != points[0]


@pytest.mark.parametrize("algorithm", sorted(SUGGESTERS))
def test_every_algorithm_returns_nothing_when_asked_for_nothing(algorithm):
    assert get_suggester(algorithm).suggest(spec_for(algorithm), [], 0, seed=1) == []


@pytest.mark.parametrize("algorithm", sorted(SUGGESTERS))
def test_every_algorithm_stops_when_a_small_space_is_exhausted(algorithm):
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("a", "INTEGER", 1, 3),
            ParameterSpec("b", "CATEGORICAL", categorical_values=("x", "y")),
        ),
        algorithm=algorithm,
    )
    suggester = get_suggester(algorithm)
    history: list[Observation] = []
    while batch := suggester.suggest(spec, history, 4, seed=5):
        history += [Observation(p, "SUCCEEDED", float(p["a"])) for p in batch]
        assert len(history) <= 6
    assert sorted(point_key(spec, o.params) for o in history) == sorted(
        point_key(spec, p) for p in iter_space(spec)
    )


@pytest.mark.parametrize("algorithm", sorted(SUGGESTERS))
def test_every_algorithm_treats_a_parameter_with_min_equal_max_as_fixed(algorithm):
    spec = spec_for(algorithm)
    for point in get_suggester(algorithm).suggest(spec, mixed_history(spec, 12), 3, seed=0):
        assert point["layers"] == 2
        if "clip" in point:
            assert point["clip"] == 1.0


@pytest.mark.parametrize("algorithm", sorted(SUGGESTERS))
def test_every_algorithm_suggests_the_one_point_of_a_space_without_choices(algorithm):
    params: tuple[ParameterSpec, ...] = (
        ParameterSpec("a", "INTEGER", 3, 3),
        ParameterSpec("c", "CATEGORICAL", categorical_values=("only",)),
        ParameterSpec("d", "DISCRETE", discrete_values=(7.0,)),
    )
    if algorithm != "GRID_SEARCH":
        params += (ParameterSpec("x", "DOUBLE", 0.5, 0.5),)
    spec = HyperparameterSpec(params=params, algorithm=algorithm)
    suggester = get_suggester(algorithm)
    (point,) = suggester.suggest(spec, [], 3, seed=0)
    assert_feasible(spec, point)
    assert suggester.suggest(spec, [Observation(point, "SUCCEEDED", 1.0)], 3, seed=0) == []


@pytest.mark.parametrize("algorithm", ["ALGORITHM_UNSPECIFIED", "RANDOM_SEARCH"])
def test_a_trillion_integer_values_are_never_listed(algorithm):
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("n", "INTEGER", 1, 10**12, scale_type="UNIT_LOG_SCALE"),
            ParameterSpec("m", "INTEGER", 0, 1),
        )
    )
    suggester = get_suggester(algorithm)
    history: list[Observation] = []
    for _ in range(4):
        batch = suggester.suggest(spec, history, 4, seed=1)
        history += [Observation(p, "SUCCEEDED", -abs(math.log(float(p["n"])) - 9)) for p in batch]
    for o in history:
        assert_feasible(spec, o.params)
    assert len({point_key(spec, o.params) for o in history}) == 16


# --------------------------------------------------------------------------- grid


def grid_spec() -> HyperparameterSpec:
    return HyperparameterSpec(
        params=(
            ParameterSpec("a", "INTEGER", 1, 3),
            ParameterSpec("b", "DISCRETE", discrete_values=(0.5, 1.0)),
            ParameterSpec("c", "CATEGORICAL", categorical_values=("x", "y")),
        ),
        algorithm="GRID_SEARCH",
        max_trials=100,
    )


def test_grid_visits_every_point_exactly_once_in_stable_order():
    spec = grid_spec()
    history: list[Observation] = []
    states = ["SUCCEEDED", "FAILED", "PENDING"]
    while batch := GRID.suggest(spec, history, 5, seed=0):
        history += [Observation(p, states[len(history) % 3], 1.0) for p in batch]
    assert [o.params for o in history] == list(iter_space(spec))
    assert len(history) == space_size(spec) == 12


def test_grid_stops_at_the_grid_size_when_max_trials_is_larger():
    spec = grid_spec()
    first = GRID.suggest(spec, [], spec.max_trials, seed=0)
    assert len(first) == 12
    assert GRID.suggest(spec, [Observation(p, "SUCCEEDED", 0.0) for p in first], 5, seed=0) == []


def test_grid_skips_taken_points_wherever_they_are():
    spec = grid_spec()
    everything = list(iter_space(spec))
    history = [Observation(everything[i], "PENDING") for i in (0, 2, 5)]
    assert GRID.suggest(spec, history, 3, seed=0) == [everything[i] for i in (1, 3, 4)]


def test_grid_is_fast_on_ten_million_points_with_thousands_taken():
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("a", "INTEGER", 1, 1000),
            ParameterSpec("b", "DISCRETE", discrete_values=tuple(float(i) for i in range(100))),
            ParameterSpec("c", "CATEGORICAL", categorical_values=tuple("abcdefghij")),
            ParameterSpec("d", "INTEGER", 1, 10),
        ),
        algorithm="GRID_SEARCH",
    )
    assert space_size(spec) == 10_000_000
    grid = iter_space(spec)
    history = [Observation(next(grid), "SUCCEEDED", 0.0) for _ in range(3000)]
    start = time.perf_counter()
    points = GRID.suggest(spec, history, 4, seed=0)
    assert time.perf_counter() - start < 2.0
    assert points == [next(grid) for _ in range(4)]


# --------------------------------------------------------------------------- random


def one_param_spec(p: ParameterSpec) -> HyperparameterSpec:
    return HyperparameterSpec(params=(p,), algorithm="RANDOM_SEARCH")


def numbers(points: Sequence[Point], name: str) -> list[float]:
    """The values of a numeric parameter (an int stays an int)."""
    out: list[float] = []
    for point in points:
        value = point[name]
        assert not isinstance(value, str)
        out.append(value)
    return out


def test_random_search_on_a_log_scale_puts_half_the_samples_in_the_bottom_two_decades():
    spec = one_param_spec(ParameterSpec("lr", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"))
    values = numbers(RANDOM.suggest(spec, [], 2000, seed=11), "lr")
    below = sum(v < 1e-2 for v in values) / len(values)
    assert 0.45 < below < 0.55
    assert all(1e-4 <= v <= 1.0 for v in values)


def test_random_search_on_a_reverse_log_scale_crowds_the_top_of_the_range():
    p = ParameterSpec("beta", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_REVERSE_LOG_SCALE")
    values = numbers(RANDOM.suggest(one_param_spec(p), [], 2000, seed=11), "beta")
    assert statistics.median(values) > 0.9  # the linear midpoint is ~0.5
    assert sum(v > 0.99 for v in values) / len(values) > 0.4


def test_random_search_on_a_linear_scale_is_uniform():
    spec = one_param_spec(ParameterSpec("x", "DOUBLE", -1.0, 3.0))
    values = numbers(RANDOM.suggest(spec, [], 2000, seed=2), "x")
    assert 0.9 < statistics.mean(values) < 1.1
    assert 0.45 < sum(v < 1.0 for v in values) / len(values) < 0.55


def test_random_search_on_an_integer_log_scale_favours_small_integers():
    spec = one_param_spec(ParameterSpec("n", "INTEGER", 1, 10000, scale_type="UNIT_LOG_SCALE"))
    # One point per job: a batch of 1000 would exhaust the small integers and redraw.
    values = numbers([RANDOM.suggest(spec, [], 1, seed)[0] for seed in range(1000)], "n")
    assert all(type(v) is int and 1 <= v <= 10000 for v in values)
    assert 0.4 < sum(v <= 100 for v in values) / len(values) < 0.6


def test_random_search_reseeds_on_every_call_of_a_job():
    spec = spec_for("RANDOM_SEARCH")
    batch = RANDOM.suggest(spec, [], 4, seed=8)
    # Had the generator been seeded by the job seed alone, the second call would replay the
    # draws after the first point.
    later = RANDOM.suggest(spec, [Observation(batch[0], "PENDING")], 3, seed=8)
    assert {point_key(spec, p) for p in later}.isdisjoint(point_key(spec, p) for p in batch)
    assert RANDOM.suggest(spec, [], 4, seed=9) != batch


# --------------------------------------------------------------------------- bayes


def quadratic_spec(goal: str) -> HyperparameterSpec:
    return HyperparameterSpec(
        params=(ParameterSpec("x", "DOUBLE", -5.0, 5.0), ParameterSpec("y", "DOUBLE", -5.0, 5.0)),
        goal=goal,
    )


def distance_to_optimum(p: Point) -> float:
    return (float(p["x"]) - 1.3) ** 2 + (float(p["y"]) + 0.7) ** 2


def objective(goal: str, p: Point) -> float:
    # The same landscape both ways: the optimum is at (1.3, -0.7).
    return -distance_to_optimum(p) if goal == "MAXIMIZE" else 3.0 + distance_to_optimum(p)


def run_sequentially(suggester, spec: HyperparameterSpec, trials: int, seed: int) -> float:
    history: list[Observation] = []
    for _ in range(trials):
        (p,) = suggester.suggest(spec, history, 1, seed)
        history.append(Observation(p, "SUCCEEDED", objective(spec.goal, p)))
    return min(distance_to_optimum(o.params) for o in history)


@pytest.mark.parametrize("goal", ["MAXIMIZE", "MINIMIZE"])
def test_bayes_beats_random_search_on_a_quadratic(goal):
    spec = quadratic_spec(goal)
    random_regret = statistics.median(
        min(distance_to_optimum(p) for p in RANDOM.suggest(spec, [], 25, seed))
        for seed in range(15)
    )
    bayes_regret = [run_sequentially(BAYES, spec, 25, seed) for seed in range(3)]
    assert max(bayes_regret) < random_regret / 10, (bayes_regret, random_regret)


def test_bayes_spreads_a_parallel_batch_away_from_pending_trials():
    spec = quadratic_spec("MAXIMIZE")
    history = [
        Observation(p, "SUCCEEDED", objective("MAXIMIZE", p))
        for p in RANDOM.suggest(spec, [], 10, seed=1)
    ]
    pending = BAYES.suggest(spec, history, 4, seed=1)
    history += [Observation(p, "PENDING") for p in pending]
    batch = BAYES.suggest(spec, history, 4, seed=1)

    def unit(p: Point) -> tuple[float, ...]:
        return tuple(to_unit(q, float(p[q.name])) for q in spec.params)

    points = [unit(p) for p in pending + batch]
    gaps = [math.dist(a, b) for i, a in enumerate(points) for b in points[i + 1 :]]
    assert min(gaps) > 0.02, sorted(gaps)[:3]


def test_bayes_survives_a_history_of_failures():
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    failed = [Observation(p, "FAILED") for p in RANDOM.suggest(spec, [], 12, seed=4)]
    for history in (failed, failed + mixed_history(spec, 8, seed=5)[:3]):
        points = BAYES.suggest(spec, history, 3, seed=0)
        assert len(points) == 3
        for p in points:
            assert_feasible(spec, p)


def test_bayes_ignores_non_finite_values_and_foreign_points():
    spec = quadratic_spec("MINIMIZE")
    history = [
        Observation(p, "SUCCEEDED", objective("MINIMIZE", p))
        for p in RANDOM.suggest(spec, [], 8, seed=1)
    ]
    history += [
        Observation({"x": 0.0, "y": 0.0}, "SUCCEEDED", math.nan),
        Observation({"x": 1.0, "y": 1.0}, "SUCCEEDED", math.inf),
        Observation({"x": 1.0}, "SUCCEEDED", 1.0),  # e.g. resumed from a job with another spec
    ]
    (p,) = BAYES.suggest(spec, history, 1, seed=0)
    assert_feasible(spec, p)


def test_bayes_initial_design_continues_one_sobol_sequence_across_calls():
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    assert n_initial(spec) == 6  # d + 1 for its 5 parameters
    at_once = BAYES.suggest(spec, [], 7, seed=21)
    first = BAYES.suggest(spec, [], 4, seed=21)
    then = BAYES.suggest(spec, [Observation(p, "PENDING") for p in first], 3, seed=21)
    assert first + then == at_once


def test_bayes_optimises_a_mixed_space():
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    history: list[Observation] = []
    for _ in range(6):
        batch = BAYES.suggest(spec, history, 3, seed=6)
        assert len(batch) == 3
        for p in batch:
            assert_feasible(spec, p)
        history += [Observation(p, "SUCCEEDED", score(p)) for p in batch]
    keys = [point_key(spec, o.params) for o in history]
    assert len(set(keys)) == len(keys) == 18
    best_found = max(score(o.params) for o in history)
    random_best = statistics.median(
        max(score(p) for p in RANDOM.suggest(spec, [], 18, seed)) for seed in range(9)
    )
    assert best_found > random_best


def test_bayes_enumerates_a_small_finite_space_to_the_end():
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("a", "INTEGER", 1, 5),
            ParameterSpec("b", "DISCRETE", discrete_values=(1.0, 2.0, 4.0)),
            ParameterSpec("c", "CATEGORICAL", categorical_values=("x", "y")),
        ),
        goal="MINIMIZE",
    )
    history: list[Observation] = []
    while batch := BAYES.suggest(spec, history, 7, seed=2):
        history += [Observation(p, "SUCCEEDED", float(p["a"]) * float(p["b"])) for p in batch]
    assert len({point_key(spec, o.params) for o in history}) == len(history) == 30
    # The best point comes early: the model does the search, not the enumeration order.
    first_best = next(i for i, o in enumerate(history) if o.value == 1.0)
    assert first_best < 20


def design_loss(p: Point) -> float:
    return float(p["dropout"]) + abs(float(p["momentum"]) - 0.9)


def three_done_three_running(
    spec: HyperparameterSpec,
) -> tuple[list[Point], list[Observation], list[Observation]]:
    """The job's first 10 design points; the first 3 finished, the next 3 running."""
    design = BAYES.suggest(spec, [], 10, seed=5)
    done = [Observation(p, "SUCCEEDED", design_loss(p)) for p in design[:3]]
    running = [Observation(p, "PENDING") for p in design[3:6]]
    return design, done, running


def test_by_default_the_model_waits_for_d_plus_1_finished_trials_not_for_running_ones():
    """The default (DESIGN_COUNTS_RUNNING off: counting running trials measured worse)."""
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    design = BAYES.suggest(spec, [], 10, seed=5)
    running = [Observation(p, "PENDING") for p in design[:6]]
    assert BAYES.suggest(spec, running, 2, seed=5) == design[6:8]
    half = [Observation(p, "SUCCEEDED", design_loss(p)) for p in design[:3]]
    assert BAYES.suggest(spec, half + running[3:], 2, seed=5) == design[6:8]
    finished = [Observation(p, "SUCCEEDED", design_loss(p)) for p in design[:6]]
    assert BAYES.suggest(spec, finished, 2, seed=5) != design[6:8]  # the model's points


def test_a_batch_never_lengthens_the_design_phase_when_running_trials_count(
        monkeypatch: pytest.MonkeyPatch):
    """Issue 23's rule (DESIGN_COUNTS_RUNNING): with trials running, the model starts after
    as many design points as it does sequentially, once 2 results are in."""
    from hpdash.core.suggest import bayes

    monkeypatch.setattr(bayes, "DESIGN_COUNTS_RUNNING", True)
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    assert n_initial(spec) == 6
    design, done, running = three_done_three_running(spec)
    # 6 trials exist, 3 of them finished: no 7th design point, the model's own.
    (p,) = BAYES.suggest(spec, done + running, 1, seed=5)
    assert p != design[6]
    assert_feasible(spec, p)
    # Sequentially the same: design point 7 is never handed out.
    finished = [Observation(p, "SUCCEEDED", design_loss(p)) for p in design[:6]]
    assert BAYES.suggest(spec, finished, 1, seed=5) != [design[6]]
    # Before 6 trials exist the design goes on, whatever finished.
    assert BAYES.suggest(spec, done + running[:2], 1, seed=5) == [design[5]]


def test_with_design_when_running_a_parallel_job_starts_its_model_after_3_results(
        monkeypatch: pytest.MonkeyPatch):
    """``bayes.DESIGN_WHEN_RUNNING`` (off): with trials running the design ends after that
    many finished trials; a job with nothing running keeps its full design."""
    from hpdash.core.suggest import bayes

    monkeypatch.setattr(bayes, "DESIGN_WHEN_RUNNING", 3)
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    assert n_initial(spec) == 6
    design, done, running = three_done_three_running(spec)
    (p,) = BAYES.suggest(spec, done + running, 1, seed=5)
    assert p != design[6]
    assert_feasible(spec, p)
    assert BAYES.suggest(spec, done + running[:1], 1, seed=5) != [design[4]]
    # Nothing running: the sequential design of 6 goes on.
    assert BAYES.suggest(spec, done, 1, seed=5) == [design[3]]
    # Fewer than 3 finished: still the design.
    assert BAYES.suggest(spec, done[:2] + running, 1, seed=5) == [design[6]]


def test_the_design_goes_on_while_fewer_than_2_trials_succeeded(
        monkeypatch: pytest.MonkeyPatch):
    from hpdash.core.suggest import bayes

    monkeypatch.setattr(bayes, "DESIGN_COUNTS_RUNNING", True)
    spec = spec_for("ALGORITHM_UNSPECIFIED")
    design = BAYES.suggest(spec, [], 10, seed=5)
    running = [Observation(p, "PENDING") for p in design[:5]]
    history = [Observation(design[5], "SUCCEEDED", 0.5), *running]
    assert BAYES.suggest(spec, history, 2, seed=5) == design[6:8]


def test_the_centre_of_the_box_comes_first_when_chosen(monkeypatch: pytest.MonkeyPatch):
    from hpdash.core.suggest import bayes

    monkeypatch.setattr(bayes, "CENTRE_FIRST", True)
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("lr", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"),
            ParameterSpec("dropout", "DOUBLE", 0.0, 0.5),
            ParameterSpec("layers", "INTEGER", 1, 9),
            ParameterSpec("cell", "CATEGORICAL", categorical_values=("lstm", "gru", "rnn")),
        ),
        goal="MINIMIZE",
    )
    first, *rest = BAYES.suggest(spec, [], 4, seed=3)
    assert first == {"lr": pytest.approx(1e-2), "dropout": 0.25, "layers": 5, "cell": "gru"}
    # The Sobol design follows, and a later call continues it where the first one stopped.
    later = BAYES.suggest(spec, [Observation(p, "PENDING") for p in [first, *rest]], 2, seed=3)
    assert [first, *rest, *later] == BAYES.suggest(spec, [], 6, seed=3)
    assert first not in rest + later


import dataclasses
import subprocess
import sys

import pytest

from hpdash.core.stopping import (
    DEFAULT_RULE,
    RULES,
    AshaRule,
    CurveBoundRule,
    Curves,
    MedianRule,
    PercentileRule,
    StopDecision,
    StoppingContext,
    get_rule,
)

RISING = {i: [(s, 0.5 + 0.01 * s + 0.1 * i) for s in range(1, 11)] for i in range(1, 5)}


def ctx(points, completed, maximize=True, **kw):
    if not isinstance(completed, Curves):
        completed = Curves(completed)
    return StoppingContext(points=points, completed=completed, maximize=maximize, **kw)


def saturating(q, steps=20, tau=3.0):
    """q * (1 - exp(-t / tau)): a concave learning curve that levels off at q."""
    import math

    return [(t, q * (1 - math.exp(-t / tau))) for t in range(1, steps + 1)]


def full_curves(*qualities, steps=20):
    c = Curves()
    for i, q in enumerate(qualities):
        c.add(i, saturating(q, steps))
    return c


# --------------------------------------------------------------------------- registry


def test_every_rule_is_registered_under_its_own_name():
    assert {"median", "curve_bound", "percentile", "asha"} <= set(RULES)
    for name, rule in RULES.items():
        assert rule.name == name and get_rule(name) is rule


def test_an_unknown_rule_name_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="median"):
        get_rule("nope")


def test_the_server_default_is_curve_bound():
    # The server's choice (HPDASH_EARLY_STOPPING_RULE) is read by the settings:
    # tests/ops/test_config.py.
    assert DEFAULT_RULE == "curve_bound"
    assert get_rule(DEFAULT_RULE).name == "curve_bound"


def test_the_rules_import_without_django():
    code = ("import sys, hpdash.core.stopping\n"
            "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- decisions as data


def test_a_decision_is_a_frozen_record_of_step_rule_and_prose():
    d = MedianRule().decide(ctx([(1, 0.1), (2, 0.12), (3, 0.13)], RISING))
    assert d is not None and d == StopDecision(3, "median", d.detail)
    assert "median" in d.detail and isinstance(d.detail, str)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.step = 4  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_rule_stops_without_any_completed_trial(name):
    assert get_rule(name).decide(ctx([(s, 0.0) for s in range(1, 30)], {})) is None


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_rule_stops_a_trial_that_has_reported_nothing_even_without_grace(name):
    rule = dataclasses.replace(get_rule(name), grace=0)  # type: ignore[type-var]
    assert rule.decide(ctx([], full_curves(*[0.9] * 10))) is None


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_rule_stops_during_its_grace_period(name):
    rule = get_rule(name)
    completed = full_curves(*[0.9] * 10)
    hopeless = [(s, 0.0) for s in range(1, rule.grace)]  # type: ignore[attr-defined]
    assert rule.decide(ctx(hopeless, completed)) is None


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_stops_a_hopeless_trial_once_it_has_enough_reference(name):
    completed = full_curves(*[0.8 + 0.01 * i for i in range(10)])
    hopeless = [(s, 0.05) for s in range(1, 10)]
    d = get_rule(name).decide(ctx(hopeless, completed))
    assert d is not None and d.rule == name and d.step == 9


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_lets_a_trial_better_than_all_others_run(name):
    completed = full_curves(*[0.5 + 0.01 * i for i in range(10)])
    assert get_rule(name).decide(ctx(saturating(0.9)[:9], completed)) is None


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_turns_around_when_minimizing(name):
    completed = Curves()
    for i in range(10):
        completed.add(i, [(t, 1.0 - v) for t, v in saturating(0.8 + 0.01 * i)])
    losing_when_minimizing = [(s, 0.95) for s in range(1, 10)]
    winning_when_minimizing = [(s, 0.01) for s in range(1, 10)]
    rule = get_rule(name)
    assert rule.decide(ctx(losing_when_minimizing, completed, maximize=False)) is not None
    assert rule.decide(ctx(winning_when_minimizing, completed, maximize=False)) is None


# --------------------------------------------------------------------------- median


def test_the_median_rule_stops_below_the_median_running_average():
    assert MedianRule().decide(ctx([(1, 0.1), (2, 0.12), (3, 0.13)], RISING)) is not None
    assert MedianRule().decide(ctx([(1, 0.9), (2, 0.95), (3, 0.97)], RISING)) is None


def test_the_median_rule_counts_the_best_value_so_far_not_the_latest():
    assert MedianRule().decide(ctx([(1, 0.9), (2, 0.1), (3, 0.1)], RISING)) is None


def test_the_median_rule_uses_running_averages_up_to_the_trials_step():
    curves = Curves({i: [(s, s / 10) for s in range(1, 11)] for i in range(3)})
    assert curves.running_averages(3) == pytest.approx([0.2, 0.2, 0.2])
    assert MedianRule().decide(ctx([(1, 0.25), (2, 0.25), (3, 0.25)], curves)) is None


def test_the_median_rule_needs_three_completed_trials_with_values_by_then():
    few = Curves({1: RISING[1], 2: RISING[2]})
    assert MedianRule().decide(ctx([(1, 0.0), (2, 0.0), (3, 0.0)], few)) is None
    late = Curves({i: [(100, 1.0)] for i in range(5)})
    assert MedianRule().decide(ctx([(1, 0.0), (2, 0.0), (3, 0.0)], late)) is None


# --------------------------------------------------------------------------- curve_bound


def test_curve_bound_stops_a_trial_that_cannot_catch_the_best_even_with_the_largest_gain():
    completed = full_curves(0.6, 0.7, 0.9)
    flat = [(1, 0.3), (2, 0.3), (3, 0.3)]
    d = CurveBoundRule().decide(ctx(flat, completed))
    assert d is not None and d.step == 3 and "0.898855" in d.detail


def test_curve_bound_keeps_a_trial_whose_optimistic_forecast_reaches_the_best():
    completed = full_curves(0.6, 0.7, 0.9)  # 0.9 * exp(-1) = 0.33 still gained after step 3
    assert CurveBoundRule().decide(ctx([(1, 0.6), (2, 0.6), (3, 0.6)], completed)) is None


def test_curve_bound_keeps_a_late_bloomer_that_is_still_rising_fast():
    completed = full_curves(0.6, 0.7, 0.9)  # after step 10 they gain at most 0.9 * e^-3.3
    bloomer = [(t, 0.06 * t) for t in range(1, 11)]  # 0.6 at step 10, +0.06 a step
    assert CurveBoundRule().decide(ctx(bloomer, completed)) is None
    without_trend = dataclasses.replace(CurveBoundRule(), trend=0.0)
    assert without_trend.decide(ctx(bloomer, completed)) is not None


def test_curve_bound_needs_enough_full_curves_and_ignores_stopped_ones_as_forecasts():
    completed = full_curves(0.9, 0.8)
    flat = [(s, 0.1) for s in range(1, 6)]
    assert CurveBoundRule().decide(ctx(flat, completed)) is None
    completed.add(7, saturating(0.2)[:4], stopped_early=True)
    assert CurveBoundRule().decide(ctx(flat, completed)) is None
    completed.add(8, saturating(0.85))
    assert CurveBoundRule().decide(ctx(flat, completed)) is not None


def test_curve_bound_counts_a_stopped_trials_last_value_as_a_result_to_beat():
    completed = full_curves(0.3, 0.3, 0.3)
    completed.add(9, [(1, 0.95), (2, 0.95), (3, 0.95)], stopped_early=True)
    d = CurveBoundRule().decide(ctx([(1, 0.4), (2, 0.4), (3, 0.4)], completed))
    assert d is not None and "0.95" in d.detail


def test_curve_bound_does_not_stop_for_a_gap_within_the_curves_noise():
    noisy = Curves()
    for i in range(3):
        noisy.add(i, [(t, 0.9 + (0.01 if t % 2 else -0.01)) for t in range(1, 21)])
    close = [(t, 0.88) for t in range(1, 11)]  # 0.02 below, the size of the jitter
    assert CurveBoundRule().decide(ctx(close, noisy)) is None
    assert dataclasses.replace(CurveBoundRule(), noise=0.0).decide(ctx(close, noisy)) is not None


def slow_starter_and_fast_curves():
    """Nine fast starters that level off at 0.95-0.97 (within 0.05 of it by step 3) and one
    slow starter that climbs from 0.095 to 0.95 in a straight line: it gains 0.765 after step 3
    and 0.675 after step 5, the fast ones at most 0.05."""
    c = Curves()
    for i, q in enumerate((0.95, 0.95, 0.955, 0.96, 0.96, 0.965, 0.965, 0.97, 0.97)):
        c.add(i, saturating(q, tau=1.0))
    c.add(99, [(t, 0.05 + 0.045 * t) for t in range(1, 21)])
    return c


def test_curve_bound_forecasts_from_the_full_curves_nearest_its_level():
    # A trial that levels off at 0.90 while the best ended at 0.97: the slow starter's big gain
    # from 0.185 says nothing about a curve at 0.90, so it is stopped at its third report...
    completed = slow_starter_and_fast_curves()
    plateau = [(1, 0.9), (2, 0.9), (3, 0.9)]
    d = CurveBoundRule().decide(ctx(plateau, completed))
    assert d is not None and d.step == 3
    assert "the 8 of 10 full completed trials nearest its level" in d.detail
    # ...where the rule before (the largest gain of all full curves) ran it 19 of its 20 steps.
    before = CurveBoundRule(near=0)
    first = next(t for t in range(3, 21)
                 if before.decide(ctx([(s, 0.9) for s in range(1, t + 1)], completed)))
    assert first == 19


def test_curve_bound_keeps_a_slow_starter_that_a_curve_at_its_level_says_can_win():
    completed = slow_starter_and_fast_curves()
    slow = [(t, 0.3) for t in range(1, 6)]  # flat at 0.3 at step 5; the slow starter was 0.275
    assert CurveBoundRule().decide(ctx(slow, completed)) is None  # 0.3 + 0.675 >= 0.97
    lower = [(t, 0.25) for t in range(1, 6)]
    assert CurveBoundRule().decide(ctx(lower, completed)) is not None  # 0.25 + 0.675 < 0.97


def test_curve_bound_uses_every_full_curve_while_there_are_at_most_near_of_them():
    completed = Curves({i: saturating(q, tau=1.0) for i, q in enumerate((0.95, 0.96, 0.97))})
    completed.add(99, [(t, 0.05 + 0.045 * t) for t in range(1, 21)])
    plateau = [(1, 0.9), (2, 0.9), (3, 0.9)]
    assert CurveBoundRule().decide(ctx(plateau, completed)) is None  # 4 <= near: all count
    assert CurveBoundRule(near=3).decide(ctx(plateau, completed)) is not None


def test_curve_bound_takes_the_full_length_from_max_steps_when_given():
    completed = full_curves(0.6, 0.7, 0.9, steps=10)
    slow = [(t, 0.05 * t) for t in range(1, 9)]  # 0.4 at 8, rising 0.05 a step
    assert CurveBoundRule().decide(ctx(slow, completed)) is not None  # 2 steps left: 0.5
    assert CurveBoundRule().decide(ctx(slow, completed, max_steps=30)) is None


# --------------------------------------------------------------------------- percentile, asha


def test_percentile_stops_outside_the_top_quarter_of_best_values():
    completed = full_curves(*[0.5 + 0.05 * i for i in range(8)])  # top 2 end at 0.8, 0.85
    mid = saturating(0.7)[:10]
    assert PercentileRule().decide(ctx(mid, completed)) is not None
    assert PercentileRule(keep=0.5).decide(ctx(mid, completed)) is None


def test_percentile_needs_enough_completed_trials():
    completed = full_curves(0.9, 0.9, 0.9, 0.9)
    assert PercentileRule().decide(ctx([(s, 0.0) for s in range(1, 10)], completed)) is None


def test_asha_judges_at_rungs_among_completed_and_running_trials():
    rule = AshaRule(eta=3, grace=4, min_trials=5)
    running = Curves({10 + i: saturating(0.9)[:5] for i in range(5)})
    mid = saturating(0.5)[:5]  # at rung 4, worse than the 5 running trials
    assert rule.decide(ctx(mid, Curves(), running=running)) is not None
    assert rule.decide(ctx(mid, Curves())) is None  # nobody else reached the rung
    best = saturating(0.95)[:5]
    assert rule.decide(ctx(best, Curves(), running=running)) is None
